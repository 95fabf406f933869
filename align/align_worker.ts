/**
 * A worker of the align pool: one {@link FaceAligner} (one wasm thread). Each job reads a photo,
 * aligns it, writes the crop atomically and answers with its `align.csv` row.
 * @module
 */
/// <reference lib="deno.worker" />
import type { FaceAligner } from "./align_face.ts";
import type { AlignRow } from "./align_csv.ts";
import type { CropSize } from "./similarity.ts";

// onnxruntime-web resolves its files against `location.origin` at import time; in a Deno worker
// that is the string "null" for file: modules, which breaks `new URL`. Hide `location` (as on
// the main thread) before importing it (as generator/pool_worker.ts does).
const scope = self;
Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
const { FaceAligner: Aligner } = await import("./align_face.ts");
const { alignFile } = await import("./align_file.ts");

/** Messages to the worker. */
export type AlignWorkerRequest =
  | { type: "init"; minScore: number; size: CropSize }
  | { type: "run"; id: number; inDir: string; cropPath: string; rel: string; identity: string };

/** Messages from the worker. */
export type AlignWorkerReply =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "done"; id: number; row: AlignRow; error?: string };

let aligner: FaceAligner | undefined;
let size: CropSize = "112";

scope.onmessage = async (e: MessageEvent<AlignWorkerRequest>) => {
  const msg = e.data;
  try {
    if (msg.type === "init") {
      size = msg.size;
      aligner = await Aligner.create({ minScore: msg.minScore });
      scope.postMessage({ type: "ready" } satisfies AlignWorkerReply);
      return;
    }
    if (!aligner) throw new Error("align worker: run before init");
    const r = await alignFile(aligner, size, msg.inDir, msg.cropPath, msg.rel, msg.identity);
    scope.postMessage({ type: "done", id: msg.id, ...r } satisfies AlignWorkerReply);
  } catch (err) {
    scope.postMessage(
      {
        type: "fatal",
        message: `${msg.type === "run" ? msg.rel + ": " : ""}${(err as Error).message}`,
      } satisfies AlignWorkerReply,
    );
  }
};
