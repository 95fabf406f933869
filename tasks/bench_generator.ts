/**
 * `deno task bench generator [--json] [--quick]`: images/s of the embedded generator at 112×112
 * by execution provider, batch size, workers and threads, side by side in one process: the wasm
 * pool (one one-thread worker per core, what datasets used before the native EP), one native
 * `node` session with intra-op threads, a pool of one-thread `node` workers, and WebGPU (only on
 * hardware adapters unless `--webgpu`). Ratios: each EP's best against the wasm pool, and
 * against a single wasm session at batch 1.
 */
import { exitUsage, nodeAvailable, parseCliArgs, Rng } from "../data/mod.ts";
import {
  FaceGenerator,
  type Generator,
  GeneratorPool,
  type Latents,
  probeWebGpu,
} from "../generator/mod.ts";

interface Row {
  ep: string;
  /** Pool workers (0 = one in-process session). */
  workers: number;
  /** Intra-op threads per session. */
  threads: number;
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
  const secs = values.quick ? 3 : 8, warmPool = values.quick ? 20 : 60;
  const warm = values.quick ? 6 : 15;
  const cores = navigator.hardwareConcurrency || 1;
  const rows: Row[] = [];
  const add = (ep: string, workers: number, threads: number, batch: number, ips: number) => {
    rows.push({ ep, workers, threads, batch, imagesPerS: ips, msPerImage: 1000 / ips });
    console.error(
      `  ${ep.padEnd(6)} workers=${workers} threads=${threads} batch=${String(batch).padStart(2)}` +
        `  ${ips.toFixed(1).padStart(7)} img/s  ${(1000 / ips).toFixed(1).padStart(6)} ms/img`,
    );
  };
  console.error(`bench generator: embedded model, 112×112, ${cores} cores`);
  for (const w of [...new Set([cores, 1])]) {
    const pool = await GeneratorPool.create(undefined, w);
    add("wasm", w, 1, 32, await measure(pool, 32, w + 1, secs, w === cores ? warmPool : warm));
    await pool.close();
  }
  const single = await FaceGenerator.load(undefined, { ep: "wasm" });
  for (const b of values.quick ? [1, 16] : [1, 4, 16, 32]) {
    add("wasm", 0, 1, b, await measure(single, b, 1, secs, 3));
  }
  await single.close();
  const node = await nodeAvailable();
  if (node.available) {
    for (const t of [...new Set([cores, 1])]) {
      const gen = await FaceGenerator.load(undefined, { ep: "node", threads: t });
      for (const b of t === cores ? (values.quick ? [1, 32] : [1, 8, 32]) : [32]) {
        add("node", 0, t, b, await measure(gen, b, 1, secs, 3));
      }
      await gen.close();
    }
    const pool = await GeneratorPool.create(undefined, cores, "node");
    add("node", cores, 1, 32, await measure(pool, 32, cores + 1, secs, warm));
    await pool.close();
  } else console.error(`  node: skipped (${node.reason})`);
  const probe = await probeWebGpu();
  if (probe.available && probe.software && !values.webgpu) {
    console.error(
      `  webgpu: skipped (software adapter: ${probe.description}; --webgpu measures it, ~300 ms/img)`,
    );
  } else if (probe.available) {
    const gpu = await FaceGenerator.load(undefined, { ep: "webgpu" });
    add("webgpu", 0, 0, 16, await measure(gpu, 16, 1, secs, 1));
    await gpu.close();
    console.error(`  (webgpu adapter: ${probe.description}${probe.software ? ", software" : ""})`);
  } else console.error(`  webgpu: skipped (${probe.description})`);
  const base = rows.find((r) => r.ep === "wasm" && r.workers === 0 && r.batch === 1)!;
  const wasmPool = rows.find((r) => r.ep === "wasm" && r.workers === cores)!;
  const fastest = (rs: Row[]) => rs.reduce((a, b) => (b.imagesPerS > a.imagesPerS ? b : a));
  const best = fastest(rows);
  const byEp: Record<string, Row & { vsWasmPool: number }> = {};
  const describe = (r: Row) =>
    `${r.imagesPerS.toFixed(1)} img/s (${r.workers ? `${r.workers} workers` : "one session"}, ` +
    `${r.threads || "GPU"} thread(s), batch ${r.batch})`;
  for (const ep of [...new Set(rows.map((r) => r.ep))]) {
    const r = fastest(rows.filter((x) => x.ep === ep));
    byEp[ep] = { ...r, vsWasmPool: r.imagesPerS / wasmPool.imagesPerS };
    const ratio = (r.imagesPerS / wasmPool.imagesPerS).toFixed(2);
    console.error(`${ep.padEnd(6)} best: ${describe(r)} = ${ratio}× the wasm pool`);
  }
  const ratio = (best.imagesPerS / base.imagesPerS).toFixed(2);
  console.error(
    `best: ${best.ep} ${describe(best)} = ${ratio}× the single-session batch-1 wasm baseline`,
  );
  if (values.json) {
    console.log(
      JSON.stringify({
        images_per_s: +best.imagesPerS.toFixed(1),
        ep: best.ep,
        workers: best.workers,
        threads: best.threads,
        batch: best.batch,
        wasm_pool_images_per_s: +wasmPool.imagesPerS.toFixed(1),
        by_ep: Object.fromEntries(
          Object.entries(byEp).map(([ep, r]) => [ep, {
            images_per_s: +r.imagesPerS.toFixed(1),
            workers: r.workers,
            threads: r.threads,
            batch: r.batch,
            vs_wasm_pool: +r.vsWasmPool.toFixed(2),
          }]),
        ),
        rows,
      }),
    );
  }
}

if (import.meta.main) await main(Deno.args);
