/**
 * GPU buffers pooled by size class. JS has no destructors, so release is explicit: the backend's
 * `free` returns a buffer here and the next `acquire` of the same class reuses it. Reuse within
 * one queue is safe without fences: a single queue executes commands in submission order, so a
 * later writer of a recycled buffer runs after every earlier reader.
 * @module
 */

/** Buffer usage of every pooled storage buffer. */
export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
  GPUBufferUsage.COPY_DST;

/** Size classes: 2^k·{1, 1.25, 1.5, 1.75} bytes (≤ 25% waste), at least 256 bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const q = p / 4;
  return Math.ceil(bytes / q) * q;
}

/** Counters for logs and the benchmark's peak-memory line. */
export interface PoolStats {
  /** Bytes handed out and not yet released. */
  liveBytes: number;
  /** Bytes released and kept for reuse. */
  pooledBytes: number;
  /** High-water mark of `liveBytes` (the benchmark's peak GPU memory). */
  peakLiveBytes: number;
  /** GPUBuffers created so far (reuse keeps this flat across steps). */
  created: number;
}

/** A pool of same-usage buffers; see the module comment. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
  #maxPooledBytes: number;
  #deferDestroy: (destroy: () => void) => void;
  stats: PoolStats = { liveBytes: 0, pooledBytes: 0, peakLiveBytes: 0, created: 0 };

  /**
   * `maxPooledBytes`: released buffers beyond this are destroyed instead of kept.
   * `deferDestroy`: runs that destruction once the commands recorded so far are submitted: a
   * released buffer may still be bound by a dispatch that has been recorded but not submitted,
   * and destroying it then fails the whole submission ("buffer has been destroyed").
   */
  constructor(
    device: GPUDevice,
    maxPooledBytes = 2 ** 30,
    deferDestroy: (destroy: () => void) => void = (destroy) => destroy(),
  ) {
    this.#device = device;
    this.#maxPooledBytes = maxPooledBytes;
    this.#deferDestroy = deferDestroy;
  }

  /** A buffer of at least `bytes` bytes (a pooled one when available: contents undefined). */
  acquire(bytes: number): { buffer: GPUBuffer; fresh: boolean } {
    const cls = sizeClass(bytes);
    const list = this.#free.get(cls);
    let buffer = list?.pop();
    const fresh = !buffer;
    if (buffer) this.stats.pooledBytes -= cls;
    else {
      buffer = this.#device.createBuffer({ size: cls, usage: STORAGE_USAGE });
      this.stats.created++;
    }
    this.stats.liveBytes += cls;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return { buffer, fresh };
  }

  /** Give a buffer back (it may be handed out again by the next acquire). */
  release(buffer: GPUBuffer): void {
    const cls = buffer.size;
    this.stats.liveBytes -= cls;
    if (this.stats.pooledBytes + cls > this.#maxPooledBytes) {
      this.#deferDestroy(() => buffer.destroy());
      return;
    }
    let list = this.#free.get(cls);
    if (!list) this.#free.set(cls, list = []);
    list.push(buffer);
    this.stats.pooledBytes += cls;
  }

  /** Destroy every pooled buffer (live ones belong to their owners). */
  destroyPooled(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.stats.pooledBytes = 0;
  }
}
