/**
 * `deno task bench webgpu`: the WebGPU kernels alone, run by `recognition/autodiff/webgpu/
 * gpu_check.sh` on a GPU host (`deno task bench autodiff` is another bench: whole training steps
 * per backend). GEMM GFLOP/s (512³, 1024³ by default) and the
 * convolution kernels of the reference CNN (4× conv3×3 32/64/128/256 ch, strides 1/2/2/2, batch
 * 32 of 3×64×64: forward + input grad + weight grad) as images/s, each timed as whole batches
 * (one queue submission per repetition set, one wait). A baseline backend (e.g. cpu), when
 * given, runs the same GEMMs in the same process for the ratio.
 *
 * `deno task bench webgpu [--json] [--sizes 512,1024] [--no-cpu] [--no-conv] [--profile] [--tune]
 * [--min-seconds 0.5]`, or `deno run -A tasks/bench_webgpu.ts …` (as gpu_check.sh does).
 * @module
 */

import { exitUsage, parseCliArgs } from "../data/mod.ts";
import {
  type Backend,
  type ConvSpec,
  createWebgpuBackend,
  type Tuning,
  type WebgpuBackend,
} from "../recognition/autodiff/webgpu/mod.ts";
import { gemmSpec, withConvOutput } from "../recognition/autodiff/mod.ts";

/** Options of {@link benchWebgpu}. */
export interface WebgpuBenchOptions {
  /** Square GEMM sizes (default [512, 1024]). */
  gemmSizes?: number[];
  /** Time the same GEMMs on this backend for a ratio (not disposed here). */
  baseline?: Backend;
  /** Skip the conv-kernel step (default false). */
  skipConv?: boolean;
  /** Seconds each measurement should run for at least (default 0.5). */
  minSeconds?: number;
  /** Batch of the conv step (default 32, as the reference CNN). */
  convBatch?: number;
  /** Print GPU time per kernel of one conv step (timestamp queries). */
  profile?: boolean;
  /** Also time these GEMM tile shapes (largest GEMM size + conv step) to fill the tuning table. */
  tune?: Tuning["gemm"][];
}

/** Tile shapes tried by `--tune` (threads wx×wy, each (4·rm)×(4·rn) outputs). */
export const TUNE_CANDIDATES: Tuning["gemm"][] = [
  { wx: 16, wy: 16, rm: 2, rn: 2, shared: true, sharedConv: true, bk: 16 },
  { wx: 16, wy: 16, rm: 2, rn: 2, shared: true, sharedConv: true, bk: 8 },
  { wx: 16, wy: 8, rm: 2, rn: 2, shared: true, sharedConv: true, bk: 16 },
  { wx: 16, wy: 16, rm: 1, rn: 1, shared: true, sharedConv: true, bk: 16 },
  { wx: 16, wy: 16, rm: 2, rn: 2 },
  { wx: 16, wy: 16, rm: 1, rn: 1 },
  { wx: 16, wy: 8, rm: 2, rn: 2 },
  { wx: 8, wy: 8, rm: 2, rn: 2 },
  { wx: 32, wy: 8, rm: 1, rn: 2 },
  { wx: 8, wy: 4, rm: 4, rn: 2 },
];

/** Figures of {@link benchWebgpu}; `json` holds the keys for the bench's JSON line. */
export interface WebgpuBenchResult {
  adapter: string;
  json: Record<string, number | string | null>;
}

/** Time `step` (which records work) until ≥ minSeconds; returns seconds per call. */
async function timeIt(be: Backend, step: () => void, minSeconds: number): Promise<number> {
  step(); // warm-up: compiles pipelines, fills the buffer pool
  await be.flush();
  for (let reps = 1;; reps *= 2) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) step();
    await be.flush();
    const s = (performance.now() - t0) / 1000;
    if (s >= minSeconds || reps >= 1024) return s / reps;
  }
}

/** GFLOP/s of an n³ GEMM on `be` (random operands). */
export async function gemmGflops(be: Backend, n: number, minSeconds = 0.5): Promise<number> {
  const a = be.alloc(n * n), b = be.alloc(n * n), c = be.alloc(n * n);
  const data = new Float32Array(n * n).map((_, i) => Math.sin(i));
  be.upload(a, data);
  be.upload(b, data);
  const spec = gemmSpec(n, n, n);
  const s = await timeIt(be, () => be.matmul(a, b, c, spec), minSeconds);
  [a, b, c].forEach((x) => be.free(x));
  return 2 * n ** 3 / s / 1e9;
}

/** The reference CNN's convolutions (batch `n`). */
export function referenceConvs(n = 32): ConvSpec[] {
  const layers = [[3, 32, 64, 1], [32, 64, 64, 2], [64, 128, 32, 2], [128, 256, 16, 2]];
  return layers.map(([cIn, cOut, hw, s]) =>
    withConvOutput({
      n,
      cIn,
      h: hw,
      w: hw,
      cOut,
      kh: 3,
      kw: 3,
      strideH: s,
      strideW: s,
      padH: 1,
      padW: 1,
    })
  );
}

/** Images/s of the reference CNN's conv kernels, forward + backward (no dx for layer 1). */
export async function convImagesPerSecond(
  be: Backend,
  n = 32,
  minSeconds = 0.5,
  log?: (line: string) => void,
): Promise<number> {
  const specs = referenceConvs(n);
  const bufs = specs.map((s) => {
    const x = be.alloc(s.n * s.cIn * s.h * s.w), w = be.alloc(s.cOut * s.cIn * 9);
    const y = be.alloc(s.n * s.cOut * s.outH * s.outW), bias = be.alloc(s.cOut);
    const dx = be.alloc(s.n * s.cIn * s.h * s.w), dw = be.alloc(s.cOut * s.cIn * 9);
    const db = be.alloc(s.cOut);
    be.upload(x, new Float32Array(x.size).map((_, i) => Math.sin(i)));
    be.upload(w, new Float32Array(w.size).map((_, i) => Math.cos(i) * 0.1));
    return { x, w, y, bias, dx, dw, db };
  });
  const step = () => {
    specs.forEach((s, i) => be.conv2d(bufs[i].x, bufs[i].w, bufs[i].bias, bufs[i].y, s));
    for (let i = specs.length - 1; i >= 0; i--) {
      const b = bufs[i];
      // dy is y itself: the values do not matter for timing.
      if (i > 0) be.conv2dBackwardInput(b.y, b.w, b.dx, specs[i]);
      be.conv2dBackwardWeight(b.x, b.y, b.dw, b.db, specs[i]);
    }
  };
  const s = await timeIt(be, step, minSeconds);
  const gpu = be as Partial<WebgpuBackend>;
  if (log && gpu.startProfile?.()) {
    step();
    const t = await gpu.stopProfile!();
    const total = Object.values(t).reduce((a, e) => a + e.ms, 0);
    log(`webgpu: one conv step, GPU time per kernel (total ${total.toFixed(2)} ms):`);
    for (const [k, e] of Object.entries(t).sort((a, b) => b[1].ms - a[1].ms)) {
      log(`  ${e.ms.toFixed(3).padStart(10)} ms ${String(e.count).padStart(4)}× ${k}`);
    }
  }
  for (const b of bufs) Object.values(b).forEach((x) => be.free(x));
  return n / s;
}

/**
 * Run the webgpu benchmark; resolves to null (after printing why) when there is no adapter.
 *
 * @example
 * ```ts
 * const r = await benchWebgpu({ gemmSizes: [64], skipConv: true, minSeconds: 0 });
 * console.log(r?.json);
 * ```
 */
export async function benchWebgpu(
  opts: WebgpuBenchOptions = {},
): Promise<WebgpuBenchResult | null> {
  const log = console.log;
  const be = await createWebgpuBackend();
  if (!be) {
    log("webgpu: skipped (navigator.gpu.requestAdapter() returned no adapter)");
    return null;
  }
  const min = opts.minSeconds ?? 0.5, convBatch = opts.convBatch ?? 32;
  const json: Record<string, number | string | null> = { webgpu_adapter: be.info };
  try {
    log(`webgpu: ${be.info}`);
    for (const n of opts.gemmSizes ?? [512, 1024]) {
      const g = await gemmGflops(be, n, min);
      const key = n === 512 ? "gemm_gflops_webgpu" : `gemm${n}_gflops_webgpu`;
      json[key] = round(g);
      let line = `webgpu: GEMM ${n}³ ${g.toFixed(2)} GFLOP/s`;
      if (opts.baseline) {
        const c = await gemmGflops(opts.baseline, n, min);
        json[key.replace("webgpu", opts.baseline.name)] = round(c);
        const name = opts.baseline.name;
        line += `; ${name} ${c.toFixed(2)} GFLOP/s; webgpu/${name} ${(g / c).toFixed(2)}×`;
      }
      log(line);
    }
    if (!opts.skipConv) {
      const ips = await convImagesPerSecond(be, convBatch, min, opts.profile ? log : undefined);
      json.conv_images_per_s_webgpu = round(ips);
      log(
        `webgpu: reference-CNN conv kernels (fwd+dx+dw, batch ${convBatch} of 3×64×64) ` +
          `${ips.toFixed(2)} images/s (${(ips * 11.6 / 32).toFixed(2)} GFLOP/s)`,
      );
    }
    if (opts.tune?.length) {
      const n = Math.max(...(opts.gemmSizes ?? [1024]));
      const inUse = JSON.stringify(be.tuning.gemm);
      log(`webgpu: tile sweep (GEMM ${n}³ GFLOP/s, conv step images/s); in use: ${inUse}`);
      for (const gemm of opts.tune) {
        const t = await createWebgpuBackend({ tuning: { ...be.tuning, gemm } });
        if (!t) break;
        try {
          const g = await gemmGflops(t, n, min);
          const c = opts.skipConv ? NaN : await convImagesPerSecond(t, convBatch, min);
          log(`  ${JSON.stringify(gemm)}: GEMM ${g.toFixed(1)}, conv ${c.toFixed(1)}`);
        } catch (e) {
          log(`  ${JSON.stringify(gemm)}: failed (${(e as Error).message})`);
        } finally {
          t.dispose();
        }
      }
    }
    const mem = (be as WebgpuBackend).memory;
    json.webgpu_peak_mib = round(mem.peakLiveBytes / 2 ** 20);
    const { pipelinesCompiled, submits } = be as WebgpuBackend;
    log(
      `webgpu: peak pooled GPU memory ${(mem.peakLiveBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${pipelinesCompiled} pipelines, ${submits} submits`,
    );
  } finally {
    be.dispose();
  }
  return { adapter: be.info, json };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The command line: figures on stdout, with `--json` one JSON line at the end. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      sizes: { type: "string", default: "512,1024" },
      "no-cpu": { type: "boolean", default: false },
      "no-conv": { type: "boolean", default: false },
      "min-seconds": { type: "string", default: "0.5" },
      profile: { type: "boolean", default: false },
      tune: { type: "boolean", default: false },
      "conv-batch": { type: "string", default: "32" },
    },
  }, exitUsage("webgpu bench"));
  let baseline: Backend | undefined;
  if (!values["no-cpu"]) {
    try {
      // loaded only when wanted: gpu_check.sh runs this with --no-cpu on a bare GPU host
      const { CpuBackend } = await import("../recognition/autodiff/mod.ts");
      baseline = await CpuBackend.create();
    } catch (e) {
      console.log(`cpu baseline: skipped (${(e as Error).message})`);
    }
  }
  const r = await benchWebgpu({
    gemmSizes: values.sizes.split(",").map(Number),
    baseline,
    skipConv: values["no-conv"],
    minSeconds: Number(values["min-seconds"]),
    profile: values.profile,
    convBatch: Number(values["conv-batch"]),
    tune: values.tune ? TUNE_CANDIDATES : undefined,
  });
  baseline?.dispose();
  if (values.json) console.log(JSON.stringify(r?.json ?? { webgpu_adapter: null }));
}

if (import.meta.main) await main(Deno.args);
