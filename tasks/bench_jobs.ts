/**
 * `deno task bench jobs [--json] [--arch ir10_quarter] [--input 64x64] [--batch 64] [--steps 30]
 * [--jobs N]`: what `reproduce --jobs N` buys on the cpu backend. Baseline: one training in a
 * child process using every core; then N trainings of the same config side by side, each with
 * cores/N threads (exactly how `reproduce` runs them). Prints images per second of each and their
 * ratio; wall times include each child's start-up and its ONNX export. `--json` ends with one line
 * `{"baseline_images_per_s": …, "side_by_side_images_per_s": …, "ratio": …, …}`.
 */
import { exitUsage, parseCliArgs, parseSizeFlag, writeFileAtomic } from "../data/mod.ts";
import { archByName, type TrainConfigInput, writeTinyDataset } from "../recognition/mod.ts";
import { trainInChild } from "./reproduce/train_process.ts";

/** Entry point (`deno task bench jobs`). */
const usage: (msg: string) => never = exitUsage("bench jobs");

export async function main(args: string[]): Promise<void> {
  const { values: v } = parseCliArgs({
    args,
    options: {
      json: { type: "boolean" },
      arch: { type: "string", default: "ir10_quarter" },
      input: { type: "string", default: "64x64" },
      batch: { type: "string", default: "64" },
      steps: { type: "string", default: "30" },
      jobs: { type: "string" },
    },
  }, usage);
  const spec = archByName(v.arch!);
  const input = parseSizeFlag("--input", v.input!, usage);
  const batch = Number(v.batch), steps = Number(v.steps);
  const cores = Math.max(1, navigator.hardwareConcurrency);
  const jobs = v.jobs === undefined ? cores : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 2) throw new Error(`--jobs ${v.jobs}: expected 2 or more`);
  const tmp = await Deno.makeTempDir({ prefix: "bench_jobs_" });
  try {
    const perClass = 8;
    const classes = Math.max(4, Math.ceil((batch * 2) / perClass));
    await writeTinyDataset(`${tmp}/data`, { classes, perClass, ...input, seed: 3 });
    let runs = 0;
    const run = async (threads: number) => {
      const out = `${tmp}/run${runs++}`;
      await Deno.mkdir(out);
      const config: TrainConfigInput = {
        data: `${tmp}/data`,
        out,
        arch: spec.name,
        input,
        batch,
        steps,
        backend: "cpu",
        threads,
        workers: 1,
      };
      await writeFileAtomic(`${out}/request.json`, JSON.stringify(config));
      return await trainInChild(`${out}/request.json`, () => {});
    };
    const images = steps * batch;

    const t0 = performance.now();
    const alone = await run(cores);
    const baseS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const side = await Promise.all(
      Array.from({ length: jobs }, () => run(Math.max(1, Math.floor(cores / jobs)))),
    );
    const sideS = (performance.now() - t1) / 1000;

    const baseIps = images / baseS, sideIps = (jobs * images) / sideS;
    const lines = [
      `bench jobs: ${spec.name} ${input.height}x${input.width}, batch ${batch}, ${steps} steps per run, ${cores} cores`,
      `  one run, ${cores} thread(s)          ${baseIps.toFixed(1)} img/s   ` +
      `(${baseS.toFixed(1)} s; step loop ${alone.imagesPerSec.toFixed(1)} img/s)`,
      `  ${jobs} runs side by side, ${Math.max(1, Math.floor(cores / jobs))} thread(s) each  ` +
      `${sideIps.toFixed(1)} img/s   (${sideS.toFixed(1)} s; ` +
      `step loops ${side.map((r) => r.imagesPerSec.toFixed(1)).join(", ")} img/s)`,
      `  side by side / alone: ${(sideIps / baseIps).toFixed(2)}×`,
    ];
    for (const l of lines) console.log(l);
    if (v.json) {
      console.log(JSON.stringify({
        baseline_images_per_s: baseIps,
        side_by_side_images_per_s: sideIps,
        ratio: sideIps / baseIps,
        jobs,
        cores,
        arch: spec.name,
        input: [input.height, input.width],
        batch,
        steps,
      }));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
