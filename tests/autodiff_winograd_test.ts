/**
 * The cpu backend's fast 3×3 convolutions (`cpu/winograd.ts`: Winograd F(4×4, 3×3) at stride 1,
 * the even/odd-phase scheme at stride 2; forward, input gradient, weight gradient) against the
 * float64 reference and the im2col + GEMM path, on odd sizes, padding 0/1/2 (stride 1) and 1
 * (stride 2), several images, and bit-identical at 1 and 2 threads; and the wasm kernel transforms
 * (U = G g Gᵀ, dW = Gᵀ dU G) bit for bit against their TS reference.
 *
 * Tolerance: each output is compared with |error| ≤ TOL · Σ|terms| (the float64 sum of the
 * absolute products that make it up). A float32 dot product of k terms is within ~k·ε of that
 * (ε = 2⁻²⁴ ≈ 6e-8; in practice √k·ε); the stride-2 phases add the roundings of their
 * transforms, each a sum of ≤ 3 terms with coefficients ±1, so their error is a small multiple of
 * im2col's. With k ≤ 3·3·256 = 2304 terms here, TOL = 4e-6 (≈ 64 ε) bounds both with room (both
 * measure ≈ 1–4e-7, also at k = 2304: random-sign rounding errors grow with the partial sums,
 * which stay far below Σ|terms|); a wrong transform or tile index gives errors of order 1.
 * F(4, 3) (stride 1, every pass) rounds values scaled by its transforms' coefficients (up to 5
 * in Bᵀ, 8 in Aᵀ, 1/6 in G): it measures 1–4e-6 (F(2, 3), which it replaced, 1–2e-7), so its
 * outputs get TOL_F43 = 2e-5 (≈ 340 ε), still 5 orders of magnitude below a wrong index.
 */
import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import * as ag from "../recognition/autodiff/mod.ts";
import { type ConvSpec, withConvOutput } from "../recognition/autodiff/backend.ts";
import {
  fastConvKind,
  transformKernel,
  untransformWeightGrad,
  wasmTransformKernel,
  wasmUntransformWeightGrad,
  winogradApplies,
} from "../recognition/autodiff/cpu/winograd.ts";
import { type Scheme, SCHEMES, WEIGHT_SCHEMES } from "../recognition/autodiff/cpu/winograd_wat.ts";
import type { WasmKernels } from "../recognition/autodiff/cpu/wasm_gemm.ts";

const TOL = 4e-6, TOL_F43 = 2e-5;
const ref = new ag.Ref64Backend();
const wino1 = await ag.CpuBackend.create({ initialMiB: 16, threads: 1 });
const wino2 = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
const im2col = await ag.CpuBackend.create({ initialMiB: 16, threads: 1, winograd: false });
await wino2.warmup();

interface Grads {
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
}

/** A 3×3 convolution with padding `p` (both axes) and the given stride. */
function spec(n: number, cIn: number, h: number, w: number, cOut: number, p: number, stride = 1) {
  const [strideH, strideW, padH, padW] = [stride, stride, p, p];
  return withConvOutput({ n, cIn, h, w, cOut, kh: 3, kw: 3, strideH, strideW, padH, padW });
}

/** Forward, input gradient and weight gradient of conv `s` on backend `be`. */
function run(be: ag.Backend, s: ConvSpec, x: Float64Array, w: Float64Array, dy: Float64Array) {
  const read = (b: ag.Buf) =>
    be instanceof ag.Ref64Backend ? be.read64(b) : Float64Array.from((be as ag.CpuBackend).view(b));
  const bx = be.alloc(x.length), bw = be.alloc(w.length), bdy = be.alloc(dy.length);
  const by = be.alloc(dy.length), bdx = be.alloc(x.length), bdw = be.alloc(w.length);
  be.upload(bx, x);
  be.upload(bw, w);
  be.upload(bdy, dy);
  be.conv2d(bx, bw, null, by, s);
  be.conv2dBackwardInput(bdy, bw, bdx, s);
  be.conv2dBackwardWeight(bx, bdy, bdw, null, s);
  const out: Grads = { y: read(by), dx: read(bdx), dw: read(bdw) };
  for (const b of [bx, bw, bdy, by, bdx, bdw]) be.free(b);
  return out;
}

/** Largest |got − want| / Σ|terms| over the elements. */
function scaledError(got: Float64Array, want: Float64Array, mag: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(mag[i], 1e-30));
  }
  return worst;
}

const cases = [
  { n: 3, cIn: 17, h: 9, w: 11, cOut: 19, p: 1, stride: 1 },
  { n: 2, cIn: 16, h: 7, w: 13, cOut: 16, p: 0, stride: 1 },
  { n: 2, cIn: 16, h: 6, w: 5, cOut: 17, p: 2, stride: 1 },
  // wide rows (full 4-tile vectors), blocks of tile rows spanning images, 10 images > 8 chunks
  { n: 10, cIn: 16, h: 13, w: 37, cOut: 18, p: 1, stride: 1 },
  // F(4,3): deep sums (2304 terms), rows of exactly 4 and 8 tiles, a last ragged tile row
  { n: 2, cIn: 256, h: 9, w: 10, cOut: 32, p: 1, stride: 1 },
  { n: 3, cIn: 24, h: 18, w: 16, cOut: 40, p: 1, stride: 1 },
  { n: 2, cIn: 16, h: 7, w: 32, cOut: 16, p: 0, stride: 1 },
  // stride 2 (padding 1): odd and even sizes, ragged tiles, wide rows
  { n: 3, cIn: 33, h: 9, w: 11, cOut: 19, p: 1, stride: 2 },
  { n: 2, cIn: 32, h: 8, w: 6, cOut: 16, p: 1, stride: 2 },
  { n: 10, cIn: 32, h: 14, w: 75, cOut: 18, p: 1, stride: 2 },
  // 128 inputs, ≥ 8 outputs a row: all three passes by phases (ragged tiles; 130 outputs: a
  // ragged last GEMM panel)
  { n: 3, cIn: 128, h: 9, w: 17, cOut: 256, p: 1, stride: 2 },
  { n: 2, cIn: 128, h: 10, w: 16, cOut: 130, p: 1, stride: 2 },
];

for (const c of cases) {
  Deno.test(`autodiff winograd: ${JSON.stringify(c)} matches ref64 and im2col, any thread count`, () => {
    const s = spec(c.n, c.cIn, c.h, c.w, c.cOut, c.p, c.stride);
    assert.ok(winogradApplies(s), "the case takes the Winograd path");
    const rng = Rng.fromSeed(5).split(JSON.stringify(c));
    const f32 = (n: number) => Float64Array.from(rng.normals(n), Math.fround);
    const x = f32(c.n * c.cIn * c.h * c.w), w = f32(c.cOut * c.cIn * 9);
    const dy = f32(c.n * c.cOut * s.outH * s.outW);
    const want = run(ref, s, x, w, dy);
    const abs = (a: Float64Array) => a.map(Math.abs);
    const mag = run(ref, s, abs(x), abs(w), abs(dy)); // Σ|terms| of every output
    const got = run(wino1, s, x, w, dy), base = run(im2col, s, x, w, dy);
    for (const k of ["y", "dx", "dw"] as const) {
      const e = scaledError(got[k], want[k], mag[k]), eb = scaledError(base[k], want[k], mag[k]);
      const pass = ({ y: "forward", dx: "input", dw: "weight" } as const)[k];
      const tol = fastConvKind(s, pass) === "f43" ? TOL_F43 : TOL;
      assert.ok(e <= tol, `${k}: Winograd error ${e.toExponential(2)} > ${tol} (im2col ${eb})`);
      assert.ok(eb <= TOL, `${k}: im2col error ${eb.toExponential(2)} > ${TOL}`);
    }
    const two = run(wino2, s, x, w, dy);
    for (const k of ["y", "dx", "dw"] as const) {
      assert.deepEqual(two[k], got[k], `${k}: 2 threads give the same bits as 1`);
    }
  });
}

Deno.test("autodiff winograd: only wide 3×3 stride-1/2 convolutions take it; opt-out is im2col", () => {
  assert.ok(!winogradApplies(spec(2, 8, 16, 16, 16, 1)), "8 input channels: im2col");
  assert.ok(!winogradApplies(spec(2, 32, 16, 16, 32, 0, 2)), "stride 2 without padding: im2col");
  assert.ok(!winogradApplies(spec(2, 32, 16, 16, 32, 1, 3)), "stride 3: im2col");
  assert.ok(!winogradApplies(spec(2, 16, 16, 16, 16, 1, 2)), "stride 2, 16 inputs: im2col");
  assert.ok(!winogradApplies(spec(2, 256, 14, 12, 512, 1, 2), "input"), "256 inputs: im2col");
  assert.ok(!winogradApplies(spec(2, 128, 8, 8, 128, 1, 2)), "128 inputs, 4×4 outputs: im2col");
  for (const p of ["forward", "input", "weight"] as const) {
    assert.equal(winogradApplies(spec(2, 32, 9, 9, 64, 1, 2), p), true, `32→64 ${p}: phases`);
    assert.equal(fastConvKind(spec(2, 128, 28, 24, 128, 1, 2), p), "s2", `128→128 ${p}: phases`);
    assert.equal(fastConvKind(spec(2, 32, 9, 9, 64, 1), p), "f43", `stride 1 ${p}: F(4,3)`);
  }
  assert.match(wino1.info, /Winograd/);
  assert.doesNotMatch(im2col.info, /Winograd/);
  // the opt-out really is the other path: its bits differ from Winograd's on the same conv
  const s = spec(2, 16, 8, 8, 16, 1);
  const rng = Rng.fromSeed(6);
  const x = Float64Array.from(rng.normals(2 * 16 * 64), Math.fround);
  const w = Float64Array.from(rng.normals(16 * 16 * 9), Math.fround);
  const dy = Float64Array.from(rng.normals(2 * 16 * 64), Math.fround);
  assert.notDeepEqual(run(wino1, s, x, w, dy).y, run(im2col, s, x, w, dy).y);
});

Deno.test("autodiff winograd: the wasm kernel transforms give transformKernel's and untransformWeightGrad's bits", () => {
  const rng = Rng.fromSeed(8);
  // odd kernel counts (a lone last kernel), one split over threads (≥ 2048 kernels), -0 and ±∞
  for (const [rows, cols] of [[19, 17], [67, 33], [1, 1]]) {
    const w = Float32Array.from(rng.normals(rows * cols * 9));
    w[0] = -0;
    w[4] = Infinity;
    for (const sc of Object.values(SCHEMES) as Scheme[]) {
      const P2 = sc.g.length ** 2;
      for (const opts of [{ transpose: false, rotate: false }, { transpose: true, rotate: true }]) {
        const want = new Float32Array(P2 * rows * cols);
        transformKernel(w, rows, cols, sc.g, opts, want);
        for (const be of [wino1, wino2]) {
          const k = be.gemm as WasmKernels;
          const bw = be.alloc(w.length), bu = be.alloc(want.length);
          be.view(bw).set(w);
          wasmTransformKernel(k, be, sc, bw, rows, cols, opts, bu);
          assert.deepEqual(be.view(bu), want, `${sc.name} ${rows}×${cols} ${JSON.stringify(opts)}`);
          if (WEIGHT_SCHEMES.includes(sc.name) && !opts.transpose) { // weight-gradient schemes
            const du = Float32Array.from(rng.normals(P2 * rows * cols));
            du[1] = -0;
            const dwWant = new Float32Array(rows * cols * 9);
            untransformWeightGrad(du, rows, cols, sc.g, dwWant);
            be.view(bu).set(du);
            const bdw = be.alloc(dwWant.length);
            wasmUntransformWeightGrad(k, be, sc, be.off(bu), rows, cols, bdw);
            assert.deepEqual(be.view(bdw), dwWant, `${sc.name} dW ${rows}×${cols}`);
            be.free(bdw);
          }
          be.free(bw);
          be.free(bu);
        }
      }
    }
  }
});

Deno.test("autodiff winograd: teardown", () => {
  for (const be of [wino1, wino2, im2col]) be.dispose();
});
