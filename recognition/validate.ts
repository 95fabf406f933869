/**
 * Validation for model selection: verification accuracy on a development pair set, never on
 * LFW View 2. Either LFW View 1 (`pairsDevTrain.txt`, one block; a file in View 2's shape or
 * holding its pairs is refused, see `eval/view2_guard.ts`) or same/different pairs drawn from a held-out dataset. Scores and
 * accuracy come from `eval/` (SynFace protocol: cosine, 10-fold best threshold).
 */
import { openAnyDataset } from "../data/dataset.ts";
import { Rng } from "../data/rng.ts";
import { readImage } from "../data/image.ts";
import { preprocessImage, resolveImages } from "../eval/images.ts";
import { fitImage } from "./augment.ts";
import { foldSplits, verify } from "../eval/metrics.ts";
import { type PairList, PairsFormatError, readPairs, splitFolds } from "../eval/pairs.ts";
import { view2Reason } from "../eval/view2_guard.ts";
import { SYNFACE } from "../eval/protocols.ts";
import { l2Normalize, noGrad, scope, tensor } from "./autodiff/mod.ts";
import type { Backbone } from "./backbones.ts";
import { type FitMode, TrainConfigError, type ValConfig } from "./config.ts";

/** A validation pair set: image files and pairs of indices into them. */
export interface ValSet {
  /** Name for logs. */
  name: string;
  /** Image files. */
  files: string[];
  /** Pairs as indices into `files`. */
  pairs: { a: number; b: number; same: boolean }[];
}

/** Validation result. */
export interface ValResult {
  /** The set's name. */
  name: string;
  /** Mean 10-fold accuracy (SynFace protocol), a fraction. */
  accuracy: number;
  /** Standard deviation over the folds. */
  std: number;
  /** Mean chosen cosine threshold. */
  threshold: number;
  /** Pairs evaluated. */
  pairs: number;
}

function refuseView2(list: PairList): void {
  // Decided by content (eval/view2_guard.ts: a multi-fold LFW header, or View 2's fingerprint
  // pairs), so a renamed file, a symlink or a subset of its folds is refused too.
  const why = view2Reason(list);
  if (why) {
    throw new TrainConfigError(
      `--val-pairs ${why}; model selection must never use View 2 — ` +
        `use View 1 (pairsDevTrain.txt) or a held-out synthetic set (--val-data)`,
    );
  }
}

/** `fn()`, with a pairs-file format error raised as a `--val-pairs` configuration error. */
async function asConfigError<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PairsFormatError) throw new TrainConfigError(`--val-pairs ${e.message}`);
    throw e;
  }
}

/** Load the validation sets a config asks for (possibly none). */
export async function loadValSets(cfg: ValConfig | undefined, seed: number): Promise<ValSet[]> {
  const sets: ValSet[] = [];
  if (!cfg) return sets;
  if (cfg.pairs) {
    const list = await asConfigError(() => readPairs(cfg.pairs!));
    refuseView2(list);
    let pairs = list.pairs;
    if (cfg.maxPairs > 0 && pairs.length > cfg.maxPairs) {
      // Keep the balance: the first maxPairs/2 same and different pairs.
      const half = Math.floor(cfg.maxPairs / 2);
      pairs = [
        ...pairs.filter((p) => p.same).slice(0, half),
        ...pairs.filter((p) => !p.same).slice(0, half),
      ];
    }
    const resolved = await asConfigError(() =>
      resolveImages(pairs.flatMap((p) => [p.a, p.b]), cfg.images!, (ref) => {
        const p = pairs.find((q) => q.a === ref || q.b === ref);
        return p ? `${cfg.pairs}:${p.line}` : cfg.pairs!;
      })
    );
    if (resolved.missing.length) {
      throw new TrainConfigError(
        `${cfg.pairs}: ${resolved.missing.length} images not found under ${cfg.images} ` +
          `(first: ${resolved.missing[0]})`,
      );
    }
    const { files, idx } = fileIndex();
    const at = (ref: string) => idx(resolved.paths.get(ref)!);
    sets.push({
      name: cfg.pairs.split("/").pop()!,
      files,
      pairs: pairs.map((p) => ({ a: at(p.a), b: at(p.b), same: p.same })),
    });
  }
  if (cfg.data) sets.push(await drawPairs(cfg.data, cfg.numPairs, seed));
  return sets;
}

/** A set's file list, built as pairs name files: `idx(path)` is the path's index in `files`. */
function fileIndex(): { files: string[]; idx: (path: string) => number } {
  const files: string[] = [];
  const index = new Map<string, number>();
  const idx = (path: string) => {
    let i = index.get(path);
    if (i === undefined) index.set(path, i = files.push(path) - 1);
    return i;
  };
  return { files, idx };
}

/** Same/different pairs drawn (seeded) from a held-out dataset: half of each. */
export async function drawPairs(dir: string, numPairs: number, seed: number): Promise<ValSet> {
  const ds = await openAnyDataset(dir);
  const records = Map.groupBy(ds.records(), (r) => r.class);
  const byClass = new Map([...records].map(([c, rs]) => [c, rs.map((r) => `${dir}/${r.path}`)]));
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const multi = classes.filter((c) => byClass.get(c)!.length >= 2);
  if (classes.length < 2 || multi.length === 0) {
    throw new TrainConfigError(
      `${dir}: validation pairs need ≥ 2 identities and one with ≥ 2 images (found ${classes.length} identities)`,
    );
  }
  const rng = Rng.fromSeed(seed).split("val-pairs");
  const { files, idx } = fileIndex();
  const pairs: ValSet["pairs"] = [];
  const half = Math.max(1, Math.floor(numPairs / 2));
  for (let k = 0; k < half; k++) {
    const list = byClass.get(rng.choice(multi))!;
    const i = rng.int(list.length);
    let j = rng.int(list.length - 1);
    if (j >= i) j++;
    pairs.push({ a: idx(list[i]), b: idx(list[j]), same: true });
  }
  for (let k = 0; k < half; k++) {
    const c1 = rng.int(classes.length);
    let c2 = rng.int(classes.length - 1);
    if (c2 >= c1) c2++;
    const l1 = byClass.get(classes[c1])!, l2 = byClass.get(classes[c2])!;
    pairs.push({ a: idx(rng.choice(l1)), b: idx(rng.choice(l2)), same: false });
  }
  return { name: `${dir.split("/").pop()} (${pairs.length} drawn pairs)`, files, pairs };
}

/** Embed every image of a set (in the backbone's current mode), L2-normalised, in batches. */
export async function embedFiles(
  backbone: Backbone,
  files: string[],
  batch = 32,
  fit: FitMode = "center-crop",
): Promise<Float32Array[]> {
  const { height, width } = backbone.input;
  const out: Float32Array[] = [];
  const plane = 3 * height * width;
  for (let i = 0; i < files.length; i += batch) {
    const chunk = files.slice(i, i + batch);
    const x = new Float32Array(chunk.length * plane);
    const imgs = await Promise.all(chunk.map(async (f) => {
      const img = await readImage(f);
      // Raw 250×250 LFW needs eval's face-box crop; everything else is fitted as in training.
      return img.height === 250 && img.width === 250
        ? preprocessImage(img, height, width, "auto", f)
        : fitImage(img, height, width, fit, f);
    }));
    imgs.forEach((img, b) => x.set(img.data, b * plane));
    const emb = scope(() =>
      noGrad(() => l2Normalize(backbone.forward(tensor(x, [chunk.length, 3, height, width]))))
    );
    const data = await emb.toArray();
    emb.dispose();
    const d = data.length / chunk.length;
    for (let b = 0; b < chunk.length; b++) out.push(data.slice(b * d, (b + 1) * d));
  }
  return out;
}

/** Verification accuracy of the backbone on a set (SynFace protocol, k-fold thresholds). */
export async function validate(
  backbone: Backbone,
  set: ValSet,
  opts: { batch?: number; fit?: FitMode } = {},
): Promise<ValResult> {
  const training = backbone.training;
  backbone.eval(); // running statistics, no dropout
  const emb = await embedFiles(backbone, set.files, opts.batch ?? 32, opts.fit ?? "center-crop")
    .finally(() => backbone.train(training));
  const scores = set.pairs.map(({ a, b }) => {
    let s = 0;
    for (let i = 0; i < emb[a].length; i++) s += emb[a][i] * emb[b][i];
    return s;
  });
  const same = set.pairs.map((p) => p.same);
  const nSame = same.filter((s) => s).length;
  const k = Math.min(10, nSame, same.length - nSame);
  if (k < 2) throw new TrainConfigError(`${set.name}: too few pairs for a k-fold threshold`);
  const rows = set.pairs.map((p, i) => ({ ...p, a: `${p.a}`, b: `${p.b}`, fold: 0, line: i + 1 }));
  const folds = splitFolds({ file: set.name, format: "csv", folds: 1, pairs: rows }, k).pairs;
  const split = foldSplits(folds.map((p) => p.fold), k);
  const { accuracy, std, threshold } = verify(scores, same, split, SYNFACE, []);
  return { name: set.name, accuracy, std, threshold, pairs: set.pairs.length };
}
