/**
 * Where a generator's model comes from. A local model must exist (no silent fallback to the
 * embedded generator); a model on the network is fetched only when allowed (`generate
 * --allow-net-model`), once, into the project's own cache (`out/cache/generator-models/<key>/`,
 * never beside the user's manifest), together with a local copy of the manifest that points at it.
 */
import { writeFileAtomic, writeJsonAtomic } from "../data/atomic_write.ts";
import { sha256Hex } from "../data/dataset.ts";
import { loadManifest } from "./face_generator.ts";
import { isNetUrl, netModelProblem } from "./manifest.ts";

/** The project's cache of fetched generator models. */
export const NET_MODEL_CACHE: URL = new URL("../out/cache/generator-models/", import.meta.url);

/** Options of {@link resolveGeneratorModel}. */
export interface ModelSourceOptions {
  /** Fetch a model given by URL (default false: refuse it). */
  allowNet?: boolean;
  /** Cache folder (default {@link NET_MODEL_CACHE}). */
  cacheDir?: string;
}

/**
 * The manifest to load for `manifest`: itself when its model is local (checked to exist), or,
 * for a URL model and `allowNet`, a cached local copy (fetched on first use). Throws, naming the
 * manifest and the model, for a missing local model or a URL model without `allowNet`.
 */
export async function resolveGeneratorModel(
  manifest: string | URL,
  opts: ModelSourceOptions = {},
): Promise<string | URL> {
  const { manifest: m, url } = await loadManifest(manifest);
  const modelUrl = new URL(m.model, url);
  if (!isNetUrl(modelUrl)) {
    if (modelUrl.protocol === "file:") {
      const ok = await Deno.stat(modelUrl).then((s) => s.isFile, () => false);
      // The embedded models are built on first load (generator/build.ts): absent is fine there.
      if (!ok && !(await import("./build.ts")).isEmbeddedManifest(url)) {
        throw new Error(`${url.href}: field "model": ${modelUrl.pathname} not found`);
      }
    }
    return manifest;
  }
  if (!opts.allowNet) throw new Error(netModelProblem(url, modelUrl));
  const root = opts.cacheDir ?? NET_MODEL_CACHE.pathname;
  const key = (await sha256Hex(new TextEncoder().encode(`${url.href}\n${modelUrl.href}`)))
    .slice(0, 16);
  const dir = `${root.replace(/\/+$/, "")}/${key}`;
  const local = `${dir}/generator.json`;
  if (await Deno.stat(local).then(() => true, () => false)) return local;
  console.error(`generator: fetching ${modelUrl.href} into ${dir}/`);
  const res = await fetch(modelUrl).catch((e) => {
    throw new Error(`${url.href}: field "model": cannot fetch ${modelUrl.href} (${e.message})`);
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(
      `${url.href}: field "model": cannot fetch ${modelUrl.href} (HTTP ${res.status})`,
    );
  }
  await writeFileAtomic(`${dir}/model.onnx`, new Uint8Array(await res.arrayBuffer()));
  // The manifest last: its presence means the model beside it is complete.
  const notes = `${m.notes ?? ""} (fetched from ${modelUrl.href})`.trim();
  await writeJsonAtomic(local, { ...m, model: "model.onnx", notes });
  return local;
}
