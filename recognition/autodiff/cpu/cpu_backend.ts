/**
 * `cpu`: float32 storage inside one shared WebAssembly memory, so WebAssembly SIMD kernels
 * (GEMM, and convolution as im2col + GEMM) work in place with no copies, and worker threads can
 * share it. Elementwise/normalisation kernels are the plain TS ones from `js_kernels.ts` run on
 * views of that memory (they are memory-bound; GEMM is where the time goes).
 * @module
 */
import type {
  Backend,
  BinaryOp,
  BinarySpec,
  Buf,
  ChannelSpec,
  ConvSpec,
  MatmulSpec,
  SgdSpec,
  UnaryOp,
  UnaryParams,
} from "../backend.ts";
import { convDims } from "../backend.ts";
import { ArrayBackend } from "./array_backend.ts";
import type { Gemm } from "./gemm.ts";
import type { EltwiseKernels, Job, WasmKernels } from "./wasm_gemm.ts";
import { jsGemm } from "./gemm.ts";
import { col2im, im2col } from "./im2col.ts";
import {
  chunkedWeightGrad,
  type ConvPass,
  packGemmA,
  WEIGHT_GRAD_CHUNKS,
  winogradApplies,
  winogradBackwardInput,
  winogradBackwardWeight,
  winogradForward,
} from "./winograd.ts";

interface CpuBuf extends Buf {
  /** Offset in float32 elements into the memory; −1 once freed. */
  off: number;
  /** Allocated size class (floats). */
  cap: number;
}

const PAGE = 65536;
/** Allocation granule in floats (64 bytes: SIMD- and cache-line aligned). */
const GRANULE = 16;
/** `wasmConv`'s modes as convolution passes. */
const CONV_PASS: readonly ConvPass[] = ["forward", "input", "weight"];

/** Options of {@link CpuBackend.create}. */
export interface CpuOptions {
  /**
   * GEMM implementation (default: the WebAssembly SIMD one when available, else JS). `"js"`
   * forces the portable TypeScript GEMM and its im2col convolution (what runs without wasm SIMD).
   */
  gemm?: Gemm | "js";
  /** Initial memory in MiB (grows on demand). */
  initialMiB?: number;
  /** GEMM threads including the caller (default: all cores). */
  threads?: number;
  /**
   * Fast 3×3 convolutions (`cpu/winograd.ts`): Winograd F(4×4, 3×3) at stride 1 with ≥ 16 input
   * and output channels, even/odd phases at stride 2 (padding 1, 32–64 inputs) (default true, or
   * false when the environment has `SYNFACE_WINOGRAD=0`; wasm kernels only).
   * Off: every convolution is im2col + GEMM (the arithmetic before Winograd existed).
   */
  winograd?: boolean;
}

/** Winograd unless the environment says `SYNFACE_WINOGRAD=0` (benchmarks compare both). */
function winogradDefault(): boolean {
  try {
    return Deno.env.get("SYNFACE_WINOGRAD") !== "0";
  } catch {
    return true; // no env permission
  }
}

/** The CPU backend. */
export class CpuBackend extends ArrayBackend {
  readonly name = "cpu";
  info: string;
  /** The shared memory every buffer lives in. */
  readonly memory: WebAssembly.Memory;
  private heap: Float32Array;
  private top: number; // floats
  private readonly freeLists = new Map<number, number[]>();
  private live = 0;
  /** High-water mark of allocated bytes. */
  peakBytes = 0;
  private gemmImpl: Gemm;
  /** SIMD elementwise kernels when the wasm module is in use. */
  private ew: EltwiseKernels | null;
  /** Whether eligible convolutions take the Winograd path. */
  readonly winograd: boolean;

  private constructor(
    memory: WebAssembly.Memory,
    gemm: Gemm,
    reservedFloats: number,
    winograd: boolean,
  ) {
    super();
    this.memory = memory;
    this.heap = new Float32Array(memory.buffer);
    this.top = reservedFloats;
    this.gemmImpl = gemm;
    this.ew = (gemm as Partial<WasmKernels>).ew ?? null;
    this.winograd = winograd && !!(gemm as Partial<WasmKernels>).run;
    this.info = `cpu: ${gemm.name}${this.winograd ? ", Winograd F(4,3) + stride-2 phases" : ""}`;
  }

  /** A CPU backend with the fastest available GEMM. */
  static async create(opts: CpuOptions = {}): Promise<CpuBackend> {
    const pages = Math.ceil(((opts.initialMiB ?? 64) * 1048576) / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
    let gemm = opts.gemm === "js" ? jsGemm(memory) : opts.gemm;
    if (!gemm) {
      try {
        const { createWasmGemm } = await import("./wasm_gemm.ts");
        gemm = await createWasmGemm(memory, { threads: opts.threads });
      } catch (e) {
        console.error(`autodiff cpu: WebAssembly GEMM unavailable (${e}); using JS`);
        gemm = jsGemm(memory);
      }
    }
    return new CpuBackend(memory, gemm, gemm.reservedFloats, opts.winograd ?? winogradDefault());
  }

  /** Synchronous float32 view of a buffer (valid until the memory grows). */
  view(b: Buf): Float32Array {
    const c = b as CpuBuf;
    if (c.off < 0) throw new Error("cpu: buffer was freed");
    return this.refresh().subarray(c.off, c.off + c.size);
  }

  /** Bytes currently allocated to live buffers. */
  get liveBytes(): number {
    return this.live * 4;
  }

  alloc(size: number): Buf {
    return this.take(size, true);
  }
  /** A buffer with unspecified contents (pooled memory is not re-zeroed). */
  allocUninit(size: number): Buf {
    return this.take(size, false);
  }
  private take(size: number, zero: boolean): Buf {
    const cap = Math.max(GRANULE, Math.ceil(size / GRANULE) * GRANULE);
    const list = this.freeLists.get(cap);
    let off: number;
    if (list && list.length) {
      off = list.pop()!;
      if (zero) this.heapFor(off, cap).fill(0);
    } else {
      off = this.top;
      this.top += cap;
      const need = this.top * 4 - this.memory.buffer.byteLength;
      if (need > 0) {
        this.memory.grow(Math.max(Math.ceil(need / PAGE), 1024)); // ≥ 64 MiB steps
      }
      // fresh memory is zero
    }
    this.live += cap;
    this.peakBytes = Math.max(this.peakBytes, this.top * 4);
    return { size, off, cap } as CpuBuf;
  }
  /** The whole-memory view, re-made after the memory grew. */
  private refresh(): Float32Array {
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
    return this.heap;
  }
  private heapFor(off: number, n: number): Float32Array {
    return this.refresh().subarray(off, off + n);
  }
  free(buf: Buf): void {
    const c = buf as CpuBuf;
    if (c.off < 0) return;
    let list = this.freeLists.get(c.cap);
    if (!list) this.freeLists.set(c.cap, list = []);
    list.push(c.off);
    this.live -= c.cap;
    c.off = -1;
  }
  /** Releases the GEMM worker threads. */
  override dispose(): void {
    this.gemmImpl.dispose?.();
  }

  /** Starts the GEMM worker threads now (they also start on the first large GEMM). */
  async warmup(): Promise<void> {
    await this.gemmImpl.warmup?.();
  }

  /** Threads the kernels use, including the caller (1 for the JS GEMM). */
  get threads(): number {
    return (this.gemmImpl as Partial<WasmKernels>).threads ?? 1;
  }

  /** The GEMM implementation in use. */
  get gemm(): Gemm {
    return this.gemmImpl;
  }

  override sgd(param: Buf, grad: Buf, mom: Buf, n: number, spec: SgdSpec): void {
    if (!this.ew) return super.sgd(param, grad, mom, n, spec);
    const hp = this.allocUninit(6); // lr, momentum, weight decay as float64
    try {
      const h = new Float64Array(this.memory.buffer, this.off(hp) * 4, 3);
      [h[0], h[1], h[2]] = [spec.lr, spec.momentum, spec.weightDecay];
      this.ew.sgd(this.off(param), this.off(grad), this.off(mom), n, this.off(hp));
    } finally {
      this.free(hp);
    }
  }
  override accumulate(dst: Buf, src: Buf, n: number, alpha: number): void {
    // alpha 1 (gradient sums): the add kernel in place, split over the threads; src·1 is src
    // to the bit, so the sums are axpy's
    if (this.ew && alpha === 1) return this.ew.add(this.off(dst), this.off(src), this.off(dst), n);
    if (this.ew) return this.ew.axpy(this.off(dst), this.off(src), n, alpha);
    super.accumulate(dst, src, n, alpha);
  }
  override unary(op: UnaryOp, x: Buf, out: Buf, n: number, p: UnaryParams): void {
    if (this.ew && op === "relu") return this.ew.relu(this.off(x), this.off(out), n);
    super.unary(op, x, out, n, p);
  }
  override unaryBackward(...args: Parameters<Backend["unaryBackward"]>): void {
    const [op, x, , dy, dx, n] = args;
    if (this.ew && op === "relu") {
      return this.ew.relu_bwd(this.off(x), this.off(dy), this.off(dx), n);
    }
    super.unaryBackward(...args);
  }
  override binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, spec: BinarySpec): void {
    if (
      this.ew && op === "add" && spec.shape.length === 1 && spec.aStrides[0] === 1 &&
      spec.bStrides[0] === 1
    ) {
      return this.ew.add(this.off(a), this.off(b), this.off(out), spec.shape[0]);
    }
    super.binary(op, a, b, out, spec);
  }

  // ---- GEMM-based kernels ----

  /** Element offset of a live buffer in the memory. */
  off(b: Buf): number {
    const c = b as CpuBuf;
    if (c.off < 0) throw new Error("cpu: buffer was freed");
    return c.off;
  }

  override matmul(a: Buf, b: Buf, out: Buf, s: MatmulSpec): void {
    const { batch, m, n, k, transA, transB } = s;
    const ao = this.off(a), bo = this.off(b), co = this.off(out);
    for (let t = 0; t < batch; t++) {
      this.gemmImpl.gemm(
        m,
        n,
        k,
        ao + t * s.aBatchStride,
        transA ? 1 : k,
        transA ? m : 1,
        bo + t * s.bBatchStride,
        transB ? 1 : n,
        transB ? k : 1,
        co + t * m * n,
        n,
        false,
      );
    }
  }

  private direct(s: ConvSpec): boolean {
    return s.kh === 1 && s.kw === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 &&
      s.padW === 0;
  }

  /**
   * Convolution through the wasm `conv` kernel, the batch split over the available threads
   * (mode 0 forward, 1 input gradient; mode 2, the weight gradient, goes to `wasmWeightGrad`);
   * false when only the JS GEMM exists.
   */
  private wasmConv(mode: 0 | 1 | 2, s: ConvSpec, x: Buf, w: Buf, out: Buf): boolean {
    const k = this.gemmImpl as Partial<WasmKernels>;
    if (!k.run || !k.available) return false;
    if (this.winograd && winogradApplies(s, CONV_PASS[mode])) {
      const kk = k as WasmKernels;
      if (mode === 0) winogradForward(kk, this, s, x, w, out);
      else if (mode === 1) winogradBackwardInput(kk, this, s, out, w, x);
      else winogradBackwardWeight(kk, this, s, x, out, w);
      return true;
    }
    if (mode === 2) return this.wasmWeightGrad(k as WasmKernels, s, x, w, out);
    const Kd = s.cIn * s.kh * s.kw, P = s.outH * s.outW;
    const parts = Math.max(1, Math.min(s.n, k.available()));
    const counter = this.alloc(1); // next image to take (Int32, zeroed)
    const temps: Buf[] = [counter];
    const jobs: Job[] = [];
    const colFloats = Kd * Math.min(P, k.convRows!(Kd, s.outH, s.outW) * s.outW);
    try {
      // the GEMM's A (W, or Wᵀ for the input gradient) packed once for every image and block
      const pa = mode === 0
        ? packGemmA(k as WasmKernels, this, this.off(w), 1, s.cOut, Kd, Kd, 1)
        : packGemmA(k as WasmKernels, this, this.off(w), 1, Kd, s.cOut, 1, Kd);
      temps.push(pa);
      for (let t = 0; t < parts; t++) {
        const col = this.direct(s) ? null : this.allocUninit(colFloats);
        if (col) temps.push(col);
        const bufs = [this.off(x), this.off(w), this.off(out), this.off(counter)];
        const cols = col ? this.off(col) : 0;
        jobs.push({ kernel: 1, args: [mode, ...bufs, s.n, ...convDims(s), this.off(pa), cols] });
      }
      k.run(jobs);
    } finally {
      for (const t of temps) this.free(t);
    }
    return true;
  }

  /** Weight gradient (see `chunkedWeightGrad`): each chunk's dWᵀ, then dw = the sumᵀ. */
  private wasmWeightGrad(k: WasmKernels, s: ConvSpec, x: Buf, dw: Buf, dy: Buf): boolean {
    const Kd = s.cIn * s.kh * s.kw, P = s.outH * s.outW;
    // one image counter per chunk (Int32, zeroed)
    const counters = this.alloc(Math.min(s.n, WEIGHT_GRAD_CHUNKS));
    const wsFloats = this.direct(s) ? 0 : Kd * Math.min(P, k.convRows(Kd, s.outH, s.outW) * s.outW);
    const xImg = s.cIn * s.h * s.w, dyImg = s.cOut * P;
    try {
      chunkedWeightGrad(k, this, { n: s.n, size: Kd * s.cOut, wsFloats }, (c, lo, hi, partial) => {
        const bufs = [this.off(x) + lo * xImg, partial, this.off(dy) + lo * dyImg];
        // no pre-packed A (-1); im2col columns 0: the running thread's workspace
        return {
          kernel: 1,
          args: [2, ...bufs, this.off(counters) + c, hi - lo, ...convDims(s), -1, 0],
        };
      }, (sum) => {
        const out = this.view(dw);
        for (let o = 0; o < s.cOut; o++) {
          for (let q = 0; q < Kd; q++) out[o * Kd + q] = sum[q * s.cOut + o];
        }
      });
    } finally {
      this.free(counters);
    }
    return true;
  }

  override conv2d(x: Buf, w: Buf, bias: Buf | null, out: Buf, s: ConvSpec): void {
    if (this.wasmConv(0, s, x, w, out)) {
      if (bias) this.addBias(out, bias, s);
      return;
    }
    const Kd = s.cIn * s.kh * s.kw, P = s.outH * s.outW;
    const wo = this.off(w), oo = this.off(out);
    this.forImages(x, s, (b, bo) => {
      this.gemmImpl.gemm(s.cOut, P, Kd, wo, Kd, 1, bo, P, 1, oo + b * s.cOut * P, P, false);
    });
    if (bias) this.addBias(out, bias, s);
  }

  /**
   * `each(b, bo)` for every image b of `x`, bo the offset of its GEMM operand: the image itself
   * when the conv is direct (1×1, stride 1, no padding), else its im2col columns.
   */
  private forImages(x: Buf, s: ConvSpec, each: (b: number, bo: number) => void): void {
    const col = this.direct(s) ? null : this.alloc(s.cIn * s.kh * s.kw * s.outH * s.outW);
    const xo = this.off(x);
    try {
      for (let b = 0; b < s.n; b++) {
        const xb = xo + b * s.cIn * s.h * s.w;
        if (col) im2col(this.refresh(), xb, this.off(col), s);
        each(b, col ? this.off(col) : xb);
      }
    } finally {
      if (col) this.free(col);
    }
  }

  private addBias(out: Buf, bias: Buf, s: ConvSpec): void {
    const P = s.outH * s.outW;
    const o = this.view(out), bv = this.view(bias);
    for (let b = 0; b < s.n; b++) {
      for (let c = 0; c < s.cOut; c++) {
        const base = (b * s.cOut + c) * P, v = bv[c];
        for (let q = 0; q < P; q++) o[base + q] += v;
      }
    }
  }

  override conv2dBackwardInput(dy: Buf, w: Buf, dx: Buf, s: ConvSpec): void {
    if (this.wasmConv(1, s, dx, w, dy)) return;
    const Kd = s.cIn * s.kh * s.kw, P = s.outH * s.outW, HW = s.h * s.w;
    const direct = this.direct(s);
    const col = direct ? null : this.alloc(Kd * P);
    const dyo = this.off(dy), wo = this.off(w), dxo = this.off(dx);
    try {
      if (!direct) this.view(dx).fill(0, 0, s.n * s.cIn * HW);
      for (let b = 0; b < s.n; b++) {
        const target = col ? this.off(col) : dxo + b * s.cIn * HW;
        // col (K×P) = Wᵀ (K×cOut) · dy_b (cOut×P)
        this.gemmImpl.gemm(Kd, P, s.cOut, wo, 1, Kd, dyo + b * s.cOut * P, P, 1, target, P, false);
        if (col) col2im(this.refresh(), this.off(col), dxo + b * s.cIn * HW, s);
      }
    } finally {
      if (col) this.free(col);
    }
  }

  override conv2dBackwardWeight(x: Buf, dy: Buf, dw: Buf, dbias: Buf | null, s: ConvSpec): void {
    if (this.wasmConv(2, s, x, dw, dy)) {
      if (dbias) this.biasGrad(dy, dbias, s);
      return;
    }
    const Kd = s.cIn * s.kh * s.kw, P = s.outH * s.outW;
    const dyo = this.off(dy), dwo = this.off(dw);
    this.forImages(x, s, (b, bo) => {
      // dW (cOut×K) += dy_b (cOut×P) · colᵀ (P×K)
      this.gemmImpl.gemm(s.cOut, Kd, P, dyo + b * s.cOut * P, P, 1, bo, 1, P, dwo, Kd, b > 0);
    });
    if (dbias) this.biasGrad(dy, dbias, s);
  }

  private biasGrad(dy: Buf, dbias: Buf, s: ConvSpec): void {
    const P = s.outH * s.outW;
    const g = this.view(dy), db = this.view(dbias);
    db.fill(0, 0, s.cOut);
    for (let b = 0; b < s.n; b++) {
      for (let c = 0; c < s.cOut; c++) {
        const base = (b * s.cOut + c) * P;
        let acc = 0;
        for (let q = 0; q < P; q++) acc += g[base + q];
        db[c] += acc;
      }
    }
  }

  /** Batch norm + ReLU / PReLU run as one kernel each way (`bn_fwd_relu`, `bn_bwd_prelu`, …). */
  get fusesBatchNormAct(): boolean {
    return !!this.ew;
  }
  /**
   * Per channel k: A = γ·invStd, B = β − μ·A (float32), the forward's affine map as `bn_fwd`
   * computes it: the fused activation's backward recomputes its input from it.
   */
  private bnAffine(gamma: Buf, beta: Buf, saveMean: Buf, saveInvStd: Buf, c: number): Buf[] {
    const A = this.allocUninit(c), B = this.allocUninit(c);
    const g = this.view(gamma), be = this.view(beta), mean = this.view(saveMean);
    const inv = this.view(saveInvStd), a = this.view(A), b = this.view(B);
    for (let k = 0; k < c; k++) {
      a[k] = g[k] * inv[k];
      b[k] = be[k] - mean[k] * a[k];
    }
    return [A, B];
  }
  override batchNormTrain(...args: Parameters<Backend["batchNormTrain"]>): void {
    const ew = this.ew;
    if (!ew) return super.batchNormTrain(...args);
    const [x, gamma, beta, runMean, runVar, out, saveMean, saveInvStd, spec, act] = args;
    const hp = this.allocUninit(4); // eps, momentum as float64
    try {
      new Float64Array(this.memory.buffer, this.off(hp) * 4, 2).set([spec.eps, spec.momentum]);
      const ptrs = [x, out, saveMean, saveInvStd, gamma, beta, runMean, runVar, hp];
      if (act?.kind === "prelu") ptrs.push(act.alpha);
      const k = act ? `bn_fwd_${act.kind}` as const : "bn_fwd";
      ew.channels(k, ptrs.map((b) => this.off(b)), spec.n, spec.c, spec.hw);
    } finally {
      this.free(hp);
    }
  }
  override batchNormBackward(...args: Parameters<Backend["batchNormBackward"]>): void {
    const ew = this.ew;
    if (!ew) return super.batchNormBackward(...args);
    const [x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, spec, act] = args;
    // the fused activation's input: the forward's affine map (the kernel recomputes it)
    const fa = act ? this.bnAffine(gamma, act.beta, saveMean, saveInvStd, spec.c) : [];
    try {
      const ptrs = [dy, x, dx, saveMean, saveInvStd, gamma, dbeta, dgamma, ...fa];
      if (act?.kind === "prelu") ptrs.push(act.alpha, act.dalpha);
      const k = act ? `bn_bwd_${act.kind}` as const : "bn_bwd";
      ew.channels(k, ptrs.map((b) => this.off(b)), spec.n, spec.c, spec.hw);
    } finally {
      for (const b of fa) this.free(b);
    }
  }
  override prelu(x: Buf, alpha: Buf, out: Buf, spec: ChannelSpec): void {
    if (this.ew) {
      const ptrs = [this.off(x), this.off(alpha), this.off(out)];
      return this.ew.channels("prelu", ptrs, spec.n, spec.c, spec.hw);
    }
    super.prelu(x, alpha, out, spec);
  }
  override preluBackward(...args: Parameters<Backend["preluBackward"]>): void {
    const [x, alpha, dy, dx, dalpha, spec] = args;
    if (!this.ew) return super.preluBackward(...args);
    const ptrs = [x, alpha, dy, dx, dalpha].map((b) => this.off(b));
    this.ew.channels("prelu_bwd", ptrs, spec.n, spec.c, spec.hw);
  }
}
