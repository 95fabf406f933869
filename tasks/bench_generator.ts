/**
 * `deno task bench generator [--json] [--quick]`: images/s of the embedded generator at 112×112
 * by execution provider, batch size and number of workers (a single in-process wasm session at
 * batch 1 is the baseline for the ratios; WebGPU only on hardware adapters unless `--webgpu`).
 */
import { exitUsage, parseCliArgs } from "../data/mod.ts";
import { Rng } from "../data/mod.ts";
import {
  FaceGenerator,
  type Generator,
  GeneratorPool,
  type Latents,
  probeWebGpu,
} from "../generator/mod.ts";

interface Row {
  ep: string;
  workers: number;
  batch: number;
  imagesPerS: number;
  msPerImage: number;
}

function latents(gen: Generator, n: number, seed: number): Latents {
  const rng = Rng.fromSeed(seed);
  return Object.fromEntries(gen.manifest.inputs.map((b) => [b.name, rng.normals(n * b.size)]));
}

/** Throughput with `lanes` concurrent requests of `batch` images, after warm-up. */
async function measure(
  gen: Generator,
  batch: number,
  lanes: number,
  seconds: number,
  warm: number,
): Promise<number> {
  const lat = latents(gen, batch, batch);
  // warm-up: onnxruntime's arena grows during the first runs (they are 3-5× slower)
  for (let i = 0; i < warm; i++) {
    await Promise.all(Array.from({ length: lanes }, () => gen.generate(lat, batch)));
  }
  let images = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await Promise.all(Array.from({ length: lanes }, () => gen.generate(lat, batch)));
    images += lanes * batch;
  }
  return images / ((performance.now() - t0) / 1000);
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: { json: { type: "boolean" }, quick: { type: "boolean" }, webgpu: { type: "boolean" } },
  }, exitUsage("bench generator"));
  // V8 runs onnxruntime's wasm with its baseline tier first; in workers on a busy machine the
  // optimised tier takes 30-60 s to arrive, so pools get a long warm-up (steady state is what a
  // dataset run sees)
  const secs = values.quick ? 3 : 8;
  const warmPool = values.quick ? 20 : 60;
  const warm = values.quick ? 6 : 15;
  const cores = navigator.hardwareConcurrency || 1;
  const rows: Row[] = [];
  const add = (ep: string, workers: number, batch: number, ips: number) => {
    rows.push({ ep, workers, batch, imagesPerS: ips, msPerImage: 1000 / ips });
    console.error(
      `  ${ep.padEnd(6)} workers=${workers} batch=${String(batch).padStart(2)}  ${
        ips.toFixed(1).padStart(7)
      } img/s  ${(1000 / ips).toFixed(1).padStart(6)} ms/img`,
    );
  };
  console.error(`bench generator: embedded model, 112×112, ${cores} cores`);
  for (const w of [...new Set([cores, 1])]) {
    const pool = await GeneratorPool.create(undefined, w);
    add("wasm", w, 32, await measure(pool, 32, w + 1, secs, w === cores ? warmPool : warm));
    await pool.close();
  }
  const single = await FaceGenerator.load(undefined, { ep: "wasm" });
  for (const b of values.quick ? [1, 16] : [1, 4, 16, 32]) {
    add("wasm", 0, b, await measure(single, b, 1, secs, 3));
  }
  await single.close();
  const probe = await probeWebGpu();
  if (probe.available && probe.software && !values.webgpu) {
    console.error(
      `  webgpu: skipped (software adapter: ${probe.description}; --webgpu measures it, ~300 ms/img)`,
    );
  } else if (probe.available) {
    const gpu = await FaceGenerator.load(undefined, { ep: "webgpu" });
    add("webgpu", 0, 16, await measure(gpu, 16, 1, secs, 1));
    await gpu.close();
    console.error(`  (webgpu adapter: ${probe.description}${probe.software ? ", software" : ""})`);
  } else console.error(`  webgpu: skipped (${probe.description})`);
  const base = rows.find((r) => r.ep === "wasm" && r.workers === 0 && r.batch === 1)!;
  const best = rows.reduce((a, b) => (b.imagesPerS > a.imagesPerS ? b : a));
  console.error(
    `best: ${
      best.imagesPerS.toFixed(1)
    } img/s (${best.ep}, ${best.workers} workers, batch ${best.batch}) = ${
      (best.imagesPerS / base.imagesPerS).toFixed(2)
    }× the single-session batch-1 baseline`,
  );
  if (values.json) {
    console.log(
      JSON.stringify({
        images_per_s: +best.imagesPerS.toFixed(1),
        ep: best.ep,
        workers: best.workers,
        batch: best.batch,
        rows,
      }),
    );
  }
}

if (import.meta.main) await main(Deno.args);
