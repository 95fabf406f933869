/**
 * What every kernel function gets: the device, the command batch, the buffer pool, the
 * pipeline cache and the adapter's tuning row; and the buffer handle type.
 * @module
 */

import type { Buf } from "../backend.ts";
import type { Binding, CommandBatch } from "./batch.ts";
import type { BufferPool } from "./buffer_pool.ts";
import type { PipelineCache } from "./pipeline_cache.ts";
import type { Tuning } from "./tuning.ts";

/** A float32 buffer on the GPU: `size` elements in a (possibly larger, pooled) GPUBuffer. */
export class GpuBuf implements Buf, Binding {
  readonly size: number;
  buffer: GPUBuffer;
  /** Set by `free`; using a freed buffer throws. */
  freed = false;
  /** A recycled buffer not cleared yet (see `WebgpuBackend.alloc`). */
  zeroPending = false;

  constructor(size: number, buffer: GPUBuffer) {
    this.size = size;
    this.buffer = buffer;
  }

  /** Bytes that kernels see (at least 4, so empty buffers still bind). */
  get bytes(): number {
    return Math.max(4, this.size * 4);
  }
}

/** Shared state of one webgpu backend instance. */
export interface Ctx {
  device: GPUDevice;
  batch: CommandBatch;
  pool: BufferPool;
  cache: PipelineCache;
  tuning: Tuning;
  /** A temporary buffer of `size` elements (contents undefined); give back with `release`. */
  temp(size: number): GpuBuf;
  /** Return a temporary buffer to the pool. */
  release(buf: GpuBuf): void;
  /** A 16-byte placeholder bound where an optional input (e.g. bias) is absent. */
  dummy: GpuBuf;
}

/** Cast a backend-agnostic handle to ours, checking that it is live. */
export function gpu(buf: Buf, what: string): GpuBuf {
  if (!(buf instanceof GpuBuf)) throw new Error(`webgpu ${what}: buffer is not a webgpu buffer`);
  if (buf.freed) throw new Error(`webgpu ${what}: buffer used after free`);
  return buf;
}
