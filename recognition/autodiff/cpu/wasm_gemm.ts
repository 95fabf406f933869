/**
 * The WebAssembly SIMD GEMM (see `gemm_wat.ts`), instantiated over the CPU backend's shared
 * memory, with one helper Worker per extra core: a large GEMM is cut into slices along its
 * longer output dimension, the main thread computes slice 0 and each idle worker one other
 * slice, synchronised through Atomics words in the same memory (no messages per call).
 * @module
 */
import type { Gemm } from "./gemm.ts";
import { GEMM_FMA_WASM, GEMM_PLAIN_WASM, GEMM_SHAPE } from "./gemm_wasm.ts";
import { scratchFloats } from "./gemm_wat.ts";

const DEAD = 0, IDLE = 1, BUSY = 2, STARTING = 3;
/** Floats reserved for control blocks (16 Int32 words per worker, up to 15 workers). */
const CTRL_FLOATS = 256;
/** Below this many multiply-adds a GEMM runs on the calling thread only. */
const PARALLEL_MIN = 1 << 21;

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

/** Instantiates the SIMD GEMM over `memory` (its first `reservedFloats` floats are ours). */
export async function createWasmGemm(
  memory: WebAssembly.Memory,
  opts: WasmGemmOptions = {},
): Promise<Gemm> {
  if (!WebAssembly.validate(decode(GEMM_PLAIN_WASM))) {
    throw new Error("this engine lacks WebAssembly SIMD or shared memory");
  }
  const fmaBytes = decode(GEMM_FMA_WASM);
  const wasm = (opts.fma ?? true) && WebAssembly.validate(fmaBytes)
    ? fmaBytes
    : decode(GEMM_PLAIN_WASM);
  const { instance } = await WebAssembly.instantiate(wasm, { env: { memory } });
  const run = instance.exports.gemm as (...args: number[]) => void;
  const threads = Math.max(
    1,
    Math.min(16, opts.threads ?? (globalThis.navigator?.hardwareConcurrency || 1)),
  );
  const scratch = scratchFloats({ ...GEMM_SHAPE, fma: false });
  const scratchOf = (t: number) => CTRL_FLOATS + t * scratch;
  const reservedFloats = CTRL_FLOATS + threads * scratch;
  const needBytes = reservedFloats * 4 - memory.buffer.byteLength;
  if (needBytes > 0) memory.grow(Math.ceil(needBytes / 65536));
  const ctrls: Int32Array[] = [];
  const workers: (Worker | null)[] = [];
  for (let t = 1; t < threads; t++) {
    ctrls.push(new Int32Array(memory.buffer, (t - 1) * 64, 16));
    workers.push(null);
  }
  const idleMs = opts.idleMs ?? 3000;
  let disposed = false;

  function spawn(w: number): void {
    workers[w]?.terminate();
    Atomics.store(ctrls[w], 0, STARTING);
    const worker = new Worker(new URL("./gemm_worker.ts", import.meta.url), { type: "module" });
    worker.postMessage({ memory, wasm, ctrl: w * 16, scratch: scratchOf(w + 1), idleMs });
    workers[w] = worker;
  }

  /** Slice `part` of `parts` along rows (byRows) or columns, aligned to the register tile. */
  function slice(n: number, parts: number, part: number, align: number): [number, number] {
    const step = Math.ceil(n / parts / align) * align;
    const lo = Math.min(n, part * step);
    return [lo, Math.min(n, lo + step)];
  }

  return {
    name: `WebAssembly SIMD GEMM ${GEMM_SHAPE.mr}×${GEMM_SHAPE.nr}${
      wasm === fmaBytes ? " FMA" : ""
    }, ${threads} thread${threads > 1 ? "s" : ""}`,
    reservedFloats,
    gemm(M, N, K, a, ars, acs, b, brs, bcs, c, ldc, accumulate) {
      if (threads === 1 || M * N * K < PARALLEL_MIN || disposed) {
        run(M, N, K, a, ars, acs, b, brs, bcs, c, ldc, accumulate ? 1 : 0, scratchOf(0));
        return;
      }
      // claim idle workers; (re)start dead ones for next time
      const helpers: number[] = [];
      for (let w = 0; w < ctrls.length; w++) {
        const st = Atomics.load(ctrls[w], 0);
        if (st === DEAD) spawn(w);
        else if (st === IDLE) helpers.push(w);
      }
      const parts = helpers.length + 1;
      const byRows = M > N;
      const align = byRows ? GEMM_SHAPE.mr : GEMM_SHAPE.nr;
      const total = byRows ? M : N;
      const args = (lo: number, hi: number) =>
        byRows
          ? [hi - lo, N, K, a + lo * ars, ars, acs, b, brs, bcs, c + lo * ldc, ldc]
          : [M, hi - lo, K, a, ars, acs, b + lo * bcs, brs, bcs, c + lo, ldc];
      const started: number[] = [];
      helpers.forEach((w, i) => {
        const [lo, hi] = slice(total, parts, i + 1, align);
        if (hi <= lo) return;
        const ctrl = ctrls[w];
        const v = args(lo, hi);
        for (let k = 0; k < 11; k++) ctrl[1 + k] = v[k];
        ctrl[12] = accumulate ? 1 : 0;
        // the worker may have timed out since we looked: only hand work to a still-idle one
        if (Atomics.compareExchange(ctrl, 0, IDLE, BUSY) === IDLE) {
          Atomics.notify(ctrl, 0);
          started.push(w);
        } else {
          run(...v, accumulate ? 1 : 0, scratchOf(0));
        }
      });
      const [lo0, hi0] = slice(total, parts, 0, align);
      if (hi0 > lo0) run(...args(lo0, hi0), accumulate ? 1 : 0, scratchOf(0));
      for (const w of started) {
        while (Atomics.load(ctrls[w], 0) === BUSY) Atomics.wait(ctrls[w], 0, BUSY, 50);
      }
    },
    async warmup() {
      for (let w = 0; w < ctrls.length; w++) {
        if (Atomics.load(ctrls[w], 0) === DEAD) spawn(w);
      }
      const t0 = performance.now();
      while (ctrls.some((c) => Atomics.load(c, 0) === STARTING)) {
        if (performance.now() - t0 > 10000) throw new Error("GEMM workers did not start in 10 s");
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
