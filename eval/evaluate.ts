/** `evaluatePairs`: embed the images of a pair list and score it under the chosen protocols. */
import { formatDuration } from "../data/mod.ts";
import {
  cosine,
  type Embedder,
  type EmbedderInfo,
  embedWithFlip,
  sqdistNormalized,
} from "./embedder.ts";
import { type CropMode, identityOf, loadImage, resolveImages } from "./images.ts";
import { foldSplits, type Split, type VerificationMetrics, verify } from "./metrics.ts";
import { type Pair, type PairList, splitFolds } from "./pairs.ts";
import { PROTOCOL_NAMES, protocolByName, type ProtocolName } from "./protocols.ts";
import type { ProtocolSummaryJson } from "./results_schema.ts";

/** Options of `evaluatePairs`. */
export interface EvaluatePairsOptions {
  embedder: Embedder;
  /** The pairs to report accuracy on. */
  pairs: PairList;
  /** Folder the pair image references are relative to. */
  imagesDir: string;
  /** Choose thresholds on this other list (e.g. `pairsDevTrain.txt`) instead of k-fold. */
  thresholdPairs?: PairList;
  /** Folder of `thresholdPairs` images (default `imagesDir`). */
  thresholdImagesDir?: string;
  /** k-fold inside `pairs` (default: the file's folds, or 10 for a single-block file). */
  kfold?: number;
  /** Protocols to run (default both). */
  protocols?: readonly ProtocolName[];
  /** Also use flip fusion in the synface protocol (insightface always flips). */
  flip?: boolean;
  /** How images reach the embedder's input size (default `auto`). */
  crop?: CropMode;
  /** Drop pairs whose images are missing, counting them, instead of failing (default false). */
  skipMissing?: boolean;
  /** Images per `embed` call (default 64). */
  batchSize?: number;
  /** Progress callback; default prints to stderr every ~2 s. `false` silences it. */
  progress?: false | ((done: number, total: number, imagesPerSecond: number) => void);
}

/**
 * One protocol's numbers, as written to `results.json`: the file's schema (`results_schema.ts`)
 * with every rate a number (NaN where the file holds null). Accuracy values are fractions.
 */
export type ProtocolSummary = {
  [K in keyof ProtocolSummaryJson]: ProtocolSummaryJson[K] extends (infer E)[] ? Exclude<E, null>[]
    : Exclude<ProtocolSummaryJson[K], null>;
};

/** The content of `results.json`. */
export interface EvaluationResults {
  synface?: ProtocolSummary;
  insightface?: ProtocolSummary;
  /** How thresholds were chosen: file folds, k-fold inside the file, or another file. */
  split: string;
  pairs: {
    file: string;
    format: string;
    total: number;
    evaluated: number;
    same: number;
    different: number;
    folds: number;
    threshold_file?: string;
    threshold_pairs?: number;
  };
  missing: { images: number; pairs_skipped: number; examples: string[] };
  model: EmbedderInfo;
  flags: Record<string, unknown>;
  images_dir: string;
  seconds: number;
}

/** Everything `evaluatePairs` computed, for reports and plots. */
export interface Evaluation {
  results: EvaluationResults;
  /** Test pairs that were scored (after dropping missing ones). */
  pairs: Pair[];
  /** Per protocol: test-pair scores (cosine or squared distance), aligned with `pairs`. */
  scores: Partial<Record<ProtocolName, Float64Array>>;
  /** Per protocol: the full metrics (fold-averaged ROC included). */
  metrics: Partial<Record<ProtocolName, VerificationMetrics>>;
  /** Plain (unflipped) embeddings by image reference, test and threshold images alike. */
  embeddings: Map<string, Float32Array>;
}

function defaultProgress(): (done: number, total: number, rate: number) => void {
  let last = 0;
  return (done, total, rate) => {
    const now = performance.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const eta = formatDuration((total - done) / rate);
    console.error(`embedding: ${done}/${total} images (${rate.toFixed(1)}/s, ETA ${eta})`);
  };
}

function base(file: string): string {
  return file.split("/").pop() ?? file;
}

function dropMissing(pairs: Pair[], missing: Set<string>): Pair[] {
  return pairs.filter((p) => !missing.has(p.a) && !missing.has(p.b));
}

/** `file:line` of the first pair that names `ref` (for errors about that image). */
function lineOf(list: PairList): (ref: string) => string {
  return (ref) => {
    const p = list.pairs.find((q) => q.a === ref || q.b === ref);
    return p ? `${list.file}:${p.line}` : list.file;
  };
}

/**
 * Embed every image of the pair list(s) once and evaluate the protocols. Thresholds come from
 * `thresholdPairs` when given, otherwise from leave-one-fold-out over the file's folds (View 2) or
 * `kfold` folds inside a single-block file.
 */
export async function evaluatePairs(options: EvaluatePairsOptions): Promise<Evaluation> {
  const t0 = performance.now();
  const { embedder, pairs: list, imagesDir } = options;
  const protocols = (options.protocols ?? PROTOCOL_NAMES).map(protocolByName);
  const needFlip = protocols.some((p) => p.flip) || !!options.flip;
  const trainList = options.thresholdPairs;
  const trainDir = options.thresholdImagesDir ?? imagesDir;

  // Resolve image files (per folder) and apply the missing-image policy.
  const testImgs = resolveImages(list.pairs.flatMap((p) => [p.a, p.b]), imagesDir, lineOf(list));
  const trainImgs = trainList
    ? resolveImages(trainList.pairs.flatMap((p) => [p.a, p.b]), trainDir, lineOf(trainList))
    : undefined;
  const missingAll = [...testImgs.missing, ...(trainImgs?.missing ?? [])];
  if (missingAll.length > 0 && !options.skipMissing) {
    const where = testImgs.missing.length
      ? `${list.file} in ${imagesDir}`
      : `${trainList!.file} in ${trainDir}`;
    const ext = testImgs.extension ? "." + testImgs.extension : "";
    throw new Error(
      `${missingAll.length} image(s) of ${where} not found (first: ${missingAll[0]}${ext}); ` +
        "pass --skip-missing to drop their pairs and report the count",
    );
  }
  const testPairs = dropMissing(list.pairs, new Set(testImgs.missing));
  const trainPairs = trainList ? dropMissing(trainList.pairs, new Set(trainImgs!.missing)) : [];
  if (testPairs.length === 0) {
    throw new Error(`${list.file}: no pair has both images in ${imagesDir}`);
  }

  // Embed each distinct image once (test and threshold sets may live in different folders).
  const files = new Map<string, string>();
  for (const [ref, path] of testImgs.paths) files.set(`test:${ref}`, path);
  if (trainImgs) { for (const [ref, path] of trainImgs.paths) files.set(`train:${ref}`, path); }
  const used = new Set<string>();
  for (const p of testPairs) used.add(`test:${p.a}`).add(`test:${p.b}`);
  for (const p of trainPairs) used.add(`train:${p.a}`).add(`train:${p.b}`);
  const keys = [...used];
  const plain = new Map<string, Float32Array>(), fused = new Map<string, Float32Array>();
  const { inputHeight: h, inputWidth: w } = embedder.info;
  const batchSize = options.batchSize ?? 64;
  const progress = options.progress === false ? undefined : options.progress ?? defaultProgress();
  const tEmbed = performance.now();
  for (let i = 0; i < keys.length; i += batchSize) {
    const chunk = keys.slice(i, i + batchSize);
    const load = (k: string) => loadImage(files.get(k)!, h, w, options.crop ?? "auto");
    const images = await Array.fromAsync(chunk, load); // one at a time, in order
    if (needFlip) {
      const r = await embedWithFlip(embedder, images);
      chunk.forEach((k, j) => {
        plain.set(k, r.plain[j]);
        fused.set(k, r.fused[j]);
      });
    } else {
      const r = await embedder.embed(images);
      chunk.forEach((k, j) => plain.set(k, r[j]));
    }
    const done = Math.min(i + batchSize, keys.length);
    progress?.(done, keys.length, done / ((performance.now() - tEmbed) / 1000));
  }

  // Score: training pairs (if any) first, then test pairs, in one array.
  const all = [
    ...trainPairs.map((p) => ({ p, a: `train:${p.a}`, b: `train:${p.b}` })),
    ...testPairs.map((p) => ({ p, a: `test:${p.a}`, b: `test:${p.b}` })),
  ];
  const same = all.map((x) => x.p.same);
  let splits: Split[];
  let split: string;
  const nTrain = trainPairs.length;
  const testIdx = testPairs.map((_, i) => nTrain + i);
  if (trainList) {
    splits = [{ train: trainPairs.map((_, i) => i), test: testIdx }];
    split = `thresholds chosen on ${base(trainList.file)} (${nTrain} pairs), ` +
      `accuracy on ${base(list.file)}`;
  } else {
    let folded: Pair[] = testPairs;
    let k = list.folds;
    if (options.kfold !== undefined || list.folds === 1) {
      k = options.kfold ?? 10;
      folded = splitFolds({ ...list, pairs: testPairs }, k).pairs;
      split = `${k}-fold inside ${base(list.file)} (i-th same/different pair → fold ⌊k·i/n⌋)`;
    } else split = `${k} folds of ${base(list.file)}, thresholds from the other ${k - 1}`;
    splits = foldSplits(folded.map((p) => p.fold), k);
  }

  const results: EvaluationResults = {
    split,
    pairs: {
      file: list.file,
      format: list.format,
      total: list.pairs.length,
      evaluated: testPairs.length,
      same: testPairs.filter((p) => p.same).length,
      different: testPairs.filter((p) => !p.same).length,
      folds: splits.length,
      ...(trainList ? { threshold_file: trainList.file, threshold_pairs: nTrain } : {}),
    },
    missing: {
      images: missingAll.length,
      pairs_skipped: list.pairs.length - testPairs.length +
        (trainList ? trainList.pairs.length - nTrain : 0),
      examples: missingAll.slice(0, 10),
    },
    model: embedder.info,
    flags: {
      protocols: protocols.map((p) => p.name),
      synface_flip: !!options.flip,
      crop: options.crop ?? "auto",
      skip_missing: !!options.skipMissing,
      ...(options.kfold !== undefined ? { kfold: options.kfold } : {}),
    },
    images_dir: imagesDir,
    seconds: 0,
  };
  const scores: Evaluation["scores"] = {};
  const metrics: Evaluation["metrics"] = {};
  for (const protocol of protocols) {
    const useFused = protocol.flip || (protocol.name === "synface" && !!options.flip);
    const emb = useFused ? fused : plain;
    const s = Float64Array.from(
      all,
      (x) =>
        protocol.score === "cosine"
          ? cosine(emb.get(x.a)!, emb.get(x.b)!)
          : sqdistNormalized(emb.get(x.a)!, emb.get(x.b)!),
    );
    const m = verify(s, same, splits, protocol);
    metrics[protocol.name] = m;
    scores[protocol.name] = s.slice(nTrain);
    const tar = (t: number) => m.tarAtFar.find((x) => x.target === t)!;
    const negatives = trainList
      ? trainPairs.filter((p) => !p.same).length
      : Math.round(results.pairs.different * (splits.length - 1) / splits.length);
    results[protocol.name] = {
      description: protocol.description,
      score: protocol.score,
      flip: useFused,
      accuracy: m.accuracy,
      std: m.std,
      threshold: m.threshold,
      thresholds: m.folds.map((f) => f.threshold),
      fold_accuracies: m.folds.map((f) => f.accuracy),
      train_accuracy: m.folds.reduce((a, f) => a + f.trainAccuracy, 0) / m.folds.length,
      auc: m.auc,
      eer: m.eer,
      "tar_at_far_1e-3": tar(1e-3).tar,
      "tar_at_far_1e-2": tar(1e-2).tar,
      "far_at_far_1e-3": tar(1e-3).far,
      "far_at_far_1e-2": tar(1e-2).far,
      tar_note:
        `indicative: thresholds interpolated on ~${negatives} training negatives per split, so FAR 1e-3 rests on a handful of pairs`,
    };
  }
  const embeddings = new Map<string, Float32Array>();
  for (const [k, v] of plain) embeddings.set(k.slice(k.indexOf(":") + 1), v);
  results.seconds = (performance.now() - t0) / 1000;
  return { results, pairs: testPairs, scores, metrics, embeddings };
}

/** Group embeddings by identity (the folder of each image reference). */
export function embeddingsByIdentity(
  embeddings: Map<string, Float32Array>,
): Map<string, Float32Array[]> {
  const byId = Map.groupBy(embeddings, ([ref]) => identityOf(ref));
  return new Map([...byId].map(([id, entries]) => [id, entries.map(([, e]) => e)]));
}
