/**
 * One way to run an ONNX model, on three execution providers (EPs):
 *
 * - `node`: onnxruntime-node, the official native CPU build (a Node-API addon Deno loads from
 *   npm; its binaries ship inside the package, its install script is not needed), with
 *   `threads` intra-op threads;
 * - `wasm`: onnxruntime-web's WebAssembly build, one thread (its threaded build fails in Deno);
 * - `webgpu`: onnxruntime-web on `navigator.gpu`.
 *
 * `auto` picks WebGPU on a hardware adapter (not llvmpipe or another software one), else `node`
 * where the addon loads, else `wasm` (Deno Deploy, the browser, URL imports without the addon, a
 * platform without a binary). Both runtimes are imported on first use, so a module that imports
 * this one never fails to load for lack of either.
 *
 * Native kernels round differently from wasm (and may differ between CPUs): the EP is part of a
 * result's provenance, so callers record it (dataset headers, cache keys).
 * @module
 */
import { importOrtNode, importOrtWeb, type OrtTypes as OrtWeb } from "../deps.ts";
import type { TensorData } from "./graph_builder.ts";

/** The execution providers, fastest-first in what `auto` prefers. */
export const EPS = ["webgpu", "node", "wasm"] as const;
/** An execution provider. */
export type Ep = typeof EPS[number];
/** What a `--ep` flag accepts. */
export type EpChoice = Ep | "auto";
/** Every value of {@link EpChoice}, for flag parsing and usage lines. */
export const EP_CHOICES: readonly EpChoice[] = ["auto", ...EPS];

/** True when `v` names an {@link EpChoice}. */
export function isEpChoice(v: unknown): v is EpChoice {
  return typeof v === "string" && (EP_CHOICES as readonly string[]).includes(v);
}

/** A tensor going into or out of a session: flat row-major data and its shape. */
export interface TensorValue {
  data: TensorData;
  dims: readonly number[];
  /** Element type (`float32`, `int64`…): set on outputs; inputs take it from `data`. */
  type?: string;
}

/** Name, element type and shape (numbers, or symbolic names) of a model input or output. */
export interface ValueInfo {
  name: string;
  type?: string;
  shape?: (number | string)[];
}

/** A loaded model on one execution provider. */
export interface OnnxSession {
  /** The execution provider it runs on. */
  readonly ep: Ep;
  /** Intra-op threads (always 1 on `wasm`; 0 on `webgpu`, where the GPU does the work). */
  readonly threads: number;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Run on `feeds` (by input name); returns `outputs` (default: all) by name. */
  run(
    feeds: Record<string, TensorValue>,
    outputs?: readonly string[],
  ): Promise<Record<string, TensorValue>>;
  /** Free the session (its native or wasm memory). */
  release(): Promise<void>;
}

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** Execution provider (default `auto`). */
  ep?: EpChoice;
  /** Intra-op threads on `node` (default: one per core); `wasm` always runs one. */
  threads?: number;
  /** Label for error messages (default `model`). */
  name?: string;
}

type Ort = typeof OrtWeb;

/** Why `auto` chose what it chose, and whether a WebGPU adapter exists at all. */
export interface AdapterInfo {
  available: boolean;
  software: boolean;
  description: string;
}

/** Probe WebGPU: is there an adapter, and is it a software (llvmpipe/fallback) one? */
export async function probeWebGpu(): Promise<AdapterInfo> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { available: false, software: false, description: "navigator.gpu missing" };
  type Adapter = { info?: Record<string, unknown>; isFallbackAdapter?: boolean };
  const adapter = await gpu.requestAdapter().then((a) => a as Adapter | null, () => null);
  if (!adapter) return { available: false, software: false, description: "no adapter" };
  const info = adapter.info ?? {};
  const description = ["vendor", "architecture", "device", "description"].map((k) => info[k])
    .filter(Boolean).join(" ");
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
    /llvmpipe|swiftshader|software|lavapipe/i.test(description);
  return { available: true, software, description };
}

let webRuntime: Promise<Ort> | undefined;
let nodeRuntime: Promise<{ ort: Ort } | { reason: string }> | undefined;

/** onnxruntime-web, configured once: one wasm thread, errors-only logging. */
function loadWeb(): Promise<Ort> {
  webRuntime ??= (async () => {
    // onnxruntime-web resolves its files against `location.origin` when it is evaluated; in a
    // Deno worker running a file: module that is the string "null", which breaks `new URL`.
    const loc = (globalThis as { location?: { origin?: string } }).location;
    if (loc?.origin === "null") {
      Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
    }
    const ort = await importOrtWeb();
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    return ort;
  })();
  return webRuntime;
}

/**
 * onnxruntime-node, or why it cannot load here (no npm, no native binary for this platform, no
 * `--allow-ffi`…). Tried once per process.
 */
export function loadNodeRuntime(): Promise<{ ort: Ort } | { reason: string }> {
  nodeRuntime ??= (async () => {
    try {
      const ort = (await importOrtNode()) as unknown as Ort;
      ort.env.logLevel = "error";
      return { ort };
    } catch (e) {
      return { reason: (e as Error).message.split("\n")[0] };
    }
  })();
  return nodeRuntime;
}

/** Whether the `node` EP can run here; `reason` says why not. */
export async function nodeAvailable(): Promise<{ available: boolean; reason?: string }> {
  const r = await loadNodeRuntime();
  return "ort" in r ? { available: true } : { available: false, reason: r.reason };
}

/**
 * Resolve a choice to the EP to use: `auto` = WebGPU on a hardware adapter, else `node` where
 * the addon loads, else `wasm`. Asking for `webgpu` without an adapter, or `node` where the addon
 * does not load, is an error saying why.
 */
export async function resolveEp(choice: EpChoice = "auto"): Promise<Ep> {
  if (choice === "wasm") return "wasm";
  if (choice === "node") {
    const r = await loadNodeRuntime();
    if ("reason" in r) throw new Error(`--ep node: onnxruntime-node does not load (${r.reason})`);
    return "node";
  }
  const probe = await probeWebGpu();
  if (choice === "webgpu") {
    if (!probe.available) throw new Error(`--ep webgpu: no WebGPU adapter (${probe.description})`);
    return "webgpu";
  }
  // llvmpipe runs our models 10-20× slower than wasm: auto only picks a hardware adapter
  if (probe.available && !probe.software) return "webgpu";
  return "ort" in await loadNodeRuntime() ? "node" : "wasm";
}

/** Intra-op threads for `threads` (default: one per core). */
function threadCount(threads: number | undefined): number {
  const n = threads ?? (navigator.hardwareConcurrency || 1);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`threads ${threads}: expected an integer ≥ 1`);
  }
  return n;
}

const ELEMENT_TYPES = [
  [Float32Array, "float32"],
  [Int32Array, "int32"],
  [BigInt64Array, "int64"],
  [Uint8Array, "uint8"],
  [Int8Array, "int8"],
] as const;

function elementType(data: TensorData, where: string): typeof ELEMENT_TYPES[number][1] {
  const hit = ELEMENT_TYPES.find(([ctor]) => data instanceof ctor);
  if (!hit) throw new TypeError(`${where}: unsupported tensor data ${data?.constructor?.name}`);
  return hit[1];
}

/**
 * Load `model` (ONNX bytes) on an execution provider.
 *
 * @example
 * ```ts
 * import { createSession, GraphBuilder } from "./mod.ts";
 * const g = new GraphBuilder();
 * g.input("x", "float32", ["N", 2]);
 * g.output(g.op("Relu", ["x"]), "y", "float32", ["N", 2]);
 * const s = await createSession(g.toBytes(), { ep: "auto" }); // node here, wasm on Deploy
 * const { y } = await s.run({ x: { data: Float32Array.of(-1, 2), dims: [1, 2] } });
 * // y.data = [0, 2], y.dims = [1, 2]
 * await s.release();
 * ```
 */
export async function createSession(
  model: Uint8Array,
  options: SessionOptions = {},
): Promise<OnnxSession> {
  const name = options.name ?? "model";
  const ep = await resolveEp(options.ep ?? "auto");
  let ort: Ort;
  let opts: OrtWeb.InferenceSession.SessionOptions;
  let threads: number;
  if (ep === "node") {
    const r = await loadNodeRuntime();
    if ("reason" in r) throw new Error(`${name}: onnxruntime-node does not load (${r.reason})`);
    ort = r.ort;
    threads = threadCount(options.threads);
    opts = {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // Idle intra-op threads sleep instead of spinning: on a shared or busy machine (data
      // loaders, other jobs) spinning threads take cores from the work they wait for.
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    };
  } else {
    ort = await loadWeb();
    threads = ep === "wasm" ? 1 : 0;
    opts = { executionProviders: [ep], graphOptimizationLevel: "all" };
  }
  let session: OrtWeb.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, opts);
  } catch (e) {
    throw new Error(`${name}: onnxruntime (${ep}) could not load it (${(e as Error).message})`);
  }
  const info = (names: readonly string[], meta: readonly OrtWeb.InferenceSession.ValueMetadata[]) =>
    names.map((n, i): ValueInfo => {
      const m = meta?.[i];
      return m && m.isTensor ? { name: n, type: m.type, shape: [...m.shape] } : { name: n };
    });
  const inputs = info(session.inputNames, session.inputMetadata);
  const outputs = info(session.outputNames, session.outputMetadata);
  return {
    ep,
    threads,
    inputs,
    outputs,
    async run(feeds, wanted) {
      const t: Record<string, OrtWeb.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) {
        t[k] = new ort.Tensor(elementType(v.data, `${name}: input "${k}"`), v.data, [...v.dims]);
      }
      let out: OrtWeb.InferenceSession.ReturnType;
      try {
        out = wanted ? await session.run(t, [...wanted]) : await session.run(t);
      } catch (e) {
        throw new Error(`${name}: run failed on ${ep} (${(e as Error).message.split("\n")[0]})`);
      }
      const r: Record<string, TensorValue> = {};
      for (const [k, v] of Object.entries(out)) {
        r[k] = { data: (await v.getData()) as TensorData, dims: [...v.dims], type: v.type };
        v.dispose?.();
      }
      return r;
    },
    async release() {
      await session.release();
    },
  };
}
