/**
 * 2-D convolution (NCHW, OIHW) forward, input gradient and weight gradient as implicit GEMMs on
 * the register-tiled skeleton (`gemm_template.ts`): no im2col buffer; each 4×4 block of the
 * virtual im2col matrix is gathered on the fly with zero padding. 1×1/stride-1/no-padding
 * convolutions without bias go to the plain (vec4) matmul instead.
 *
 * - forward, per image z: out_z (cOut × oh·ow) = W (cOut × cIn·kh·kw) · im2col(x_z).
 * - input gradient, per image z: dx_z (cIn × h·w) = Wᵀ-ish (cIn × cOut·kh·kw) · G, where
 *   G[(o,i,j), (y,x)] = dy_z[o, (y+ph−i)/sh, (x+pw−j)/sw] when divisible and in range, else 0.
 * - weight gradient: dw (cOut × cIn·kh·kw) = Σ_{z,p} dy (cOut × n·oh·ow) · im2col(x)ᵀ, with
 *   K = n·oh·ow split into slices (split-K: z is the slice) summed by `reduceSum` afterwards,
 *   so small weight matrices still fill the GPU.
 * @module
 */

import { convDims, type ConvSpec } from "../../backend.ts";
import { Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { storage } from "./common.ts";
import { denseStore, gemmGrid, gemmMain, scalarBlockA, tapGemmMain } from "./gemm_template.ts";
import { matmul } from "./matmul.ts";
import { memo } from "./memo.ts";
import { sharedGemmMain } from "./shared_gemm.ts";
import { reduceSum } from "./reduce.ts";
import { fitTile, type Tuning } from "../tuning.ts";

const STRUCT = `struct Q { m: u32, n: u32, k: u32, cz: u32, cIn: u32, h: u32, w: u32, cOut: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, oh: u32, ow: u32, khw: u32,
  hasBias: u32, kChunk: u32, taps: u32, slices: u32, hc: u32, wc: u32 }
@group(0) @binding(0) var<uniform> P: Q;`;

/** Uniforms; `extra` = [hasBias, kChunk, taps, slices, hc, wc]. */
function convParams(
  s: ConvSpec,
  m: number,
  n: number,
  k: number,
  cz: number,
  extra = [0, 0, 1, 1, 0, 0],
) {
  return new Params().u(m, n, k, cz, ...convDims(s), s.kh * s.kw, ...extra);
}

/** x[z, ci, iy, ix] with zero padding outside the image. */
const X_AT = `fn xAt(z: u32, ci: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(P.h) || ix >= i32(P.w)) { return 0.0; }
  return X[((z * P.cIn + ci) * P.h + u32(iy)) * P.w + u32(ix)];
}`;

/** WGSL mat4x4 whose column t is (f(r, k+t), f(r+1, k+t), f(r+2, k+t), f(r+3, k+t)). */
function blockRows(f: (row: string, k: string) => string): string {
  const col = (t: number) =>
    `vec4<f32>(${[0, 1, 2, 3].map((i) => f(`r + ${i}u`, `k + ${t}u`)).join(", ")})`;
  return `mat4x4<f32>(${[0, 1, 2, 3].map(col).join(",\n    ")})`;
}

/** Loop state of the tapped kernels whose K is a channel index. */
const CHANNEL_K = `alias KT = u32;
fn kInit(z: u32, k: u32) -> u32 { return k; }
fn kNext(s: u32) -> u32 { return s + 4u; }
alias ColT = vec4<i32>;
fn tapActive(off: vec4<i32>) -> bool { return any(off >= vec4<i32>(0)); }`;

/** Column j of a B block: plane[(base channel + t)·planeSize + off[j]], 0 where off < 0. */
function gatherB(arr: string, channels: string, planeBase: string): string {
  return `var b = mat4x4<f32>();
  for (var t = 0u; t < 4u; t++) {
    let ch = k + t;
    if (ch >= ${channels}) { break; }
    let base = ${planeBase};
    for (var j = 0u; j < 4u; j++) {
      if (off[j] >= 0) { b[j][t] = ${arr}[base + u32(off[j])]; }
    }
  }
  return b;`;
}

// Forward, per image z and tap: out_z[o, p] += Σ_ci w[o, ci, tap] · x_z[ci, at(p, tap)].
const FORWARD = `${STRUCT}
${storage([["X", "r"], ["W", "r"], ["BIAS", "r"], ["O", "w"]])}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.cIn); }
${CHANNEL_K}
// Input-plane offsets iy·w+ix read by output pixels c..c+3 at this tap; −1 where padded.
fn colSetup(z: u32, tap: u32, c: u32) -> vec4<i32> {
  let ti = i32(tap / P.kw) - i32(P.ph);
  let tj = i32(tap % P.kw) - i32(P.pw);
  var off = vec4<i32>(-1);
  for (var j = 0u; j < 4u; j++) {
    let p = c + j;
    if (p >= P.n) { break; }
    let iy = i32((p / P.ow) * P.sh) + ti;
    let ix = i32((p % P.ow) * P.sw) + tj;
    if (iy >= 0 && ix >= 0 && iy < i32(P.h) && ix < i32(P.w)) { off[j] = iy * i32(P.w) + ix; }
  }
  return off;
}
fn w1(r: u32, ci: u32, tap: u32) -> f32 {
  if (r >= P.m || ci >= P.cIn) { return 0.0; }
  return W[(r * P.cIn + ci) * P.khw + tap];
}
fn loadA(z: u32, tap: u32, k: u32, r: u32) -> mat4x4<f32> {
  return ${blockRows((row, k) => `w1(${row}, ${k}, tap)`)};
}
fn loadB(z: u32, tap: u32, k: u32, off: vec4<i32>) -> mat4x4<f32> {
  ${gatherB("X", "P.cIn", "(z * P.cIn + ch) * P.h * P.w")}
}
${denseStore("O", "select(0.0, BIAS[row], P.hasBias != 0u)")}`;

// Input gradient, per image z and tap: dx_z[ci, q] += Σ_o w[o, ci, tap] · dy_z[o, from(q, tap)].
// Columns q enumerate input pixels by stride parity class (iy % sh, ix % sw) first, then the
// hc×wc grid of that class, so the 4 columns of a block share which taps reach them and a
// stride-2 gradient skips the ¾ of (tap, block) pairs that read nothing.
const BACKWARD_INPUT = `${STRUCT}
${storage([["DY", "r"], ["W", "r"], ["DX", "w"]])}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.cOut); }
${CHANNEL_K}
// Input pixel (iy, ix) of column q, or (-1, -1) past the image.
fn pixel(q: u32) -> vec2<i32> {
  let cls = q / (P.hc * P.wc);
  let rem = q % (P.hc * P.wc);
  let iy = (rem / P.wc) * P.sh + cls / P.sw;
  let ix = (rem % P.wc) * P.sw + cls % P.sw;
  if (iy >= P.h || ix >= P.w) { return vec2<i32>(-1); }
  return vec2<i32>(i32(iy), i32(ix));
}
// dy-plane offsets oy·ow+ox that reach columns c..c+3 through this tap; −1 if none.
fn colSetup(z: u32, tap: u32, c: u32) -> vec4<i32> {
  let ti = i32(tap / P.kw);
  let tj = i32(tap % P.kw);
  var off = vec4<i32>(-1);
  for (var j = 0u; j < 4u; j++) {
    let q = c + j;
    if (q >= P.n) { break; }
    let px = pixel(q);
    if (px.x < 0) { continue; }
    let ty = px.x + i32(P.ph) - ti;
    let tx = px.y + i32(P.pw) - tj;
    if (ty < 0 || tx < 0) { continue; }
    let uy = u32(ty);
    let ux = u32(tx);
    if (uy % P.sh != 0u || ux % P.sw != 0u) { continue; }
    let oy = uy / P.sh;
    let ox = ux / P.sw;
    if (oy < P.oh && ox < P.ow) { off[j] = i32(oy * P.ow + ox); }
  }
  return off;
}
fn w1(r: u32, o: u32, tap: u32) -> f32 {
  if (r >= P.m || o >= P.cOut) { return 0.0; }
  return W[(o * P.cIn + r) * P.khw + tap];
}
fn loadA(z: u32, tap: u32, k: u32, r: u32) -> mat4x4<f32> {
  return ${blockRows((row, k) => `w1(${row}, ${k}, tap)`)};
}
fn loadB(z: u32, tap: u32, k: u32, off: vec4<i32>) -> mat4x4<f32> {
  ${gatherB("DY", "P.cOut", "(z * P.cOut + ch) * P.oh * P.ow")}
}
fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    if (c + j >= P.n) { break; }
    let px = pixel(c + j);
    if (px.x < 0) { continue; }
    let at = u32(px.x) * P.w + u32(px.y);
    for (var i = 0u; i < 4u; i++) {
      let row = r + i;
      if (row < P.m) { DX[(z * P.cIn + row) * P.h * P.w + at] = v[j][i]; }
    }
  }
}`;

// Weight gradient, fast path (oh·ow % 4 = 0, ow ≥ 4): z = tap·slices + slice; per tap a GEMM
// dw[o, ci, tap] = Σ_{(b,p) in slice} dy[b, o, p] · x[b, ci, at(p, tap)]. K = (b, p) advances
// by counters (image, oy, ox) instead of divisions; a block of 4 never crosses an image.
const BACKWARD_WEIGHT_FAST = `${STRUCT}
${storage([["X", "r"], ["DY", "r", "vec4<f32>"], ["O", "w"]])}
fn kRange(z: u32) -> vec2<u32> {
  let sl = z % P.slices;
  return vec2<u32>(sl * P.kChunk, min((sl + 1u) * P.kChunk, P.k));
}
alias KT = vec4<u32>; // (k, image, oy, ox)
fn kInit(z: u32, k: u32) -> vec4<u32> {
  let ohw = P.oh * P.ow;
  let p = k % ohw;
  return vec4<u32>(k, k / ohw, p / P.ow, p % P.ow);
}
fn kNext(s: vec4<u32>) -> vec4<u32> {
  var ox = s.w + 4u;
  var oy = s.z;
  var b = s.y;
  if (ox >= P.ow) {
    ox -= P.ow;
    oy += 1u;
    if (oy >= P.oh) { oy = 0u; b += 1u; }
  }
  return vec4<u32>(s.x + 4u, b, oy, ox);
}
alias ColT = vec4<i32>; // (first ci, tap row − padH, tap column − padW, tap)
fn tapActive(cs: vec4<i32>) -> bool { return true; }
fn colSetup(z: u32, tap: u32, c: u32) -> vec4<i32> {
  let t = z / P.slices;
  return vec4<i32>(i32(c), i32(t / P.kw) - i32(P.ph), i32(t % P.kw) - i32(P.pw), i32(t));
}
// Column t = dy[image, r..r+3, p+t] (vec4 rows along p, transposed).
fn loadA(z: u32, tap: u32, s: vec4<u32>, r: u32) -> mat4x4<f32> {
  let ohw4 = P.oh * P.ow / 4u;
  let p4 = (s.z * P.ow + s.w) / 4u;
  let last = P.m - 1u;
  let rowBase = s.y * P.cOut;
  return transpose(mat4x4<f32>(DY[(rowBase + min(r, last)) * ohw4 + p4],
    DY[(rowBase + min(r + 1u, last)) * ohw4 + p4], DY[(rowBase + min(r + 2u, last)) * ohw4 + p4],
    DY[(rowBase + min(r + 3u, last)) * ohw4 + p4]));
}
// Column j = x[image, ci+j, at(p+t, tap)] for t = 0..3.
fn loadB(z: u32, tap: u32, s: vec4<u32>, cs: vec4<i32>) -> mat4x4<f32> {
  var off = vec4<i32>(-1);
  for (var t = 0u; t < 4u; t++) {
    var ox = s.w + t;
    var oy = s.z;
    if (ox >= P.ow) { ox -= P.ow; oy += 1u; }
    let iy = i32(oy * P.sh) + cs.y;
    let ix = i32(ox * P.sw) + cs.z;
    if (iy >= 0 && ix >= 0 && iy < i32(P.h) && ix < i32(P.w)) { off[t] = iy * i32(P.w) + ix; }
  }
  var b = mat4x4<f32>();
  let c0 = u32(cs.x);
  for (var j = 0u; j < 4u; j++) {
    let ci = c0 + j;
    if (ci >= P.n) { break; }
    let base = (s.y * P.cIn + ci) * P.h * P.w;
    for (var t = 0u; t < 4u; t++) {
      if (off[t] >= 0) { b[j][t] = X[base + u32(off[t])]; }
    }
  }
  return b;
}
fn storeC(z: u32, r: u32, c: u32, v: mat4x4<f32>) {
  let sl = z % P.slices;
  let t = z / P.slices;
  for (var i = 0u; i < 4u; i++) {
    let row = r + i;
    if (row >= P.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = c + j;
      if (col < P.n) { O[((sl * P.m + row) * P.n + col) * P.khw + t] = v[j][i]; }
    }
  }
}`;

const BACKWARD_WEIGHT = `${STRUCT}
${storage([["X", "r"], ["DY", "r"], ["O", "w"]])}
${X_AT}
fn kRange(z: u32) -> vec2<u32> {
  return vec2<u32>(z * P.kChunk, min((z + 1u) * P.kChunk, P.k));
}
// A[o, (b,p)] = dy[b, o, p].
fn a1(z: u32, r: u32, k: u32) -> f32 {
  if (r >= P.m || k >= P.k) { return 0.0; }
  let ohw = P.oh * P.ow;
  return DY[((k / ohw) * P.cOut + r) * ohw + k % ohw];
}
fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32> {
  return ${scalarBlockA("a1")};
}
// Column j: im2col(x)ᵀ[(b,p) = k..k+3, weight element c+j = (ci,i,j)].
fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32> {
  var b = mat4x4<f32>();
  let ohw = P.oh * P.ow;
  for (var t = 0u; t < 4u; t++) {
    let kk = k + t;
    if (kk >= P.k) { break; }
    let img = kk / ohw;
    let p = kk % ohw;
    let by = i32((p / P.ow) * P.sh) - i32(P.ph);
    let bx = i32((p % P.ow) * P.sw) - i32(P.pw);
    for (var j = 0u; j < 4u; j++) {
      let col = c + j;
      if (col >= P.n) { break; }
      let rem = col % P.khw;
      b[j][t] = xAt(img, col / P.khw, by + i32(rem / P.kw), bx + i32(rem % P.kw));
    }
  }
  return b;
}
${denseStore("O")}`;

// Workgroup-memory variants (tuning.gemm.sharedConv): plain im2col-order implicit GEMMs whose
// element gathers (with their divisions) are paid once per staged element (shared_gemm.ts).

// Forward, per image z: out_z (cOut × oh·ow) = W (cOut × cIn·kh·kw) · im2col(x_z).
const SHARED_FORWARD = `${STRUCT}
${storage([["X", "r"], ["W", "r"], ["BIAS", "r"], ["O", "w"]])}
${X_AT}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.k); }
fn aElem(z: u32, m: u32, k: u32) -> f32 {
  if (m >= P.m || k >= P.k) { return 0.0; }
  return W[m * P.k + k];
}
fn bElem(z: u32, k: u32, n: u32) -> f32 {
  if (k >= P.k || n >= P.n) { return 0.0; }
  let tap = k % P.khw;
  return xAt(z, k / P.khw, i32((n / P.ow) * P.sh + tap / P.kw) - i32(P.ph),
    i32((n % P.ow) * P.sw + tap % P.kw) - i32(P.pw));
}
${denseStore("O", "select(0.0, BIAS[row], P.hasBias != 0u)")}`;

// Input gradient, per image z: dx_z (cIn × h·w) = A (cIn × cOut·kh·kw) · G (see module comment).
const SHARED_BACKWARD_INPUT = `${STRUCT}
${storage([["DY", "r"], ["W", "r"], ["DX", "w"]])}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.k); }
fn aElem(z: u32, m: u32, k: u32) -> f32 {
  if (m >= P.m || k >= P.k) { return 0.0; }
  return W[((k / P.khw) * P.cIn + m) * P.khw + k % P.khw];
}
fn bElem(z: u32, k: u32, n: u32) -> f32 {
  if (k >= P.k || n >= P.n) { return 0.0; }
  let tap = k % P.khw;
  let ty = i32(n / P.w + P.ph) - i32(tap / P.kw);
  let tx = i32(n % P.w + P.pw) - i32(tap % P.kw);
  if (ty < 0 || tx < 0) { return 0.0; }
  let uy = u32(ty);
  let ux = u32(tx);
  if (uy % P.sh != 0u || ux % P.sw != 0u) { return 0.0; }
  let oy = uy / P.sh;
  let ox = ux / P.sw;
  if (oy >= P.oh || ox >= P.ow) { return 0.0; }
  return DY[((z * P.cOut + k / P.khw) * P.oh + oy) * P.ow + ox];
}
${denseStore("DX")}`;

// Weight gradient, split-K slice z: dw_z (cOut × cIn·kh·kw) = Σ_{(b,p) in slice} dy · im2col(x)ᵀ.
const SHARED_BACKWARD_WEIGHT = `${STRUCT}
${storage([["X", "r"], ["DY", "r"], ["O", "w"]])}
${X_AT}
fn kRange(z: u32) -> vec2<u32> {
  return vec2<u32>(z * P.kChunk, min((z + 1u) * P.kChunk, P.k));
}
fn aElem(z: u32, m: u32, k: u32) -> f32 {
  if (m >= P.m || k >= P.k) { return 0.0; }
  let ohw = P.oh * P.ow;
  return DY[((k / ohw) * P.cOut + m) * ohw + k % ohw];
}
fn bElem(z: u32, k: u32, n: u32) -> f32 {
  if (k >= P.k || n >= P.n) { return 0.0; }
  let ohw = P.oh * P.ow;
  let p = k % ohw;
  let tap = n % P.khw;
  return xAt(k / ohw, n / P.khw, i32((p / P.ow) * P.sh + tap / P.kw) - i32(P.ph),
    i32((p % P.ow) * P.sw + tap % P.kw) - i32(P.pw));
}
${denseStore("O")}`;

function isPointwise(s: ConvSpec): boolean {
  return s.kh === 1 && s.kw === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 &&
    s.padW === 0;
}

function tileKey(t: Tuning["gemm"]): string {
  return `${t.wx},${t.wy},${t.rm},${t.rn}`;
}

/** out = conv2d(x, w) + bias, see {@link ConvSpec}. */
export function conv2d(
  ctx: Ctx,
  x: GpuBuf,
  w: GpuBuf,
  bias: GpuBuf | null,
  out: GpuBuf,
  s: ConvSpec,
): void {
  const hw = s.outH * s.outW;
  if (isPointwise(s) && !bias) {
    return matmul(ctx, w, x, out, {
      batch: s.n,
      m: s.cOut,
      n: hw,
      k: s.cIn,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: s.cIn * s.h * s.w,
    });
  }
  const t = fitTile(ctx.tuning.gemm, s.cOut, hw);
  const k = t.sharedConv
    ? memo(`conv_fwd_shared/${JSON.stringify(t)}`, () => ({
      name: "conv2d (shared)",
      bindings: "rrrw",
      source: SHARED_FORWARD + sharedGemmMain(t, { a: "k", b: "n" }),
    }))
    : memo(`conv_fwd/${tileKey(t)}`, () => ({
      name: "conv2d",
      bindings: "rrrw",
      source: FORWARD + tapGemmMain(t),
    }));
  // the shared kernel walks K = cIn·kh·kw in one loop; the register one tap by tap
  const taps = t.sharedConv ? 1 : s.kh * s.kw;
  const p = convParams(s, s.cOut, hw, s.cIn * s.kh * s.kw, s.cOut * hw, [bias ? 1 : 0, 0, taps, 1]);
  ctx.batch.dispatch(k, [x, w, bias ?? ctx.dummy, out], p, gemmGrid(t, s.cOut, hw, s.n));
}

/** dx from dy and w. */
export function conv2dBackwardInput(
  ctx: Ctx,
  dy: GpuBuf,
  w: GpuBuf,
  dx: GpuBuf,
  s: ConvSpec,
): void {
  const hw = s.h * s.w;
  if (isPointwise(s)) {
    return matmul(ctx, w, dy, dx, {
      batch: s.n,
      m: s.cIn,
      n: hw,
      k: s.cOut,
      transA: true,
      transB: false,
      aBatchStride: 0,
      bBatchStride: s.cOut * hw,
    });
  }
  // Strided input gradients keep the register kernel: its parity order skips the ¾ zeros.
  const shared = ctx.tuning.gemm.sharedConv && s.strideH === 1 && s.strideW === 1;
  const taps = s.kh * s.kw;
  const hc = Math.ceil(s.h / s.strideH), wc = Math.ceil(s.w / s.strideW);
  // register kernel: parity classes × class grid (≥ h·w) columns; shared: the h·w pixels
  const cols = shared ? hw : s.strideH * s.strideW * hc * wc;
  const t = fitTile(ctx.tuning.gemm, s.cIn, cols);
  const k = shared
    ? memo(`conv_bwd_in_shared/${JSON.stringify(t)}`, () => ({
      name: "conv2dBackwardInput (shared)",
      bindings: "rrw",
      source: SHARED_BACKWARD_INPUT + sharedGemmMain(t, { a: "k", b: "n" }),
    }))
    : memo(`conv_bwd_in/${tileKey(t)}`, () => ({
      name: "conv2dBackwardInput",
      bindings: "rrw",
      source: BACKWARD_INPUT + tapGemmMain(t),
    }));
  const p = shared
    ? convParams(s, s.cIn, hw, s.cOut * taps, s.cIn * hw)
    : convParams(s, s.cIn, cols, s.cOut * taps, 0, [0, 0, taps, 1, hc, wc]);
  ctx.batch.dispatch(k, [dy, w, dx], p, gemmGrid(t, s.cIn, cols, s.n));
}

/** dw (and dbias) from x and dy, split-K over n·oh·ow. */
export function conv2dBackwardWeight(
  ctx: Ctx,
  x: GpuBuf,
  dy: GpuBuf,
  dw: GpuBuf,
  dbias: GpuBuf | null,
  s: ConvSpec,
): void {
  const base = ctx.tuning.gemm;
  const m = s.cOut, n = s.cIn * s.kh * s.kw, K = s.n * s.outH * s.outW;
  if (dbias) {
    reduceSum(ctx, dy, dbias, {
      inShape: [s.n, s.cOut, s.outH * s.outW],
      outShape: [1, s.cOut, 1],
    });
  }
  const taps = s.kh * s.kw, ohw = s.outH * s.outW;
  // cIn ≥ 8: with fewer input channels the per-tap GEMM is too narrow to fill a workgroup.
  const shared = Boolean(base.sharedConv);
  const fast = !shared && ohw % 4 === 0 && s.outW >= 4 && s.cIn >= 8;
  const t = fitTile(base, m, fast ? s.cIn : n);
  // Fast path: one GEMM (cOut × cIn) per tap; generic path: one GEMM (cOut × cIn·taps).
  const [gx, gy] = fast ? gemmGrid(t, m, s.cIn, 1) : gemmGrid(t, m, n, 1);
  const perSlice = gx * gy * (fast ? taps : 1);
  const want = Math.floor(ctx.tuning.splitKWorkgroups / perSlice);
  let slices = Math.max(1, Math.min(want, Math.ceil(K / 64)));
  const chunk = Math.ceil(Math.ceil(K / slices) / 4) * 4;
  slices = Math.ceil(K / chunk);
  const k = shared
    ? memo(`conv_bwd_w_shared/${JSON.stringify(t)}`, () => ({
      name: "conv2dBackwardWeight (shared)",
      bindings: "rrw",
      source: SHARED_BACKWARD_WEIGHT + sharedGemmMain(t, { a: "k", b: "k" }),
    }))
    : fast
    ? memo(`conv_bwd_w_fast/${tileKey(t)}`, () => ({
      name: "conv2dBackwardWeight",
      bindings: "rrw",
      source: BACKWARD_WEIGHT_FAST + tapGemmMain(t),
    }))
    : memo(`conv_bwd_w/${tileKey(t)}`, () => ({
      name: "conv2dBackwardWeight (generic)",
      bindings: "rrw",
      source: BACKWARD_WEIGHT + gemmMain(t),
    }));
  const p = fast
    ? convParams(s, m, s.cIn, K, 0, [0, chunk, 1, slices])
    : convParams(s, m, n, K, m * n, [0, chunk, 1, slices]);
  const z = fast ? taps * slices : slices;
  if (slices <= 1) {
    ctx.batch.dispatch(k, [x, dy, dw], p, [gx, gy, z]);
    return;
  }
  const part = ctx.temp(slices * m * n);
  ctx.batch.dispatch(k, [x, dy, part], p, [gx, gy, z]);
  reduceSum(ctx, part, dw, { inShape: [slices, m * n], outShape: [1, m * n] });
  ctx.release(part);
}
