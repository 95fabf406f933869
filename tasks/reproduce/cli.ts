/**
 * `deno task reproduce`: parse the command line, build and resolve the plan, run it (or print
 * it with `--dry-run`), and write the report.
 */
import {
  EP_CHOICES,
  type EpChoice,
  formatDuration,
  intFlag,
  isEpChoice,
  parseCliArgs,
  resolveEp,
} from "../../data/mod.ts";
import { PairsFormatError, readPairs, view2Reason } from "../../eval/mod.ts";
import { autodiff } from "../../recognition/mod.ts";
import { alignInputs } from "./align_inputs.ts";
import {
  codeFingerprints,
  folderFingerprint,
  type InputFingerprints,
  pairsFingerprint,
  realSliceFingerprint,
  type ResolvedPlan,
  resolvePlan,
  type UsedGenerator,
  usedGenerator,
} from "./cache.ts";
import { buildPlan, parseOnly } from "./plan.ts";
import { type ExperimentName, PRESET_NAMES } from "./plan_schema.ts";
import { resolvePreset } from "./presets.ts";
import { hardwareInfo, markdownTable, writeReport } from "./report.ts";
import { buildReportModel, readEvalResults } from "./report_model.ts";
import {
  type BackendChoice,
  describePlan,
  type RunInputs,
  runPlan,
  type StageImpls,
  type StageOutcome,
} from "./run.ts";

/** Parsed command line of `deno task reproduce`. */
export interface ReproduceOptions {
  preset: string;
  out: string;
  inputs: RunInputs;
  realIds?: number;
  realPerId?: number[];
  only?: ExperimentName[];
  dryRun: boolean;
  backend: BackendChoice;
  workers: number;
  /** `--ep`: execution provider of the ONNX models (generator, embedders); default `auto`. */
  ep?: EpChoice;
  /** `--jobs N`; absent: one per core (at most 4) on the cpu backend, 1 on a GPU. */
  jobs?: number;
  /** `--seeds N`: training runs per cell (the preset's when absent). */
  seeds?: number;
  /**
   * `--redraw-data` / `--no-redraw-data`: each seed after the first trains on its own draw of the
   * synthetic data, or all on the first (absent: the preset's `redrawData`).
   */
  redrawData?: boolean;
  /** `--align`: the real folders are unaligned photos, aligned (and cached) before planning. */
  align?: boolean;
  /** `--model`: the generator manifest of every data stage (absent: the embedded default). */
  model?: string;
  /** `--allow-net-model`: a `--model` whose model is a URL is fetched (once, into out/cache/). */
  allowNetModel?: boolean;
}

/** Usage text. */
export const USAGE = `usage: deno task reproduce [--preset ${PRESET_NAMES.join("|")}] [--out DIR]
  [--real DIR [--real-ids R] [--real-per-id K[,K2]]] [--lfw-pairs FILE --lfw-images DIR]
  [--val-pairs FILE --val-images DIR] [--only table1,table2,table3,fig5,fig6,fig2,fig3]
  [--seeds N [--[no-]redraw-data]] [--dry-run] [--backend auto|cpu|webgpu] [--workers N] [--jobs N] [--align]
  [--ep auto|webgpu|node|wasm] [--model generator.json [--allow-net-model]]

Runs the paper's experiments (generate → train → evaluate) at the preset's size and writes
<out>/report/ (README.md, index.html). Finished work under --out is reused; unfinished runs
continue. Without --real / --lfw-* those cells say "needs --real" / "needs --lfw".
--val-pairs is for model selection (e.g. LFW View 1 pairsDevTrain.txt), never test pairs.
--lfw-images also gives the realism meter its real crops (the report's Realism table: each
generator's synthetic test set vs those, floor --real); a meter only, never used to choose.
--seeds N trains every cell N times (seeds 1…N) and reports their mean ± std over seeds;
with --redraw-data (the \`default\` preset's own setting) seed k > 1 also trains on its own draw
of the synthetic training set (data seed + k − 1), so the ± covers the draw of the data too;
--no-redraw-data trains every seed on the first draw.
--jobs N trains N models side by side, each in its own process with cores/N threads (default:
one per core, at most 4, on the cpu backend; 1 on a GPU); --workers N caps the cores used.
--ep runs the ONNX models (generator, embedders, --align's detector) on WebGPU, native onnxruntime-node or wasm
(auto: hardware WebGPU, else node where it loads, else wasm); the EP is part of their cache keys.
--align: --real / --lfw-images / --val-images are unaligned photos (e.g. raw LFW images/):
each is detected, landmarked and aligned to the ArcFace template first (crops cached by content
hash in <out>/align-cache; pair photos without a face get their centre, --real drops them).
--model: the generator (a manifest, as for \`deno task generate\`) of every dataset, test set and
preview, and so of the realism meter; default the embedded one. Its manifest and model bytes are
part of the data stages' cache keys; --allow-net-model lets a URL model be fetched.`;

/** Raised for a bad command line (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What `--val-pairs` must be instead of test pairs. */
const VIEW1_ONLY = "model selection must use View 1 (pairsDevTrain.txt) or another held-out file";

const usageError = (message: string): never => {
  throw new UsageError(message);
};
const positiveInt = <V extends string | undefined>(flag: string, v: V) =>
  intFlag(flag, v, usageError);

/** Parse `deno task reproduce` arguments (no file-system checks). */
export function parseReproduceArgs(args: string[]): ReproduceOptions | "help" {
  const { values } = parseCliArgs({
    args,
    options: {
      preset: { type: "string", default: "default" },
      out: { type: "string" },
      real: { type: "string" },
      "real-ids": { type: "string" },
      "real-per-id": { type: "string" },
      "lfw-pairs": { type: "string" },
      "lfw-images": { type: "string" },
      "val-pairs": { type: "string" },
      "val-images": { type: "string" },
      only: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      backend: { type: "string", default: "auto" },
      workers: { type: "string" },
      jobs: { type: "string" },
      seeds: { type: "string" },
      "redraw-data": { type: "boolean" },
      ep: { type: "string" },
      align: { type: "boolean", default: false },
      model: { type: "string" },
      "allow-net-model": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    // `--no-redraw-data`, to turn a preset's redraw off
    allowNegative: true,
  }, usageError);
  if (values.help) return "help";
  if (!(PRESET_NAMES as readonly string[]).includes(values.preset)) {
    throw new UsageError(
      `--preset: unknown preset "${values.preset}", expected ${PRESET_NAMES.join("|")}`,
    );
  }
  if (!["auto", "cpu", "webgpu"].includes(values.backend)) {
    throw new UsageError(`--backend: expected auto|cpu|webgpu, got "${values.backend}"`);
  }
  if (values.ep !== undefined && !isEpChoice(values.ep)) {
    throw new UsageError(`--ep: expected ${EP_CHOICES.join("|")}, got "${values.ep}"`);
  }
  for (const [a, b] of [["lfw-pairs", "lfw-images"], ["val-pairs", "val-images"]] as const) {
    if ((values[a] === undefined) !== (values[b] === undefined)) {
      throw new UsageError(`--${a} and --${b} go together`);
    }
  }
  if (values["allow-net-model"] && values.model === undefined) {
    throw new UsageError("--allow-net-model needs --model FILE.json");
  }
  if ((values["real-ids"] || values["real-per-id"]) && !values.real) {
    throw new UsageError("--real-ids / --real-per-id need --real DIR");
  }
  const val = values["val-pairs"];
  if (val && /(^|\/)pairs\.txt$/.test(val)) {
    throw new UsageError(`--val-pairs ${val}: that is LFW View 2 (test pairs); ${VIEW1_ONLY}`);
  }
  let only: ExperimentName[] | undefined;
  try {
    only = values.only === undefined ? undefined : parseOnly(values.only);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    preset: values.preset,
    out: values.out ?? `out/reproduce-${values.preset}`,
    inputs: {
      real: values.real,
      lfwPairs: values["lfw-pairs"],
      lfwImages: values["lfw-images"],
      valPairs: values["val-pairs"],
      valImages: values["val-images"],
    },
    realIds: positiveInt("--real-ids", values["real-ids"]),
    realPerId: values["real-per-id"]?.split(",").map((v) => positiveInt("--real-per-id", v)),
    only,
    dryRun: values["dry-run"],
    backend: values.backend as BackendChoice,
    workers: positiveInt("--workers", values.workers) ?? Math.max(1, navigator.hardwareConcurrency),
    ...(values.ep !== undefined ? { ep: values.ep as EpChoice } : {}),
    jobs: positiveInt("--jobs", values.jobs),
    seeds: positiveInt("--seeds", values.seeds),
    ...(values["redraw-data"] !== undefined ? { redrawData: values["redraw-data"] } : {}),
    align: values.align,
    ...(values.model !== undefined ? { model: values.model } : {}),
    allowNetModel: values["allow-net-model"],
  };
}

/** Distinct images a pairs file refers to (its parse errors name the file and line). */
async function distinctPairImages(path: string): Promise<number> {
  const list = await readPairs(path);
  return new Set(list.pairs.flatMap((p) => [p.a, p.b])).size;
}

/** `f`, computed on the first call only. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => p ??= f();
}

/** The generator of `--model` (see `usedGenerator`); its problems are usage errors. */
export function generatorOf(o: Pick<ReproduceOptions, "model" | "allowNetModel">) {
  return usedGenerator(o.model, { allowNet: o.allowNetModel }).catch((e) => {
    throw new UsageError(`--model ${o.model ?? "(default)"}: ${(e as Error).message}`);
  });
}

/**
 * Build the plan of the options and resolve it into stages (reads input fingerprints; the
 * generator is resolved here unless given).
 */
export async function planOf(
  o: ReproduceOptions,
  generator?: UsedGenerator,
): Promise<ResolvedPlan & { generator: UsedGenerator }> {
  const { realIds, realPerId, seeds, redrawData } = o;
  const preset = resolvePreset(o.preset, { realIds, realPerId, seeds, redrawData });
  generator ??= await generatorOf(o);
  const plan = buildPlan(
    preset,
    { real: !!o.inputs.real, val: !!o.inputs.valPairs, generator: generator.id },
    o.only,
  );
  const fp: InputFingerprints = { generator: generator.fingerprint };
  const { real, lfwPairs, lfwImages, valPairs, valImages } = o.inputs;
  try {
    if (real) {
      const folder = (await Deno.stat(real)).isDirectory;
      if (!folder) throw new UsageError(`--real ${real}: not a folder`);
      fp.real = (slice) => realSliceFingerprint(real, slice);
      fp.realFolder = once(() => folderFingerprint(real));
    }
    if (lfwImages) fp.lfwImages = once(() => folderFingerprint(lfwImages));
    fp.counts = {};
    if (lfwPairs && lfwImages) {
      fp.lfw = await pairsFingerprint(lfwPairs, lfwImages);
      fp.counts.lfwImages = await distinctPairImages(lfwPairs);
    }
    if (valPairs && valImages) {
      if (lfwPairs && (await Deno.realPath(valPairs)) === (await Deno.realPath(lfwPairs))) {
        throw new UsageError(
          "--val-pairs is the test file --lfw-pairs; model selection never uses test pairs",
        );
      }
      const why = view2Reason(await readPairs(valPairs));
      if (why) throw new UsageError(`--val-pairs ${why}; ${VIEW1_ONLY}`);
      fp.val = await pairsFingerprint(valPairs, valImages);
      fp.counts.valImages = await distinctPairImages(valPairs);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof PairsFormatError) {
      throw new UsageError((e as Error).message);
    }
    throw e;
  }
  const ep = await resolveEp(o.ep ?? "auto");
  return { ...await resolvePlan(plan, fp, await codeFingerprints(), { ep }), generator };
}

/** How training is spread: side-by-side jobs, each one's CPU threads, and the backend. */
export interface JobLayout {
  jobs: number;
  threadsPerJob: number;
  backend: BackendChoice;
}

/**
 * `--jobs` and the backend resolved: on the cpu backend one job per core (at most 4) by
 * default, each with an equal share of `--workers`; on a GPU one job unless told otherwise.
 */
export async function jobLayout(
  o: Pick<ReproduceOptions, "jobs" | "workers" | "backend">,
  hasGpu: () => Promise<boolean> = autodiff.hasHardwareGpu,
): Promise<JobLayout> {
  const gpu = o.backend === "webgpu" || (o.backend === "auto" && await hasGpu());
  const jobs = o.jobs ?? (gpu ? 1 : Math.min(o.workers, 4));
  return {
    jobs,
    threadsPerJob: Math.max(1, Math.floor(o.workers / jobs)),
    // side-by-side jobs train in child processes, which must not each probe for a GPU
    backend: jobs > 1 && o.backend === "auto" ? (gpu ? "webgpu" : "cpu") : o.backend,
  };
}

/** What `reproduce` returns. */
export interface ReproduceResult {
  resolved: ResolvedPlan;
  outcomes: StageOutcome[];
  reportDir?: string;
  /** 0: every runnable stage finished; 1: some stage failed or its module is missing. */
  exitCode: number;
}

/**
 * Run the whole command: plan, (dry run or) run, report. Progress lines go to `log`
 * (default stderr); the dry-run listing and the final summary to `print` (default stdout).
 */
export async function reproduce(
  o: ReproduceOptions,
  stages: StageImpls & { close?(): Promise<void> },
  io: { log?: (l: string) => void; print?: (l: string) => void; command?: string } = {},
): Promise<ReproduceResult> {
  const print = io.print ?? ((l: string) => console.log(l));
  const generator = await generatorOf(o); // a bad --model fails before any work
  if (o.align && !o.dryRun) {
    o = {
      ...o,
      inputs: await alignInputs(o.inputs, `${o.out}/align-cache`, o.workers, io.log, o.ep),
    };
  }
  const resolved = await planOf(o, generator);
  const layout = await jobLayout(o);
  const ep = await resolveEp(o.ep ?? "auto");
  if (o.dryRun) {
    print(describePlan(resolved, layout.jobs));
    return { resolved, outcomes: [], exitCode: 0 };
  }
  const startedAt = new Date();
  const t0 = performance.now();
  let outcomes: StageOutcome[];
  try {
    const model = resolved.generator.load;
    outcomes = await runPlan(resolved, stages, {
      out: o.out,
      inputs: model === undefined ? o.inputs : { ...o.inputs, model },
      backend: layout.backend,
      workers: o.workers,
      ep,
      jobs: layout.jobs,
      threadsPerJob: layout.threadsPerJob,
      log: io.log,
    });
  } finally {
    await stages.close?.();
  }
  const wallS = (performance.now() - t0) / 1000;
  const model = await buildReportModel(resolved, outcomes, {
    command: io.command ?? `deno task reproduce --preset ${o.preset}`,
    out: o.out,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallS,
    backend: o.backend,
    ep,
    workers: o.workers,
    jobs: layout.jobs,
    inputs: o.inputs,
    generator: { id: resolved.generator.id, manifest: resolved.generator.manifest },
    hardware: await hardwareInfo(),
  }, (s) => readEvalResults(`${o.out}/${s.dir}`));
  const reportDir = await writeReport(o.out, model);
  const bad = outcomes.filter((x) => x.status === "failed" || x.status === "needs-module");
  const table2 = model.experiments.find((e) => e.name === "table2")?.table;
  if (table2) print(markdownTable(table2));
  const byStatus = Map.groupBy(outcomes, (x) => x.status);
  const tally = [...byStatus].map(([k, v]) => `${v.length} ${k}`).join(", ");
  const files = `${reportDir}/README.md and index.html`;
  print(`reproduce: ${tally} in ${formatDuration(wallS)}; report: ${files}`);
  for (const x of bad) print(`  ${x.status}: ${x.stage.label}: ${x.message}`);
  return { resolved, outcomes, reportDir, exitCode: bad.length ? 1 : 0 };
}
