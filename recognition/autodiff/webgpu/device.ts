/**
 * Getting a WebGPU device: our own from `navigator.gpu`, or one handed in by the caller
 * (e.g. onnxruntime-web's `await ort.env.webgpu.device`, so generator and trainer share buffers).
 * @module
 */

/** A device plus what we know about the adapter behind it. */
export interface GpuContext {
  /** The device every kernel runs on. */
  device: GPUDevice;
  /** Adapter description (vendor/architecture/description), for logs and the tuning table. */
  info: AdapterSummary;
  /** True when we created the device and so must destroy it on dispose. */
  owned: boolean;
}

/** The adapter facts the backend uses: a name for logs and whether it is software. */
export interface AdapterSummary {
  /** `GPUAdapterInfo.vendor`. */
  vendor: string;
  /** `GPUAdapterInfo.architecture`. */
  architecture: string;
  /** `GPUAdapterInfo.description`, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** True for software adapters (Mesa llvmpipe, SwiftShader, WARP). */
  isFallback: boolean;
}

/** Options of {@link acquireGpu}. */
export interface AcquireOptions {
  /** Use this device instead of requesting one; it is not destroyed on dispose. */
  device?: GPUDevice;
  /** Adapter description to pair with an external device (for the tuning table). */
  adapterInfo?: Partial<AdapterSummary>;
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic render/i;

/** Summarise a `GPUAdapterInfo` (or a partial one) into {@link AdapterSummary}. */
export function summarizeAdapter(
  info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } | undefined,
): AdapterSummary {
  const description = info?.description ?? "";
  return {
    vendor: info?.vendor ?? "",
    architecture: info?.architecture ?? "",
    description,
    isFallback: Boolean(info?.isFallbackAdapter) || SOFTWARE.test(description),
  };
}

/**
 * Request an adapter and a device with the adapter's full storage limits, or wrap an external
 * device. Resolves to null when WebGPU or an adapter is unavailable (callers fall back to cpu).
 *
 * @example
 * ```ts
 * const gpu = await acquireGpu();
 * if (gpu) gpu.device.destroy();
 * ```
 */
export async function acquireGpu(opts: AcquireOptions = {}): Promise<GpuContext | null> {
  if (opts.device) {
    const ext = opts.device as GPUDevice & { adapterInfo?: GPUAdapterInfo };
    const info = summarizeAdapter({ ...(ext.adapterInfo ?? {}), ...(opts.adapterInfo ?? {}) });
    return { device: opts.device, info, owned: false };
  }
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  if (!adapter) return null;
  const l = adapter.limits;
  // Timestamps let benchmarks attribute GPU time to kernels (see profiler.ts).
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("timestamp-query")
    ? ["timestamp-query"]
    : [];
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(8, l.maxStorageBuffersPerShaderStage),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: Math.min(1024, l.maxComputeInvocationsPerWorkgroup),
      maxComputeWorkgroupSizeX: Math.min(1024, l.maxComputeWorkgroupSizeX),
      maxComputeWorkgroupSizeY: Math.min(1024, l.maxComputeWorkgroupSizeY),
    },
  });
  return { device, info: summarizeAdapter(adapter.info), owned: true };
}
