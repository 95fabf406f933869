/**
 * Records every dispatch of a step into one command encoder (one compute pass while possible)
 * and submits it once: in Deno each submit-and-wait costs milliseconds, so a training step is
 * one `queue.submit` plus, every N steps, one read-back. Uniform parameters of all dispatches
 * are packed into 256-byte slots of arena buffers, written with one `writeBuffer` per arena just
 * before the submit (writeBuffer is ordered before that submit and after earlier ones, so arenas
 * are reused by the next batch without waiting).
 * @module
 */

import type { Kernel, PipelineCache } from "./pipeline_cache.ts";
import type { KernelProfiler } from "./profiler.ts";

/** Bytes per uniform slot (WebGPU's minUniformBufferOffsetAlignment is at most 256). */
const SLOT = 256;
/** Slots per arena buffer. */
const SLOTS = 512;
/** Largest workgroup count per grid dimension (WebGPU's default limit). */
export const MAX_GROUPS = 65535;

/**
 * Builder for a kernel's uniform block, following WGSL layout: scalars are 4 bytes, `vec`
 * arrays (`array<vec4<u32>, k>`) start 16-byte aligned.
 */
export class Params {
  #u = new Uint32Array(SLOT / 4);
  #f = new Float32Array(this.#u.buffer);
  #i = new Int32Array(this.#u.buffer);
  #n = 0;

  /** Append unsigned 32-bit scalars. */
  u(...v: number[]): this {
    for (const x of v) this.#u[this.#n++] = x >>> 0;
    return this;
  }
  /** Append signed 32-bit scalars. */
  i(...v: number[]): this {
    for (const x of v) this.#i[this.#n++] = x | 0;
    return this;
  }
  /** Append f32 scalars. */
  f(...v: number[]): this {
    for (const x of v) this.#f[this.#n++] = x;
    return this;
  }
  /** Append `array<vec4<u32>, slots/4>` holding `v` (zero-padded), 16-byte aligned. */
  vec(v: readonly number[], slots = 8): this {
    this.#n = Math.ceil(this.#n / 4) * 4;
    for (let k = 0; k < slots; k++) this.#u[this.#n++] = (v[k] ?? 0) >>> 0;
    return this;
  }
  /** The packed words. */
  words(): Uint32Array {
    return this.#u;
  }
}

/** Workgroup grid for `groups` linear workgroups: x up to {@link MAX_GROUPS}, rest in y. */
export function grid(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS), 1];
}

/** A storage binding: a whole buffer's first `bytes` bytes. */
export interface Binding {
  buffer: GPUBuffer;
  bytes: number;
}

/** See the module comment. */
export class CommandBatch {
  #device: GPUDevice;
  #cache: PipelineCache;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #arenas: GPUBuffer[] = [];
  #staging = new Uint32Array(SLOT / 4 * SLOTS);
  #slot = 0;
  #arena = 0;
  #pendingArenaWrites: [GPUBuffer, Uint32Array<ArrayBuffer>][] = [];
  #afterSubmit: (() => void)[] = [];
  /** Dispatches recorded since the last submit. */
  pending = 0;
  /** Total submits (the benchmark reports submits per step). */
  submits = 0;
  /**
   * Bind groups by (layout, arena, buffers): a training step reuses the same tuples, and
   * creating a bind group costs more than the rest of a dispatch. Ids are per GPUBuffer object,
   * so an entry for a destroyed buffer is simply never hit again (the map is capped).
   */
  #groups = new Map<string, GPUBindGroup>();
  #ids = new WeakMap<object, number>();
  #nextId = 1;
  /** When set, every dispatch is timed (see `profiler.ts`). */
  profiler: KernelProfiler | null = null;

  constructor(device: GPUDevice, cache: PipelineCache) {
    this.#device = device;
    this.#cache = cache;
  }

  /** True when nothing is recorded (so `queue.writeBuffer` may be used directly). */
  get empty(): boolean {
    return this.#encoder === null;
  }

  /** The open encoder with no pass open (for copies). */
  encoder(): GPUCommandEncoder {
    this.#pass?.end();
    this.#pass = null;
    return this.#encoder ??= this.#device.createCommandEncoder();
  }

  /** Run `fn` once the next submit has happened (e.g. destroy a staging buffer). */
  afterSubmit(fn: () => void): void {
    this.#afterSubmit.push(fn);
  }

  /** Record one dispatch of `kernel` over `groups` workgroups. */
  dispatch(
    kernel: Kernel,
    buffers: Binding[],
    params: Params,
    groups: [number, number, number],
  ): void {
    if (buffers.length !== kernel.bindings.length) {
      throw new Error(
        `webgpu ${kernel.name}: expected ${kernel.bindings.length} buffers, got ${buffers.length}`,
      );
    }
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    // Before taking a uniform slot: a submit recycles the slots.
    if (this.profiler?.full) this.submit();
    const { pipeline, layout } = this.#cache.get(kernel);
    if (this.#slot === SLOTS) this.#nextArena();
    const arena = this.#arenaBuffer();
    this.#staging.set(params.words(), this.#slot * SLOT / 4);
    let key = `${this.#id(layout)}/${this.#arena}`;
    for (const b of buffers) key += `/${this.#id(b.buffer)}:${b.bytes}`;
    let group = this.#groups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [{
        binding: 0,
        resource: { buffer: arena, offset: 0, size: SLOT },
      }];
      buffers.forEach((b, i) =>
        entries.push({
          binding: i + 1,
          // Rounded up to 16 bytes so vec4 views see whole elements (pooled buffers are
          // multiples of 64 bytes, so this stays inside the buffer).
          resource: {
            buffer: b.buffer,
            offset: 0,
            size: Math.max(16, Math.ceil(b.bytes / 16) * 16),
          },
        })
      );
      if (this.#groups.size >= 16384) this.#groups.clear();
      group = this.#device.createBindGroup({ layout, entries });
      this.#groups.set(key, group);
    }
    const offset = this.#slot * SLOT;
    this.#slot++;
    if (this.profiler) {
      this.#pass?.end();
      this.#encoder ??= this.#device.createCommandEncoder();
      this.#pass = this.#encoder.beginComputePass({
        timestampWrites: this.profiler.writes(kernel.name),
      });
    } else if (!this.#pass) {
      this.#encoder ??= this.#device.createCommandEncoder();
      this.#pass = this.#encoder.beginComputePass();
    }
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, group, [offset]);
    this.#pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.pending++;
  }

  #id(o: object): number {
    let id = this.#ids.get(o);
    if (id === undefined) this.#ids.set(o, id = this.#nextId++);
    return id;
  }

  #arenaBuffer(): GPUBuffer {
    while (this.#arenas.length <= this.#arena) {
      this.#arenas.push(
        this.#device.createBuffer({
          size: SLOT * SLOTS,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
      );
    }
    return this.#arenas[this.#arena];
  }

  #nextArena(): void {
    this.#pendingArenaWrites.push([this.#arenas[this.#arena], this.#staging]);
    this.#staging = new Uint32Array(SLOT / 4 * SLOTS);
    this.#arena++;
    this.#slot = 0;
  }

  /** Submit everything recorded (no wait). */
  submit(): void {
    if (!this.#encoder) return;
    this.#pass?.end();
    this.#pass = null;
    const q = this.#device.queue;
    for (const [buf, data] of this.#pendingArenaWrites) q.writeBuffer(buf, 0, data);
    if (this.#slot > 0) {
      q.writeBuffer(this.#arenas[this.#arena], 0, this.#staging, 0, this.#slot * SLOT / 4);
    }
    const collect = this.profiler?.resolve(this.#encoder);
    q.submit([this.#encoder.finish()]);
    collect?.();
    this.submits++;
    this.#encoder = null;
    this.#pendingArenaWrites = [];
    this.#arena = 0;
    this.#slot = 0;
    this.pending = 0;
    const after = this.#afterSubmit;
    this.#afterSubmit = [];
    for (const fn of after) fn();
  }

  /** Destroy the arena buffers and drop cached bind groups. */
  destroy(): void {
    this.#groups.clear();
    for (const a of this.#arenas) a.destroy();
    this.#arenas = [];
  }
}
