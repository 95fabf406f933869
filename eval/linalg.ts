/** Small dense linear algebra for the PCA baseline and the 2-D embedding plot. */
import { Rng } from "../data/mod.ts";
import { eigSymmetric } from "./sym_eigen.ts";

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
        const w = zj[r], xr = x[r];
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
  // eigSymmetric sorts ascending: the top k are the last k columns, largest first.
  const eig = eigSymmetric(c, l);
  const cols = Array.from({ length: k }, (_, j) => l - 1 - j);
  const components = cols.map((col) => {
    const out = new Float64Array(d);
    for (let j = 0; j < l; j++) {
      const w = eig.vectors[j * l + col];
      for (let i = 0; i < d; i++) out[i] += w * q[j][i];
    }
    return out;
  });
  return { mean, components, variances: cols.map((col) => eig.values[col]) };
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
