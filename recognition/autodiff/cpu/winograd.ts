/**
 * Winograd F(2×2, 3×3) convolution on the cpu backend (the wasm `wino` kernel of
 * `winograd_wat.ts`): which convolutions take it, the kernel transforms (U = G g Gᵀ, and
 * dW = Gᵀ dU G for the weight gradient), and the job set-up. The forward and the input gradient
 * (a 3×3 stride-1 convolution of dY with the flipped, transposed kernel and padding 2 − p) do
 * 16 multiplies per 2×2 outputs and input channel instead of 36; the weight gradient is the
 * adjoint of the forward transform. Results differ from im2col + GEMM by float32 rounding only
 * (a few ulps of the sum of |terms|; `tests/autodiff_winograd_test.ts`).
 * @module
 */
import type { Buf, ConvSpec } from "../backend.ts";
import type { Job, WasmKernels } from "./wasm_gemm.ts";
import { JOB_KERNELS } from "./gemm_wat.ts";
import { WINO_PAD } from "./winograd_wat.ts";

const WINO = JOB_KERNELS.indexOf("wino");

/**
 * Fewest input and output channels for which Winograd pays: with fewer, the 16 GEMMs are too
 * thin (K or M below a register tile) and the transforms dominate. This also keeps the tiny
 * nets of the golden training test (8 and 16 channels with an 8-channel input) on im2col.
 */
export const WINOGRAD_MIN_CHANNELS = 16;
/** Tiles a forward / input-gradient block aims for (GEMM width; V and M stay in L2). */
const FORWARD_TILES = 96;
/** Tiles a weight-gradient block aims for (its GEMM depth: fewer passes over dU). */
const WEIGHT_TILES = 256;
/**
 * Chunks of images the weight gradient is cut into, fixed (a function of n only) so its sums
 * never depend on the thread count; the same count as the im2col path's.
 */
const WEIGHT_GRAD_CHUNKS = 8;

/** Whether convolution `s` takes the Winograd path (3×3, stride 1, padding ≤ 2, wide enough). */
export function winogradApplies(s: ConvSpec): boolean {
  return s.kh === 3 && s.kw === 3 && s.strideH === 1 && s.strideW === 1 && s.padH === s.padW &&
    s.padH <= 2 && s.cIn >= WINOGRAD_MIN_CHANNELS && s.cOut >= WINOGRAD_MIN_CHANNELS;
}

/** The buffer operations of the backend these kernels need. */
export interface WinoHost {
  alloc(size: number): Buf;
  allocUninit(size: number): Buf;
  free(b: Buf): void;
  off(b: Buf): number;
  view(b: Buf): Float32Array;
}

/**
 * U (16×rows×cols, ξ = 4i + j major) = G g Gᵀ of each 3×3 kernel; kernel (r, c) is
 * w[r·cols + c] (forward: r = output, c = input channel) or, with `flip`, the input-gradient
 * kernel w[c][r] rotated by 180° (r = input, c = output channel of the forward conv).
 */
export function transformKernel(
  w: Float32Array,
  rows: number,
  cols: number,
  flip: boolean,
  out: Float32Array,
): void {
  const g = new Float64Array(9), t = new Float64Array(12);
  const plane = rows * cols;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const base = flip ? (c * rows + r) * 9 : (r * cols + c) * 9;
      for (let k = 0; k < 9; k++) g[k] = w[base + (flip ? 8 - k : k)];
      // t (4×3) = G g; G rows (1,0,0), (½,½,½), (½,−½,½), (0,0,1)
      for (let b = 0; b < 3; b++) {
        const g0 = g[b], g1 = g[3 + b], g2 = g[6 + b];
        t[b] = g0;
        t[3 + b] = 0.5 * (g0 + g1 + g2);
        t[6 + b] = 0.5 * (g0 - g1 + g2);
        t[9 + b] = g2;
      }
      // U (4×4) = t Gᵀ
      for (let i = 0; i < 4; i++) {
        const t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
        const o = r * cols + c;
        out[(4 * i) * plane + o] = t0;
        out[(4 * i + 1) * plane + o] = 0.5 * (t0 + t1 + t2);
        out[(4 * i + 2) * plane + o] = 0.5 * (t0 - t1 + t2);
        out[(4 * i + 3) * plane + o] = t2;
      }
    }
  }
}

/** dW (cOut×cIn×3×3) = Gᵀ dU G of each dU (16×cOut×cIn). */
export function untransformWeightGrad(
  du: Float32Array,
  cOut: number,
  cIn: number,
  dw: Float32Array,
): void {
  const plane = cOut * cIn, s = new Float64Array(16), t = new Float64Array(12);
  for (let o = 0; o < plane; o++) {
    for (let k = 0; k < 16; k++) s[k] = du[k * plane + o];
    // t (3×4) = Gᵀ s: Gᵀ rows (1,½,½,0), (0,½,−½,0), (0,½,½,1)
    for (let j = 0; j < 4; j++) {
      const s0 = s[j], s1 = s[4 + j], s2 = s[8 + j], s3 = s[12 + j];
      t[j] = s0 + 0.5 * (s1 + s2);
      t[4 + j] = 0.5 * (s1 - s2);
      t[8 + j] = 0.5 * (s1 + s2) + s3;
    }
    for (let a = 0; a < 3; a++) {
      const t0 = t[4 * a], t1 = t[4 * a + 1], t2 = t[4 * a + 2], t3 = t[4 * a + 3];
      dw[o * 9 + 3 * a] = t0 + 0.5 * (t1 + t2);
      dw[o * 9 + 3 * a + 1] = 0.5 * (t1 - t2);
      dw[o * 9 + 3 * a + 2] = 0.5 * (t1 + t2) + t3;
    }
  }
}

/** Tiling of a Winograd pass over an image of (cIn, h, w) to (cOut, oh, ow). */
interface Tiling {
  th: number;
  twp: number;
  rows: number;
  wsFloats: number;
}

function tiling(cIn: number, cOut: number, oh: number, ow: number, tiles: number): Tiling {
  const th = Math.ceil(oh / 2), twp = Math.ceil(Math.ceil(ow / 2) / 4) * 4;
  const rows = Math.max(1, Math.round(tiles / twp));
  return {
    th,
    twp,
    rows,
    wsFloats: 16 * ((cIn + cOut) * rows * twp + 2 * WINO_PAD) + 4 * (2 * twp + 2) + 16,
  };
}

/**
 * out (n×cOut×oh×ow) = 3×3 stride-1 convolution of x (n×cIn×h×w) with padding `pad`, given the
 * transformed kernel `u` (16×cOut×cIn); blocks of tile rows are handed out through an atomic
 * counter, each written by one thread, so the result does not depend on the thread count.
 */
export function winogradConv(
  k: WasmKernels,
  host: WinoHost,
  x: Buf,
  u: Buf,
  out: Buf,
  n: number,
  cIn: number,
  h: number,
  w: number,
  cOut: number,
  pad: number,
  oh: number,
  ow: number,
): void {
  const t = tiling(cIn, cOut, oh, ow, FORWARD_TILES);
  const blocks = Math.ceil((n * t.th) / t.rows);
  const parts = Math.max(1, Math.min(blocks, k.available()));
  const counter = host.alloc(1);
  const temps: Buf[] = [counter];
  const jobs: Job[] = [];
  try {
    for (let p = 0; p < parts; p++) {
      const ws = host.allocUninit(t.wsFloats);
      temps.push(ws);
      jobs.push({
        kernel: WINO,
        args: [
          0,
          host.off(x),
          host.off(u),
          host.off(out),
          host.off(counter),
          n,
          cIn,
          h,
          w,
          cOut,
          pad,
          oh,
          ow,
          t.th,
          t.twp,
          t.rows,
          host.off(ws),
        ],
      });
    }
    k.run(jobs);
  } finally {
    for (const b of temps) host.free(b);
  }
}

/** Forward convolution `s` (Winograd applies) of x with weights w into out. */
export function winogradForward(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  x: Buf,
  w: Buf,
  out: Buf,
): void {
  const u = host.allocUninit(16 * s.cOut * s.cIn);
  try {
    transformKernel(host.view(w), s.cOut, s.cIn, false, host.view(u));
    winogradConv(k, host, x, u, out, s.n, s.cIn, s.h, s.w, s.cOut, s.padH, s.outH, s.outW);
  } finally {
    host.free(u);
  }
}

/** Input gradient of convolution `s`: dx = conv(dy, rot180(w)ᵀ, padding 2 − p). */
export function winogradBackwardInput(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  dy: Buf,
  w: Buf,
  dx: Buf,
): void {
  const u = host.allocUninit(16 * s.cOut * s.cIn);
  try {
    transformKernel(host.view(w), s.cIn, s.cOut, true, host.view(u));
    winogradConv(k, host, dy, u, dx, s.n, s.cOut, s.outH, s.outW, s.cIn, 2 - s.padH, s.h, s.w);
  } finally {
    host.free(u);
  }
}

/**
 * Weight gradient of convolution `s`: the images are cut into `WEIGHT_GRAD_CHUNKS` fixed
 * chunks, each chunk's dU summed over its tiles in order by whichever thread takes it, the
 * partials added in chunk order, then dW = Gᵀ dU G: the bits do not depend on the thread count.
 */
export function winogradBackwardWeight(
  k: WasmKernels,
  host: WinoHost,
  s: ConvSpec,
  x: Buf,
  dy: Buf,
  dw: Buf,
): void {
  const t = tiling(s.cIn, s.cOut, s.outH, s.outW, WEIGHT_TILES);
  const chunks = Math.min(s.n, WEIGHT_GRAD_CHUNKS);
  const size = 16 * s.cOut * s.cIn;
  // every chunk has an image, and its first block overwrites its partial
  const partials = host.allocUninit(chunks * size);
  const temps: Buf[] = [partials];
  const wss: number[] = [];
  try {
    for (let p = 0; p < Math.min(k.threads, chunks); p++) {
      const ws = host.allocUninit(t.wsFloats);
      temps.push(ws);
      wss.push(host.off(ws));
    }
    while (wss.length < k.threads) wss.push(wss[0]); // slots that never get a chunk
    const xImg = s.cIn * s.h * s.w, dyImg = s.cOut * s.outH * s.outW;
    const jobs: Job[] = [];
    for (let c = 0; c < chunks; c++) {
      const lo = Math.floor((c * s.n) / chunks), hi = Math.floor(((c + 1) * s.n) / chunks);
      jobs.push({
        kernel: WINO,
        args: [
          2,
          host.off(x) + lo * xImg,
          host.off(partials) + c * size,
          host.off(dy) + lo * dyImg,
          0,
          hi - lo,
          s.cIn,
          s.h,
          s.w,
          s.cOut,
          s.padH,
          s.outH,
          s.outW,
          t.th,
          t.twp,
          t.rows,
          0, // workspace: the running thread's (wss)
        ],
      });
    }
    k.runQueue(jobs, wss);
    const p0 = host.off(partials);
    for (let c = 1; c < chunks; c++) k.ew.add(p0, p0 + c * size, p0, size);
    untransformWeightGrad(host.view(partials), s.cOut, s.cIn, host.view(dw));
  } finally {
    for (const b of temps) host.free(b);
  }
}
