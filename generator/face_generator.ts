/**
 * Run a face generator ONNX model (the embedded one or any other with a `generator.json`) on
 * one ONNX session (`data/onnx/session.ts`): WebGPU, native CPU (`node`, with intra-op threads)
 * or wasm with one thread (use {@link GeneratorPool} for one wasm worker per core).
 */
import type { Rng } from "../data/rng.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import {
  createSession,
  type Ep,
  type EpChoice,
  type OnnxSession,
  type TensorValue,
} from "../data/onnx/session.ts";
import {
  type GeneratorManifest,
  type LatentBlock,
  netModelProblem,
  parseManifest,
} from "./manifest.ts";

// The EP plumbing lives at the floor; re-exported because callers of the generator pick EPs.
export {
  type AdapterInfo,
  type Ep,
  type EpChoice,
  probeWebGpu,
  resolveEp,
} from "../data/onnx/session.ts";
/** Latent blocks by name, each `n × size` values, row-major. */
export type Latents = Record<string, Float32Array>;

/** The default manifest: the embedded 3DMM-style generator. */
export const DEFAULT_MANIFEST: URL = new URL("./model/generator.json", import.meta.url);

/** What every generator runner offers (a single session, or a pool of workers). */
export interface Generator {
  readonly manifest: GeneratorManifest;
  /** Execution provider in use. */
  readonly ep: Ep;
  /** `n` images, NCHW RGB float in [-1, 1] (`(x/255 − 0.5)/0.5`), at the manifest's size. */
  generate(latents: Latents, n: number): Promise<Float32Array>;
  /** Release sessions/workers. */
  close(): Promise<void>;
}

/** Fetch and validate a manifest (file path, file: or https: URL). */
export async function loadManifest(
  manifest: string | URL = DEFAULT_MANIFEST,
): Promise<{ manifest: GeneratorManifest; url: URL }> {
  const url = toUrl(manifest);
  const res = await fetch(url).catch((e) => {
    throw new Error(`${url.href}: cannot read the generator manifest (${(e as Error).message})`);
  });
  if (!res.ok) {
    throw new Error(`${url.href}: cannot read the generator manifest (HTTP ${res.status})`);
  }
  return { manifest: parseManifest(await res.text(), url.href), url };
}

/** A path or URL string to a URL (relative paths against the current directory). */
export function toUrl(p: string | URL): URL {
  if (p instanceof URL) return p;
  if (/^[a-z]+:/i.test(p)) return new URL(p);
  return new URL(p.startsWith("/") ? `file://${p}` : `file://${Deno.cwd()}/${p}`);
}

/** Draw `n` rows of a latent block from its prior. */
export function sampleBlock(block: LatentBlock, rng: Rng, n = 1): Float32Array {
  const out = new Float32Array(n * block.size);
  for (let i = 0; i < out.length; i++) {
    out[i] = block.prior === "normal"
      ? rng.normal() * block.scale
      : (2 * rng.uniform() - 1) * block.scale;
  }
  return out;
}

/** Options of {@link FaceGenerator.load}. */
export interface LoadOptions {
  /** Execution provider (default `auto`: hardware WebGPU, else `node`, else `wasm`). */
  ep?: EpChoice;
  /** Intra-op threads on `node` (default: one per core). */
  threads?: number;
}

/** One ONNX session running a generator. */
export class FaceGenerator implements Generator {
  private constructor(
    readonly manifest: GeneratorManifest,
    private session: OnnxSession,
    readonly manifestUrl: URL,
  ) {}

  /** Execution provider in use. */
  get ep(): Ep {
    return this.session.ep;
  }

  /**
   * Load a generator by manifest (default: the embedded model).
   *
   * @example
   * ```ts
   * import { FaceGenerator } from "./face_generator.ts";
   * const gen = await FaceGenerator.load();
   * const latents = Object.fromEntries(gen.manifest.inputs.map((b) => [b.name, new Float32Array(b.size)]));
   * const img = await gen.generate(latents, 1); // 3×112×112 in [-1, 1]
   * await gen.close();
   * ```
   */
  static async load(
    manifest: string | URL = DEFAULT_MANIFEST,
    options: LoadOptions = {},
  ): Promise<FaceGenerator> {
    const { manifest: m, url } = await loadManifest(manifest);
    const modelUrl = new URL(m.model, url);
    const bytes = await readModel(m, url, modelUrl);
    const session = await createSession(bytes, {
      ep: options.ep ?? "auto",
      threads: options.threads,
      name: modelUrl.href,
    });
    checkSession(m, session, modelUrl.href);
    return new FaceGenerator(m, session, url);
  }

  async generate(latents: Latents, n: number): Promise<Float32Array> {
    const feeds: Record<string, TensorValue> = {};
    for (const b of this.manifest.inputs) {
      const v = latents[b.name];
      if (!v) throw new Error(`generate: latent block "${b.name}" missing`);
      if (v.length !== n * b.size) {
        throw new Error(
          `generate: latent block "${b.name}" has ${v.length} values, expected ${n} × ${b.size}`,
        );
      }
      feeds[b.name] = { data: v, dims: [n, b.size] };
    }
    const out = await this.session.run(feeds, [this.manifest.output]);
    const t = out[this.manifest.output];
    const data = t.data as Float32Array;
    const [h, w] = this.manifest.imageSize;
    const expect = this.manifest.layout === "NCHW" ? [n, 3, h, w] : [n, h, w, 3];
    if (t.dims.join() !== expect.join()) {
      throw new Error(
        `${this.manifest.model}: output "${this.manifest.output}" has shape [${t.dims}], manifest says [${expect}] (${this.manifest.layout})`,
      );
    }
    return toUnitNchw(data, this.manifest, n);
  }

  /** Run and return every output (image as-is, landmarks...), for tests and tools. */
  async runRaw(latents: Latents, n: number): Promise<Record<string, Float32Array>> {
    const feeds: Record<string, TensorValue> = {};
    for (const b of this.manifest.inputs) {
      feeds[b.name] = { data: latents[b.name], dims: [n, b.size] };
    }
    const out = await this.session.run(feeds);
    const r: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(out)) r[k] = t.data as Float32Array;
    return r;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The model bytes. The embedded model is not committed (7 MB of generated data): when its file
 * is missing it is built from source (~2 s) and cached in generator/model/. Other manifests'
 * models must exist; a URL model is refused here (see `resolveGeneratorModel`).
 */
async function readModel(m: GeneratorManifest, url: URL, modelUrl: URL): Promise<Uint8Array> {
  const net = netModelProblem(url, modelUrl); // a URL model: only via resolveGeneratorModel
  if (net) throw new Error(net);
  const res = await fetch(modelUrl).catch(() => undefined);
  if (res?.ok) return new Uint8Array(await res.arrayBuffer());
  await res?.body?.cancel();
  const { embeddedKind, buildEmbedded, isEmbeddedManifest } = await import("./build.ts");
  // Only the project's own manifests fall back to building their embedded model (and cache it
  // in generator/model/); any other manifest's missing model is an error, nothing is written.
  const kind = isEmbeddedManifest(url) ? embeddedKind(m.id) : undefined;
  if (!kind) {
    const where = modelUrl.protocol === "file:" ? modelUrl.pathname : modelUrl.href;
    throw new Error(
      `${url.href}: field "model": ${where} not found${res ? ` (HTTP ${res.status})` : ""}`,
    );
  }
  const { onnx } = await buildEmbedded(new URL("./model/", import.meta.url), kind);
  if (modelUrl.protocol === "file:") {
    // Caching is best effort: a read-only checkout still works, it just rebuilds each time.
    await writeFileAtomic(modelUrl, onnx).catch(() => {});
  }
  return onnx;
}

/** The ONNX's inputs/outputs must match the manifest: names, and sizes where the model says. */
function checkSession(m: GeneratorManifest, s: OnnxSession, file: string): void {
  const inputNames = s.inputs.map((v) => v.name), outputNames = s.outputs.map((v) => v.name);
  const missing = m.inputs.find((b) => !inputNames.includes(b.name));
  if (missing) {
    const has = inputNames.join(", ");
    throw new Error(
      `${file}: manifest input "${missing.name}" is not a model input (model has: ${has})`,
    );
  }
  const extra = inputNames.find((name) => !m.inputs.some((b) => b.name === name));
  if (extra) throw new Error(`${file}: model input "${extra}" is not in the manifest's inputs`);
  if (!outputNames.includes(m.output)) {
    const has = outputNames.join(", ");
    throw new Error(
      `${file}: manifest output "${m.output}" is not a model output (model has: ${has})`,
    );
  }
  for (const md of s.inputs) {
    const b = m.inputs.find((x) => x.name === md.name);
    const last = md.shape?.[md.shape.length - 1];
    if (b && typeof last === "number" && last !== b.size) {
      throw new Error(
        `${file}: input "${b.name}" takes ${last} values per image, manifest says ${b.size}`,
      );
    }
  }
}

/** Map a model's output to NCHW in [-1, 1]. */
function toUnitNchw(data: Float32Array, m: GeneratorManifest, n: number): Float32Array {
  const [lo, hi] = m.valueRange, [h, w] = m.imageSize;
  const a = 2 / (hi - lo), b = -1 - lo * a;
  if (m.layout === "NCHW") {
    if (lo === -1 && hi === 1) return data;
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = data[i] * a + b;
    return out;
  }
  const out = new Float32Array(data.length);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < hw; p++) {
      for (let ch = 0; ch < 3; ch++) {
        out[(i * 3 + ch) * hw + p] = data[(i * hw + p) * 3 + ch] * a + b;
      }
    }
  }
  return out;
}

/** Crop NCHW images to the centre `width` columns (112×112 → 112×96 drops 8 px each side). */
export function cropWidth(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  width: number,
): Float32Array {
  if (width === w) return images;
  const off = Math.floor((w - width) / 2);
  const out = new Float32Array(n * 3 * h * width);
  for (let r = 0; r < n * 3 * h; r++) {
    out.set(images.subarray(r * w + off, r * w + off + width), r * width);
  }
  return out;
}
