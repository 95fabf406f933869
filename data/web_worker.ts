/**
 * Deno's own web `Worker`, captured when `data/` is first evaluated. Creating an
 * onnxruntime-web wasm session replaces `globalThis.Worker` with Node's `worker_threads` Worker
 * (emscripten's Node branch), which rejects `file://` module URLs and runs workers without
 * `self`; every worker started after that (loader, generator pool, GEMM threads) would fail.
 * Every module of ours starts its workers through {@link spawnWorker}, so no caller has to
 * know about the replacement. onnxruntime-web only patches when its first session is created,
 * long after `data/` (the floor every module imports) has been evaluated.
 * @module
 */

function isWebWorker(w: unknown): w is typeof Worker {
  // A web Worker is an EventTarget; Node's worker_threads Worker is an EventEmitter (`on`).
  return typeof w === "function" && "postMessage" in w.prototype &&
    "addEventListener" in w.prototype && !("on" in w.prototype);
}

const NATIVE_WORKER: typeof Worker | undefined = isWebWorker(globalThis.Worker)
  ? globalThis.Worker
  : undefined;

/** True when module workers can be started (Deno's web Worker was found at load). */
export function canSpawnWorkers(): boolean {
  return NATIVE_WORKER !== undefined || isWebWorker(globalThis.Worker);
}

/** Start a module worker with Deno's web `Worker`, whatever `globalThis.Worker` is now. */
export function spawnWorker(url: URL | string, options: WorkerOptions = {}): Worker {
  const WebWorker = isWebWorker(globalThis.Worker) ? globalThis.Worker : NATIVE_WORKER;
  if (!WebWorker) {
    throw new Error(
      `spawnWorker(${url}): no web Worker in this runtime (globalThis.Worker was replaced ` +
        "before data/ loaded)",
    );
  }
  return new WebWorker(url, { type: "module", ...options });
}
