/**
 * Verification metrics on pair scores: best-threshold selection on training folds, accuracy on the
 * held-out fold, ROC averaged over folds, AUC, EER and TAR at fixed FAR (interpolated on the
 * training folds, as insightface's `calculate_val`).
 */
import { type Protocol, thresholdGrid } from "./protocols.ts";

/** Training and test pair indices of one evaluation split. */
export interface Split {
  train: number[];
  test: number[];
}

/** Result of one split. */
export interface FoldResult {
  threshold: number;
  trainAccuracy: number;
  accuracy: number;
}

/** Verification metrics of one protocol over all splits. */
export interface VerificationMetrics {
  /** Mean test accuracy over splits, a fraction in [0, 1]. */
  accuracy: number;
  /** Population standard deviation of the split accuracies (numpy `std`, ddof 0). */
  std: number;
  /** Mean of the chosen thresholds. */
  threshold: number;
  folds: FoldResult[];
  /** AUC of the fold-averaged ROC (trapezoids). */
  auc: number;
  /** Equal error rate of the fold-averaged ROC (linear interpolation). */
  eer: number;
  /** TAR at FAR = 1e-3 / 1e-2: threshold interpolated on training FAR, TAR measured on test. */
  tarAtFar: { target: number; tar: number; tarStd: number; far: number }[];
  /** ROC averaged over test folds, one point per grid threshold (grid order). */
  roc: { thresholds: number[]; fpr: number[]; tpr: number[] };
}

function accepts(p: Protocol, score: number, thr: number): boolean {
  return p.accept === "greater" ? score > thr : score < thr;
}

/** Counts of accepted same (tp) and accepted different (fp) pairs at each grid threshold. */
export function acceptCounts(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  indices: number[],
  protocol: Protocol,
  grid: Float64Array = thresholdGrid(protocol.grid),
): { tp: Int32Array; fp: Int32Array; nSame: number; nDiff: number } {
  const tp = new Int32Array(grid.length), fp = new Int32Array(grid.length);
  let nSame = 0;
  for (const i of indices) {
    const s = scores[i];
    const counts = same[i] ? tp : fp;
    if (same[i]) nSame++;
    for (let t = 0; t < grid.length; t++) if (accepts(protocol, s, grid[t])) counts[t]++;
  }
  return { tp, fp, nSame, nDiff: indices.length - nSame };
}

/** Accuracy at each grid threshold over `indices`. */
export function accuracies(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  indices: number[],
  protocol: Protocol,
  grid: Float64Array = thresholdGrid(protocol.grid),
): Float64Array {
  const { tp, fp, nDiff } = acceptCounts(scores, same, indices, protocol, grid);
  const out = new Float64Array(grid.length);
  for (let t = 0; t < grid.length; t++) out[t] = (tp[t] + nDiff - fp[t]) / indices.length;
  return out;
}

/** Index of the best accuracy, with the protocol's tie rule (first or last maximum). */
export function bestIndex(acc: ArrayLike<number>, tie: Protocol["tie"]): number {
  let best = 0;
  for (let t = 1; t < acc.length; t++) {
    if (tie === "last" ? acc[t] >= acc[best] : acc[t] > acc[best]) best = t;
  }
  return best;
}

/**
 * Linear interpolation `x → y` through points with non-decreasing `x`, as scipy's
 * `interp1d(x, y, kind="slinear")`: within runs of equal `x` the last point is used.
 */
export function interpolate(x: ArrayLike<number>, y: ArrayLike<number>, target: number): number {
  let i = -1;
  for (let k = 0; k < x.length; k++) if (x[k] <= target) i = k;
  if (i < 0) return y[0];
  if (i === x.length - 1) return y[i];
  return y[i] + ((target - x[i]) * (y[i + 1] - y[i])) / (x[i + 1] - x[i]);
}

/**
 * The threshold at which the training FAR equals `target`, interpolated along the grid (ordered so
 * FAR does not decrease). When the training FAR never reaches the target, the most permissive grid
 * threshold is used.
 */
export function thresholdAtFar(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  train: number[],
  protocol: Protocol,
  target: number,
  grid: Float64Array = thresholdGrid(protocol.grid),
): number {
  const { fp, nDiff } = acceptCounts(scores, same, train, protocol, grid);
  const n = grid.length;
  const order = Array.from({ length: n }, (_, t) => (protocol.accept === "less" ? t : n - 1 - t));
  const far = order.map((t) => fp[t] / Math.max(nDiff, 1));
  const thr = order.map((t) => grid[t]);
  if (far[n - 1] < target) return thr[n - 1];
  return interpolate(far, thr, target);
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function populationStd(v: number[]): number {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / v.length);
}

/** Area under a ROC given as points, sorted by FPR, with (0,0) and (1,1) added. */
export function rocAuc(fpr: number[], tpr: number[]): number {
  const pts = fpr.map((f, i) => [f, tpr[i]]).concat([[0, 0], [1, 1]]);
  pts.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let area = 0;
  for (let i = 1; i < pts.length; i++) {
    area += ((pts[i][0] - pts[i - 1][0]) * (pts[i][1] + pts[i - 1][1])) / 2;
  }
  return area;
}

/**
 * Equal error rate of a ROC: the FPR where FPR = 1 − TPR, on the piecewise-linear curve through
 * the points (sorted by FPR, with (0,0) and (1,1) added).
 */
export function rocEer(fpr: number[], tpr: number[]): number {
  const pts = fpr.map((f, i) => [f, tpr[i]]).concat([[0, 0], [1, 1]]);
  pts.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1];
    const [x1, y1] = pts[i];
    const g0 = 1 - x0 - y0, g1 = 1 - x1 - y1;
    if (g0 >= 0 && g1 <= 0) {
      if (g0 === g1) return x0;
      return x0 + (g0 / (g0 - g1)) * (x1 - x0);
    }
  }
  return 1;
}

/** FAR targets reported by default. */
export const FAR_TARGETS: readonly number[] = [1e-3, 1e-2];

/**
 * Evaluate a protocol on pair scores over the given splits: per split, the best threshold on the
 * training pairs (protocol tie rule) and the accuracy on the test pairs; the test ROC averaged over
 * splits with its AUC and EER; TAR at each FAR target.
 */
export function verify(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  splits: Split[],
  protocol: Protocol,
  farTargets: readonly number[] = FAR_TARGETS,
): VerificationMetrics {
  if (splits.length === 0) throw new RangeError("verify: no splits");
  const grid = thresholdGrid(protocol.grid);
  const folds: FoldResult[] = [];
  const fprSum = new Float64Array(grid.length), tprSum = new Float64Array(grid.length);
  const tars: number[][] = farTargets.map(() => []), fars: number[][] = farTargets.map(() => []);
  for (const split of splits) {
    const trainAcc = accuracies(scores, same, split.train, protocol, grid);
    const best = bestIndex(trainAcc, protocol.tie);
    const threshold = grid[best];
    const test = acceptCounts(scores, same, split.test, protocol, grid);
    const accuracy = (test.tp[best] + test.nDiff - test.fp[best]) / split.test.length;
    folds.push({ threshold, trainAccuracy: trainAcc[best], accuracy });
    for (let t = 0; t < grid.length; t++) {
      tprSum[t] += test.nSame ? test.tp[t] / test.nSame : 0;
      fprSum[t] += test.nDiff ? test.fp[t] / test.nDiff : 0;
    }
    farTargets.forEach((target, k) => {
      const thr = thresholdAtFar(scores, same, split.train, protocol, target, grid);
      let ta = 0, fa = 0, ns = 0;
      for (const i of split.test) {
        const ok = accepts(protocol, scores[i], thr);
        if (same[i]) {
          ns++;
          if (ok) ta++;
        } else if (ok) fa++;
      }
      tars[k].push(ns ? ta / ns : 0);
      fars[k].push(split.test.length - ns ? fa / (split.test.length - ns) : 0);
    });
  }
  const n = splits.length;
  const fpr = Array.from(fprSum, (v) => v / n), tpr = Array.from(tprSum, (v) => v / n);
  const accs = folds.map((f) => f.accuracy);
  return {
    accuracy: mean(accs),
    std: populationStd(accs),
    threshold: mean(folds.map((f) => f.threshold)),
    folds,
    auc: rocAuc(fpr, tpr),
    eer: rocEer(fpr, tpr),
    tarAtFar: farTargets.map((target, k) => ({
      target,
      tar: mean(tars[k]),
      tarStd: populationStd(tars[k]),
      far: mean(fars[k]),
    })),
    roc: { thresholds: Array.from(grid), fpr, tpr },
  };
}

/** Leave-one-fold-out splits: for each fold k, train on the other folds and test on k. */
export function foldSplits(folds: ArrayLike<number>, k: number): Split[] {
  const splits: Split[] = Array.from({ length: k }, () => ({ train: [], test: [] }));
  for (let i = 0; i < folds.length; i++) {
    for (let f = 0; f < k; f++) (f === folds[i] ? splits[f].test : splits[f].train).push(i);
  }
  return splits;
}
