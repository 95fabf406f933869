/**
 * The training loop, read top to bottom like arcface_torch's train.py: build (data, model =
 * backbone + margin head, SGD, loader), resume, then per batch: step (forward/backward of each
 * micro-batch, one SGD update), diagnose (a non-finite loss names its op), log, and at the end
 * of an epoch validate (never LFW View 2) and checkpoint (`best`/`last`); finally export the
 * selected checkpoint to ONNX.
 *
 * A run folder holds `config.json`, `metrics.jsonl`, `last.ckpt`, `best.ckpt` (when there is a
 * validation set), `model.onnx` and `embedder.json`.
 */
import { Rng } from "../data/rng.ts";
import { exists, writeJsonAtomic } from "../data/atomic_write.ts";
import { outDirProblem } from "../data/cli_args.ts";
import { mixTerms } from "../mixup/domain_mixup.ts";
import {
  add,
  type Backend,
  backendThreads,
  scope,
  selectBackend,
  SGD,
  startTrace,
  stopTrace,
  type Tensor,
  tensor,
  useBackend,
} from "./autodiff/mod.ts";
import { type Batch, stepsPerEpoch } from "./batch_maker.ts";
import {
  type Checkpoint,
  loadTrainingState,
  readCheckpoint,
  trainingState,
  writeCheckpoint,
  type WriteFileFn,
} from "./checkpoint.ts";
import {
  learningRate,
  parseTrainConfig,
  type TrainConfig,
  TrainConfigError,
  type TrainConfigInput,
} from "./config.ts";
import { exportRun } from "./export_run.ts";
import { headSpec } from "./heads.ts";
import { Loader } from "./loader.ts";
import { FaceModel } from "./model.ts";
import { drawBar, MetricsLog, ProgressWindow, type TrainProgress } from "./progress.ts";
import { lockRunFolder } from "./run_lock.ts";
import { checkData, type Inputs, openInputs } from "./train_inputs.ts";
import { loadValSets, validate, type ValResult, type ValSet } from "./validate.ts";

export type { TrainProgress } from "./progress.ts";
export { exportRun } from "./export_run.ts";

/** Options of {@link train}. */
export interface TrainOptions {
  /** Called after every logged step and at every epoch end. */
  onProgress?: (p: TrainProgress) => void;
  /** Continue from `out/last.ckpt` (required when it exists). */
  resume?: boolean;
  /** Draw the progress bar on stderr (default true). */
  progressBar?: boolean;
  /** Use this backend instead of `config.backend`. */
  backend?: Backend;
  /**
   * Stop at the next step boundary, after saving `last.ckpt` (e.g. on Ctrl-C); `--resume`
   * continues exactly. The result has `stopped: true` and no model.
   */
  signal?: AbortSignal;
  /** Tests: stop as if killed after this many optimiser steps of this call (no final save). */
  stopAfterSteps?: number;
  /** Tests: how checkpoint bytes reach the disk (simulate a full disk). */
  writeFile?: WriteFileFn;
  /** Tests: a hook that may change the batch before the step (e.g. inject NaN). */
  tamper?: (batch: Batch, globalStep: number) => void;
  /** Skip the ONNX export at the end. */
  noExport?: boolean;
  /** Check every training image's sha256 against the manifest before the first step. */
  verify?: boolean;
  /** Where data warnings go (default: a `train: WARNING:` line on stderr). */
  onWarning?: (message: string) => void;
}

/** What a finished run produced. */
export interface TrainResult {
  /** The run folder. */
  out: string;
  /** Steps done in total (including before a resume). */
  steps: number;
  /** Last logged mean loss. */
  loss: number;
  /** Best validation accuracy (first validation set), if any. */
  bestAccuracy?: number;
  /** The checkpoint exported to model.onnx. */
  selected: string;
  /** Exported model (absent with noExport or when stopped early). */
  model?: string;
  /** Training images per second of this call (step loop wall time). */
  imagesPerSec: number;
  /** Share of this call's wall time spent waiting for the loader. */
  loaderShare: number;
  /** True when `signal` or `stopAfterSteps` cut the run short. */
  stopped: boolean;
}

/** Raised when training hits a non-finite loss; names the step and the first bad op. */
export class NonFiniteLossError extends Error {
  override name = "NonFiniteLossError";
}

/**
 * Raised when a training image cannot be read mid-run (deleted, truncated, unreadable): one line
 * naming the file, the step, and the last checkpoint, which stays usable for `--resume`.
 */
export class TrainDataError extends Error {
  override name = "TrainDataError";
}

/** Fields that may differ between a run and its resume (they do not change the result). */
const RESUME_FREE = [
  "workers",
  "prefetch",
  "logEvery",
  "checkpointEvery",
  "backend",
  "threads",
] as const;

/**
 * Train a recogniser. `config` is validated (`TrainConfigSchema`); the run folder `config.out`
 * receives config.json, metrics.jsonl, checkpoints and finally model.onnx + embedder.json
 * (the exported backbone of the best checkpoint on the validation set, or the last one).
 *
 * @example
 * ```ts ignore
 * const result = await train({ data: "out/synthetic", out: "runs/a", arch: "ir_tiny", epochs: 2, batch: 16 });
 * console.log(result.model, result.bestAccuracy);
 * ```
 */
export async function train(
  config: TrainConfigInput,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const cfg = parseTrainConfig(config);
  const inputs = await openInputs(cfg);
  await checkData(inputs.syn, "--data", opts);
  const outProblem = outDirProblem(cfg.out);
  if (outProblem) throw new TrainConfigError(outProblem);
  await Deno.mkdir(cfg.out, { recursive: true });
  // One trainer per run folder, held until this call returns (also on errors).
  const lock = await lockRunFolder(cfg.out);
  try {
    const resumed = await readResume(cfg, opts);
    // `--threads` holds for the cpu backend however it is reached (`auto` included); config.json
    // records the thread count actually used.
    const backend = opts.backend ?? await selectBackend(cfg.backend, { threads: cfg.threads });
    cfg.threads = backendThreads(backend) ?? cfg.threads;
    await writeJsonAtomic(`${cfg.out}/config.json`, cfg);
    useBackend(backend);
    // Free what the run allocated, and the backend when this call created it (it may hold
    // worker threads and a large WebAssembly memory), also when training fails.
    try {
      const run = await build(cfg, inputs, backend, opts, resumed);
      try {
        await trainLoop(run);
      } finally {
        run.model.dispose();
        run.sgd.dispose();
      }
      return await finish(run);
    } finally {
      if (!opts.backend) backend.dispose();
    }
  } finally {
    lock.release();
  }
}

/** Resume: the checkpoint to continue from (`--resume`), refused when the recipe changed. */
async function readResume(cfg: TrainConfig, opts: TrainOptions): Promise<Checkpoint | undefined> {
  const lastPath = `${cfg.out}/last.ckpt`;
  if (!(await exists(lastPath))) return undefined;
  if (!opts.resume) {
    throw new TrainConfigError(
      `${cfg.out}: holds a checkpoint (last.ckpt); pass --resume to continue it or choose another --out`,
    );
  }
  const resumed = await readCheckpoint(lastPath);
  const strip = (c: unknown) => {
    const o = { ...(c as Record<string, unknown>) };
    for (const k of RESUME_FREE) delete o[k];
    return JSON.stringify(o);
  };
  if (strip(resumed.meta.config) !== strip(cfg)) {
    throw new TrainConfigError(
      `${lastPath}: was written with another configuration; resume with the same flags ` +
        `(saved: ${JSON.stringify(resumed.meta.config)})`,
    );
  }
  return resumed;
}

/** Everything the loop reads and updates. */
interface Run {
  cfg: TrainConfig;
  inputs: Inputs;
  opts: TrainOptions;
  backend: Backend;
  model: FaceModel;
  sgd: SGD;
  valSets: ValSet[];
  stepsPerEpoch: number;
  totalSteps: number;
  /** Optimiser steps done, and the next batch. */
  globalStep: number;
  pos: { epoch: number; step: number };
  best: number;
  lastLoss: number;
  /** Step of the newest `last.ckpt` (−1: none yet). */
  savedStep: number;
  stepsThisCall: number;
  stopped: boolean;
  /** Wall time of this call's loop (ms), and the loader's total wait. */
  loopMs: number;
  waitedMs: number;
  /** Dropout streams: `root → "dropout" → step → micro-batch`. */
  root: Rng;
}

/** Build: model (backbone + margin head), SGD with every momentum, validation sets, state. */
async function build(
  cfg: TrainConfig,
  inputs: Inputs,
  backend: Backend,
  opts: TrainOptions,
  resumed: Checkpoint | undefined,
): Promise<Run> {
  const numClasses = inputs.synClasses + (inputs.real?.numClasses ?? 0);
  const head = headSpec(cfg.loss, numClasses, inputs.spec.embedding);
  const model = new FaceModel(inputs.spec, inputs.input, head, cfg);
  const params = model.parameters();
  const sgd = new SGD(params, { lr: 0, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  for (const p of params) sgd.momentumOf(p); // every momentum is in every checkpoint
  const spe = stepsPerEpoch(inputs.syn.size, cfg.batch);
  const run: Run = {
    cfg,
    inputs,
    opts,
    backend,
    model,
    sgd,
    valSets: [],
    stepsPerEpoch: spe,
    totalSteps: cfg.steps ?? cfg.epochs * spe,
    globalStep: 0,
    pos: { epoch: 0, step: 0 },
    best: -Infinity,
    lastLoss: NaN,
    savedStep: -1,
    stepsThisCall: 0,
    stopped: false,
    loopMs: 0,
    waitedMs: 0,
    root: Rng.fromSeed(cfg.seed),
  };
  try {
    run.valSets = await loadValSets(cfg.val, cfg.seed);
    if (resumed) {
      loadTrainingState(model, sgd, resumed.tensors);
      run.globalStep = run.savedStep = resumed.meta.globalStep;
      run.pos = resumed.meta.position;
      run.best = (resumed.meta.state.best as number | null) ?? -Infinity;
      run.lastLoss = (resumed.meta.state.lastLoss as number | null) ?? NaN;
    }
  } catch (e) {
    model.dispose();
    sgd.dispose();
    throw e;
  }
  return run;
}

/** The loop: batch → step → log → end of epoch (validate, checkpoint) → stop? */
async function trainLoop(run: Run): Promise<void> {
  const { cfg, opts, backend } = run;
  // On a GPU the step is fast and decoding is the likely bottleneck: more loader threads,
  // and enough batches in flight to keep each of them busy.
  const workers = cfg.workers ??
    (backend.name === "webgpu"
      ? Math.max(1, Math.min(8, (navigator.hardwareConcurrency || 2) - 2))
      : 1);
  const loader = await Loader.open(
    {
      data: cfg.data,
      real: run.inputs.real,
      domainMixup: cfg.domainMixup,
      input: run.inputs.input,
      fit: cfg.fit,
      augment: cfg.augment,
      seed: cfg.seed,
      batch: cfg.batch,
    },
    run.stepsPerEpoch,
    run.pos,
    { workers, prefetch: Math.max(cfg.prefetch, 2 * workers) },
  );
  const log = await MetricsLog.open(cfg.out, run.savedStep >= 0 ? run.globalStep : undefined);
  const window = new ProgressWindow(() => loader.waitedMs);
  const bar = opts.progressBar ?? true;
  const t0 = performance.now();
  let progress: TrainProgress | undefined;
  try {
    await log.write({
      kind: "run",
      backend: backend.info,
      threads: cfg.threads ?? null,
      resumed_at: run.savedStep >= 0 ? run.globalStep : null,
    });
    while (run.globalStep < run.totalSteps) {
      const batch = await nextBatch(run, loader);
      opts.tamper?.(batch, run.globalStep);
      const lr = learningRate(cfg, run.globalStep, run.totalSteps);
      const loss = await step(run, batch, lr, log);
      run.globalStep++;
      run.stepsThisCall++;
      run.pos = batch.step + 1 >= run.stepsPerEpoch
        ? { epoch: batch.epoch + 1, step: 0 }
        : { epoch: batch.epoch, step: batch.step + 1 };
      run.lastLoss = loss;
      window.add(loss, cfg.batch);
      const last = run.globalStep === run.totalSteps;
      const epochEnd = run.pos.step === 0;
      if (run.globalStep % cfg.logEvery === 0 || epochEnd || last) {
        await backend.flush();
        const at = { step: run.globalStep, totalSteps: run.totalSteps, epoch: batch.epoch, lr };
        progress = window.take({ ...at, batch: cfg.batch });
        await log.write({
          kind: "step",
          step: run.globalStep,
          epoch: batch.epoch,
          loss: progress.loss,
          lr,
          images_per_s: progress.imagesPerSec,
          loader_share: progress.loaderShare,
          lambda: batch.lambda,
        });
        if (bar) drawBar(progress);
        opts.onProgress?.(progress);
      }
      if (epochEnd || last) {
        const val = await endOfEpoch(run, batch.epoch, lr, log);
        if (progress && val) {
          progress = { ...progress, val };
          opts.onProgress?.(progress);
        }
        window.restart(); // throughput counts training only
      } else if (
        (cfg.checkpointEvery > 0 && run.globalStep % cfg.checkpointEvery === 0) ||
        (opts.signal?.aborted && !last)
      ) {
        await save(run, "last");
      }
      // Stopped (Ctrl-C, or a test's simulated kill) at a step boundary.
      if (
        !last && (opts.signal?.aborted ||
          (opts.stopAfterSteps !== undefined && run.stepsThisCall >= opts.stopAfterSteps))
      ) {
        run.stopped = true;
        break;
      }
    }
  } finally {
    run.loopMs = performance.now() - t0;
    run.waitedMs = loader.waitedMs;
    loader.close();
    log.close();
    if (bar && progress) drawBar(progress, true);
  }
}

/** The next batch; an unreadable image stops training naming the intact checkpoint. */
async function nextBatch(run: Run, loader: Loader): Promise<Batch> {
  try {
    return await loader.next();
  } catch (e) {
    const what = String((e as Error).message ?? e).split("\n")[0];
    const last = run.savedStep >= 0
      ? `${run.cfg.out}/last.ckpt (step ${run.savedStep})`
      : "(none written yet)";
    throw new TrainDataError(
      `${what}; training stopped before step ${run.globalStep + 1}, ` +
        `the last checkpoint ${last} is intact: fix the data, then continue with --resume`,
    );
  }
}

/** Forward + backward of micro-batch `k`; returns its loss tensor (kept by the caller). */
function microStep(run: Run, batch: Batch, k: number): Tensor {
  const { cfg, inputs } = run;
  const micro = cfg.microBatch ?? cfg.batch;
  const { height, width } = inputs.input;
  const plane = 3 * height * width;
  const lo = k * micro, hi = Math.min(cfg.batch, lo + micro);
  return scope(() => {
    const x = tensor(batch.x.subarray(lo * plane, hi * plane), [hi - lo, 3, height, width]);
    const terms = mixTerms(
      batch.labels.slice(lo, hi),
      batch.lambda,
      batch.realClasses?.subarray(lo, hi),
      inputs.synClasses,
    );
    const loss = run.model.loss(
      x,
      terms,
      1 / cfg.batch,
      run.root.split("dropout", run.globalStep, k),
    );
    loss.backward();
    return loss;
  });
}

/** Step: gradients of every micro-batch accumulated, one SGD update; returns the step's loss. */
async function step(run: Run, batch: Batch, lr: number, log: MetricsLog): Promise<number> {
  const { cfg, sgd } = run;
  sgd.zeroGrad();
  // Losses stay on the device until the step is done: one read-back per step, not one per
  // micro-batch (each read-back waits for the device).
  const losses: Tensor[] = [];
  for (let k = 0; k * (cfg.microBatch ?? cfg.batch) < cfg.batch; k++) {
    losses.push(microStep(run, batch, k));
  }
  const total = losses.length === 1 ? losses[0] : scope(() => losses.reduce((a, b) => add(a, b)));
  const loss = await total.item();
  if (!Number.isFinite(loss)) await diagnose(run, batch, losses, loss, log);
  if (total !== losses[0]) total.dispose();
  for (const l of losses) l.dispose();
  sgd.lr = lr;
  sgd.step();
  return loss;
}

/** Diagnose a non-finite loss: rerun its micro-batch under the tracer, log, throw. */
async function diagnose(
  run: Run,
  batch: Batch,
  losses: Tensor[],
  loss: number,
  log: MetricsLog,
): Promise<never> {
  let k = 0;
  while (k < losses.length - 1 && Number.isFinite(await losses[k].item())) k++;
  startTrace();
  scope(() => {
    microStep(run, batch, k);
  });
  const bad = await stopTrace();
  const where = bad
    ? `first non-finite value from op "${bad.op}" (${bad.phase}) called at ${bad.site}`
    : "no single op output was non-finite (the loss reduction overflowed)";
  const step = run.globalStep;
  await log.write({ kind: "error", step, epoch: batch.epoch, error: "non-finite loss", where });
  const lastPath = `${run.cfg.out}/last.ckpt`;
  const micro = losses.length > 1 ? `, micro-batch ${k}` : "";
  const last = await exists(lastPath) ? lastPath : "(none written yet)";
  throw new NonFiniteLossError(
    `step ${step} (epoch ${batch.epoch}, batch ${batch.step}${micro}): loss is ${loss}; ${where}. ` +
      `Training stopped; the last good checkpoint is ${last} (not overwritten)`,
  );
}

/** End of epoch: validate, log, `best.ckpt` when the first set improved, `last.ckpt`. */
async function endOfEpoch(
  run: Run,
  epoch: number,
  lr: number,
  log: MetricsLog,
): Promise<ValResult[] | undefined> {
  let val: ValResult[] | undefined;
  if (run.valSets.length) {
    val = [];
    for (const s of run.valSets) {
      val.push(await validate(run.model.backbone, s, { fit: run.cfg.fit }));
    }
  }
  await log.write({
    kind: "epoch",
    epoch,
    step: run.globalStep,
    loss: run.lastLoss,
    lr,
    val: val?.map(({ name, accuracy, std, pairs }) => ({ name, accuracy, std, pairs })),
  });
  if (val && val[0].accuracy > run.best) {
    run.best = val[0].accuracy;
    await save(run, "best");
  }
  await save(run, "last");
  return val;
}

/** Checkpoint: weights, running statistics, momenta, the data position and the best score. */
async function save(run: Run, which: "best" | "last"): Promise<void> {
  const ckpt: Checkpoint = {
    meta: {
      config: run.cfg,
      globalStep: run.globalStep,
      position: run.pos,
      state: { best: run.best, lastLoss: run.lastLoss },
    },
    tensors: await trainingState(run.model, run.sgd),
  };
  await writeCheckpoint(`${run.cfg.out}/${which}.ckpt`, ckpt, run.opts);
  if (which === "last") run.savedStep = run.globalStep;
}

/** End: the result, and the selected checkpoint exported (unless stopped early). */
async function finish(run: Run): Promise<TrainResult> {
  const { cfg, opts } = run;
  const bestPath = `${cfg.out}/best.ckpt`;
  const result: TrainResult = {
    out: cfg.out,
    steps: run.globalStep,
    loss: run.lastLoss,
    bestAccuracy: Number.isFinite(run.best) ? run.best : undefined,
    selected: run.valSets.length && (await exists(bestPath)) ? bestPath : `${cfg.out}/last.ckpt`,
    imagesPerSec: (run.stepsThisCall * cfg.batch) / Math.max(run.loopMs / 1000, 1e-9),
    loaderShare: run.waitedMs / Math.max(1, run.loopMs),
    stopped: run.stopped,
  };
  if (!run.stopped && !opts.noExport) result.model = await exportRun(cfg.out, result.selected);
  return result;
}
