/** Small dense linear algebra for the PCA baseline and the 2-D embedding plot. */
import { Rng } from "../data/mod.ts";

/** Eigen-decomposition of a symmetric `k × k` matrix (row-major) by cyclic Jacobi rotations. */
export function symmetricEigen(
  a: Float64Array,
  k: number,
): { values: number[]; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p * k + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p * k + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * k + q] - m[p * k + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const mrp = m[r * k + p];
          const mrq = m[r * k + q];
          m[r * k + p] = c * mrp - s * mrq;
          m[r * k + q] = s * mrp + c * mrq;
        }
        for (let r = 0; r < k; r++) {
          const mpr = m[p * k + r];
          const mqr = m[q * k + r];
          m[p * k + r] = c * mpr - s * mqr;
          m[q * k + r] = s * mpr + c * mqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p];
          const vrq = v[r * k + q];
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = Array.from({ length: k }, (_, i) => m[i * k + i]);
  return { values, vectors: v };
}

function dot(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Principal axes of row vectors: `components[j]` (unit length, descending variance). */
export interface Pca {
  mean: Float64Array;
  components: Float64Array[];
  /** Variance along each component. */
  variances: number[];
}

/**
 * Top-`k` principal components of `rows` (all of length d) by randomised subspace iteration
 * (Halko et al.): costs O(iterations · n · d · k) instead of the O(d³) of a full decomposition.
 */
export function fitPca(
  rows: Float32Array[],
  k: number,
  options: { iterations?: number; seed?: number } = {},
): Pca {
  const n = rows.length;
  if (n < 2) throw new RangeError(`fitPca: need at least 2 rows, got ${n}`);
  const d = rows[0].length;
  k = Math.min(k, n - 1, d);
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] += r[i] / n;
  const x = rows.map((r) => Float64Array.from(r, (v, i) => v - mean[i]));
  const rng = Rng.fromSeed(options.seed ?? 0).split("pca");
  const extra = Math.min(10, Math.max(0, Math.min(n - 1, d) - k));
  const l = k + extra;
  let q: Float64Array[] = Array.from({ length: l }, () => Float64Array.from(rng.normals(d)));
  orthonormalize(q);
  const z = Array.from({ length: l }, () => new Float64Array(n));
  for (let it = 0; it < (options.iterations ?? 6); it++) {
    for (let j = 0; j < l; j++) for (let r = 0; r < n; r++) z[j][r] = dot(x[r], q[j]);
    q = z.map((zj) => {
      const y = new Float64Array(d);
      for (let r = 0; r < n; r++) {
        const w = zj[r];
        const xr = x[r];
        for (let i = 0; i < d; i++) y[i] += w * xr[i];
      }
      return y;
    });
    orthonormalize(q);
  }
  for (let j = 0; j < l; j++) for (let r = 0; r < n; r++) z[j][r] = dot(x[r], q[j]);
  const c = new Float64Array(l * l);
  for (let a = 0; a < l; a++) {
    for (let b = a; b < l; b++) c[a * l + b] = c[b * l + a] = dot(z[a], z[b]) / n;
  }
  const eig = symmetricEigen(c, l);
  const order = eig.values.map((v, i) => [v, i]).sort((p, s) => s[0] - p[0]).slice(0, k);
  const components = order.map(([, col]) => {
    const out = new Float64Array(d);
    for (let j = 0; j < l; j++) {
      const w = eig.vectors[j * l + col];
      for (let i = 0; i < d; i++) out[i] += w * q[j][i];
    }
    return out;
  });
  return { mean, components, variances: order.map(([v]) => v) };
}

/** Project a row onto the first `dims` components (after subtracting the mean). */
export function projectPca(
  pca: Pca,
  row: Float32Array,
  dims = pca.components.length,
): Float32Array {
  const centred = Float64Array.from(row, (v, i) => v - pca.mean[i]);
  return Float32Array.from(pca.components.slice(0, dims), (c) => dot(centred, c));
}

function orthonormalize(vs: Float64Array[]): void {
  for (let j = 0; j < vs.length; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const s = dot(vs[j], vs[p]);
        for (let i = 0; i < vs[j].length; i++) vs[j][i] -= s * vs[p][i];
      }
    }
    const norm = Math.sqrt(dot(vs[j], vs[j])) || 1;
    for (let i = 0; i < vs[j].length; i++) vs[j][i] /= norm;
  }
}
