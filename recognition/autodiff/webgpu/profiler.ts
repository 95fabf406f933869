/**
 * Per-kernel GPU time from timestamp queries (optional feature "timestamp-query"): while
 * profiling, every dispatch gets its own compute pass with begin/end timestamps; at each submit
 * the query set is resolved and read back asynchronously. Costs a pass per dispatch, so it is
 * for benchmarks and investigations, never on by default.
 * @module
 */

/** Total GPU milliseconds and dispatch count per kernel name. */
export type KernelTimes = Record<string, { ms: number; count: number }>;

const CAPACITY = 2048; // dispatches per submit (two queries each)

/** See the module comment. */
export class KernelProfiler {
  #device: GPUDevice;
  #set: GPUQuerySet;
  #resolve: GPUBuffer;
  #names: string[] = [];
  #reads: Promise<void>[] = [];
  #times: KernelTimes = {};

  constructor(device: GPUDevice) {
    this.#device = device;
    this.#set = device.createQuerySet({ type: "timestamp", count: 2 * CAPACITY });
    this.#resolve = device.createBuffer({
      size: 16 * CAPACITY,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** True when the current submit has no room for another dispatch. */
  get full(): boolean {
    return this.#names.length === CAPACITY;
  }

  /** Timestamp writes for the pass of the next dispatch of `name`. */
  writes(name: string): GPUComputePassTimestampWrites {
    const i = this.#names.push(name) - 1;
    return {
      querySet: this.#set,
      beginningOfPassWriteIndex: 2 * i,
      endOfPassWriteIndex: 2 * i + 1,
    };
  }

  /** Before `encoder.finish()`: resolve this submit's queries into a readable buffer. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const n = this.#names.length;
    if (n === 0) return null;
    const names = this.#names;
    this.#names = [];
    const read = this.#device.createBuffer({
      size: 16 * n,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.#set, 0, 2 * n, this.#resolve, 0);
    encoder.copyBufferToBuffer(this.#resolve, 0, read, 0, 16 * n);
    // Called after the submit: read the timestamps back without blocking the caller.
    return () => {
      this.#reads.push(
        read.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(read.getMappedRange());
          names.forEach((name, i) => {
            const e = this.#times[name] ??= { ms: 0, count: 0 };
            e.ms += Number(t[2 * i + 1] - t[2 * i]) / 1e6;
            e.count++;
          });
          read.unmap();
          read.destroy();
        }),
      );
    };
  }

  /** Wait for outstanding read-backs; returns the totals so far and resets them. */
  async take(): Promise<KernelTimes> {
    await Promise.all(this.#reads);
    this.#reads = [];
    const t = this.#times;
    this.#times = {};
    return t;
  }

  /** Release the query set and buffers. */
  destroy(): void {
    this.#set.destroy();
    this.#resolve.destroy();
  }
}
