/**
 * GEMM worker: instantiates the SIMD GEMM over the backend's shared memory, then sleeps on an
 * Atomics word until the main thread hands it a slice of a GEMM. It closes itself after an idle
 * period (so a finished program exits even if nobody disposed the backend); the main thread
 * notices (state DEAD) and starts a new one when needed.
 * Control block (Int32 words at `ctrl`): [0] state, [1..12] the gemm arguments.
 * @module
 */
/// <reference lib="deno.worker" />

const DEAD = 0, IDLE = 1, BUSY = 2;

interface Init {
  memory: WebAssembly.Memory;
  wasm: Uint8Array<ArrayBuffer>;
  ctrl: number;
  scratch: number;
  idleMs: number;
}

self.onmessage = async (e: MessageEvent<Init>) => {
  const { memory, wasm, ctrl: ctrlOff, scratch, idleMs } = e.data;
  const { instance } = await WebAssembly.instantiate(wasm, { env: { memory } });
  const gemm = instance.exports.gemm as (...args: number[]) => void;
  const ctrl = new Int32Array(memory.buffer, ctrlOff * 4, 16);
  Atomics.store(ctrl, 0, IDLE);
  Atomics.notify(ctrl, 0);
  for (;;) {
    const r = Atomics.wait(ctrl, 0, IDLE, idleMs);
    if (Atomics.load(ctrl, 0) === BUSY) {
      gemm(
        ctrl[1],
        ctrl[2],
        ctrl[3],
        ctrl[4],
        ctrl[5],
        ctrl[6],
        ctrl[7],
        ctrl[8],
        ctrl[9],
        ctrl[10],
        ctrl[11],
        ctrl[12],
        scratch,
      );
      Atomics.store(ctrl, 0, IDLE);
      Atomics.notify(ctrl, 0);
    } else if (r === "timed-out" && Atomics.compareExchange(ctrl, 0, IDLE, DEAD) === IDLE) {
      self.close();
      return;
    }
  }
};
