/**
 * `deno task bench eval [--model FILE.onnx|RUN_DIR] [--images N] [--json]`: throughput of the
 * evaluation pipeline on real LFW View 1 images: decode + preprocess (the baseline), the pixel
 * embedder, an ONNX embedder on each execution provider side by side (embedding only, and with
 * flip; ratios against wasm), and the protocol metrics on a View 2-sized (6000 pairs, 10 folds)
 * score set. The ONNX model defaults to the public `fr_feature.onnx` (npm
 * faceplugin-face-recognition-js, RGB, (x − 127)/128) when that package is installed.
 */
import { exitUsage, nodeAvailable, parseCliArgs, probeWebGpu } from "../data/mod.ts";
import {
  createPixelEmbedder,
  type Embedder,
  embedWithFlip,
  foldSplits,
  INSIGHTFACE,
  installedReferenceModel,
  loadEmbedder,
  loadImage,
  readPairs,
  resolveImages,
  SYNFACE,
  verify,
} from "../eval/mod.ts";
import { Rng } from "../data/mod.ts";

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      model: { type: "string" },
      images: { type: "string", default: "64" },
      threads: { type: "string" },
      mean: { type: "string" },
      std: { type: "string" },
      json: { type: "boolean", default: false },
    },
  }, exitUsage("bench eval"));
  const lfw = new URL("../../shared/data/lfw-view1/", import.meta.url).pathname;
  const n = Number(values.images);
  const pairs = await readPairs(`${lfw}pairsDevTest.txt`);
  const found = resolveImages(pairs.pairs.flatMap((p) => [p.a, p.b]), `${lfw}aligned112`);
  const paths = [...found.paths.values()].slice(0, n);
  if (paths.length === 0) {
    console.error("bench eval: ../shared/data/lfw-view1/aligned112 not found");
    Deno.exit(2);
  }
  const figures: Record<string, number> = {};
  let t = performance.now();
  const images = await Array.fromAsync(paths, (p) => loadImage(p, 112, 112));
  const decode = paths.length / ((performance.now() - t) / 1000);
  figures.decode_images_per_s = decode;
  console.log(`decode+preprocess: ${decode.toFixed(1)} images/s (baseline)`);

  const time = async (label: string, e: Embedder, flip: boolean) => {
    t = performance.now();
    if (flip) await embedWithFlip(e, images);
    else await e.embed(images);
    const rate = images.length / ((performance.now() - t) / 1000);
    figures[`${label}_images_per_s`] = rate;
    console.log(
      `${label}: ${rate.toFixed(1)} images/s (${(decode / rate).toFixed(2)}× decode time)`,
    );
  };
  await time("pixels", createPixelEmbedder(), false);
  const fr = await installedReferenceModel();
  const model = values.model ?? fr;
  if (model) {
    const cores = navigator.hardwareConcurrency || 1;
    const threads = values.threads ? Number(values.threads) : cores;
    const eps: { label: string; ep: "wasm" | "node" | "webgpu"; threads?: number }[] = [
      { label: "wasm", ep: "wasm" },
    ];
    const node = await nodeAvailable();
    if (node.available) {
      eps.push({ label: `node_${threads}t`, ep: "node", threads });
      if (threads !== 1) eps.push({ label: "node_1t", ep: "node", threads: 1 });
    } else console.log(`node: skipped (${node.reason})`);
    const gpu = await probeWebGpu();
    if (gpu.available && !gpu.software) eps.push({ label: "webgpu", ep: "webgpu" });
    const plainDefaults = values.model ? {} : { mean: 127, std: 128 };
    console.log(`onnx model: ${model}, ${images.length} images, side by side by EP:`);
    for (const { label, ep, threads: t } of eps) {
      const e = await loadEmbedder(model, {
        ...plainDefaults,
        ...(values.mean ? { mean: Number(values.mean) } : {}),
        ...(values.std ? { std: Number(values.std) } : {}),
        executionProvider: ep,
        threads: t,
      });
      await e.embed(images.slice(0, 4)); // warm-up: the first runs grow onnxruntime's arena
      await time(`onnx_${label}`, e, false);
      await time(`onnx_${label}_flip`, e, true);
      await e.dispose?.();
      const ratio = figures[`onnx_${label}_images_per_s`] / figures.onnx_wasm_images_per_s;
      figures[`onnx_${label}_vs_wasm`] = ratio;
      console.log(`  ${label}: ${ratio.toFixed(2)}× wasm (embedding only)`);
    }
  } else {console.log(
      "onnx: skipped (no --model, and faceplugin-face-recognition-js not installed)",
    );}

  // Metrics on 6000 synthetic pairs in 10 folds (View 2 size).
  const rng = Rng.fromSeed(1).split("bench");
  const same = Array.from({ length: 6000 }, (_, i) => i % 600 < 300);
  const cos = same.map((s) => Math.max(-1, Math.min(1, (s ? 0.5 : 0.1) + 0.15 * rng.normal())));
  const dist = cos.map((c) => 2 - 2 * c);
  const splits = foldSplits(same.map((_, i) => Math.floor(i / 600)), 10);
  for (const [p, s] of [[SYNFACE, cos], [INSIGHTFACE, dist]] as const) {
    t = performance.now();
    const m = verify(s, same, splits, p);
    const ms = performance.now() - t;
    figures[`verify_${p.name}_ms`] = ms;
    const accuracy = (100 * m.accuracy).toFixed(2);
    console.log(
      `verify ${p.name}: ${ms.toFixed(0)} ms for 6000 pairs × 10 folds (accuracy ${accuracy}%)`,
    );
  }
  if (values.json) console.log(JSON.stringify(figures));
}
