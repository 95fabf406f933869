/**
 * The `webgpu` autodiff backend: WGSL compute-shader kernels behind the shared
 * {@link https://jsr.io | Backend} interface of `../backend.ts`.
 *
 * @example
 * ```ts
 * import { createWebgpuBackend } from "./mod.ts";
 * const be = await createWebgpuBackend(); // null without a WebGPU adapter
 * be?.dispose();
 * ```
 * @module
 */

export { createWebgpuBackend, WebgpuBackend, type WebgpuOptions } from "./webgpu_backend.ts";
export {
  acquireGpu,
  type AcquireOptions,
  type AdapterSummary,
  type GpuContext,
  summarizeAdapter,
} from "./device.ts";
export { type Tuning, tuningFor } from "./tuning.ts";
export { type PoolStats, sizeClass } from "./buffer_pool.ts";
export type { KernelTimes } from "./profiler.ts";
// The kernel interface this backend implements (re-exported so the API docs are complete).
export type * from "../backend.ts";
