/**
 * The learned model's identity shape from the photos' own landmarks: the appearance fit warps each
 * photo onto the mean of its 68 landmarks (shape-free textures) and keeps their PCA
 * (`appearance.bin`'s `shape`); here each landmark component becomes a displacement field of the
 * mesh's control vertices, so the geometry puts back the shape the texture no longer carries.
 */
import type { AppearanceHeader } from "./appearance.ts";
import { SHAPE_DIM } from "./bases.ts";
import type { Geometry } from "./geometry.ts";
import { restToFrame } from "./texture_taps.ts";

/** Thin-plate kernel r² log r² (frame pixels). */
const tpsKernel = (r2: number) => (r2 > 0 ? r2 * Math.log(r2) : 0);

/**
 * Solve the dense system `a x = b` ([n, n] row-major, `m` right-hand sides [n, m]) by Gaussian
 * elimination with partial pivoting; returns x [n, m].
 */
function solve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const A = Float64Array.from(a), X = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    if (Math.abs(A[p * n + c]) < 1e-12) throw new Error("learnedShapeBasis: singular landmarks");
    for (let k = 0; k < n; k++) [A[c * n + k], A[p * n + k]] = [A[p * n + k], A[c * n + k]];
    for (let k = 0; k < m; k++) [X[c * m + k], X[p * m + k]] = [X[p * m + k], X[c * m + k]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      for (let k = 0; k < m; k++) X[r * m + k] -= f * X[c * m + k];
    }
  }
  for (let r = 0; r < n; r++) for (let k = 0; k < m; k++) X[r * m + k] /= A[r * n + r];
  return X;
}

/**
 * [SHAPE_DIM, nCtrl·3] shape basis: row k < L moves the vertices in the frontal plane as landmark
 * component k moves the landmarks, plus the depth of `procedural` row k × `depthGain` (photos hold
 * no depth); rows k ≥ L keep only that. Landmark displacements reach the vertices by a thin-plate
 * spline in the texture frame: exact at the landmarks (the whole shape, where a smooth
 * inverse-distance weighting kept 56 % of it) and of least bending in between, so the mesh is not
 * stretched into holes; far from the face it tends to the components' affine part.
 */
export function learnedShapeBasis(
  geo: Geometry,
  shape: NonNullable<AppearanceHeader["shape"]>,
  procedural: Float32Array,
  depthGain: number,
): Float32Array {
  const nC = geo.nCtrl, L = Math.min(shape.basis.length, SHAPE_DIM), P = 68, n = P + 3;
  const { A, B, tx, ty } = restToFrame(geo);
  const n2 = A * A + B * B;
  const out = new Float32Array(SHAPE_DIM * nC * 3);
  for (let k = 0; k < SHAPE_DIM; k++) {
    for (let i = 0; i < nC; i++) {
      out[(k * nC + i) * 3 + 2] = procedural[(k * nC + i) * 3 + 2] * depthGain;
    }
  }
  // [[K, Q], [Qᵀ, 0]] [w; a] = [d; 0] for every component's u and v displacements at once
  const lx = (j: number) => shape.mean[2 * j], ly = (j: number) => shape.mean[2 * j + 1];
  const sys = new Float64Array(n * n);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      sys[i * n + j] = tpsKernel((lx(i) - lx(j)) ** 2 + (ly(i) - ly(j)) ** 2);
    }
    const q = [1, lx(i), ly(i)];
    for (let c = 0; c < 3; c++) sys[i * n + P + c] = sys[(P + c) * n + i] = q[c];
  }
  const rhs = new Float64Array(n * 2 * L);
  for (let k = 0; k < L; k++) {
    for (let j = 0; j < P; j++) {
      rhs[j * 2 * L + 2 * k] = shape.basis[k][2 * j];
      rhs[j * 2 * L + 2 * k + 1] = shape.basis[k][2 * j + 1];
    }
  }
  const coef = solve(sys, rhs, n, 2 * L);
  const phi = new Float64Array(n);
  for (let i = 0; i < nC; i++) {
    const x = geo.ctrl[3 * i], y = geo.ctrl[3 * i + 1];
    const u = A * x + B * y + tx, v = B * x - A * y + ty;
    for (let j = 0; j < P; j++) phi[j] = tpsKernel((u - lx(j)) ** 2 + (v - ly(j)) ** 2);
    phi[P] = 1;
    phi[P + 1] = u;
    phi[P + 2] = v;
    for (let k = 0; k < L; k++) {
      let du = 0, dv = 0;
      for (let j = 0; j < n; j++) {
        du += phi[j] * coef[j * 2 * L + 2 * k];
        dv += phi[j] * coef[j * 2 * L + 2 * k + 1];
      }
      // frame → rest plane: the inverse of [[A, B], [B, −A]] is itself over A² + B²
      out[(k * nC + i) * 3] = (A * du + B * dv) / n2;
      out[(k * nC + i) * 3 + 1] = (B * du - A * dv) / n2;
    }
  }
  return out;
}
