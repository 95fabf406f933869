/**
 * `deno task bench train [--json] [--arch ir10_half] [--input 112x96] [--batch 32] [--steps 5]
 * [--backend auto|cpu|webgpu] [--workers 1] [--micro-batch M]`: end-to-end training throughput
 * of an architecture (data loading, augmentation, forward, backward, SGD) with the share of wall
 * time the step loop
 * waited for the loader, against the baseline of the loader alone in the same process (it must
 * deliver images faster than training consumes them). The first step (compilation, warm-up) is
 * not counted. `--json` ends with one line
 * `{"train_images_per_s": …, "loader_share": …, "loader_images_per_s": …, …}`.
 */
import { exitUsage, parseCliArgs, parseSizeFlag } from "../data/mod.ts";
import {
  archByName,
  AugmentConfigSchema,
  Loader,
  train,
  writeTinyDataset,
} from "../recognition/mod.ts";

const usage: (msg: string) => never = exitUsage("bench train");

/** Entry point (`deno task bench train`). */
export async function main(args: string[]): Promise<void> {
  const { values: v } = parseCliArgs({
    args,
    options: {
      json: { type: "boolean" },
      arch: { type: "string", default: "ir10_half" },
      input: { type: "string" },
      batch: { type: "string", default: "32" },
      steps: { type: "string", default: "5" },
      backend: { type: "string", default: "auto" },
      workers: { type: "string", default: "1" },
      "micro-batch": { type: "string" },
    },
  }, usage);
  const spec = archByName(v.arch!);
  const input = v.input ? parseSizeFlag("--input", v.input, usage) : spec.input;
  const batch = Number(v.batch), steps = Number(v.steps), workers = Number(v.workers);
  const backend = v.backend as "auto" | "cpu" | "webgpu";
  const tmp = await Deno.makeTempDir({ prefix: "bench_train_" });
  try {
    // Enough images for two epochs' worth of distinct batches; PNG like generated data.
    const perClass = 8;
    const classes = Math.max(4, Math.ceil((batch * 2) / perClass));
    await writeTinyDataset(`${tmp}/data`, { classes, perClass, ...input, seed: 3 });

    // Baseline: the loader alone (same worker count, augmentation on).
    const plan = {
      data: `${tmp}/data`,
      domainMixup: false,
      input,
      fit: "center-crop" as const,
      augment: AugmentConfigSchema.parse({}),
      seed: 1,
      batch,
    };
    const spe = Math.floor((classes * perClass) / batch);
    const loader = await Loader.open(plan, spe, { epoch: 0, step: 0 }, { workers, prefetch: 4 });
    await loader.next(); // worker start-up
    const l0 = performance.now();
    const lb = Math.max(4, steps);
    for (let i = 0; i < lb; i++) await loader.next();
    const loaderIps = (lb * batch) / ((performance.now() - l0) / 1000);
    loader.close();

    // End to end: the real trainer, first step excluded.
    const marks: { t: number; share: number }[] = [];
    const r = await train({
      data: `${tmp}/data`,
      out: `${tmp}/run`,
      arch: spec.name,
      input,
      batch,
      ...(v["micro-batch"] ? { microBatch: Number(v["micro-batch"]) } : {}),
      steps: steps + 1,
      backend,
      workers,
      logEvery: 1,
    }, {
      progressBar: false,
      noExport: true,
      onProgress: (p) => {
        if (!p.val) marks.push({ t: performance.now(), share: p.loaderShare });
      },
    });
    const span = (marks.at(-1)!.t - marks[0].t) / 1000;
    const trainIps = (steps * batch) / span;
    const share = marks.slice(1).reduce((a, x) => a + x.share, 0) / Math.max(1, marks.length - 1);
    const lines = [
      `bench train: ${spec.name} ${input.height}x${input.width}, batch ${batch}, ${steps} timed steps, ${workers} loader worker(s)`,
      `  train (end to end)   ${trainIps.toFixed(2)} img/s   ` +
      `(${(1000 * batch / trainIps).toFixed(0)} ms/step)`,
      `  loader alone         ${loaderIps.toFixed(1)} img/s   ` +
      `= ${(loaderIps / trainIps).toFixed(1)}× what training consumes`,
      `  loader share of wall ${(100 * share).toFixed(1)}%   (time the step loop waited for data)`,
      `  whole call incl. warm-up: ${r.imagesPerSec.toFixed(2)} img/s`,
    ];
    for (const l of lines) console.log(l);
    if (v.json) {
      console.log(JSON.stringify({
        train_images_per_s: trainIps,
        loader_share: share,
        loader_images_per_s: loaderIps,
        arch: spec.name,
        input: [input.height, input.width],
        batch,
        steps,
        backend,
      }));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
