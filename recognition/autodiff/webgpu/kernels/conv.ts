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

import type { ConvSpec } from "../../backend.ts";
import { Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { storage } from "./common.ts";
import { denseStore, gemmGrid, gemmMain, scalarBlockA } from "./gemm_template.ts";
import { matmul } from "./matmul.ts";
import { memo } from "./memo.ts";
import { reduceSum } from "./reduce.ts";

const STRUCT = `struct Q { m: u32, n: u32, k: u32, cz: u32, cIn: u32, h: u32, w: u32, cOut: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, ph: u32, pw: u32, oh: u32, ow: u32, khw: u32,
  hasBias: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> P: Q;`;

function convParams(s: ConvSpec, m: number, n: number, k: number, cz: number, extra = [0, 0]) {
  return new Params().u(
    m,
    n,
    k,
    cz,
    s.cIn,
    s.h,
    s.w,
    s.cOut,
    s.kh,
    s.kw,
    s.strideH,
    s.strideW,
    s.padH,
    s.padW,
    s.outH,
    s.outW,
    s.kh * s.kw,
    ...extra,
  );
}

/** x[z, ci, iy, ix] with zero padding outside the image. */
const X_AT = `fn xAt(z: u32, ci: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(P.h) || ix >= i32(P.w)) { return 0.0; }
  return X[((z * P.cIn + ci) * P.h + u32(iy)) * P.w + u32(ix)];
}`;

const FORWARD = `${STRUCT}
${storage([["X", "r"], ["W", "r"], ["BIAS", "r"], ["O", "w"]])}
${X_AT}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.k); }
fn a1(z: u32, r: u32, k: u32) -> f32 {
  if (r >= P.m || k >= P.k) { return 0.0; }
  return W[r * P.k + k];
}
fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32> {
  return ${scalarBlockA("a1")};
}
// Column j: im2col(x_z)[k..k+3, output pixel c+j].
fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32> {
  var b = mat4x4<f32>();
  for (var j = 0u; j < 4u; j++) {
    let p = c + j;
    if (p >= P.n) { break; }
    let by = i32((p / P.ow) * P.sh) - i32(P.ph);
    let bx = i32((p % P.ow) * P.sw) - i32(P.pw);
    for (var t = 0u; t < 4u; t++) {
      let kk = k + t;
      if (kk >= P.k) { break; }
      let ci = kk / P.khw;
      let rem = kk % P.khw;
      b[j][t] = xAt(z, ci, by + i32(rem / P.kw), bx + i32(rem % P.kw));
    }
  }
  return b;
}
${denseStore("O", "select(0.0, BIAS[row], P.hasBias != 0u)")}`;

const BACKWARD_INPUT = `${STRUCT}
${storage([["DY", "r"], ["W", "r"], ["DX", "w"]])}
fn kRange(z: u32) -> vec2<u32> { return vec2<u32>(0u, P.k); }
// A[ci, (o,i,j)] = w[o, ci, i, j].
fn a1(z: u32, r: u32, k: u32) -> f32 {
  if (r >= P.m || k >= P.k) { return 0.0; }
  return W[((k / P.khw) * P.cIn + r) * P.khw + k % P.khw];
}
fn loadA(z: u32, r: u32, k: u32) -> mat4x4<f32> {
  return ${scalarBlockA("a1")};
}
// Column j: G[k..k+3, input pixel c+j] (see the module comment).
fn loadB(z: u32, k: u32, c: u32) -> mat4x4<f32> {
  var b = mat4x4<f32>();
  for (var j = 0u; j < 4u; j++) {
    let q = c + j;
    if (q >= P.n) { break; }
    let yy = i32(q / P.w + P.ph);
    let xx = i32(q % P.w + P.pw);
    for (var t = 0u; t < 4u; t++) {
      let kk = k + t;
      if (kk >= P.k) { break; }
      let o = kk / P.khw;
      let rem = kk % P.khw;
      let ty = yy - i32(rem / P.kw);
      let tx = xx - i32(rem % P.kw);
      if (ty < 0 || tx < 0) { continue; }
      let uy = u32(ty);
      let ux = u32(tx);
      if (uy % P.sh != 0u || ux % P.sw != 0u) { continue; }
      let oy = uy / P.sh;
      let ox = ux / P.sw;
      if (oy >= P.oh || ox >= P.ow) { continue; }
      b[j][t] = DY[((z * P.cOut + o) * P.oh + oy) * P.ow + ox];
    }
  }
  return b;
}
${denseStore("DX")}`;

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

function isPointwise(s: ConvSpec): boolean {
  return s.kh === 1 && s.kw === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 &&
    s.padW === 0;
}

function tileKey(ctx: Ctx): string {
  const t = ctx.tuning.gemm;
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
  const t = ctx.tuning.gemm;
  const k = memo(`conv_fwd/${tileKey(ctx)}`, () => ({
    name: "conv2d",
    bindings: "rrrw",
    source: FORWARD + gemmMain(t),
  }));
  const p = convParams(s, s.cOut, hw, s.cIn * s.kh * s.kw, s.cOut * hw, [bias ? 1 : 0, 0]);
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
  const t = ctx.tuning.gemm;
  const k = memo(`conv_bwd_in/${tileKey(ctx)}`, () => ({
    name: "conv2dBackwardInput",
    bindings: "rrw",
    source: BACKWARD_INPUT + gemmMain(t),
  }));
  const p = convParams(s, s.cIn, hw, s.cOut * s.kh * s.kw, s.cIn * hw);
  ctx.batch.dispatch(k, [dy, w, dx], p, gemmGrid(t, s.cIn, hw, s.n));
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
  const t = ctx.tuning.gemm;
  const m = s.cOut, n = s.cIn * s.kh * s.kw, K = s.n * s.outH * s.outW;
  if (dbias) {
    reduceSum(ctx, dy, dbias, {
      inShape: [s.n, s.cOut, s.outH * s.outW],
      outShape: [1, s.cOut, 1],
    });
  }
  const [gx, gy] = gemmGrid(t, m, n, 1);
  const want = Math.floor(ctx.tuning.splitKWorkgroups / (gx * gy));
  let slices = Math.max(1, Math.min(want, Math.ceil(K / 64)));
  const chunk = Math.ceil(Math.ceil(K / slices) / 4) * 4;
  slices = Math.ceil(K / chunk);
  const k = memo(`conv_bwd_w/${tileKey(ctx)}`, () => ({
    name: "conv2dBackwardWeight",
    bindings: "rrw",
    source: BACKWARD_WEIGHT + gemmMain(t),
  }));
  const p = convParams(s, m, n, K, m * n, [0, chunk]);
  if (slices <= 1) {
    ctx.batch.dispatch(k, [x, dy, dw], p, [gx, gy, 1]);
    return;
  }
  const part = ctx.temp(slices * m * n);
  ctx.batch.dispatch(k, [x, dy, part], p, [gx, gy, slices]);
  reduceSum(ctx, part, dw, { inShape: [slices, m * n], outShape: [1, m * n] });
  ctx.release(part);
}
