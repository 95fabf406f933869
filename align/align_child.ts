/**
 * A child process of the align pool: one {@link FaceAligner} on the EP and intra-op threads its
 * parent chose (one thread on wasm, which is single-threaded in Deno). Requests arrive
 * as JSON lines on stdin, replies leave as JSON lines on stdout; it exits when stdin closes (its
 * parent finished or was killed). Processes, not web workers: two onnxruntime-web sessions in
 * worker threads of one process ran slower together than one alone (measured: 16 vs 27
 * images/s on 341 LFW photos), two processes do not.
 *
 *   deno run -A align/align_child.ts MIN_SCORE SIZE EP THREADS
 * @module
 */
import { type EpChoice, isEpChoice, textLines } from "../data/mod.ts";
import { FaceAligner } from "./align_face.ts";
import type { AlignRow } from "./align_csv.ts";
import { alignFile } from "./align_file.ts";
import type { CropSize } from "./similarity.ts";

/** A request to a child. */
export interface AlignChildRequest {
  id: number;
  inDir: string;
  cropPath: string;
  rel: string;
  identity: string;
}

/** A reply from a child (one JSON line). */
export type AlignChildReply =
  | { type: "ready" }
  | { type: "fatal"; id?: number; message: string }
  | { type: "done"; id: number; row: AlignRow; error?: string };

if (import.meta.main) {
  const enc = new TextEncoder();
  const send = async (m: AlignChildReply) => {
    const bytes = enc.encode(JSON.stringify(m) + "\n");
    for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
  };
  const [minScore, size, ep = "wasm", threads = "1"] = Deno.args;
  let aligner: FaceAligner;
  try {
    if (!isEpChoice(ep)) throw new Error(`EP ${ep}: not an execution provider`);
    aligner = await FaceAligner.create({
      minScore: Number(minScore),
      ep: ep as EpChoice,
      threads: Number(threads),
    });
  } catch (e) {
    await send({ type: "fatal", message: (e as Error).message });
    Deno.exit(1);
  }
  await send({ type: "ready" });
  for await (const line of textLines(Deno.stdin.readable)) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as AlignChildRequest;
    try {
      const r = await alignFile(aligner, size as CropSize, m.inDir, m.cropPath, m.rel, m.identity);
      await send({ type: "done", id: m.id, ...r });
    } catch (e) {
      await send({ type: "fatal", id: m.id, message: `${m.rel}: ${(e as Error).message}` });
    }
  }
  await aligner.dispose();
}
