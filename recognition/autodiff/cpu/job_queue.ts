/**
 * A job queue in the shared memory that the caller and the kernel workers drain together: each
 * thread takes the next job from an atomic counter when it finishes one, so no thread waits for
 * another to hand it work (`WasmKernels.runQueue`). Layout (Int32 words at the queue's offset):
 * [0] next job (atomic), [1] job count, [2] words per job, [3] 1 when a job's last argument is
 * replaced by the running thread's slot entry, [4 … 4 + MAX_SLOTS) those entries (slot 0 the
 * caller, 1… the workers), then per job: kernel index, argument count, arguments.
 * @module
 */

/** Threads a queue can name workspaces for (the caller and up to 15 workers). */
export const MAX_SLOTS = 16;
/** Words of the queue's header. */
const HEADER = 4 + MAX_SLOTS;
/** Int32 words reserved for the queue (header and jobs). */
export const QUEUE_WORDS = 1024;
/** The worker control-block kind that means "drain the queue at word offset args[0]". */
export const QUEUE_KIND = -1;

/** A queued job: an index into the kernel list and its arguments (scratch appended on run). */
export interface QueuedJob {
  kernel: number;
  args: number[];
}

/**
 * Writes `jobs` into the queue at element offset `off`; false when they do not fit (the caller
 * then runs them another way).
 */
export function writeQueue(
  memory: WebAssembly.Memory,
  off: number,
  jobs: QueuedJob[],
  slots?: number[],
): boolean {
  const stride = 2 + Math.max(...jobs.map((j) => j.args.length));
  if (HEADER + jobs.length * stride > QUEUE_WORDS || (slots && slots.length > MAX_SLOTS)) {
    return false;
  }
  const q = new Int32Array(memory.buffer, off * 4, QUEUE_WORDS);
  q[1] = jobs.length;
  q[2] = stride;
  q[3] = slots ? 1 : 0;
  slots?.forEach((v, i) => q[4 + i] = v);
  jobs.forEach((j, i) => {
    const base = HEADER + i * stride;
    q[base] = j.kernel;
    q[base + 1] = j.args.length;
    q.set(j.args, base + 2);
  });
  Atomics.store(q, 0, 0);
  return true;
}

/** Takes and runs jobs from the queue at `off` until none is left (thread `slot`). */
export function drainQueue(
  memory: WebAssembly.Memory,
  off: number,
  slot: number,
  kernels: ((...args: number[]) => void)[],
  scratch: number,
): void {
  const q = new Int32Array(memory.buffer, off * 4, QUEUE_WORDS);
  for (;;) {
    const i = Atomics.add(q, 0, 1);
    if (i >= q[1]) return;
    const base = HEADER + i * q[2];
    const args = Array.from(q.subarray(base + 2, base + 2 + q[base + 1]));
    if (q[3]) args[args.length - 1] = q[4 + slot];
    kernels[q[base]](...args, scratch);
  }
}
