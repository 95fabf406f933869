/**
 * The workgroup-memory GEMM skeleton (the textbook GPU kernel), shared by matmul and, when
 * `tuning.gemm.sharedConv` is set, the convolutions as implicit GEMMs.
 *
 * Per K tile of `bk`, the workgroup stages a BM×bk tile of A and a bk×BN tile of B in workgroup
 * memory, each element fetched once by an element function (so an implicit-GEMM gather, with
 * its integer divisions, is paid once per element per workgroup, not once per use); then each
 * invocation computes its (4·rm)×(4·rn) outputs from vec4 reads of the tiles as 4×4 outer
 * products. BM = 4·rm·wy, BN = 4·rn·wx.
 *
 * The source defines, before the skeleton: `struct Q` with `m: u32, n: u32` and `P`;
 * `fn kRange(z: u32) -> vec2<u32>` (the K range of slice z); `fn aElem(z: u32, m: u32, k: u32)
 * -> f32` and `fn bElem(z: u32, k: u32, n: u32) -> f32` (0 outside m < P.m, n < P.n and the
 * operand's K); `fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>)` (column j = C[r..r+3, c+j],
 * bounds checked).
 * @module
 */

import type { Tuning } from "../tuning.ts";

/** Which index consecutive invocations walk while staging a tile (pick the contiguous one). */
export interface TileOrder {
  /** "k": consecutive invocations read consecutive k of A (A stored m×k); "m": of m. */
  a: "k" | "m";
  /** "n": consecutive invocations read consecutive n of B (B stored k×n); "k": of k. */
  b: "n" | "k";
}

/** The skeleton's workgroup memory and `main`. */
export function sharedGemmMain(t: Tuning["gemm"], order: TileOrder): string {
  const { wx, wy, rm, rn } = t;
  const bk = t.bk ?? 16;
  const BM = wy * 4 * rm, BN = wx * 4 * rn, threads = wx * wy;
  const aPos = order.a === "k"
    ? `let mm = e / ${bk}u; let kk = e % ${bk}u;`
    : `let kk = e / ${BM}u; let mm = e % ${BM}u;`;
  const bPos = order.b === "n"
    ? `let kk = e / ${BN}u; let nn = e % ${BN}u;`
    : `let nn = e / ${bk}u; let kk = e % ${bk}u;`;
  const decl: string[] = [], frag: string[] = [], fma: string[] = [], store: string[] = [];
  for (let i = 0; i < rm; i++) {
    decl.push(`let lr${i} = (${i}u * ${wy}u + lid.y) * 4u;`);
    frag.push(`let a${i} = As[(kk * ${BM}u + lr${i}) / 4u];`);
  }
  for (let j = 0; j < rn; j++) {
    decl.push(`let lc${j} = (${j}u * ${wx}u + lid.x) * 4u;`);
    frag.push(`let b${j} = Bs[(kk * ${BN}u + lc${j}) / 4u];`);
  }
  for (let i = 0; i < rm; i++) {
    for (let j = 0; j < rn; j++) {
      const a = `a${i}`, b = `b${j}`;
      decl.push(`var acc${i}${j} = mat4x4<f32>();`);
      fma.push(
        `acc${i}${j} += mat4x4<f32>(${a} * ${b}.x, ${a} * ${b}.y, ${a} * ${b}.z, ${a} * ${b}.w);`,
      );
      store.push(`storeC(z, rowBase + lr${i}, colBase + lc${j}, acc${i}${j});`);
    }
  }
  // No early return: every invocation must reach every barrier.
  return `
var<workgroup> As: array<vec4<f32>, ${(bk * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(bk * BN) / 4}>;
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let z = wid.z;
  let rowBase = wid.y * ${BM}u;
  let colBase = wid.x * ${BN}u;
  ${decl.join("\n  ")}
  let kr = kRange(z);
  for (var k0 = kr.x; k0 < kr.y; k0 += ${bk}u) {
    for (var e = li; e < ${BM * bk}u; e += ${threads}u) {
      ${aPos}
      let gk = k0 + kk;
      As[(kk * ${BM}u + mm) / 4u][mm % 4u] = select(0.0, aElem(z, rowBase + mm, gk), gk < kr.y);
    }
    for (var e = li; e < ${BN * bk}u; e += ${threads}u) {
      ${bPos}
      let gk = k0 + kk;
      Bs[(kk * ${BN}u + nn) / 4u][nn % 4u] = select(0.0, bElem(z, gk, colBase + nn), gk < kr.y);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      ${frag.join("\n      ")}
      ${fma.join("\n      ")}
    }
    workgroupBarrier();
  }
  ${store.join("\n  ")}
}`;
}
