/**
 * `deno task align`: detect, landmark and align every photo of a folder onto the ArcFace template.
 *
 *   deno task align --in DIR --out DIR [--size 112|112x96] [--workers N] [--shard i/n]
 *     [--min-score S] [--skip-bad] [--ep auto|webgpu|node|wasm] [--threads T]
 *
 * `--ep` runs the detector and landmarker on hardware WebGPU, native onnxruntime-node or wasm
 * (`auto`, the default: the first of those that works here); `--workers` processes (default one
 * per core), each with `--threads` intra-op threads on node (default 1). The EP is recorded in
 * `align.json` and `align_summary.json`.
 *
 * Writes the crops under the same relative paths, `align.csv` and `align_summary.json` (see
 * `align/README.md`). Exit status: 0 done; 1 when an image could not be decoded (`bad_image`;
 * 0 with `--skip-bad`) or the run failed; 2 for a bad command line.
 */
import { alignDirectory, AlignUsageError, type CropSize } from "../align/mod.ts";
import {
  choiceFlag,
  EP_CHOICES,
  exitUsage,
  intFlag,
  numberFlag,
  parseCliArgs,
  parseShardFlag,
} from "../data/mod.ts";

const USAGE =
  "usage: deno task align --in DIR --out DIR [--size 112|112x96] [--workers N] [--shard i/n] " +
  `[--min-score S] [--skip-bad] [--ep ${EP_CHOICES.join("|")}] [--threads T]`;

const fail: (msg: string) => never = exitUsage("align", USAGE);

export async function main(args: string[]): Promise<number> {
  const { values } = parseCliArgs({
    args,
    options: {
      in: { type: "string" },
      out: { type: "string" },
      size: { type: "string" },
      workers: { type: "string" },
      shard: { type: "string" },
      "min-score": { type: "string" },
      "skip-bad": { type: "boolean" },
      ep: { type: "string" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }, fail);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.in) fail("--in is required");
  if (!values.out) fail("--out is required");
  const size = choiceFlag<CropSize>("--size", values.size, ["112", "112x96"], fail) ?? "112";
  const workers = intFlag("--workers", values.workers, fail);
  const ep = choiceFlag("--ep", values.ep, EP_CHOICES, fail);
  const threads = intFlag("--threads", values.threads, fail);
  const shard = values.shard === undefined ? undefined : parseShardFlag(values.shard, fail);
  const minScore = numberFlag("--min-score", values["min-score"], fail, [0, 1]);
  try {
    const s = await alignDirectory({
      inDir: values.in,
      outDir: values.out,
      size,
      workers,
      shard,
      minScore,
      ep,
      threads,
    });
    const c = s.counts;
    const csv = shard ? `align.shard-${shard.index}-of-${shard.count}.csv` : "align.csv";
    console.error(
      `align (${s.ep}): ${s.total} images (${s.skipped} done before): ${c.ok} ok, ` +
        `${c.several_faces} several_faces, ${c.no_face} no_face, ${c.bad_image} bad_image ` +
        `in ${s.seconds.toFixed(1)} s → ${values.out}/${csv}`,
    );
    for (const p of s.noFace.slice(0, 20)) console.error(`  no_face ${p}`);
    if (s.noFace.length > 20) console.error(`  … ${s.noFace.length - 20} more no_face`);
    for (const b of s.bad) console.error(`  bad_image ${b.error}`);
    return s.bad.length && !values["skip-bad"] ? 1 : 0;
  } catch (e) {
    if (e instanceof AlignUsageError) fail(e.message);
    console.error(`align: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
