import assert from "node:assert/strict";
import {
  bestIndex,
  foldSplits,
  INSIGHTFACE,
  interpolate,
  type Protocol,
  rocAuc,
  rocEer,
  SYNFACE,
  thresholdAtFar,
  thresholdGrid,
  verify,
} from "../eval/mod.ts";

// 2-fold toy (hand-computed in the comments). Scores avoid grid points on purpose.
//   fold 0: same 0.903, 0.602; different 0.298, 0.702
//   fold 1: same 0.801, 0.402; different 0.101, 0.503
const cos = [0.903, 0.602, 0.298, 0.702, 0.801, 0.402, 0.101, 0.503];
const same = [true, true, false, false, true, true, false, false];
const folds = [0, 0, 0, 0, 1, 1, 1, 1];

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) < tol, `${a} is not within ${tol} of ${b}`);

Deno.test("eval metrics: threshold grids match numpy arange", () => {
  const s = thresholdGrid(SYNFACE.grid);
  assert.equal(s.length, 400);
  close(s[0], -1);
  close(s[399], 0.995);
  const i = thresholdGrid(INSIGHTFACE.grid);
  assert.equal(i.length, 400);
  close(i[399], 3.99);
});

Deno.test("eval metrics: synface 2-fold toy, last maximum wins", () => {
  // Training on fold 1, accuracy 3/4 on cos∈[0.101,0.402) and [0.503,0.801): last max → 0.800;
  // fold 0 at 0.800: 0.903 accepted, 0.602 rejected (wrong), both different rejected → 3/4.
  // Training on fold 0, 3/4 on [0.298,0.602) and [0.702,0.903): last max → 0.900; fold 1 at
  // 0.900 rejects everything → 2/4.
  const m = verify(cos, same, foldSplits(folds, 2), SYNFACE);
  close(m.folds[0].threshold, 0.8);
  close(m.folds[1].threshold, 0.9);
  assert.deepEqual(m.folds.map((f) => f.accuracy), [0.75, 0.5]);
  assert.deepEqual(m.folds.map((f) => f.trainAccuracy), [0.75, 0.75]);
  close(m.accuracy, 0.625);
  close(m.std, 0.125); // population std of [0.75, 0.5]
  close(m.threshold, 0.85);
});

Deno.test("eval metrics: same toy with first maximum winning picks the other thresholds", () => {
  const firstMax: Protocol = { ...SYNFACE, tie: "first" };
  const m = verify(cos, same, foldSplits(folds, 2), firstMax);
  close(m.folds[0].threshold, 0.105); // first grid value above 0.101
  close(m.folds[1].threshold, 0.3); // first grid value at/above 0.298
  assert.deepEqual(m.folds.map((f) => f.accuracy), [0.5, 0.75]);
});

Deno.test("eval metrics: insightface on distances, first maximum and dist < thr", () => {
  // d = 2 − 2·cos. Training on fold 1: 3/4 on (0.398, 0.994] and (1.196, 1.798]: first max → 0.40;
  // fold 0 at 0.40: same 0.194 accepted, 0.796 rejected → 3/4. Training on fold 0: 3/4 from
  // (0.194, 0.596]: first max → 0.20; fold 1 at 0.20 accepts nothing → 2/4.
  const dist = cos.map((c) => 2 - 2 * c);
  const m = verify(dist, same, foldSplits(folds, 2), INSIGHTFACE);
  close(m.folds[0].threshold, 0.4);
  close(m.folds[1].threshold, 0.2);
  assert.deepEqual(m.folds.map((f) => f.accuracy), [0.75, 0.5]);
  const lastMax = verify(dist, same, foldSplits(folds, 2), { ...INSIGHTFACE, tie: "last" });
  close(lastMax.folds[0].threshold, 1.79); // last grid value below 1.798
});

Deno.test("eval metrics: bestIndex tie rules", () => {
  assert.equal(bestIndex([0.5, 0.75, 0.6, 0.75, 0.5], "first"), 1);
  assert.equal(bestIndex([0.5, 0.75, 0.6, 0.75, 0.5], "last"), 3);
});

Deno.test("eval metrics: interpolation as scipy slinear (last of equal x)", () => {
  assert.equal(interpolate([0, 0, 0.5, 1], [1, 2, 3, 4], 0), 2);
  close(interpolate([0, 0, 0.5, 1], [1, 2, 3, 4], 0.25), 2.5);
  assert.equal(interpolate([0, 0.5, 1], [1, 3, 4], 1), 4);
});

Deno.test("eval metrics: TAR@FAR interpolates the threshold on training FAR", () => {
  // Four training negatives at d = 1.005, 2.005, 3.005, 3.505: FAR is 0 up to the grid value
  // 1.00 and 0.25 from 1.01, so FAR = 0.1 interpolates to 1.00 + (0.1/0.25)·0.01 = 1.004.
  const d = [1.005, 2.005, 3.005, 3.505, 1.003, 1.0045, 0.5, 3.9];
  const s = [false, false, false, false, true, true, false, false];
  const thr = thresholdAtFar(d, s, [0, 1, 2, 3], INSIGHTFACE, 0.1);
  close(thr, 1.004, 1e-12);
  const m = verify(d, s, [{ train: [0, 1, 2, 3], test: [4, 5, 6, 7] }], INSIGHTFACE, [0.1]);
  // Test: same 1.003 < 1.004 accepted, 1.0045 not → TAR 0.5; negative 0.5 accepted → FAR 0.5.
  assert.equal(m.tarAtFar[0].tar, 0.5);
  assert.equal(m.tarAtFar[0].far, 0.5);
  // Cosine protocol: FAR grows as the threshold falls; negatives at cos 0.2025, 0.5025 → FAR 0
  // from the grid value 0.505 up and 0.5 at 0.5 → FAR 0.1 gives 0.505 − (0.1/0.5)·0.005 = 0.504.
  close(thresholdAtFar([0.2025, 0.5025], [false, false], [0, 1], SYNFACE, 0.1), 0.504, 1e-12);
});

Deno.test("eval metrics: AUC and EER of a tiny ROC", () => {
  // Points (0,0.5), (0.5,1) plus the ends: area 0.875; 1 − x = 0.5 + x at x = 0.25.
  close(rocAuc([0, 0.5], [0.5, 1]), 0.875);
  close(rocEer([0, 0.5], [0.5, 1]), 0.25);
  const separable = verify([0.9, 0.8, 0.1, 0.2], [true, true, false, false], [{
    train: [0, 1, 2, 3],
    test: [0, 1, 2, 3],
  }], SYNFACE);
  assert.equal(separable.accuracy, 1);
  close(separable.auc, 1);
  close(separable.eer, 0);
});
