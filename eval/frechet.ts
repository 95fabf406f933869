/**
 * Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean μ,
 * covariance Σ): `FD = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁^½ Σ₂ Σ₁^½)^½` (the FID formula,
 * here over face-embedding features). The matrix square-root trace uses `eigSymmetric` twice.
 */
import { eigSymmetric } from "./sym_eigen.ts";

/** Mean and covariance (population estimate ÷ (n − 1)) of `n` rows of length `d`. */
export interface GaussianStats {
  d: number;
  n: number;
  mean: Float64Array;
  /** `d × d`, row-major. */
  cov: Float64Array;
}

/** Mean and unbiased covariance of the rows (each of length `d`). */
export function gaussianStats(rows: ArrayLike<number>[], d: number): GaussianStats {
  const n = rows.length;
  if (n < 2) throw new RangeError(`gaussianStats: need at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (const r of rows) {
    if (r.length !== d) {
      throw new RangeError(`gaussianStats: row of length ${r.length}, expected ${d}`);
    }
    for (let j = 0; j < d; j++) mean[j] += r[j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) c[j] = r[j] - mean[j];
    for (let i = 0; i < d; i++) {
      const ci = c[i];
      if (ci === 0) continue;
      const o = i * d;
      for (let j = 0; j <= i; j++) cov[o + j] += ci * c[j];
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = cov[i * d + j] / (n - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return { d, n, mean, cov };
}

/** `Tr (A^½ B A^½)^½` for symmetric positive semi-definite `A`, `B` (`k × k`, row-major). */
export function sqrtProductTrace(a: Float64Array, b: Float64Array, k: number): number {
  const ea = eigSymmetric(a, k);
  // S = A^½ = V diag(√λ) Vᵀ (negative round-off eigenvalues clipped to 0)
  const sq = Float64Array.from(ea.values, (v) => Math.sqrt(Math.max(v, 0)));
  const V = ea.vectors, s = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let m = 0; m < k; m++) acc += V[i * k + m] * sq[m] * V[j * k + m];
      s[i * k + j] = acc;
      s[j * k + i] = acc;
    }
  }
  const m = matmul(matmul(s, b, k), s, k);
  let tr = 0;
  for (const v of eigSymmetric(m, k).values) tr += Math.sqrt(Math.max(v, 0));
  return tr;
}

function matmul(a: Float64Array, b: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const o = i * k;
    for (let m = 0; m < k; m++) {
      const aim = a[o + m];
      if (aim === 0) continue;
      const bo = m * k;
      for (let j = 0; j < k; j++) out[o + j] += aim * b[bo + j];
    }
  }
  return out;
}

/** The Fréchet distance and its two parts. */
export interface FrechetDistance {
  fd: number;
  /** `‖μ₁ − μ₂‖²`. */
  mean_term: number;
  /** `Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁^½ Σ₂ Σ₁^½)^½`. */
  cov_term: number;
}

/** Fréchet distance between two Gaussians of the same dimension. */
export function frechetDistance(p: GaussianStats, q: GaussianStats): FrechetDistance {
  if (p.d !== q.d) throw new RangeError(`frechetDistance: dimensions ${p.d} and ${q.d} differ`);
  const k = p.d;
  let meanTerm = 0;
  for (let j = 0; j < k; j++) meanTerm += (p.mean[j] - q.mean[j]) ** 2;
  let tr = 0;
  for (let j = 0; j < k; j++) tr += p.cov[j * k + j] + q.cov[j * k + j];
  const covTerm = tr - 2 * sqrtProductTrace(p.cov, q.cov, k);
  return { fd: meanTerm + covTerm, mean_term: meanTerm, cov_term: covTerm };
}
