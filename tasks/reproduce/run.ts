/**
 * The stage runner: walks the resolved plan in dependency order, skips finished stages,
 * resumes partial ones, runs the rest through a table of stage functions (one per node kind),
 * and prints one line per stage with the ETA of the whole plan on stderr.
 */
import { type Ep, formatDuration } from "../../data/mod.ts";
import {
  generatorName,
  isPartial,
  readDone,
  type ResolvedPlan,
  type Stage,
  writeDone,
} from "./cache.ts";
import type { NodeKind } from "./plan_schema.ts";
import { trainWallFactor } from "./estimate.ts";

/**
 * Thrown by a stage whose module is not available (not built yet, or lacking an API): the
 * stage and everything after it report "needs X" instead of a number.
 */
export class NeedsError extends Error {
  constructor(readonly needs: string, detail?: string) {
    super(detail ? `needs ${needs}: ${detail}` : `needs ${needs}`);
    this.name = "NeedsError";
  }
}

/** Paths of the optional real inputs (absent when not given). */
export interface RunInputs {
  real?: string;
  lfwPairs?: string;
  lfwImages?: string;
  valPairs?: string;
  valImages?: string;
  /** The generator manifest to load (`--model`, resolved); absent: the embedded default. */
  model?: string;
}

/** Which compute backend training and embedding use. */
export type BackendChoice = "auto" | "cpu" | "webgpu";

/** Everything a stage function gets. */
export interface StageContext {
  stage: Stage;
  /** `--out`. */
  out: string;
  /** The stage's own folder (`<out>/<stage.dir>`), created before the call. */
  dir: string;
  /** The stages it reads, by local reference name: their stage and folder. */
  deps: Record<string, { stage: Stage; dir: string }>;
  /** True when the folder held unfinished work from an earlier attempt: continue it. */
  resume: boolean;
  inputs: RunInputs;
  backend: BackendChoice;
  workers: number;
  /** Execution provider of the ONNX models (generator, embedders); part of their stage keys. */
  ep?: Ep;
  /**
   * Set when training runs side by side (`--jobs` above 1 on the cpu backend): this stage runs
   * its training in a process of its own with this many CPU threads.
   */
  threads?: number;
  /** Report progress within the stage (fraction 0…1). */
  progress(fraction: number, note?: string): void;
}

/** A stage function: does the work into `ctx.dir`; its return value is kept in `done.json`. */
export type StageFn = (ctx: StageContext) => Promise<unknown>;
/** One stage function per node kind. */
export type StageImpls = Record<NodeKind, StageFn>;

/** How a stage ended. */
export type StageStatus =
  | "done" // ran now
  | "cached" // finished earlier
  | "failed" // threw
  | "needs-module" // its module is not available (NeedsError)
  | "needs-input" // a command-line input is missing (--real, --lfw-…)
  | "blocked"; // a stage it reads did not finish

/** The outcome of one stage. */
export interface StageOutcome {
  stage: Stage;
  status: StageStatus;
  /** Wall seconds of the run that produced it (from `done.json` when cached). */
  wallS: number;
  /** Why it has no result (for the report's cells). */
  message?: string;
  result?: unknown;
}

/** Options of `runPlan`. */
export interface RunOptions {
  out: string;
  inputs?: RunInputs;
  backend?: BackendChoice;
  workers?: number;
  /** Execution provider of the ONNX models (as resolved into the stage keys). */
  ep?: Ep;
  /**
   * Training stages that may run at once, each in a process of its own (default 1: every stage
   * in turn, in this process). Other stages run one at a time beside them.
   */
  jobs?: number;
  /** CPU threads of each side-by-side training (`StageContext.threads`); absent: 1. */
  threadsPerJob?: number;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** True for outcomes that hold a result. */
export function finished(o: StageOutcome): boolean {
  return o.status === "done" || o.status === "cached";
}

/** Run (or skip) every stage of the plan; never throws for a stage's failure. */
export async function runPlan(
  resolved: ResolvedPlan,
  impls: StageImpls,
  options: RunOptions,
): Promise<StageOutcome[]> {
  const { out } = options;
  const log = options.log ?? ((l: string) => console.error(l));
  const now = options.now ?? (() => performance.now());
  const byHash = new Map(resolved.stages.map((s) => [s.hash, s]));
  const outcomes = new Map<string, StageOutcome>();
  const total = resolved.stages.length;
  const t0 = now();
  // The ETA scales what is left by how fast this machine has been so far, separately for
  // generation, training and embedding (their speeds differ by orders of magnitude).
  const group = (k: NodeKind) =>
    k === "train" ? "train" : ["eval", "features", "realism"].includes(k) ? "embed" : "generate";
  const ranEstimate = { generate: 0, train: 0, embed: 0 };
  const ranActual = { generate: 0, train: 0, embed: 0 };
  const remaining = { generate: 0, train: 0, embed: 0 };
  for (const st of resolved.stages) if (!st.needs.length) remaining[group(st.kind)] += st.estimateS;
  const width = String(total).length;

  const jobs = Math.max(1, options.jobs ?? 1);
  const trainFactor = trainWallFactor(resolved.plan.preset, jobs);
  let completed = 0;
  /** Record a stage's outcome and print its line with the plan's ETA. */
  const settle = (stage: Stage, o: StageOutcome) => {
    outcomes.set(stage.hash, o);
    const mine = group(stage.kind);
    if (!stage.needs.length) remaining[mine] -= stage.estimateS;
    if (o.status === "done") {
      // A side-by-side run takes `jobs × factor` times the estimate of a run alone.
      ranEstimate[mine] += stage.estimateS * (stage.kind === "train" ? jobs * trainFactor : 1);
      ranActual[mine] += o.wallS;
    }
    let eta = 0;
    for (const g of ["generate", "train", "embed"] as const) {
      const speed = ranEstimate[g] > 0 ? ranActual[g] / ranEstimate[g] : 1;
      eta += Math.max(0, remaining[g]) * speed * (g === "train" ? trainFactor : 1);
    }
    const what = finished(o)
      ? `${o.status} in ${formatDuration(o.wallS)}`
      : `${o.status}${o.message ? `: ${o.message}` : ""}`;
    const n = String(++completed).padStart(width);
    const elapsed = formatDuration((now() - t0) / 1000);
    log(
      `reproduce [${n}/${total}] ${stage.kind} ${stage.label} (${stage.dir}) ${what} · ` +
        `elapsed ${elapsed} · ETA ${formatDuration(eta)}`,
    );
  };

  // In plan order, start every stage whose inputs are settled while there is room: up to `jobs`
  // trainings in processes of their own, and one stage at a time in this process (generation,
  // evaluation and in-process training share its main thread and globals).
  const pending = [...resolved.stages];
  const running = new Set<Promise<void>>();
  const busy = { own: 0, main: 0 }; // stages running in processes of their own; in this one
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length; i++) {
      const stage = pending[i];
      if (!Object.values(stage.deps).every((h) => outcomes.has(h))) continue;
      const where = jobs > 1 && stage.kind === "train" ? "own" : "main";
      if (busy[where] >= (where === "own" ? jobs : 1)) continue;
      pending.splice(i--, 1);
      busy[where]++;
      const p: Promise<void> = runOne(stage, where === "own").then((o) => {
        busy[where]--;
        running.delete(p);
        settle(stage, o);
      });
      running.add(p);
    }
    if (running.size === 0) {
      throw new Error(`reproduce: no stage can start (${pending[0].label} waits for inputs)`);
    }
    await Promise.race(running);
  }
  return resolved.stages.map((s) => outcomes.get(s.hash)!);

  async function runOne(stage: Stage, ownProcess: boolean): Promise<StageOutcome> {
    if (stage.needs.length > 0) {
      return { stage, status: "needs-input", wallS: 0, message: `needs ${stage.needs.join(", ")}` };
    }
    for (const h of Object.values(stage.deps)) {
      const dep = outcomes.get(h)!;
      if (!finished(dep)) {
        const why =
          dep.status === "blocked" || dep.status === "needs-module" || dep.status === "needs-input"
            ? dep.message
            : `${dep.stage.label} failed: ${dep.message}`;
        return { stage, status: "blocked", wallS: 0, message: why };
      }
    }
    const done = await readDone(out, stage);
    if (done) return { stage, status: "cached", wallS: done.wall_s, result: done.result };
    const resume = await isPartial(out, stage);
    const dir = `${out}/${stage.dir}`;
    await Deno.mkdir(dir, { recursive: true });
    const deps = Object.fromEntries(
      Object.entries(stage.deps).map(([ref, h]) => {
        const s = byHash.get(h)!;
        return [ref, { stage: s, dir: `${out}/${s.dir}` }];
      }),
    );
    const started = new Date();
    const s0 = now();
    let lastProgress = s0;
    try {
      const result = await impls[stage.kind]({
        stage,
        out,
        dir,
        deps,
        resume,
        inputs: options.inputs ?? {},
        backend: options.backend ?? "auto",
        workers: options.workers ?? 1,
        ...(options.ep ? { ep: options.ep } : {}),
        ...(ownProcess ? { threads: options.threadsPerJob ?? 1 } : {}),
        progress: (fraction, note) => {
          // Long stages report within themselves at most every 30 seconds.
          const t = now();
          if (t - lastProgress < 30_000) return;
          lastProgress = t;
          const el = (t - s0) / 1000;
          const left = fraction > 0 ? el * (1 - fraction) / fraction : NaN;
          log(
            `reproduce   … ${stage.kind} ${stage.label} ${(100 * fraction).toFixed(0)}%` +
              `${note ? ` (${note})` : ""} · stage ETA ${formatDuration(left)}`,
          );
        },
      });
      const wallS = (now() - s0) / 1000;
      const { hash, kind, label, key } = stage;
      const times = { started_at: started.toISOString(), finished_at: new Date().toISOString() };
      await writeDone(out, { hash, kind, label, key, ...times, wall_s: wallS, result });
      return { stage, status: "done", wallS, result };
    } catch (e) {
      const wallS = (now() - s0) / 1000;
      if (e instanceof NeedsError) {
        // Nothing was started: leave no folder behind, so the next run is not a "resume".
        await Deno.remove(dir).catch(() => {});
        return { stage, status: "needs-module", wallS, message: e.message };
      }
      const msg = e instanceof Error ? e.message : String(e);
      return { stage, status: "failed", wallS, message: msg.split("\n")[0] };
    }
  }
}

/**
 * The `--dry-run` listing: every stage with its estimate (of a run alone on the machine) and the
 * plan's total wall time with `jobs` trainings side by side.
 */
export function describePlan(resolved: ResolvedPlan, jobs = 1): string {
  const p = resolved.plan.preset;
  const lines = [
    `preset ${p.name}: ${p.description}${p.meaningless ? " (numbers meaningless)" : ""}`,
    `experiments: ${resolved.plan.experiments.map((e) => e.name).join(", ")}`,
    ...(resolved.generator ? [`generator: ${generatorName(resolved.generator)}`] : []),
    `assumed throughput: generate ${p.estimate.generateImgPerS} img/s, train ${p.estimate.trainImgPerS} img/s, ` +
    `embed ${p.estimate.embedImgPerS} img/s (${p.estimate.note})`,
    "",
  ];
  const factor = trainWallFactor(p, jobs);
  let total = 0;
  for (const s of resolved.stages) {
    total += s.needs.length ? 0 : s.estimateS * (s.kind === "train" ? factor : 1);
    const shared = s.uses.length > 1 ? ` (shared by ${s.uses.length})` : "";
    const needs = s.needs.length ? ` — skipped: needs ${s.needs.join(", ")}` : "";
    lines.push(
      `${s.kind.padEnd(12)} ${s.label.padEnd(40)} ${s.dir}  ~${formatDuration(s.estimateS)}` +
        `  ${summary(s)}${shared}${needs}`,
    );
  }
  const runnable = resolved.stages.filter((s) => !s.needs.length).length;
  lines.push(
    "",
    `${resolved.stages.length} stages (${runnable} runnable), estimated ${formatDuration(total)}` +
      (jobs > 1
        ? ` with ${jobs} trainings side by side (${p.estimate.trainImgPerSPerJob} img/s each)`
        : ""),
  );
  return lines.join("\n");
}

/** One-phrase summary of a stage's config. */
export function summary(s: Stage): string {
  const n = s.node;
  switch (n.kind) {
    case "dataset": {
      const c = n.config;
      const im = c.identityMixup ? ` +IM${c.phiMin ? ` φ≥${c.phiMin}` : ""}` : "";
      return `${c.ids}×${c.perId}${im} vary=${c.vary} ${c.longTail}`;
    }
    case "verification":
      return `${n.config.folds} folds × ${n.config.pairsPerFold}+${n.config.pairsPerFold} pairs`;
    case "train": {
      const c = n.config;
      const real = c.real ? ` real ${c.real.ids}×${c.real.perId}${c.domainMixup ? " DM" : ""}` : "";
      return `${c.arch} ${c.loss} ${c.epochs} ep${real}`;
    }
    case "eval":
      return n.config.test.kind === "lfw" ? "on LFW" : "on synthetic test";
    case "features":
      return `${n.config.sets.length} sets × ${n.config.ids} ids`;
    case "preview":
      return `${n.config.ids} ids × ${n.config.variations}`;
    case "realism":
      return `realism meter of ${n.config.generator}, n ${n.config.n}`;
  }
}
