/**
 * `deno task evaluate --model RUN_DIR|model.onnx|pixels|pca --pairs FILE --images DIR --out DIR`:
 * LFW-style verification of any embedder under the synface and/or insightface protocols.
 * Writes results.json, a table (Markdown/CSV/JSON), ROC/histogram/embedding SVGs and scores.csv.
 */
import {
  choiceFlag,
  EP_CHOICES,
  exitUsage,
  intFlag,
  numberFlag,
  outDirProblem,
  parseCliArgs,
  parseSizeFlag,
} from "../data/mod.ts";
import {
  type CropMode,
  type Embedder,
  evaluatePairs,
  fitPcaEmbedder,
  loadEmbedder,
  loadImage,
  type PairList,
  PairsFormatError,
  type ProtocolName,
  readPairs,
  readRun,
  resolveImages,
  writeComparison,
  writeEvaluationReport,
} from "../eval/mod.ts";
import { alignPairImages } from "./reproduce/align_inputs.ts";

const USAGE =
  `usage: deno task evaluate --model RUN_DIR|model.onnx|pixels|pca --pairs FILE --images DIR --out DIR
  [--protocol synface|insightface|both] [--flip] [--threshold-from FILE] [--kfold K]
  [--threshold-images DIR] [--input-size 112x112] [--layout nchw|nhwc] [--bgr] [--mean 127.5] [--std 127.5]
  [--crop auto|none|HxW] [--skip-missing] [--batch 64] [--ep auto|webgpu|node|wasm] [--threads N]
  [--name LABEL] [--fit-pairs FILE] [--pca-components 128] [--no-plots]
  [--align [--align-cache DIR] [--workers N]]
usage: deno task evaluate --compare OUT_DIR1,OUT_DIR2,... --out DIR   (one table + ROC plots of finished runs)

  --model        run folder (model.onnx + optional embedder.json), an .onnx file, or a baseline:
                 "pixels" (standardised 56x56 grey pixels) or "pca" (whitened PCA of those pixels,
                 fitted on the images of --fit-pairs, default the --threshold-from file)
  --pairs        LFW pairs.txt (View 2), pairsDevTrain/pairsDevTest.txt (View 1) or CSV path1,path2,same[,fold]
  --images       folder the pair images are relative to (<name>/<name>_0001.jpg for LFW)
  --threshold-from FILE   choose thresholds on another pairs file, report on --pairs
  --threshold-images DIR  images of the --threshold-from file (default: --images)
  --kfold K      k-fold inside --pairs (default: the file's folds; 10 for a single-block file)
  --protocol     synface (cosine, no flip, last max) | insightface (flip, squared L2, first max) | both (default)
  --flip         also use flip fusion under the synface protocol
  --mean/--std   model input is (x - mean)/std of 0-255 pixels (default 127.5/127.5)
  --align        the images are unaligned photos (e.g. raw LFW images/): detect, landmark and align
                 each to the ArcFace 112x112 template first (align/), caching crops by content hash
                 in --align-cache (default out/align-cache); a photo without a face gets its centre
                 square; --workers N align workers (default one per core, one thread each); the
                 detector and landmarker run on --ep too (crops cached per EP)
  --crop         auto (default: 250x250 funneled LFW -> centre 150x150 -> input size; 112x112 -> 112x96
                 centre crop), none (sizes must match), or HxW (centre crop, then resize)
  --ep           auto (default: hardware WebGPU, else native onnxruntime-node, else wasm); the EP
                 used is recorded in results.json; --threads: node's intra-op threads (default: cores)`;

const fail: (msg: string) => never = exitUsage("evaluate", USAGE);

function size(s: string | undefined, flag: string): [number, number] | undefined {
  if (s === undefined) return undefined;
  const { height, width } = parseSizeFlag(flag, s, fail);
  return [height, width];
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      model: { type: "string" },
      pairs: { type: "string" },
      images: { type: "string" },
      out: { type: "string" },
      protocol: { type: "string", default: "both" },
      flip: { type: "boolean", default: false },
      "threshold-from": { type: "string" },
      "threshold-images": { type: "string" },
      kfold: { type: "string" },
      "input-size": { type: "string" },
      layout: { type: "string" },
      bgr: { type: "boolean", default: false },
      mean: { type: "string" },
      std: { type: "string" },
      crop: { type: "string", default: "auto" },
      "skip-missing": { type: "boolean", default: false },
      batch: { type: "string" },
      ep: { type: "string" },
      threads: { type: "string" },
      name: { type: "string" },
      "fit-pairs": { type: "string" },
      "pca-components": { type: "string" },
      "no-plots": { type: "boolean", default: false },
      align: { type: "boolean", default: false },
      "align-cache": { type: "string", default: "out/align-cache" },
      workers: { type: "string" },
      compare: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }, fail);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.out) {
    const problem = outDirProblem(values.out);
    if (problem) fail(problem);
  }
  if (values.compare) {
    if (!values.out) fail("--out is required");
    const runs = [];
    for (const dir of values.compare.split(",").filter(Boolean)) runs.push(await readRun(dir));
    await writeComparison(values.out, runs);
    console.error(
      `wrote ${values.out}/comparison.md and roc_<protocol>.svg for ${runs.length} run(s)`,
    );
    return;
  }
  for (const k of ["model", "pairs", "images", "out"] as const) {
    if (!values[k]) fail(`--${k} is required`);
  }
  const protocols: ProtocolName[] = values.protocol === "both"
    ? ["synface", "insightface"]
    : values.protocol === "synface" || values.protocol === "insightface"
    ? [values.protocol]
    : fail(`--protocol ${values.protocol}: expected synface, insightface or both`);
  const layout = choiceFlag("--layout", values.layout, ["nchw", "nhwc"] as const, fail);
  const ep = choiceFlag("--ep", values.ep, EP_CHOICES, fail);
  const threads = intFlag("--threads", values.threads, fail);
  const crop: CropMode = values.crop === "auto" || values.crop === "none"
    ? values.crop
    : size(values.crop, "--crop")!;
  // Every flag is checked here, before any pairs file is read or image embedded.
  const kfold = intFlag("--kfold", values.kfold, fail, 2);
  const batchSize = intFlag("--batch", values.batch, fail);
  const components = intFlag("--pca-components", values["pca-components"], fail);
  const mean = numberFlag("--mean", values.mean, fail), std = numberFlag("--std", values.std, fail);
  if (std !== undefined && std <= 0) fail(`--std ${values.std}: expected a positive number`);
  const inputSize = size(values["input-size"], "--input-size");
  const pairs = await readPairs(values.pairs!);
  const thresholdPairs: PairList | undefined = values["threshold-from"]
    ? await readPairs(values["threshold-from"])
    : undefined;
  if (thresholdPairs && kfold !== undefined) {
    fail("--threshold-from and --kfold exclude each other");
  }
  if (!thresholdPairs && pairs.folds === 1 && kfold === undefined) {
    console.error(
      `evaluate: ${pairs.file} is a single block; using 10-fold inside it (pass --threshold-from FILE to choose thresholds on another file)`,
    );
  }
  if (values.align) {
    const workers = intFlag("--workers", values.workers, fail);
    const view = (list: PairList, dir: string) =>
      alignPairImages(list, dir, { cacheDir: values["align-cache"]!, workers, ep }, console.error);
    const thrDir = values["threshold-images"] ?? values.images!;
    const alignedImages = await view(pairs, values.images!);
    if (thresholdPairs) values["threshold-images"] = await view(thresholdPairs, thrDir);
    values.images = alignedImages;
  }
  let embedder: Embedder;
  if (values.model === "pca") {
    const fitFile = values["fit-pairs"] ?? values["threshold-from"];
    if (!fitFile) {
      fail(
        "--model pca needs --fit-pairs FILE (or --threshold-from FILE) whose images fit the PCA",
      );
    }
    const fit = fitFile === values["threshold-from"] ? thresholdPairs! : await readPairs(fitFile);
    const found = resolveImages(fit.pairs.flatMap((p) => [p.a, p.b]), values.images!);
    const [h, w] = inputSize ?? [112, 112];
    console.error(`pca: loading ${found.paths.size} images of ${fit.file}`);
    const imgs = [];
    for (const path of found.paths.values()) imgs.push(await loadImage(path, h, w, crop));
    const t = performance.now();
    embedder = fitPcaEmbedder(imgs, {
      inputSize: [h, w],
      components,
      fittedOn: `${imgs.length} images of ${fit.file}`,
    });
    console.error(`pca: fitted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else {
    embedder = await loadEmbedder(values.model!, {
      inputSize,
      layout,
      channelOrder: values.bgr ? "bgr" : undefined,
      mean,
      std,
      batchSize,
      executionProvider: ep,
      threads,
    });
  }
  const evaluation = await evaluatePairs({
    embedder,
    pairs,
    imagesDir: values.images!,
    thresholdPairs,
    thresholdImagesDir: values["threshold-images"],
    kfold,
    protocols,
    flip: values.flip,
    crop,
    skipMissing: values["skip-missing"],
  });
  await embedder.dispose?.();
  evaluation.results.flags.model_arg = values.model;
  const label = values.name ?? String(values.model).replace(/\/+$/, "").split("/").pop()!;
  await writeEvaluationReport(values.out!, evaluation, { label, plots: !values["no-plots"] });
  const r = evaluation.results;
  for (const p of protocols) {
    const s = r[p]!, pct = (x: number, digits = 2) => (100 * x).toFixed(digits);
    console.error(
      `${p}: accuracy ${pct(s.accuracy)}% ± ${pct(s.std)} (thr ${s.threshold.toFixed(3)}), ` +
        `AUC ${s.auc.toFixed(4)}, EER ${pct(s.eer)}%, ` +
        `TAR@FAR=1e-3 ${pct(s["tar_at_far_1e-3"], 1)}% (indicative)`,
    );
  }
  if (r.missing.images) {
    console.error(`missing: ${r.missing.images} images, ${r.missing.pairs_skipped} pairs skipped`);
  }
  console.error(`wrote ${values.out}/results.json`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`evaluate: ${(e as Error).message}`);
    // A malformed pairs file (or one naming images outside --images) is bad input: exit 2.
    Deno.exit(e instanceof PairsFormatError ? 2 : 1);
  }
}
