/**
 * The WebAssembly SIMD kernels (GEMM and im2col convolution, see `gemm_wat.ts`) instantiated
 * over the CPU backend's shared memory, with one helper Worker per extra core. A large GEMM is
 * cut into slices along its longer output dimension; a convolution into ranges of images. The
 * main thread runs the first job and each idle worker one other, synchronised through Atomics
 * words in the same memory (no messages per call).
 * @module
 */
import type { Gemm } from "./gemm.ts";
import { GEMM_FMA_WASM, GEMM_PLAIN_WASM, GEMM_SHAPE } from "./gemm_wasm.ts";
import { JOB_KERNELS, scratchFloats } from "./gemm_wat.ts";
import { drainQueue, QUEUE_KIND, QUEUE_WORDS, writeQueue } from "./job_queue.ts";
import { spawnWorker } from "../../../data/web_worker.ts";

const DEAD = 0, IDLE = 1, BUSY = 2, STARTING = 3;
/** Int32 words per worker control block. */
const CTRL_WORDS = 32;
/** Floats reserved for control blocks (up to 15 workers). */
const CTRL_FLOATS = 512;
/** Element offset of the job queue (`job_queue.ts`), after the control blocks. */
const QUEUE_OFF = CTRL_FLOATS;
/** Below this many multiply-adds a GEMM runs on the calling thread only. */
const PARALLEL_MIN = 1 << 21;
/**
 * Below this many elements a per-channel kernel runs on the calling thread only (waking a
 * worker costs tens of microseconds; these kernels move ~1 element per nanosecond).
 */
const CHANNEL_PARALLEL_MIN = 1 << 16;
/** Below this many elements an elementwise kernel (ReLU, its gradient, add) runs on one thread. */
const FLAT_PARALLEL_MIN = 1 << 16;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Options of {@link createWasmGemm}. */
export interface WasmGemmOptions {
  /** Threads including the caller (default `navigator.hardwareConcurrency`, max 16). */
  threads?: number;
  /** Use relaxed-SIMD FMA when the engine supports it (default true). */
  fma?: boolean;
  /** A worker closes itself after this long without work (default 3000 ms). */
  idleMs?: number;
}

/** One unit of parallel work: an index into `JOB_KERNELS` and its arguments minus scratch. */
export interface Job {
  kernel: number;
  args: number[];
}

/**
 * Per-channel kernels over an (n, c, hw) tensor; their wasm exports take (pointers…, n, c, hw,
 * c0, c1) and do channels c0 ≤ ch < c1 (per-channel sums are written, not accumulated).
 */
export type ChannelKernel =
  | "bn_fwd"
  | "bn_fwd_relu"
  | "bn_bwd"
  | "bn_bwd_relu"
  | "bn_fwd_prelu"
  | "bn_bwd_prelu"
  | "prelu"
  | "prelu_bwd";

/** The memory-bound SIMD kernels of `eltwise_wat.ts` (element offsets). */
export interface EltwiseKernels {
  /** out = max(x, 0) (this, relu_bwd and add split the elements over idle threads when many). */
  relu(x: number, out: number, n: number): void;
  relu_bwd(x: number, dy: number, dx: number, n: number): void;
  add(a: number, b: number, out: number, n: number): void;
  /**
   * p[i] = ((p[i] + p[i + stride]) + p[i + 2·stride]) + … over `chunks` blocks, for i < n: the
   * bits of adding blocks 1 … chunks − 1 into block 0 one `add` at a time, in one sweep.
   */
  add_chunks(p: number, n: number, chunks: number, stride: number): void;
  axpy(dst: number, src: number, n: number, alpha: number): void;
  /**
   * Momentum SGD step of n parameters (lr, momentum, weight decay: float64 at element offset
   * `hp`), split over the idle threads when many; the TS kernel's bits.
   */
  sgd(param: number, grad: number, mom: number, n: number, hp: number): void;
  /**
   * Runs per-channel kernel `k` on (pointers…, n, c, hw) (element offsets), the channels split
   * over the idle threads when the tensor is large: each channel's arithmetic is the same at any
   * split.
   */
  channels(k: ChannelKernel, ptrs: number[], n: number, c: number, hw: number): void;
}

/** The wasm kernels plus job dispatch. */
export interface WasmKernels extends Gemm {
  /** Elementwise/per-channel kernels, run on the calling thread. */
  ew: EltwiseKernels;
  /** Threads that could take a job right now (the caller plus idle workers). */
  available(): number;
  /** Runs the jobs, the first on the caller, others on idle workers (or the caller). */
  run(jobs: Job[]): void;
  /**
   * Runs the jobs as a queue: the caller and whichever workers are idle each take the next job
   * until none is left (dynamic load balancing, for more jobs than threads; the queue lives in
   * the shared memory, `job_queue.ts`, so a worker that finishes takes the next job without
   * waiting for the caller to hand it one). A job's result
   * must not depend on which thread runs it; with `cols`, a job's last argument is replaced by
   * `cols[slot]` of the thread that runs it (slot 0 the caller, 1… the workers: per-thread
   * scratch such as im2col columns).
   */
  runQueue(jobs: Job[], cols?: number[]): void;
  /** Threads including the caller. */
  readonly threads: number;
  /** Output rows per im2col block of a convolution (its column buffer: Kd × rows·ow floats). */
  convRows(kd: number, oh: number, ow: number): number;
}

/** Instantiates the SIMD kernels over `memory` (its first `reservedFloats` floats are ours). */
export async function createWasmGemm(
  memory: WebAssembly.Memory,
  opts: WasmGemmOptions = {},
): Promise<WasmKernels> {
  if (!WebAssembly.validate(decode(GEMM_PLAIN_WASM))) {
    throw new Error("this engine lacks WebAssembly SIMD, bulk memory or shared memory");
  }
  const fmaBytes = decode(GEMM_FMA_WASM);
  const wasm = (opts.fma ?? true) && WebAssembly.validate(fmaBytes)
    ? fmaBytes
    : decode(GEMM_PLAIN_WASM);
  const { instance } = await WebAssembly.instantiate(wasm, { env: { memory } });
  const kernels = JOB_KERNELS.map((k) => instance.exports[k] as (...args: number[]) => void);
  const threads = Math.max(
    1,
    Math.min(16, opts.threads ?? (globalThis.navigator?.hardwareConcurrency || 1)),
  );
  const scratch = scratchFloats({ ...GEMM_SHAPE, fma: false });
  const scratchOf = (t: number) => QUEUE_OFF + QUEUE_WORDS + t * scratch;
  const reservedFloats = scratchOf(threads);
  const needBytes = reservedFloats * 4 - memory.buffer.byteLength;
  if (needBytes > 0) memory.grow(Math.ceil(needBytes / 65536));
  const ctrls: Int32Array[] = [];
  const workers: (Worker | null)[] = [];
  for (let t = 1; t < threads; t++) {
    ctrls.push(new Int32Array(memory.buffer, (t - 1) * CTRL_WORDS * 4, CTRL_WORDS));
    workers.push(null);
  }
  const idleMs = opts.idleMs ?? 3000;
  let disposed = false;

  function spawn(w: number): void {
    workers[w]?.terminate();
    Atomics.store(ctrls[w], 0, STARTING);
    const worker = spawnWorker(new URL("./gemm_worker.ts", import.meta.url));
    const init = { memory, wasm, ctrl: w * CTRL_WORDS, scratch: scratchOf(w + 1), slot: w + 1 };
    worker.postMessage({ ...init, idleMs });
    workers[w] = worker;
  }

  /** Idle workers now; dead ones are restarted for next time. */
  function idle(): number[] {
    if (disposed) return [];
    const out: number[] = [];
    for (let w = 0; w < ctrls.length; w++) {
      const st = Atomics.load(ctrls[w], 0);
      if (st === DEAD) spawn(w);
      else if (st === IDLE) out.push(w);
    }
    return out;
  }

  function runJobs(jobs: Job[]): void {
    const helpers = idle();
    const started: number[] = [];
    const local: Job[] = [jobs[0]];
    for (let i = 1; i < jobs.length; i++) {
      const w = helpers[i - 1];
      const ctrl = w === undefined ? null : ctrls[w];
      if (ctrl) {
        const { kernel, args } = jobs[i];
        ctrl[1] = kernel;
        ctrl[2] = args.length;
        for (let k = 0; k < args.length; k++) ctrl[3 + k] = args[k];
        // the worker may have timed out since we looked: only hand work to a still-idle one
        if (Atomics.compareExchange(ctrl, 0, IDLE, BUSY) === IDLE) {
          Atomics.notify(ctrl, 0);
          started.push(w);
          continue;
        }
      }
      local.push(jobs[i]);
    }
    for (const j of local) kernels[j.kernel](...j.args, scratchOf(0));
    for (const w of started) {
      while (Atomics.load(ctrls[w], 0) === BUSY) Atomics.wait(ctrls[w], 0, BUSY, 50);
    }
  }

  function runQueue(jobs: Job[], cols?: number[]): void {
    const helpers = threads === 1 || jobs.length < 2 ? [] : idle();
    if (helpers.length && writeQueue(memory, QUEUE_OFF, jobs, cols)) {
      // every thread takes the next job itself when it finishes one
      const started: number[] = [];
      for (const w of helpers) {
        const ctrl = ctrls[w];
        ctrl[1] = QUEUE_KIND;
        ctrl[2] = 1;
        ctrl[3] = QUEUE_OFF;
        if (Atomics.compareExchange(ctrl, 0, IDLE, BUSY) === IDLE) {
          Atomics.notify(ctrl, 0);
          started.push(w);
        }
      }
      drainQueue(memory, QUEUE_OFF, 0, kernels, scratchOf(0));
      for (const w of started) {
        while (Atomics.load(ctrls[w], 0) === BUSY) Atomics.wait(ctrls[w], 0, BUSY, 50);
      }
      return;
    }
    const argsFor = (j: Job, slot: number) => cols ? [...j.args.slice(0, -1), cols[slot]] : j.args;
    const started = new Set<number>();
    let next = 0;
    while (next < jobs.length) {
      // Hand the next jobs to idle workers, then run one here; repeat.
      for (const w of idle()) {
        if (next >= jobs.length) break;
        const ctrl = ctrls[w];
        const args = argsFor(jobs[next], w + 1);
        ctrl[1] = jobs[next].kernel;
        ctrl[2] = args.length;
        for (let k = 0; k < args.length; k++) ctrl[3 + k] = args[k];
        if (Atomics.compareExchange(ctrl, 0, IDLE, BUSY) === IDLE) {
          Atomics.notify(ctrl, 0);
          started.add(w);
          next++;
        }
      }
      if (next < jobs.length) {
        const j = jobs[next++];
        kernels[j.kernel](...argsFor(j, 0), scratchOf(0));
      }
    }
    for (const w of started) {
      while (Atomics.load(ctrls[w], 0) === BUSY) Atomics.wait(ctrls[w], 0, BUSY, 50);
    }
  }

  /** Range `part` of `parts` over n, aligned. */
  function slice(n: number, parts: number, part: number, align: number): [number, number] {
    const step = Math.ceil(n / parts / align) * align;
    const lo = Math.min(n, part * step);
    return [lo, Math.min(n, lo + step)];
  }

  function channels(k: ChannelKernel, ptrs: number[], n: number, c: number, hw: number): void {
    const kernel = JOB_KERNELS.indexOf(k);
    const parts = threads === 1 || n * c * hw < CHANNEL_PARALLEL_MIN
      ? 1
      : Math.min(c, 1 + idle().length);
    if (parts === 1) {
      kernels[kernel](...ptrs, n, c, hw, 0, c);
      return;
    }
    const jobs: Job[] = [];
    for (let p = 0; p < parts; p++) {
      const c0 = Math.floor((p * c) / parts), c1 = Math.floor(((p + 1) * c) / parts);
      jobs.push({ kernel, args: [...ptrs, n, c, hw, c0, c1] });
    }
    runJobs(jobs);
  }

  /**
   * Elementwise kernel `k` on (pointers…, n), the elements split into 64-byte aligned ranges over
   * the idle threads when there are many (each element's arithmetic is the same at any split).
   */
  function flat(
    k: "relu" | "relu_bwd" | "add" | "add_chunks" | "sgd",
    ptrs: number[],
    n: number,
    extra: number[] = [],
  ): void {
    const kernel = JOB_KERNELS.indexOf(k);
    const parts = threads === 1 || n < FLAT_PARALLEL_MIN ? 1 : 1 + idle().length;
    if (parts === 1) return kernels[kernel](...ptrs, n, ...extra);
    const step = Math.ceil(n / parts / 16) * 16;
    const jobs: Job[] = [];
    for (let lo = 0; lo < n; lo += step) {
      jobs.push({ kernel, args: [...ptrs.map((p) => p + lo), Math.min(step, n - lo), ...extra] });
    }
    runJobs(jobs);
  }

  return {
    name: `WebAssembly SIMD GEMM ${GEMM_SHAPE.mr}×${GEMM_SHAPE.nr}${
      wasm === fmaBytes ? " FMA" : ""
    }, ${threads} thread${threads > 1 ? "s" : ""}`,
    reservedFloats,
    ew: {
      ...(instance.exports as unknown as EltwiseKernels),
      channels,
      relu: (x, out, n) => flat("relu", [x, out], n),
      relu_bwd: (x, dy, dx, n) => flat("relu_bwd", [x, dy, dx], n),
      add: (a, b, out, n) => flat("add", [a, b, out], n),
      add_chunks: (p, n, chunks, stride) => flat("add_chunks", [p], n, [chunks, stride]),
      sgd: (p, g, m, n, hp) => flat("sgd", [p, g, m], n, [hp]),
    },
    available: () => 1 + idle().length,
    run: runJobs,
    runQueue,
    threads,
    convRows: instance.exports.conv_rows as (kd: number, oh: number, ow: number) => number,
    gemm(M, N, K, a, ars, acs, b, brs, bcs, c, ldc, accumulate) {
      const acc = accumulate ? 1 : 0;
      const parts = threads === 1 || M * N * K < PARALLEL_MIN ? 1 : 1 + idle().length;
      if (parts === 1) {
        kernels[0](M, N, K, a, ars, acs, b, brs, bcs, c, ldc, acc, scratchOf(0));
        return;
      }
      const byRows = M > N;
      const align = byRows ? GEMM_SHAPE.mr : GEMM_SHAPE.nr;
      const jobs: Job[] = [];
      for (let p = 0; p < parts; p++) {
        const [lo, hi] = slice(byRows ? M : N, parts, p, align);
        if (hi <= lo) continue;
        jobs.push({
          kernel: 0,
          args: byRows
            ? [hi - lo, N, K, a + lo * ars, ars, acs, b, brs, bcs, c + lo * ldc, ldc, acc]
            : [M, hi - lo, K, a, ars, acs, b + lo * bcs, brs, bcs, c + lo, ldc, acc],
        });
      }
      runJobs(jobs);
    },
    async warmup() {
      for (let w = 0; w < ctrls.length; w++) {
        if (Atomics.load(ctrls[w], 0) === DEAD) spawn(w);
      }
      const t0 = performance.now();
      while (ctrls.some((c) => Atomics.load(c, 0) === STARTING)) {
        if (performance.now() - t0 > 120000) throw new Error("GEMM workers did not start in 120 s");
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    dispose() {
      disposed = true;
      for (const w of workers) w?.terminate();
      workers.fill(null);
    },
  };
}
