/**
 * The register-tiled GEMM skeleton shared by matmul and the three convolution kernels
 * (implicit GEMM: the convolution supplies how a 4×4 block of A or B is fetched).
 *
 * One invocation computes a (4·rm)×(4·rn) block of C for batch (or split-K slice) `wid.z`, as
 * rm×rn sub-blocks of 4×4 held in `mat4x4<f32>` registers; each K step of 4 fetches rm blocks of
 * A and rn blocks of B and does rm·rn 4×4 matrix products. No workgroup memory: measured on
 * llvmpipe this beats shared-memory tiling by ~10×; on GPUs the L1 cache serves the reuse.
 * Sub-blocks are interleaved across the workgroup (sub-block s of invocation t starts at
 * 4·((group·r + s)·w + t)), so neighbouring invocations fetch neighbouring vec4s.
 *
 * The source defines, before the skeleton:
 * - `struct Q` with at least `m: u32, n: u32` and `var<uniform> P: Q`;
 * - `fn kRange(z: u32) -> vec2<u32>`: the K range [x, y) summed by slice z (x multiple of 4);
 * - `fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32>`: column c = A[r..r+3, k+c];
 * - `fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32>`: column j = B[k..k+3, c+j];
 * - `fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>)`: column j = C[r..r+3, c+j], bounds
 *   checked by the store (r < P.m, c+j < P.n).
 * @module
 */

import type { Tuning } from "../tuning.ts";

/**
 * What both skeletons write for tile shape `t`: block origins and accumulators (`decl`), the K
 * step's `loadA(a)`/`loadB(b)` fetches (`#` in the arguments: the block's index), products, stores.
 */
function tileLines(t: Tuning["gemm"], a: string, b: string) {
  const { wx, wy, rm, rn } = t;
  const decl: string[] = [], loads: string[] = [], fma: string[] = [], store: string[] = [];
  for (let i = 0; i < rm; i++) {
    decl.push(`let r${i} = ((wid.y * ${rm}u + ${i}u) * ${wy}u + lid.y) * 4u;`);
    loads.push(`let a${i} = loadA(${a.replace("#", String(i))});`);
  }
  for (let j = 0; j < rn; j++) {
    decl.push(`let c${j} = ((wid.x * ${rn}u + ${j}u) * ${wx}u + lid.x) * 4u;`);
    loads.push(`let b${j} = loadB(${b.replace("#", String(j))});`);
  }
  for (let i = 0; i < rm; i++) {
    for (let j = 0; j < rn; j++) {
      decl.push(`var acc${i}${j} = mat4x4<f32>();`);
      fma.push(`acc${i}${j} += a${i} * b${j};`);
      store.push(`storeC(z, r${i}, c${j}, acc${i}${j});`);
    }
  }
  return { decl, loads, fma, store };
}

/** The skeleton's `main`, for the tuning row's tile shape. */
export function gemmMain(t: Tuning["gemm"]): string {
  const { wx, wy } = t;
  const { decl, loads, fma, store } = tileLines(t, "z, r#, k", "z, k, c#");
  return `
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z;
  ${decl.join("\n  ")}
  if (r0 >= P.m || c0 >= P.n) { return; }
  let kr = kRange(z);
  for (var k = kr.x; k < kr.y; k += 4u) {
    ${loads.join("\n    ")}
    ${fma.join("\n    ")}
  }
  ${store.join("\n  ")}
}`;
}

/** Workgroups covering an m×n output with `slices` z-slices. */
export function gemmGrid(
  t: Tuning["gemm"],
  m: number,
  n: number,
  slices: number,
): [number, number, number] {
  return [Math.ceil(n / (4 * t.rn * t.wx)), Math.ceil(m / (4 * t.rm * t.wy)), slices];
}

/** WGSL helper: a mat4x4 whose column c is (f(r,k+c), f(r+1,k+c), …) for scalar fetch `f`. */
export function scalarBlockA(fn: string): string {
  const col = (c: number) =>
    `vec4<f32>(${[0, 1, 2, 3].map((i) => `${fn}(z, r + ${i}u, k + ${c}u)`).join(", ")})`;
  return `mat4x4<f32>(${[0, 1, 2, 3].map(col).join(",\n    ")})`;
}

/** WGSL helper: a mat4x4 whose column j is (f(k,c+j), f(k+1,c+j), …) for scalar fetch `f`. */
export function scalarBlockB(fn: string): string {
  const col = (j: number) =>
    `vec4<f32>(${[0, 1, 2, 3].map((i) => `${fn}(z, k + ${i}u, c + ${j}u)`).join(", ")})`;
  return `mat4x4<f32>(${[0, 1, 2, 3].map(col).join(",\n    ")})`;
}

/** WGSL `storeC` writing C[z·P.cz + (r+i)·P.n + c + j] (+ optional per-row bias expression). */
export function denseStore(out: string, bias = "0.0"): string {
  return `fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>) {
  for (var i = 0u; i < 4u; i++) {
    let row = r + i;
    if (row >= P.m) { break; }
    let base = z * P.cz + row * P.n;
    let bv = ${bias};
    for (var j = 0u; j < 4u; j++) {
      if (c + j < P.n) { ${out}[base + c + j] = v[j][i] + bv; }
    }
  }
}`;
}

/**
 * The convolution variant of the skeleton: an outer loop over filter taps (kernel positions)
 * around the K loop, so the inner loop walks channels and needs no integer division
 * (llvmpipe scalarises every vector division; GPUs pay ~20 instructions each).
 *
 * One invocation computes the same (4·rm)×(4·rn) block of C as {@link gemmMain}. The source
 * defines, besides `struct Q` (with `m`, `n`, `taps`), `kRange` and `storeC`:
 * - `alias ColT`, `fn colSetup(z: u32, tap: u32, c: u32) -> ColT`: per tap, what the B fetch
 *   needs about columns c..c+3 (e.g. their input offsets, −1 where padded);
 * - `fn tapActive(cs: ColT) -> bool`: false when no column reads anything at this tap (padding,
 *   or a stride-2 input gradient's other parity), so the whole K loop of the tap is skipped;
 * - `alias KT`, `fn kInit(z: u32, k: u32) -> KT`, `fn kNext(s: KT) -> KT`: loop state for K
 *   position k (k, or counters that replace divisions), advanced by 4 each step;
 * - `fn loadA(z: u32, tap: u32, s: KT, r: u32) -> mat4x4<f32>` and
 *   `fn loadB(z: u32, tap: u32, s: KT, cs: ColT) -> mat4x4<f32>`, as in {@link gemmMain}.
 */
export function tapGemmMain(t: Tuning["gemm"]): string {
  const { wx, wy } = t;
  const { decl, loads, fma, store } = tileLines(t, "z, tap, s, r#", "z, tap, s, cs#");
  const cols = Array.from({ length: t.rn }, (_, j) => j);
  const setup = cols.map((j) => `let cs${j} = colSetup(z, tap, c${j});`);
  const active = cols.map((j) => `tapActive(cs${j})`);
  return `
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z;
  ${decl.join("\n  ")}
  if (r0 >= P.m || c0 >= P.n) { return; }
  let kr = kRange(z);
  for (var tap = 0u; tap < P.taps; tap++) {
    ${setup.join("\n    ")}
    if (!(${active.join(" || ")})) { continue; }
    var s = kInit(z, kr.x);
    for (var k = kr.x; k < kr.y; k += 4u) {
      ${loads.join("\n      ")}
      ${fma.join("\n      ")}
      s = kNext(s);
    }
  }
  ${store.join("\n  ")}
}`;
}
