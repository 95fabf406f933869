/**
 * Compiled compute pipelines, cached by kernel source + entry point. Shapes travel as uniforms,
 * so one pipeline serves every batch size; only the op, the variant (e.g. vec4 or not) and the
 * tuning choices make a new source string.
 * @module
 */

/**
 * A kernel: WGSL source with `@group(0) @binding(0)` a uniform block (when `uniform`), then
 * storage bindings 1.. in the order of `bindings` ("r" read-only, "w" read_write).
 */
export interface Kernel {
  /** Short name for error messages. */
  name: string;
  source: string;
  /** Entry point; default "main". */
  entry?: string;
  /** One letter per storage binding, starting at binding 1. */
  bindings: string;
}

/** A compiled kernel with its explicit bind-group layout. */
export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Pipelines by `entry + source`; layouts by binding signature. */
export class PipelineCache {
  #device: GPUDevice;
  #pipelines = new Map<string, CompiledKernel>();
  #layouts = new Map<string, GPUBindGroupLayout>();
  /** Fast path: kernels are memoised objects, so most lookups never hash the source. */
  #byObject = new WeakMap<Kernel, CompiledKernel>();
  /** Number of pipelines compiled so far (a test checks reuse across shapes). */
  compiled = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** The cached pipeline for `k`, compiling it on first use. */
  get(k: Kernel): CompiledKernel {
    const known = this.#byObject.get(k);
    if (known) return known;
    const entry = k.entry ?? "main";
    const key = `${entry}\n${k.bindings}\n${k.source}`;
    let hit = this.#pipelines.get(key);
    if (hit) {
      this.#byObject.set(k, hit);
      return hit;
    }
    const layout = this.#layout(k.bindings);
    const module = this.#device.createShaderModule({ label: k.name, code: k.source });
    // Compilation errors surface asynchronously; print them with the source so a broken
    // kernel is diagnosable (the dispatch itself then fails validation).
    module.getCompilationInfo?.().then((info) => {
      const errs = info.messages.filter((m) => m.type === "error");
      if (errs.length) {
        const lines = k.source.split("\n").map((l, i) => `${i + 1}: ${l}`).join("\n");
        console.error(
          `webgpu kernel ${k.name}: ${errs.map((e) => e.message).join("; ")}\n${lines}`,
        );
      }
    }).catch(() => {});
    const pipeline = this.#device.createComputePipeline({
      label: k.name,
      layout: this.#device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry },
    });
    this.compiled++;
    hit = { pipeline, layout };
    this.#pipelines.set(key, hit);
    this.#byObject.set(k, hit);
    return hit;
  }

  #layout(bindings: string): GPUBindGroupLayout {
    let l = this.#layouts.get(bindings);
    if (l) return l;
    const entries: GPUBindGroupLayoutEntry[] = [{
      binding: 0,
      visibility: GPUShaderStage.COMPUTE,
      // Dynamic offset: the uniform slot changes every dispatch, the bind group need not.
      buffer: { type: "uniform", hasDynamicOffset: true },
    }];
    [...bindings].forEach((b, i) =>
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b === "w" ? "storage" : "read-only-storage" },
      })
    );
    l = this.#device.createBindGroupLayout({ entries });
    this.#layouts.set(bindings, l);
    return l;
  }
}
