import assert from "node:assert/strict";
import { eigSymmetric, frechetDistance, gaussianStats, sqrtProductTrace } from "../eval/mod.ts";
import { Rng } from "../data/mod.ts";

function assertAlmostEquals(actual: number, expected: number, tol: number): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);
}

function randomSpd(k: number, seed: number): Float64Array {
  const rng = Rng.fromSeed(seed);
  const rows = Array.from(
    { length: 3 * k },
    () => Float64Array.from({ length: k }, () => rng.normal()),
  );
  return gaussianStats(rows, k).cov;
}

Deno.test("eigSymmetric: 2×2 [[2,1],[1,2]] has eigenvalues 1, 3 and vectors (1,∓1)/√2", () => {
  const { values, vectors } = eigSymmetric([2, 1, 1, 2], 2);
  assertAlmostEquals(values[0], 1, 1e-12);
  assertAlmostEquals(values[1], 3, 1e-12);
  // column 0 ∝ (1, −1), column 1 ∝ (1, 1)
  assertAlmostEquals(Math.abs(vectors[0]), Math.SQRT1_2, 1e-12);
  assertAlmostEquals(vectors[0] + vectors[2], 0, 1e-12);
  assertAlmostEquals(vectors[1] - vectors[3], 0, 1e-12);
});

Deno.test("eigSymmetric: diagonal matrix gives its diagonal, sorted", () => {
  const a = [5, 0, 0, 0, -2, 0, 0, 0, 0.5];
  assert.deepEqual(Array.from(eigSymmetric(a, 3).values), [-2, 0.5, 5]);
});

Deno.test("eigSymmetric: reconstructs a random 40×40 symmetric matrix, orthonormal vectors", () => {
  const k = 40, a = randomSpd(k, 7);
  for (let i = 0; i < k; i++) a[i * k + i] -= 1; // indefinite too
  const { values, vectors: v } = eigSymmetric(a, k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let r = 0, o = 0;
      for (let m = 0; m < k; m++) {
        r += v[i * k + m] * values[m] * v[j * k + m];
        o += v[m * k + i] * v[m * k + j];
      }
      assertAlmostEquals(r, a[i * k + j], 1e-10);
      assertAlmostEquals(o, i === j ? 1 : 0, 1e-10);
    }
  }
  for (let i = 1; i < k; i++) assert.ok(values[i] >= values[i - 1]);
});

Deno.test("eigSymmetric: rejects a wrong-sized matrix", () => {
  assert.throws(() => eigSymmetric([1, 2, 3], 2), /expected 2×2/);
});

Deno.test("sqrtProductTrace: diagonal covariances give Σ √(aᵢ bᵢ)", () => {
  const a = new Float64Array([4, 0, 0, 0, 9, 0, 0, 0, 1]);
  const b = new Float64Array([1, 0, 0, 0, 4, 0, 0, 0, 16]);
  assertAlmostEquals(sqrtProductTrace(a, b, 3), 2 + 6 + 4, 1e-12);
});

Deno.test("sqrtProductTrace: Tr √[[2,1],[1,2]] = √3 + 1 (B = I)", () => {
  const a = new Float64Array([2, 1, 1, 2]);
  assertAlmostEquals(
    sqrtProductTrace(a, new Float64Array([1, 0, 0, 1]), 2),
    Math.sqrt(3) + 1,
    1e-12,
  );
});

Deno.test("frechetDistance: closed forms (diagonal: ‖Δμ‖² + Σ(√a − √b)²), zero for itself, symmetric", () => {
  const p = { d: 2, n: 10, mean: new Float64Array([1, 2]), cov: new Float64Array([4, 0, 0, 9]) };
  const q = { d: 2, n: 10, mean: new Float64Array([0, 0]), cov: new Float64Array([1, 0, 0, 1]) };
  const r = frechetDistance(p, q);
  assertAlmostEquals(r.mean_term, 5, 1e-12);
  assertAlmostEquals(r.cov_term, (2 - 1) ** 2 + (3 - 1) ** 2, 1e-12);
  assertAlmostEquals(r.fd, 10, 1e-12);
  // [[2,1],[1,2]] vs I: 4 + 2 − 2(√3 + 1)
  const s = { d: 2, n: 10, mean: new Float64Array(2), cov: new Float64Array([2, 1, 1, 2]) };
  const i2 = { d: 2, n: 10, mean: new Float64Array(2), cov: new Float64Array([1, 0, 0, 1]) };
  assertAlmostEquals(frechetDistance(s, i2).fd, 6 - 2 * (Math.sqrt(3) + 1), 1e-12);
  const k = 30;
  const a = { d: k, n: 90, mean: new Float64Array(k), cov: randomSpd(k, 1) };
  const b = { d: k, n: 90, mean: new Float64Array(k).fill(0.1), cov: randomSpd(k, 2) };
  assertAlmostEquals(frechetDistance(a, a).fd, 0, 1e-9);
  assertAlmostEquals(frechetDistance(a, b).fd, frechetDistance(b, a).fd, 1e-9);
  assert.ok(frechetDistance(a, b).fd > 0.3);
});

Deno.test("frechetDistance: commuting covariances, matches Tr(A + B − 2 (AB)^½) from a shared basis", () => {
  // A = Q diag(1,4) Qᵀ, B = Q diag(9,1) Qᵀ for a 30° rotation Q: Tr (AB)^½ = √9 + √4 = 5
  const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
  const rot = (l1: number, l2: number) =>
    new Float64Array([
      c * c * l1 + s * s * l2,
      c * s * (l1 - l2),
      c * s * (l1 - l2),
      s * s * l1 + c * c * l2,
    ]);
  const p = { d: 2, n: 5, mean: new Float64Array(2), cov: rot(1, 4) };
  const q = { d: 2, n: 5, mean: new Float64Array(2), cov: rot(9, 1) };
  assertAlmostEquals(frechetDistance(p, q).fd, 5 + 10 - 2 * 5, 1e-12);
});

Deno.test("gaussianStats: mean and unbiased covariance of known rows", () => {
  const g = gaussianStats([[1, 0], [3, 2], [5, 4]], 2);
  assert.deepEqual(Array.from(g.mean), [3, 2]);
  assert.deepEqual(Array.from(g.cov), [4, 4, 4, 4]);
  assert.throws(() => gaussianStats([[1, 2]], 2), /at least 2 rows/);
});
