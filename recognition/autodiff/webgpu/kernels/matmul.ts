/**
 * Batched GEMM C_b = op(A_b)·op(B_b) on the register-tiled skeleton (`gemm_template.ts`).
 * Two fetch variants: vec4 loads when every row length and batch stride is a multiple of 4
 * (blocks are then whole vec4s; rows/columns past the edge are clamped and discarded at the
 * store), else bounds-checked scalar loads. With `tuning.gemm.shared`, the workgroup-memory
 * kernel below instead.
 * @module
 */

import type { MatmulSpec } from "../../backend.ts";
import { Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { fitTile, type Tuning } from "../tuning.ts";
import { storage } from "./common.ts";
import { fill } from "./elementwise.ts";
import { denseStore, gemmGrid, gemmMain, scalarBlockA, scalarBlockB } from "./gemm_template.ts";
import { memo } from "./memo.ts";
import { sharedGemmMain } from "./shared_gemm.ts";

const STRUCT = `struct Q { m: u32, n: u32, k: u32, cz: u32, aS: u32, bS: u32 }
@group(0) @binding(0) var<uniform> P: Q;
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.k); }`;

/** vec4 fetches; needs m, n, k and both batch strides divisible by 4. */
function vec4Source(transA: boolean, transB: boolean): string {
  // A block: column c = A[r..r+3, k+c]. Stored m×k: four row vec4s along k, transposed.
  // Stored k×m (transA): column c is the vec4 A^T[k+c, r..r+3] directly.
  const loadA = transA
    ? `let base = (z * P.aS + min(r, P.m - 4u)) / 4u; let s = P.m / 4u;
  return mat4x4<f32>(A[base + k * s], A[base + (k + 1u) * s], A[base + (k + 2u) * s],
    A[base + (k + 3u) * s]);`
    : `let base = z * P.aS / 4u + k / 4u; let s = P.k / 4u; let last = P.m - 1u;
  return transpose(mat4x4<f32>(A[base + min(r, last) * s], A[base + min(r + 1u, last) * s],
    A[base + min(r + 2u, last) * s], A[base + min(r + 3u, last) * s]));`;
  // B block: column j = B[k..k+3, c+j]. Stored k×n: four row vec4s along n, transposed.
  // Stored n×k (transB): column j is the vec4 B^T[c+j, k..k+3] directly.
  const loadB = transB
    ? `let base = z * P.bS / 4u + k / 4u; let s = P.k / 4u; let last = P.n - 1u;
  return mat4x4<f32>(B[base + min(c, last) * s], B[base + min(c + 1u, last) * s],
    B[base + min(c + 2u, last) * s], B[base + min(c + 3u, last) * s]);`
    : `let base = (z * P.bS + min(c, P.n - 4u)) / 4u; let s = P.n / 4u;
  return transpose(mat4x4<f32>(B[base + k * s], B[base + (k + 1u) * s], B[base + (k + 2u) * s],
    B[base + (k + 3u) * s]));`;
  return `${STRUCT}
${storage([["A", "r", "vec4<f32>"], ["B", "r", "vec4<f32>"], ["C", "w", "vec4<f32>"]])}
fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32> {
  ${loadA}
}
fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32> {
  ${loadB}
}
fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>) {
  if (c >= P.n) { return; }
  let t = transpose(v);
  for (var i = 0u; i < 4u; i++) {
    if (r + i < P.m) { C[(z * P.cz + (r + i) * P.n + c) / 4u] = t[i]; }
  }
}`;
}

/**
 * Bounds-checked element fetches `fn <a>(z, r, k)` = A[r, k] and `fn <b>(z, k, c)` = B[k, c]
 * (zero past the edges; any sizes) and the dense store, with the buffers they read and write.
 */
function elementFetches(transA: boolean, transB: boolean, a: string, b: string): string {
  const ai = transA ? "k * P.m + r" : "r * P.k + k";
  const bi = transB ? "c * P.k + k" : "k * P.n + c";
  return `${STRUCT}
${storage([["A", "r"], ["B", "r"], ["C", "w"]])}
fn ${a}(z: u32, r: u32, k: u32) -> f32 {
  if (r >= P.m || k >= P.k) { return 0.0; }
  return A[z * P.aS + ${ai}];
}
fn ${b}(z: u32, k: u32, c: u32) -> f32 {
  if (k >= P.k || c >= P.n) { return 0.0; }
  return B[z * P.bS + ${bi}];
}
${denseStore("C")}`;
}

/** Scalar fetches on the register-tiled skeleton; any sizes. */
function scalarSource(transA: boolean, transB: boolean): string {
  return `${elementFetches(transA, transB, "a1", "b1")}
fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32> {
  return ${scalarBlockA("a1")};
}
fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32> {
  return ${scalarBlockB("b1")};
}`;
}

/** Element fetches for the workgroup-memory skeleton (`shared_gemm.ts`). */
function sharedSource(transA: boolean, transB: boolean, t: Tuning["gemm"]): string {
  return `${elementFetches(transA, transB, "aElem", "bElem")}
${sharedGemmMain(t, { a: transA ? "m" : "k", b: transB ? "k" : "n" })}`;
}

/** Batched matrix product, see {@link MatmulSpec}. */
export function matmul(ctx: Ctx, a: GpuBuf, b: GpuBuf, out: GpuBuf, s: MatmulSpec): void {
  const t = fitTile(ctx.tuning.gemm, s.m, s.n);
  const v4 = s.m % 4 === 0 && s.n % 4 === 0 && s.k % 4 === 0 && s.aBatchStride % 4 === 0 &&
    s.bBatchStride % 4 === 0;
  const key = t.shared
    ? `matmul/shared/${+s.transA}${+s.transB}/${JSON.stringify(t)}`
    : `matmul/${v4 ? "v4" : "s"}/${+s.transA}${+s.transB}/${t.wx},${t.wy},${t.rm},${t.rn}`;
  const k = memo(key, () => ({
    name: key,
    bindings: "rrw",
    source: t.shared
      ? sharedSource(s.transA, s.transB, t)
      : (v4 ? vec4Source(s.transA, s.transB) : scalarSource(s.transA, s.transB)) + gemmMain(t),
  }));
  if (s.m * s.n * s.batch === 0) return;
  if (s.k === 0) return fill(ctx, out, 0, s.batch * s.m * s.n);
  const p = new Params().u(s.m, s.n, s.k, s.m * s.n, s.aBatchStride, s.bBatchStride);
  ctx.batch.dispatch(k, [a, b, out], p, gemmGrid(t, s.m, s.n, s.batch));
}
