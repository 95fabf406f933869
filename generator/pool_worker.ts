/// <reference lib="deno.worker" />
/**
 * Worker side of {@link GeneratorPool}: one single-threaded session (wasm or node) per worker.
 */
import type { FaceGenerator, Latents } from "./face_generator.ts";

// onnxruntime-web resolves its files against `location.origin` at import time; in a Deno worker
// that is the string "null" for file: modules, which breaks `new URL`. Hide `location` (as on
// the main thread) before importing it.
const scope = self;
Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
const { FaceGenerator: Gen } = await import("./face_generator.ts");

let gen: FaceGenerator | undefined;

scope.onmessage = async (e: MessageEvent) => {
  const msg = e.data as
    | { type: "init"; manifest: string; ep: "wasm" | "node" }
    | { type: "run"; id: number; latents: Latents; n: number };
  try {
    if (msg.type === "init") {
      gen = await Gen.load(msg.manifest, { ep: msg.ep, threads: 1 });
      scope.postMessage({ type: "ready" });
    } else {
      const images = await gen!.generate(msg.latents, msg.n);
      scope.postMessage({ type: "done", id: msg.id, images }, [images.buffer as ArrayBuffer]);
    }
  } catch (err) {
    scope.postMessage({
      type: "error",
      id: (msg as { id?: number }).id,
      message: (err as Error).message,
    });
  }
};
