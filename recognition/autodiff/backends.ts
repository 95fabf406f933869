/**
 * Picking a backend: `selectBackend("auto" | "cpu" | "webgpu" | "ref64")`. `auto` takes WebGPU
 * only when a hardware adapter exists (not a fallback/software one such as Mesa llvmpipe, which
 * is 10–20× slower than the WebAssembly CPU kernels), else cpu. The environment variable
 * `SYNFACE_BACKEND` overrides the argument. The WebGPU backend is loaded by dynamic import,
 * so CPU-only runs never load it.
 * @module
 */
import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/cpu_backend.ts";
import { Ref64Backend } from "./cpu/ref64_backend.ts";

/** Backend names accepted by {@link selectBackend}. */
export type BackendKind = "auto" | "cpu" | "webgpu" | "ref64";

const KINDS: readonly BackendKind[] = ["auto", "cpu", "webgpu", "ref64"];

function envOverride(): BackendKind | null {
  let v: string | undefined;
  try {
    v = Deno.env.get("SYNFACE_BACKEND");
  } catch {
    return null; // no env permission: no override
  }
  if (!v) return null;
  if (!(KINDS as readonly string[]).includes(v)) {
    throw new Error(`SYNFACE_BACKEND=${v}: expected one of ${KINDS.join(", ")}`);
  }
  return v as BackendKind;
}

/** True when `navigator.gpu` offers a non-fallback, non-software adapter. */
export async function hasHardwareGpu(): Promise<boolean> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis.navigator as any)?.gpu;
  if (!gpu) return false;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return false;
    const info = adapter.info ?? {};
    if (info.isFallbackAdapter || adapter.isFallbackAdapter) return false;
    const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.description ?? ""} ${
      info.device ?? ""
    }`.toLowerCase();
    return !/llvmpipe|lavapipe|swiftshader|softpipe|warp|software/.test(text);
  } catch {
    return false;
  }
}

/** Loads the WebGPU backend (module `./webgpu/mod.ts`, export `createWebgpuBackend`). */
async function loadWebGpu(): Promise<Backend> {
  const url = new URL("./webgpu/mod.ts", import.meta.url).href;
  const mod = await import(url) as { createWebgpuBackend?: () => Promise<Backend | null> };
  if (!mod.createWebgpuBackend) {
    throw new Error(`${url}: expected an export createWebgpuBackend()`);
  }
  const be = await mod.createWebgpuBackend();
  if (!be) throw new Error("webgpu backend: no WebGPU adapter available");
  return be;
}

/** Options of {@link selectBackend}. */
export interface SelectOptions {
  /** Threads of the cpu backend, whether chosen or fallen back to (default: all cores). */
  threads?: number;
}

/** Creates the requested backend (see the module comment for `auto` and the env override). */
export async function selectBackend(
  kind: BackendKind = "auto",
  opts: SelectOptions = {},
): Promise<Backend> {
  const k = envOverride() ?? kind;
  switch (k) {
    case "cpu":
      return await CpuBackend.create({ threads: opts.threads });
    case "ref64":
      return new Ref64Backend();
    case "webgpu":
      return await loadWebGpu();
    case "auto":
      if (await hasHardwareGpu()) {
        try {
          return await loadWebGpu();
        } catch (e) {
          console.error(`autodiff: WebGPU backend failed (${e}); using cpu`);
        }
      }
      return await CpuBackend.create({ threads: opts.threads });
  }
}

/** The thread count of a cpu backend (what a run records as used), else undefined. */
export function backendThreads(backend: Backend): number | undefined {
  return backend instanceof CpuBackend ? backend.threads : undefined;
}
