/**
 * The `webgpu` autodiff backend: every {@link Backend} kernel as a WGSL compute shader.
 * Kernels only record dispatches into one command batch; the batch is submitted by `flush`,
 * `download`, or when it grows past `MAX_PENDING` dispatches, so a training step is one (or a
 * few) queue submissions and reads back nothing unless asked.
 * @module
 */

import type {
  Backend,
  BinaryOp,
  BinarySpec,
  Buf,
  ChannelSpec,
  ConvSpec,
  MarginSpec,
  MatmulSpec,
  ReduceSpec,
  RowSpec,
  SgdSpec,
  StridedSpec,
  UnaryOp,
  UnaryParams,
  WhereSpec,
} from "../backend.ts";
import { CommandBatch } from "./batch.ts";
import { BufferPool, type PoolStats } from "./buffer_pool.ts";
import { type Ctx, gpu, GpuBuf } from "./ctx.ts";
import { acquireGpu, type AcquireOptions, type GpuContext } from "./device.ts";
import * as CH from "./kernels/channel.ts";
import * as CV from "./kernels/conv.ts";
import * as EW from "./kernels/elementwise.ts";
import * as HD from "./kernels/heads.ts";
import { matmul } from "./kernels/matmul.ts";
import { reduceSum } from "./kernels/reduce.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { KernelProfiler, type KernelTimes } from "./profiler.ts";
import { type Tuning, tuningFor } from "./tuning.ts";

/** Options of {@link createWebgpuBackend}. */
export interface WebgpuOptions extends AcquireOptions {
  /** Replace the adapter's tuning row (benchmarks compare tile shapes this way). */
  tuning?: Tuning;
}

/** Recorded dispatches after which the batch is submitted (bounds encoder memory). */
const MAX_PENDING = 4096;

/**
 * A webgpu backend, or null when no WebGPU adapter is available.
 *
 * @example
 * ```ts
 * const be = await createWebgpuBackend();
 * if (be) {
 *   const x = be.alloc(4), y = be.alloc(4);
 *   be.upload(x, new Float32Array([1, -2, 3, -4]));
 *   be.unary("relu", x, y, 4, {});
 *   console.log(await be.download(y)); // [1, 0, 3, 0]
 *   be.dispose();
 * }
 * ```
 */
export async function createWebgpuBackend(
  opts: WebgpuOptions = {},
): Promise<WebgpuBackend | null> {
  const g = await acquireGpu(opts);
  return g ? new WebgpuBackend(g, opts) : null;
}

/** See the module comment; construct with {@link createWebgpuBackend}. */
export class WebgpuBackend implements Backend {
  /** Backend name. */
  readonly name = "webgpu";
  /** Adapter description and tuning row. */
  readonly info: string;
  /** The adapter and device in use. */
  readonly gpu: GpuContext;
  readonly #ctx: Ctx;
  #disposed = false;
  #lost: string | null = null;
  #error: string | null = null;

  /** Prefer {@link createWebgpuBackend}, which acquires the device. */
  constructor(g: GpuContext, opts: WebgpuOptions = {}) {
    this.gpu = g;
    const device = g.device;
    const cache = new PipelineCache(device);
    const batch = new CommandBatch(device, cache);
    const pool = new BufferPool(device, 2 ** 30, (destroy) => batch.afterSubmit(destroy));
    const tuning = opts.tuning ?? tuningFor(g.info);
    const dummy = new GpuBuf(4, device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
    this.#ctx = {
      device,
      batch,
      pool,
      cache,
      tuning,
      dummy,
      temp: (size) => new GpuBuf(size, pool.acquire(size * 4).buffer),
      release: (b) => pool.release(b.buffer),
    };
    this.info = `${g.info.description || g.info.vendor || "WebGPU adapter"}${
      g.info.isFallback ? " (software)" : ""
    }; tuning: ${tuning.name}`;
    // Validation errors (a broken kernel, a bad binding) would otherwise only show up as
    // zeros; keep the first and raise it at the next download/flush.
    device.addEventListener("uncapturederror", (e) => {
      this.#error ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    device.lost.then((l) => {
      if (!this.#disposed) this.#lost = `${l.reason}: ${l.message}`;
    });
  }

  /** Buffer-pool counters (peak memory for the benchmark). */
  get memory(): PoolStats {
    return { ...this.#ctx.pool.stats };
  }
  /** Pipelines compiled so far. */
  get pipelinesCompiled(): number {
    return this.#ctx.cache.compiled;
  }
  /** Queue submissions so far. */
  get submits(): number {
    return this.#ctx.batch.submits;
  }
  /** The tuning row in use. */
  get tuning(): Tuning {
    return this.#ctx.tuning;
  }

  #live(): Ctx {
    if (this.#disposed) throw new Error("webgpu backend: used after dispose()");
    if (this.#lost) throw new Error(`webgpu backend: device lost (${this.#lost})`);
    return this.#ctx;
  }

  /** An input (or in-place) buffer: clear it first if its zeroing is still pending. */
  #in(buf: Buf, what: string): GpuBuf {
    const b = gpu(buf, what);
    if (b.zeroPending) {
      b.zeroPending = false;
      EW.fill(this.#ctx, b, 0, b.size);
    }
    return b;
  }

  /** An output whose first `extent` elements the kernel overwrites. */
  #out(buf: Buf, what: string, extent: number): GpuBuf {
    const b = gpu(buf, what);
    if (b.zeroPending && extent >= b.size) b.zeroPending = false;
    return this.#in(b, what);
  }

  /** Called after each kernel: submit when the batch is long (bounds encoder memory). */
  #tick(): void {
    if (this.#ctx.batch.pending >= MAX_PENDING) this.#ctx.batch.submit();
  }

  /**
   * Start timing every kernel with GPU timestamps (false when the device lacks the
   * "timestamp-query" feature). Each dispatch then gets its own pass: slower, so only for
   * investigations.
   */
  startProfile(): boolean {
    const ctx = this.#live();
    if (!ctx.device.features.has("timestamp-query")) return false;
    ctx.batch.submit();
    ctx.batch.profiler ??= new KernelProfiler(ctx.device);
    return true;
  }

  /** Stop timing; GPU milliseconds and dispatch counts per kernel since {@link startProfile}. */
  async stopProfile(): Promise<KernelTimes> {
    const ctx = this.#live();
    const p = ctx.batch.profiler;
    if (!p) return {};
    await this.flush();
    ctx.batch.profiler = null;
    const t = await p.take();
    p.destroy();
    return t;
  }

  // ---- storage ----
  /** See {@link Backend}.alloc. */
  alloc(size: number): Buf {
    const ctx = this.#live();
    const { buffer, fresh } = ctx.pool.acquire(size * 4);
    const b = new GpuBuf(size, buffer);
    // New GPUBuffers are zeroed by WebGPU. A recycled one is cleared lazily, in stream order,
    // only if something reads it before a kernel overwrites all of it (most allocations are
    // kernel outputs, which the interface says are fully overwritten).
    b.zeroPending = !fresh && size > 0;
    return b;
  }
  /** See {@link Backend}.free. */
  free(buf: Buf): void {
    const b = gpu(buf, "free");
    b.freed = true;
    this.#ctx.pool.release(b.buffer);
  }
  /** See {@link Backend}.upload. */
  upload(buf: Buf, data: Float32Array, offset = 0): void {
    const ctx = this.#live();
    const b = offset === 0 && data.length === buf.size
      ? this.#out(buf, "upload", data.length)
      : this.#in(buf, "upload");
    if (offset + data.length > b.size) {
      throw new Error(
        `webgpu upload: ${data.length} values at offset ${offset} exceed buffer size ${b.size}`,
      );
    }
    if (data.length === 0) return;
    // WebGPU copies from ArrayBuffer-backed views only (the cpu backend uses shared memory).
    const src = data.buffer instanceof ArrayBuffer
      ? data as Float32Array<ArrayBuffer>
      : new Float32Array(data);
    if (ctx.batch.empty) {
      // Nothing recorded: writeBuffer is ordered after all earlier submits.
      ctx.device.queue.writeBuffer(b.buffer, offset * 4, src);
      return;
    }
    // Work is recorded but not submitted: copy through a staging buffer inside the encoder
    // so the upload lands after the recorded kernels that may still read the old contents.
    const staging = ctx.device.createBuffer({
      size: Math.ceil(data.byteLength / 4) * 4,
      usage: GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Float32Array(staging.getMappedRange()).set(src);
    staging.unmap();
    ctx.batch.encoder().copyBufferToBuffer(staging, 0, b.buffer, offset * 4, data.byteLength);
    ctx.batch.afterSubmit(() => staging.destroy());
  }
  /** See {@link Backend}.download. */
  async download(buf: Buf): Promise<Float32Array> {
    const ctx = this.#live();
    const b = this.#in(buf, "download");
    if (b.size === 0) return new Float32Array(0);
    const bytes = b.size * 4;
    const rb = ctx.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    ctx.batch.encoder().copyBufferToBuffer(b.buffer, 0, rb, 0, bytes);
    ctx.batch.submit();
    await rb.mapAsync(GPUMapMode.READ);
    this.#raise();
    const out = new Float32Array(rb.getMappedRange().slice(0));
    rb.unmap();
    rb.destroy();
    return out;
  }
  /** See {@link Backend}.flush. */
  async flush(): Promise<void> {
    const ctx = this.#live();
    ctx.batch.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    this.#raise();
  }

  #raise(): void {
    if (!this.#error) return;
    const e = this.#error;
    this.#error = null;
    throw new Error(`webgpu backend: ${e}`);
  }
  /** See {@link Backend}.dispose. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const ctx = this.#ctx;
    ctx.pool.destroyPooled();
    ctx.batch.destroy();
    ctx.dummy.buffer.destroy();
    // Only a device we created is ours to destroy (an onnxruntime-web device lives on).
    if (this.gpu.owned) ctx.device.destroy();
  }

  /**
   * Record one kernel, then submit if the batch is long. `rec` gets the live context, `i` for
   * an input (cleared first if its zeroing is pending) and `o` for an output whose first
   * `extent` elements the kernel overwrites; `what` names the kernel in errors.
   */
  #kernel(
    what: string,
    rec: (ctx: Ctx, i: (b: Buf) => GpuBuf, o: (b: Buf, extent: number) => GpuBuf) => void,
  ): void {
    rec(this.#live(), (b) => this.#in(b, what), (b, extent) => this.#out(b, what, extent));
    this.#tick();
  }

  // ---- data movement ----
  /** See {@link Backend}.fill. */
  fill(out: Buf, value: number, n: number): void {
    this.#kernel("fill", (ctx, _, o) => EW.fill(ctx, o(out, n), value, n));
  }
  /** See {@link Backend}.copy. */
  copy(src: Buf, dst: Buf, n: number, srcOffset: number, dstOffset: number): void {
    this.#kernel("copy", (ctx, i, o) => {
      const s = i(src), d = dstOffset === 0 ? o(dst, n) : i(dst);
      EW.copy(ctx, s, d, n, srcOffset, dstOffset);
    });
  }
  /** See {@link Backend}.strided. */
  strided(x: Buf, out: Buf, spec: StridedSpec): void {
    this.#kernel("strided", (ctx, i, o) => EW.strided(ctx, i(x), o(out, count(spec.shape)), spec));
  }
  /** See {@link Backend}.accumulate. */
  accumulate(dst: Buf, src: Buf, n: number, alpha: number): void {
    this.#kernel("accumulate", (ctx, i) => EW.accumulate(ctx, i(dst), i(src), n, alpha));
  }

  // ---- elementwise ----
  /** See {@link Backend}.unary. */
  unary(op: UnaryOp, x: Buf, out: Buf, n: number, p: UnaryParams): void {
    this.#kernel(op, (ctx, i, o) => EW.unary(ctx, op, i(x), o(out, n), n, p));
  }
  /** See {@link Backend}.unaryBackward. */
  unaryBackward(op: UnaryOp, x: Buf, y: Buf, dy: Buf, dx: Buf, n: number, p: UnaryParams): void {
    this.#kernel(`${op} backward`, (ctx, i, o) => {
      EW.unaryBackward(ctx, op, i(x), i(y), i(dy), o(dx, n), n, p);
    });
  }
  /** See {@link Backend}.binary. */
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, spec: BinarySpec): void {
    this.#kernel(op, (ctx, i, o) => {
      EW.binary(ctx, op, i(a), i(b), o(out, count(spec.shape)), spec);
    });
  }
  /** See {@link Backend}.where. */
  where(cond: Buf, a: Buf, b: Buf, out: Buf, spec: WhereSpec): void {
    this.#kernel("where", (ctx, i, o) => {
      EW.where(ctx, i(cond), i(a), i(b), o(out, count(spec.shape)), spec);
    });
  }
  /** See {@link Backend}.reduceSum. */
  reduceSum(x: Buf, out: Buf, spec: ReduceSpec): void {
    this.#kernel("reduceSum", (ctx, i, o) => {
      reduceSum(ctx, i(x), o(out, count(spec.outShape)), spec);
    });
  }

  // ---- dense linear algebra ----
  /** See {@link Backend}.matmul. */
  matmul(a: Buf, b: Buf, out: Buf, spec: MatmulSpec): void {
    this.#kernel("matmul", (ctx, i, o) => {
      matmul(ctx, i(a), i(b), o(out, spec.batch * spec.m * spec.n), spec);
    });
  }
  /** See {@link Backend}.conv2d. */
  conv2d(x: Buf, w: Buf, bias: Buf | null, out: Buf, s: ConvSpec): void {
    this.#kernel("conv2d", (ctx, i, o) => {
      const y = o(out, s.n * s.cOut * s.outH * s.outW);
      CV.conv2d(ctx, i(x), i(w), bias ? i(bias) : null, y, s);
    });
  }
  /** See {@link Backend}.conv2dBackwardInput. */
  conv2dBackwardInput(dy: Buf, w: Buf, dx: Buf, s: ConvSpec): void {
    this.#kernel("conv2dBackwardInput", (ctx, i, o) => {
      CV.conv2dBackwardInput(ctx, i(dy), i(w), o(dx, s.n * s.cIn * s.h * s.w), s);
    });
  }
  /** See {@link Backend}.conv2dBackwardWeight. */
  conv2dBackwardWeight(x: Buf, dy: Buf, dw: Buf, dbias: Buf | null, s: ConvSpec): void {
    this.#kernel("conv2dBackwardWeight", (ctx, i, o) => {
      const dW = o(dw, s.cOut * s.cIn * s.kh * s.kw);
      CV.conv2dBackwardWeight(ctx, i(x), i(dy), dW, dbias ? o(dbias, s.cOut) : null, s);
    });
  }

  // ---- normalisation and per-channel activations ----
  /** See {@link Backend}.batchNormTrain. */
  batchNormTrain(...args: Parameters<Backend["batchNormTrain"]>): void {
    const [x, gamma, beta, runMean, runVar, out, saveMean, saveInvStd, s] = args;
    this.#kernel("batchNormTrain", (ctx, i, o) => {
      const ins = [i(x), i(gamma), i(beta), i(runMean), i(runVar)] as const;
      CH.batchNormTrain(ctx, ...ins, o(out, len(s)), o(saveMean, s.c), o(saveInvStd, s.c), s);
    });
  }
  /** See {@link Backend}.batchNormBackward. */
  batchNormBackward(...args: Parameters<Backend["batchNormBackward"]>): void {
    const [x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, s] = args;
    this.#kernel("batchNormBackward", (ctx, i, o) => {
      const ins = [i(x), i(dy), i(gamma), i(saveMean), i(saveInvStd)] as const;
      CH.batchNormBackward(ctx, ...ins, o(dx, len(s)), o(dgamma, s.c), o(dbeta, s.c), s);
    });
  }
  /** See {@link Backend}.prelu. */
  prelu(x: Buf, alpha: Buf, out: Buf, s: ChannelSpec): void {
    this.#kernel("prelu", (ctx, i, o) => CH.prelu(ctx, i(x), i(alpha), o(out, len(s)), s));
  }
  /** See {@link Backend}.preluBackward. */
  preluBackward(x: Buf, alpha: Buf, dy: Buf, dx: Buf, dalpha: Buf, s: ChannelSpec): void {
    this.#kernel("preluBackward", (ctx, i, o) => {
      CH.preluBackward(ctx, i(x), i(alpha), i(dy), o(dx, len(s)), o(dalpha, s.c), s);
    });
  }

  // ---- losses and heads ----
  /** See {@link Backend}.softmaxCrossEntropy. */
  softmaxCrossEntropy(logits: Buf, targets: Buf, loss: Buf, probs: Buf, s: RowSpec): void {
    this.#kernel("softmaxCrossEntropy", (ctx, i, o) => {
      HD.softmaxCrossEntropy(ctx, i(logits), i(targets), o(loss, s.rows), o(probs, cells(s)), s);
    });
  }
  /** See {@link Backend}.softmaxCrossEntropyBackward. */
  softmaxCrossEntropyBackward(...args: Parameters<Backend["softmaxCrossEntropyBackward"]>): void {
    const [probs, targets, dloss, dlogits, s] = args;
    this.#kernel("softmaxCrossEntropyBackward", (ctx, i, o) => {
      HD.softmaxCrossEntropyBackward(ctx, i(probs), i(targets), i(dloss), o(dlogits, cells(s)), s);
    });
  }
  /** See {@link Backend}.margin. */
  margin(cos: Buf, labels: Buf, out: Buf, s: MarginSpec): void {
    this.#kernel("margin", (ctx, i, o) => HD.margin(ctx, i(cos), i(labels), o(out, cells(s)), s));
  }
  /** See {@link Backend}.marginBackward. */
  marginBackward(cos: Buf, labels: Buf, dout: Buf, dcos: Buf, s: MarginSpec): void {
    this.#kernel("marginBackward", (ctx, i, o) => {
      HD.marginBackward(ctx, i(cos), i(labels), i(dout), o(dcos, cells(s)), s);
    });
  }

  // ---- optimiser ----
  /** See {@link Backend}.sgd. */
  sgd(param: Buf, grad: Buf, mom: Buf, n: number, spec: SgdSpec): void {
    this.#kernel("sgd", (ctx, i) => EW.sgd(ctx, i(param), i(grad), i(mom), n, spec));
  }
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Elements of a per-channel tensor. */
function len(s: ChannelSpec): number {
  return s.n * s.c * s.hw;
}

/** Elements of a rows × cols matrix. */
function cells(s: RowSpec): number {
  return s.rows * s.cols;
}
