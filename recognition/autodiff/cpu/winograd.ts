/**
 * Fast 3×3 convolutions on the cpu backend (the wasm kernels of `winograd_wat.ts`): which
 * convolutions take them, the kernel transforms (U = G g Gᵀ, and dW = Gᵀ dU G for the weight
 * gradient), and the job set-up.
 * - Stride 1: Winograd F(4×4, 3×3), 36 multiplies per 4×4 outputs and input channel instead
 *   of 144, forward and input gradient (a 3×3 stride-1 convolution of dY with the flipped,
 *   transposed kernel and padding 2 − p); the weight gradient is the adjoint transform.
 * - Stride 2, padding 1: even/odd input phases with F(2, 2) on the 2-tap phase, 25 multiplies
 *   instead of 36 in the forward, the input gradient (its own scheme, `s2dx`) and the weight
 *   gradient.
 * Results differ from im2col + GEMM by float32 rounding only (the phases: 1–4e-7 of the sum of
 * |terms|, like im2col; F(4,3), whose transforms have coefficients up to 8 and 1/6: 1–4e-6;
 * `tests/autodiff_winograd_test.ts`).
 * @module
 */
import type { Buf, ConvSpec } from "../backend.ts";
import type { Job, WasmKernels } from "./wasm_gemm.ts";
import { JOB_KERNELS } from "./gemm_wat.ts";
import { GEMM_SHAPE } from "./gemm_wasm.ts";
import { type Scheme, SCHEMES, scratchRow, WINO_PAD } from "./winograd_wat.ts";

/**
 * Fewest input and output channels for which the fast path pays: with fewer, its GEMMs are too
 * thin (K or M below a register tile) and the transforms dominate. This also keeps the tiny
 * nets of the golden training test (8 and 16 channels with an 8-channel input) on im2col.
 */
export const WINOGRAD_MIN_CHANNELS = 16;
/**
 * Input channels for which the stride-2 scheme pays, in all three passes: its gain is 1.44× in
 * multiplies at best (single-thread CPU time, batch 32, forward / input gradient / weight
 * gradient: 1.15–1.48× with 32/64 inputs; 128→128 @ 28×24 1.14–1.26× / 1.04–1.20× /
 * 1.09–1.18× since the GEMM's last panel of a ragged M no longer computes zero rows, 0.97× /
 * 0.97× before), but with 128 inputs only when a row has at least 4 tiles (≥ 8 outputs wide:
 * 128→128 @ 8×8, ir10_quarter at 64×64, 2 tiles a row in 4-tile vectors, gave 1.0× / 0.82× /
 * 0.93×). 256 inputs at 14×12 (7×6 outputs, ragged 2×2 tiles) gave 0.97–1.08×: im2col.
 * 16 inputs gave 1.2–1.3× / 1.2–1.3× / 0.93–1.0×: left out, which also keeps the golden
 * training test's 16→16 stride-2 conv on im2col (golden bits unchanged).
 */
const S2_IN_CHANNELS = [32, 64, 128];

/** The pass of a convolution: forward, input gradient, weight gradient. */
export type ConvPass = "forward" | "input" | "weight";
/**
 * Tiles a forward / input-gradient block aims for (GEMM width; V and M stay in L2), per scheme:
 * F(4,3)'s tiles have 36 planes, so fewer of them (24 / 48 / 96 measured alike within the noise).
 */
const FORWARD_TILES: Record<string, number> = { wino43: 48, wino_s2: 96, wino_s2dx: 96 };
/**
 * Tiles a weight-gradient block aims for (its GEMM depth: fewer passes over dU), per scheme.
 * The stride-2 phases take 64: their blocks of V and Z (25 planes) then stay in the core's L2,
 * which matters when both cores stream (2 threads, wall time, batch 32: 64→128 @ 32×32 18.7 →
 * 16.9 ms, 64→64 @ 56×48 24.6 → 23.5; 1 thread 28.0 → 27.2); F(4,3) (36 planes) 64 too (64 /
 * 128 / 256 measured 240 / 241 / 268 ms summed over the ir10_half stride-1 layers, 1 thread).
 */
const WEIGHT_TILES: Record<string, number> = { wino43: 64, wino_s2: 64 };
/**
 * Chunks of images a weight gradient (Winograd and im2col alike) is cut into, fewer when the
 * batch is smaller: fixed, so its floating-point sums never depend on the thread count. 8
 * balances two threads well at no measurable cost (16 was slower on the 2-core VM: more partials
 * to sum).
 */
export const WEIGHT_GRAD_CHUNKS = 8;

/**
 * Which fast scheme pass `_pass` of convolution `s` takes, or null for im2col: stride 1 F(4,3),
 * stride 2 the phases (today every pass of a convolution takes the same path; the pass stays in
 * the signature because the measured break-even has differed per pass).
 */
export function fastConvKind(s: ConvSpec, _pass: ConvPass = "forward"): "f43" | "s2" | null {
  if (
    s.kh !== 3 || s.kw !== 3 || s.padH !== s.padW || s.cIn < WINOGRAD_MIN_CHANNELS ||
    s.cOut < WINOGRAD_MIN_CHANNELS
  ) return null;
  if (s.strideH === 1 && s.strideW === 1 && s.padH <= 2) return "f43";
  if (
    s.strideH === 2 && s.strideW === 2 && s.padH === 1 && s.cIn >= S2_IN_CHANNELS[0] &&
    (s.cIn <= S2_IN_CHANNELS[1] || (s.cIn <= S2_IN_CHANNELS[2] && s.outW >= 8))
  ) {
    return "s2";
  }
  return null;
}

/**
 * Whether pass `pass` of convolution `s` takes a fast path (3×3, stride 1, or 2 with 32–64
 * inputs, or 128 and ≥ 8 outputs a row; wide enough).
 */
export function winogradApplies(s: ConvSpec, pass: ConvPass = "forward"): boolean {
  return fastConvKind(s, pass) !== null;
}

/** The buffer operations of the backend these kernels need. */
export interface WinoHost {
  alloc(size: number): Buf;
  allocUninit(size: number): Buf;
  free(b: Buf): void;
  off(b: Buf): number;
  view(b: Buf): Float32Array;
}

/** A scheme's G (P×3) as one flat float64 array, row-major (monomorphic loads in the loops). */
function flatG(g: readonly (readonly number[])[]): Float64Array {
  return Float64Array.from(g.flat());
}

/**
 * U (P²×rows×cols, ξ = P·i + j major) = G g Gᵀ of each 3×3 kernel g. The kernel of (r, c) is
 * w[r][c] (cOut×cIn weights, r = output channel), or with `transpose` w[c][r] (r = input
 * channel of the forward conv), rotated by 180° with `rotate`. Float64, every product summed
 * in order (zero coefficients included), rounded once when stored.
 */
export function transformKernel(
  w: Float32Array,
  rows: number,
  cols: number,
  g: readonly (readonly number[])[],
  opts: { transpose: boolean; rotate: boolean },
  out: Float32Array,
): void {
  const P = g.length, G = flatG(g), k9 = new Float64Array(9), t = new Float64Array(P * 3);
  const plane = rows * cols;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const base = opts.transpose ? (c * rows + r) * 9 : (r * cols + c) * 9;
      if (opts.rotate) { for (let k = 0; k < 9; k++) k9[k] = w[base + 8 - k]; }
      else for (let k = 0; k < 9; k++) k9[k] = w[base + k];
      for (let i = 0; i < P; i++) { // t = G g
        const g0 = G[i * 3], g1 = G[i * 3 + 1], g2 = G[i * 3 + 2];
        t[i * 3] = g0 * k9[0] + g1 * k9[3] + g2 * k9[6];
        t[i * 3 + 1] = g0 * k9[1] + g1 * k9[4] + g2 * k9[7];
        t[i * 3 + 2] = g0 * k9[2] + g1 * k9[5] + g2 * k9[8];
      }
      let q = r * cols + c;
      for (let i = 0; i < P; i++) { // U = t Gᵀ
        const t0 = t[i * 3], t1 = t[i * 3 + 1], t2 = t[i * 3 + 2];
        for (let j = 0; j < P; j++, q += plane) {
          out[q] = t0 * G[j * 3] + t1 * G[j * 3 + 1] + t2 * G[j * 3 + 2];
        }
      }
    }
  }
}

/** dW (cOut×cIn×3×3) = Gᵀ dU G of each dU (P²×cOut×cIn), float64 as {@link transformKernel}. */
export function untransformWeightGrad(
  du: Float32Array,
  cOut: number,
  cIn: number,
  g: readonly (readonly number[])[],
  dw: Float32Array,
): void {
  const P = g.length, G = flatG(g), plane = cOut * cIn;
  const s = new Float64Array(P * P), t = new Float64Array(3 * P);
  for (let o = 0; o < plane; o++) {
    for (let k = 0, q = o; k < P * P; k++, q += plane) s[k] = du[q];
    for (let a = 0; a < 3; a++) { // t = Gᵀ s
      for (let j = 0; j < P; j++) {
        let v = 0;
        for (let i = 0; i < P; i++) v += G[i * 3 + a] * s[i * P + j];
        t[a * P + j] = v;
      }
    }
    for (let a = 0; a < 3; a++) { // dW = t G
      for (let b = 0; b < 3; b++) {
        let v = 0;
        for (let j = 0; j < P; j++) v += t[a * P + j] * G[j * 3 + b];
        dw[o * 9 + 3 * a + b] = v;
      }
    }
  }
}

/** Fewest kernels per thread of a kernel transform (below that one thread does it). */
const KERNELS_PER_THREAD = 1024;

/** Ranges [o0, o1) of `count` kernels for the idle threads (even bounds: kernels go in pairs). */
function kernelRanges(k: WasmKernels, count: number): [number, number][] {
  const parts = Math.max(1, Math.min(k.available(), Math.floor(count / KERNELS_PER_THREAD)));
  const step = Math.ceil(count / parts / 2) * 2;
  const out: [number, number][] = [];
  for (let o0 = 0; o0 < count; o0 += step) out.push([o0, Math.min(count, o0 + step)]);
  return out;
}

/**
 * `transformKernel` by the wasm kernels (the same arithmetic, so the same bits), the kernels
 * split over the idle threads: U (P²×rows×cols) of weights w.
 */
export function wasmTransformKernel(
  k: WasmKernels,
  host: WinoHost,
  sc: Scheme,
  w: Buf,
  rows: number,
  cols: number,
  opts: { transpose: boolean; rotate: boolean },
  u: Buf,
): void {
  const job = JOB_KERNELS.indexOf(`${sc.name}_ktr` as typeof JOB_KERNELS[number]);
  const flags = [opts.transpose ? 1 : 0, opts.rotate ? 1 : 0];
  k.run(
    kernelRanges(k, rows * cols).map(([o0, o1]) => ({
      kernel: job,
      args: [host.off(w), rows, cols, ...flags, host.off(u), o0, o1],
    })),
  );
}

/**
 * `untransformWeightGrad` by the wasm kernels (the same bits), split over the idle threads:
 * dW (cOut×cIn×3×3) of dU (P²×cOut×cIn at element offset `du`) for weight-gradient scheme `sc`.
 */
export function wasmUntransformWeightGrad(
  k: WasmKernels,
  host: WinoHost,
  sc: Scheme,
  du: number,
  cOut: number,
  cIn: number,
  dw: Buf,
): void {
  const job = JOB_KERNELS.indexOf(`${sc.name}_kun` as typeof JOB_KERNELS[number]);
  if (job < 0) throw new Error(`winograd: scheme ${sc.name} has no weight gradient`);
  const plane = cOut * cIn;
  k.run(
    kernelRanges(k, plane).map(([o0, o1]) => ({
      kernel: job,
      args: [du, plane, host.off(dw), o0, o1],
    })),
  );
}

/**
 * `planes` matrices of M×K (element (i, q) of matrix p at element offset
 * a + p·M·K + i·ars + q·acs) packed once into the GEMM's row panels (`pack_planes`: Mp·K floats
 * each, Mp = M rounded up to MR), for GEMMs that read them pre-packed (every block of a
 * convolution uses the same A; packing it per call cost up to 10–20 % of a call with few
 * columns). Planes split over the idle threads. The caller frees the result.
 */
export function packGemmA(
  k: WasmKernels,
  host: WinoHost,
  a: number,
  planes: number,
  m: number,
  kd: number,
  ars: number,
  acs: number,
): Buf {
  const mp = Math.ceil(m / GEMM_SHAPE.mr) * GEMM_SHAPE.mr;
  const packed = host.allocUninit(planes * mp * kd);
  const job = JOB_KERNELS.indexOf("pack_planes");
  const parts = Math.max(1, Math.min(k.available(), planes, Math.floor((planes * m * kd) / 65536)));
  const step = Math.ceil(planes / parts);
  const jobs: Job[] = [];
  for (let p0 = 0; p0 < planes; p0 += step) {
    const args = [a, ars, acs, m, kd, host.off(packed), p0, Math.min(planes, p0 + step)];
    jobs.push({ kernel: job, args });
  }
  k.run(jobs);
  return packed;
}

/**
 * U (P² planes of rows×cols) of weights w, as `wasmTransformKernel`, each plane packed for the
 * GEMM once (`packGemmA`); every block of the pass reads it as is. The caller frees the result.
 */
function packedKernel(
  k: WasmKernels,
  host: WinoHost,
  sc: Scheme,
  w: Buf,
  rows: number,
  cols: number,
  opts: { transpose: boolean; rotate: boolean },
): Buf {
  const P2 = sc.bt.length ** 2;
  const u = host.allocUninit(P2 * rows * cols);
  try {
    wasmTransformKernel(k, host, sc, w, rows, cols, opts, u);
    return packGemmA(k, host, host.off(u), P2, rows, cols, cols, 1);
  } finally {
    host.free(u);
  }
}

/** Tiling of a pass over an image of (cIn, h, w) to (cOut, oh, ow). */
interface Tiling {
  th: number;
  twp: number;
  rows: number;
  wsFloats: number;
}

function tiling(
  sc: Scheme,
  cIn: number,
  cOut: number,
  oh: number,
  ow: number,
  tiles: number,
): Tiling {
  const nOut = sc.at.length, P2 = sc.bt.length ** 2;
  const th = Math.ceil(oh / nOut), twp = Math.ceil(Math.ceil(ow / nOut) / 4) * 4;
  const rows = Math.max(1, Math.round(tiles / twp));
  const wsFloats = P2 * ((cIn + cOut) * (rows * twp + 4) + 2 * WINO_PAD) +
    sc.nIn * scratchRow(sc, twp) + 32;
  return { th, twp, rows, wsFloats };
}

/**
 * out (n×cOut×oh×ow) = scheme `sc`'s convolution of x (n×cIn×h×w) with padding `pad`, given the
 * transformed kernel `u` (P²×cOut×cIn); blocks of tile rows are handed out through an atomic
 * counter, each written by one thread, so the result does not depend on the thread count.
 */
function runForward(
  k: WasmKernels,
  host: WinoHost,
  sc: Scheme,
  x: Buf,
  u: Buf,
  out: Buf,
  dims: { n: number; cIn: number; h: number; w: number; cOut: number; oh: number; ow: number },
  pad: number,
): void {
  const { n, cIn, h, w, cOut, oh, ow } = dims;
  const t = tiling(sc, cIn, cOut, oh, ow, FORWARD_TILES[sc.name]);
  const blocks = Math.ceil((n * t.th) / t.rows);
  const parts = Math.max(1, Math.min(blocks, k.available()));
  const counter = host.alloc(1);
  const temps: Buf[] = [counter];
  const jobs: Job[] = [];
  const kernel = JOB_KERNELS.indexOf(sc.name as typeof JOB_KERNELS[number]);
  // the job kernel's arguments (winogradWat): mode 0, buffers, n, shape, tiling, workspace
  const bufs = [host.off(x), host.off(u), host.off(out), host.off(counter)];
  const shape = [cIn, h, w, cOut, pad, oh, ow, t.th, t.twp, t.rows];
  try {
    for (let p = 0; p < parts; p++) {
      const ws = host.allocUninit(t.wsFloats);
      temps.push(ws);
      jobs.push({ kernel, args: [0, ...bufs, n, ...shape, host.off(ws)] });
    }
    k.run(jobs);
  } finally {
    for (const b of temps) host.free(b);
  }
}

/** Forward convolution `s` (a fast path applies) of x with weights w into out. */
export function winogradForward(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  x: Buf,
  w: Buf,
  out: Buf,
): void {
  const sc: Scheme = SCHEMES[fastConvKind(s)!];
  const noFlip = { transpose: false, rotate: false };
  const u = packedKernel(k, host, sc, w, s.cOut, s.cIn, noFlip);
  try {
    const dims = { n: s.n, cIn: s.cIn, h: s.h, w: s.w, cOut: s.cOut, oh: s.outH, ow: s.outW };
    runForward(k, host, sc, x, u, out, dims, s.padH);
  } finally {
    host.free(u);
  }
}

/**
 * Input gradient of convolution `s`: stride 1, dx = conv(dy, rot180(w)ᵀ, padding 2 − p) by
 * F(4, 3); stride 2, the `s2dx` scheme (dx tiles of 4×4 from 3×3 dy tiles).
 */
export function winogradBackwardInput(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  dy: Buf,
  w: Buf,
  dx: Buf,
): void {
  const kind = fastConvKind(s, "input")!;
  const s1 = kind !== "s2";
  const sc: Scheme = s1 ? SCHEMES[kind] : SCHEMES.s2dx;
  const u = packedKernel(k, host, sc, w, s.cIn, s.cOut, { transpose: true, rotate: s1 });
  try {
    const dims = { n: s.n, cIn: s.cOut, h: s.outH, w: s.outW, cOut: s.cIn, oh: s.h, ow: s.w };
    runForward(k, host, sc, dy, u, dx, dims, s1 ? 2 - s.padH : 0);
  } finally {
    host.free(u);
  }
}

/**
 * A weight gradient, deterministic at any thread count: the n images are cut into
 * `WEIGHT_GRAD_CHUNKS` chunks (a function of n only); `job(c, lo, hi, partial)` sums chunk c
 * (images lo … hi − 1) into its partial at element offset `partial`, run by whichever thread
 * takes it with that thread's workspace of `wsFloats` floats (0: none); the partials are added
 * in chunk order and `finish` gets the total. So the bits do not depend on the thread count or
 * on which threads were idle (an atomic counter handing out images made the sums depend on both).
 */
export function chunkedWeightGrad(
  k: WasmKernels,
  host: WinoHost,
  opts: { n: number; size: number; wsFloats: number },
  job: (c: number, lo: number, hi: number, partial: number) => Job,
  finish: (sum: Float32Array, off: number) => void,
): void {
  const { n, size, wsFloats } = opts;
  const chunks = Math.min(n, WEIGHT_GRAD_CHUNKS);
  // every chunk has an image, and its first one overwrites its partial
  const partials = host.allocUninit(chunks * size);
  const temps: Buf[] = [partials];
  const wss: number[] = [];
  try {
    for (let p = 0; wsFloats > 0 && p < k.threads; p++) { // any thread may take a chunk
      const ws = host.allocUninit(wsFloats);
      temps.push(ws);
      wss.push(host.off(ws));
    }
    const jobs: Job[] = [];
    for (let c = 0; c < chunks; c++) {
      const lo = Math.floor((c * n) / chunks), hi = Math.floor(((c + 1) * n) / chunks);
      jobs.push(job(c, lo, hi, host.off(partials) + c * size));
    }
    k.runQueue(jobs, wss.length ? wss : undefined);
    const p0 = host.off(partials);
    if (chunks > 1) k.ew.add_chunks(p0, size, chunks, size);
    finish(host.view(partials), p0);
  } finally {
    for (const b of temps) host.free(b);
  }
}

/** Weight gradient of convolution `s` (see `chunkedWeightGrad`): dU per chunk, dW = Gᵀ dU G. */
export function winogradBackwardWeight(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  x: Buf,
  dy: Buf,
  dw: Buf,
): void {
  const sc: Scheme = SCHEMES[fastConvKind(s, "weight")!];
  const t = tiling(sc, s.cIn, s.cOut, s.outH, s.outW, WEIGHT_TILES[sc.name]);
  const size = sc.bt.length ** 2 * s.cOut * s.cIn;
  const kernel = JOB_KERNELS.indexOf(sc.name as typeof JOB_KERNELS[number]);
  const xImg = s.cIn * s.h * s.w, dyImg = s.cOut * s.outH * s.outW;
  const shape = [s.cIn, s.h, s.w, s.cOut, s.padH, s.outH, s.outW, t.th, t.twp, t.rows];
  chunkedWeightGrad(k, host, { n: s.n, size, wsFloats: t.wsFloats }, (_, lo, hi, partial) => {
    const bufs = [host.off(x) + lo * xImg, partial, host.off(dy) + lo * dyImg];
    // mode 2, no counter; workspace 0: the running thread's
    return { kernel, args: [2, ...bufs, 0, hi - lo, ...shape, 0] };
  }, (_, off) => wasmUntransformWeightGrad(k, host, sc, off, s.cOut, s.cIn, dw));
}
