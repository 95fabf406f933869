/**
 * `deno task bench autodiff [--json] [--steps N] [--rounds R] [--backends cpu,webgpu] [--no-torch]
 *   [--nets cnn,ir] [--profile] [--profile-layers]`
 *
 * Per backend: GEMM GFLOP/s at 512³ and 1024³, and training-step images/s of the two reference
 * nets (`bench_autodiff_nets.ts`): (a) small CNN + CosFace at 3×64×64, (b) ir10_half + ArcFace
 * at 3×112×96, batch 32. Then the same nets in PyTorch-CPU (2 threads, `/usr/bin/python3`,
 * `bench_autodiff_torch.py`; skipped with a message when torch is missing) and the ratios.
 * Step figures are the fastest of N timed steps after 2 warm-up steps (median also printed, and
 * a ratio of medians beside the ratio of the fastest steps):
 * the machine may be shared, and the minimum is the least disturbed estimate; both peers are
 * measured the same way. Images per CPU-second (process CPU time of the fastest-CPU step, all
 * threads) is printed too: under contention it moves less than wall time (PyTorch's OpenMP
 * threads spin while waiting, which counts against it there; our workers sleep). Peak memory: the CPU backend's wasm heap high-water mark and the
 * process RSS.
 * With `--json` the last line is one JSON object.
 * `--profile` instead times every kernel call of N steps per net (`cpu/profile.ts`) and prints
 * the share of the step per kernel family and pass (forward, backward, update), and with
 * `--profile-layers` per layer too; no PyTorch peer then.
 */
import process from "node:process";
import { exitUsage, parseCliArgs, Rng } from "../data/mod.ts";
import * as ag from "../recognition/autodiff/mod.ts";
import { buildNet, trainStep } from "./bench_autodiff_nets.ts";
import { gemmGflops } from "./bench_webgpu.ts";
import {
  formatRows,
  labelLayers,
  profileBackend,
  summarize,
} from "../recognition/autodiff/cpu/profile.ts";

const BATCH = 32;

/**
 * Images/s of the fastest and of the median step, and images per CPU-second (all threads) of the
 * step that used the least CPU time.
 */
async function netImagesPerS(
  name: "cnn" | "ir",
  steps: number,
): Promise<{ wall: number; median: number; cpu: number }> {
  const { net, opt, x, labels, targets, dispose } = await setupNet(name);
  const be = x.backend;
  let loss = 0;
  // Time each step; report the fastest (the machine is shared: the minimum is the least
  // disturbed estimate) and the median.
  const times: number[] = [];
  let cpuBest = Infinity;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    const l = trainStep(net, opt, x, labels, targets);
    if (i === steps - 1) loss = await l.item();
    await be.flush();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpuBest = Math.min(cpuBest, (c.user + c.system) / 1e6);
    l.dispose();
  }
  times.sort((a, b) => a - b);
  const dt = times[0], med = times[Math.floor(times.length / 2)];
  console.error(
    `  ${name}: best ${(dt * 1000).toFixed(0)} ms/step = ${(BATCH / dt).toFixed(1)} images/s` +
      ` (median ${(BATCH / med).toFixed(1)}; ${(BATCH / cpuBest).toFixed(1)} images/CPU-s),` +
      ` loss ${loss.toFixed(3)}`,
  );
  if (!Number.isFinite(loss)) throw new Error(`bench ${name}: loss is ${loss}`);
  dispose();
  return { wall: BATCH / dt, median: BATCH / med, cpu: BATCH / cpuBest };
}

/** Net `name` on the current backend, its optimizer and a fixed batch, after 2 warm-up steps. */
async function setupNet(name: "cnn" | "ir") {
  const net = buildNet(name);
  const opt = new ag.SGD([...net.model.parameters(), net.head], {
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 5e-4,
  });
  const rng = Rng.fromSeed(3);
  const [c, h, w] = net.input;
  const x = ag.keep(ag.randn([BATCH, c, h, w], rng));
  const ys = Array.from({ length: BATCH }, () => rng.int(net.classes));
  const labels = ag.keep(ag.tensor(ys, [BATCH]));
  const targets = ag.keep(ag.oneHot(ys, net.classes));
  for (let i = 0; i < 2; i++) {
    const l = trainStep(net, opt, x, labels, targets);
    await l.item();
    l.dispose();
  }
  const dispose = () => {
    [x, labels, targets].forEach((t) => t.dispose());
    net.model.dispose();
    net.head.dispose();
    opt.dispose();
  };
  return { net, opt, x, labels, targets, dispose };
}

/**
 * `--profile`: `steps` training steps of net `name` with every kernel call timed (see
 * `cpu/profile.ts`); prints the share of the step per kernel family and pass, and with
 * `byLayer` per layer; returns the rows by family for the JSON line.
 */
async function profileNet(
  be: ag.Backend,
  name: "cnn" | "ir",
  steps: number,
  byLayer: boolean,
): Promise<Record<string, number>> {
  const prof = profileBackend(be);
  ag.useBackend(prof.backend);
  try {
    const { net, opt, x, labels, targets, dispose } = await setupNet(name);
    const undo = labelLayers(net.model);
    prof.reset();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const l = trainStep(net, opt, x, labels, targets);
      await l.item();
      l.dispose();
    }
    const stepMs = (performance.now() - t0) / steps;
    undo();
    dispose();
    const cells = prof.cells();
    const byFamily = summarize(cells, steps, stepMs, (c) => `${c.pass} ${c.family}`);
    console.error(`\nprofile ${name}: ${stepMs.toFixed(0)} ms/step (mean of ${steps} steps)`);
    console.error(formatRows("pass", summarize(cells, steps, stepMs, (c) => c.pass), 0));
    console.error(formatRows("pass kernel", byFamily));
    if (byLayer) {
      console.error(
        formatRows(
          "layer pass",
          summarize(cells, steps, stepMs, (c) => `${c.layer || "(outside modules)"} ${c.pass}`),
        ),
      );
    }
    return Object.fromEntries(byFamily.map((r) => [r.key, +r.share.toFixed(4)]));
  } finally {
    ag.useBackend(be);
  }
}

interface TorchResult {
  torch_cnn_images_per_s: number;
  torch_ir_images_per_s: number;
  torch_cnn_images_per_cpu_s: number;
  torch_ir_images_per_cpu_s: number;
  torch_cnn_images_per_s_median: number;
  torch_ir_images_per_s_median: number;
  torch_gemm_gflops_1024: number;
  torch_peak_rss_mib: number;
  torch_version: string;
  torch_blas: string;
}

/**
 * Debian's python3-torch links the reference BLAS (~1–2 GFLOP/s matmul; its convolutions use
 * oneDNN). When Debian's OpenBLAS is installed (`apt-get install libopenblas0-pthread`) the peer
 * runs with it through LD_LIBRARY_PATH, a stronger and fairer baseline; `torch_blas` says which.
 */
const OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread";

async function runTorch(steps: number): Promise<TorchResult | string> {
  const script = new URL("./bench_autodiff_torch.py", import.meta.url);
  let blas = "system (reference BLAS on Debian)";
  const env: Record<string, string> = { OMP_NUM_THREADS: "2", OPENBLAS_NUM_THREADS: "2" };
  try {
    Deno.statSync(`${OPENBLAS_DIR}/libblas.so.3`);
    env.LD_LIBRARY_PATH = OPENBLAS_DIR;
    blas = "OpenBLAS (pthread)";
  } catch {
    // keep the system BLAS
  }
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [script.pathname, "--steps", String(steps), "--batch", String(BATCH)],
      stdout: "piped",
      stderr: "inherit",
      env,
    }).output();
    if (out.code === 3) return "PyTorch is not installed (apt-get install -y python3-torch)";
    if (!out.success) return `PyTorch peer failed (exit ${out.code})`;
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return { ...JSON.parse(lines[lines.length - 1]), torch_blas: blas } as TorchResult;
  } catch (e) {
    return `PyTorch peer not runnable: ${e instanceof Error ? e.message : e}`;
  }
}

/** Entry point for `deno task bench autodiff`. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      steps: { type: "string", default: "5" },
      backends: { type: "string" },
      "no-torch": { type: "boolean", default: false },
      rounds: { type: "string", default: "1" },
      nets: { type: "string", default: "cnn,ir" },
      profile: { type: "boolean", default: false },
      "profile-layers": { type: "boolean", default: false },
    },
  }, exitUsage("bench autodiff"));
  const rounds = Math.max(1, Number(values.rounds));
  const steps = Number(values.steps);
  const nets = values.nets.split(",");
  for (const n of nets) {
    if (n !== "cnn" && n !== "ir") throw new Error(`bench autodiff --nets: unknown net "${n}"`);
  }
  if (values.profile || values["profile-layers"]) {
    const be = await ag.selectBackend(values.backends?.split(",")[0] as ag.BackendKind ?? "cpu");
    if (be instanceof ag.CpuBackend) await be.warmup();
    console.error(`backend ${be.name}: ${be.info}; load average ${Deno.loadavg().join(" ")}`);
    const out: Record<string, unknown> = {};
    for (const n of nets as ("cnn" | "ir")[]) {
      out[`profile_${n}`] = await profileNet(be, n, steps, values["profile-layers"]);
    }
    be.dispose();
    if (values.json) console.log(JSON.stringify(out));
    return;
  }
  const kinds = values.backends
    ? values.backends.split(",") as ag.BackendKind[]
    : (await ag.hasHardwareGpu() ? ["cpu", "webgpu"] : ["cpu"]) as ag.BackendKind[];
  const result: Record<string, number | string | null> = {
    gemm_gflops_cpu: null,
    gemm_gflops_cpu_512: null,
    cnn_images_per_s_cpu: null,
    ir_images_per_s_cpu: null,
    torch_cnn_images_per_s: null,
    torch_ir_images_per_s: null,
  };
  // With --rounds R, ours and the PyTorch peer alternate R times (best of each), so a load
  // change on a shared machine hits both sides alike.
  const torchRounds: (TorchResult | string)[] = [];
  for (const kind of kinds) {
    const be = await ag.selectBackend(kind);
    ag.useBackend(be);
    if (be instanceof ag.CpuBackend) await be.warmup();
    console.error(`backend ${be.name}: ${be.info}`);
    const g512 = await gemmGflops(be, 512), g1024 = await gemmGflops(be, 1024);
    console.error(`  GEMM: 512³ ${g512.toFixed(1)} GFLOP/s, 1024³ ${g1024.toFixed(1)} GFLOP/s`);
    result[`gemm_gflops_${be.name}`] = +g1024.toFixed(2);
    result[`gemm_gflops_${be.name}_512`] = +g512.toFixed(2);
    for (let r = 0; r < rounds; r++) {
      const best = (k: string, v: number) =>
        result[k] = Math.max(Number(result[k] ?? 0), +v.toFixed(2));
      for (const n of nets as ("cnn" | "ir")[]) {
        const r = await netImagesPerS(n, n === "cnn" ? steps : Math.max(2, steps - 2));
        best(`${n}_images_per_s_${be.name}`, r.wall);
        best(`${n}_images_per_s_median_${be.name}`, r.median);
        best(`${n}_images_per_cpu_s_${be.name}`, r.cpu);
      }
      if (rounds > 1 && be.name === "cpu" && !values["no-torch"]) {
        torchRounds.push(await runTorch(steps));
      }
    }
    if (be instanceof ag.CpuBackend) {
      result.peak_wasm_heap_mib = +(be.peakBytes / 1048576).toFixed(1);
      console.error(`  peak wasm heap ${result.peak_wasm_heap_mib} MiB`);
    }
    be.dispose();
  }
  result.peak_rss_mib = +(Deno.memoryUsage().rss / 1048576).toFixed(1);
  if (!values["no-torch"]) {
    console.error("PyTorch-CPU peer (2 threads):");
    if (torchRounds.length === 0) torchRounds.push(await runTorch(steps));
    const ok = torchRounds.filter((t): t is TorchResult => typeof t !== "string");
    // The best of each rate over the rounds; the other fields from the first round.
    const best = (k: keyof TorchResult) => [k, Math.max(...ok.map((r) => r[k] as number))];
    const t = ok.length
      ? {
        ...ok[0],
        ...Object.fromEntries(["cnn", "ir"].flatMap((net) => [
          best(`torch_${net}_images_per_s` as keyof TorchResult),
          best(`torch_${net}_images_per_cpu_s` as keyof TorchResult),
          best(`torch_${net}_images_per_s_median` as keyof TorchResult),
        ])),
      }
      : torchRounds[0];
    if (typeof t === "string") {
      console.error(`  skipped: ${t}`);
      result.torch_skipped = t;
    } else {
      Object.assign(result, t);
      console.error(
        `  torch ${t.torch_version} (${t.torch_blas}): ` +
          `cnn ${t.torch_cnn_images_per_s.toFixed(1)} images/s, ` +
          `ir ${t.torch_ir_images_per_s.toFixed(1)} images/s, ` +
          `GEMM 1024³ ${t.torch_gemm_gflops_1024.toFixed(1)} GFLOP/s, ` +
          `peak RSS ${t.torch_peak_rss_mib} MiB`,
      );
      for (const net of ["cnn", "ir"]) {
        const ours = result[`${net}_images_per_s_cpu`];
        const theirs = t[`torch_${net}_images_per_s` as keyof TorchResult] as number;
        const oursCpu = result[`${net}_images_per_cpu_s_cpu`];
        const theirsCpu = t[`torch_${net}_images_per_cpu_s` as keyof TorchResult] as number;
        const oursMed = result[`${net}_images_per_s_median_cpu`];
        const theirsMed = t[`torch_${net}_images_per_s_median` as keyof TorchResult] as number;
        if (typeof ours === "number" && typeof oursCpu === "number") {
          result[`${net}_ratio_cpu_vs_torch`] = +(ours / theirs).toFixed(3);
          result[`${net}_ratio_per_cpu_s_vs_torch`] = +(oursCpu / theirsCpu).toFixed(3);
          // PyTorch's CNN step is bimodal on some VMs (65 or 150–200 ms, step to step): the
          // fastest steps and the median steps can tell different stories, so both are printed.
          const med = typeof oursMed === "number" && theirsMed > 0 ? oursMed / theirsMed : null;
          if (med !== null) result[`${net}_ratio_median_vs_torch`] = +med.toFixed(3);
          console.error(
            `  ratio ${net}: ours/PyTorch = ${(ours / theirs).toFixed(2)}× images/s (fastest ` +
              `steps), ${med === null ? "?" : med.toFixed(2)}× (median steps), ` +
              `${(oursCpu / theirsCpu).toFixed(2)}× images per CPU-second`,
          );
        }
      }
    }
  }
  console.error(`peak RSS (this process) ${result.peak_rss_mib} MiB`);
  if (values.json) console.log(JSON.stringify(result));
}

if (import.meta.main) await main(Deno.args);
