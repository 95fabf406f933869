/**
 * Kernel worker: instantiates the SIMD GEMM/conv module over the backend's shared memory, then
 * sleeps on an Atomics word until the main thread hands it a job (a GEMM slice or a range of
 * images of a convolution). It closes itself after an idle period (so a finished program exits
 * even if nobody disposed the backend); the main thread notices (state DEAD) and starts a new
 * one when needed. Control block (32 Int32 words at `ctrl`): [0] state, [1] job kind
 * (an index into `JOB_KERNELS`, or `QUEUE_KIND`: take jobs from the queue at args[0] until it
 * is empty, `job_queue.ts`), [2] argument count, [3…] arguments (the scratch offset is appended here).
 * @module
 */
/// <reference lib="deno.worker" />
import { JOB_KERNELS } from "./gemm_wat.ts";
import { drainQueue, QUEUE_KIND } from "./job_queue.ts";

const DEAD = 0, IDLE = 1, BUSY = 2;

interface Init {
  memory: WebAssembly.Memory;
  wasm: Uint8Array<ArrayBuffer>;
  ctrl: number;
  scratch: number;
  /** This worker's slot in a job queue's workspace list (the caller is 0). */
  slot: number;
  idleMs: number;
}

self.onmessage = async (e: MessageEvent<Init>) => {
  const { memory, wasm, ctrl: ctrlOff, scratch, slot, idleMs } = e.data;
  const { instance } = await WebAssembly.instantiate(wasm, { env: { memory } });
  const kernels = JOB_KERNELS.map((k) => instance.exports[k] as (...args: number[]) => void);
  const ctrl = new Int32Array(memory.buffer, ctrlOff * 4, 32);
  Atomics.store(ctrl, 0, IDLE);
  Atomics.notify(ctrl, 0);
  for (;;) {
    const r = Atomics.wait(ctrl, 0, IDLE, idleMs);
    if (Atomics.load(ctrl, 0) === BUSY) {
      const args = Array.from(ctrl.subarray(3, 3 + ctrl[2]));
      if (ctrl[1] === QUEUE_KIND) drainQueue(memory, args[0], slot, kernels, scratch);
      else kernels[ctrl[1]](...args, scratch);
      Atomics.store(ctrl, 0, IDLE);
      Atomics.notify(ctrl, 0);
    } else if (r === "timed-out" && Atomics.compareExchange(ctrl, 0, IDLE, DEAD) === IDLE) {
      self.close();
      return;
    }
  }
};
