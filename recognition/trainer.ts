/**
 * The training loop, read top to bottom like the paper's train.py: data → backbone → margin head
 * → (mixed) loss → backward → SGD, with a multi-step schedule, gradient accumulation, validation
 * each epoch (never LFW View 2), `best`/`last` checkpoints, exact resume and ONNX export of the
 * selected checkpoint.
 *
 * A run folder holds `config.json`, `metrics.jsonl`, `last.ckpt`, `best.ckpt` (when there is a
 * validation set), `model.onnx` and `embedder.json`.
 */
import { type Dataset, headerShortfall, ManifestError, openAnyDataset } from "../data/dataset.ts";
import { ImageDecodeError } from "../data/image.ts";
import { Rng } from "../data/rng.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { outDirProblem } from "../data/cli_args.ts";
import { mixTerms, selectReal, type SoftLabel } from "../mixup/domain_mixup.ts";
import { archByName, type ArchSpec, checkInput } from "./arch.ts";
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
import type { Batch, LoaderPlan } from "./batch_maker.ts";
import { stepsPerEpoch as stepsOf } from "./batch_maker.ts";
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
import { exportBackboneOnnx } from "./export_onnx.ts";
import { headSpec } from "./heads.ts";
import { Loader } from "./loader.ts";
import { FaceModel } from "./model.ts";
import { lockRunFolder } from "./run_lock.ts";
import { loadValSets, validate, type ValResult, type ValSet } from "./validate.ts";

/** One progress report (also what the progress bar shows). */
export interface TrainProgress {
  /** Optimiser steps done and planned. */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  /** Epoch of the last step. */
  epoch: number;
  /** Mean loss over the steps since the last report. */
  loss: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Training images per second since the last report. */
  imagesPerSec: number;
  /** Seconds left at the current speed. */
  etaSec: number;
  /** Share of wall time the step loop waited for the loader. */
  loaderShare: number;
  /** Set at epoch ends with a validation set. */
  val?: ValResult[];
}

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
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/**
 * Raised when a training image cannot be read mid-run (deleted, truncated, unreadable): one line
 * naming the file, the step, and the last checkpoint, which stays usable for `--resume`.
 */
export class TrainDataError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "TrainDataError";
  }
}

/**
 * Before the first step: every record's file exists with its recorded size (fast), a header that
 * promises more than the records hold is warned about, and with `verify` every sha256 is checked.
 */
async function checkData(ds: Dataset, flag: string, opts: TrainOptions): Promise<void> {
  try {
    await ds.checkFiles();
  } catch (e) {
    if (e instanceof ImageDecodeError) {
      throw new TrainConfigError(
        `${flag} ${e.message}; regenerate the set (rerun generate with the same flags) or fix it`,
      );
    }
    throw e;
  }
  const short = headerShortfall(ds);
  if (short) {
    (opts.onWarning ?? ((m) => console.error(`train: WARNING: ${m}`)))(`${flag} ${short}`);
  }
  if (opts.verify) {
    const t0 = performance.now();
    let last = 0;
    try {
      await ds.verify({
        onProgress: (done, total) => {
          const now = performance.now();
          if (opts.progressBar === false || (now - last < 2000 && done < total)) return;
          last = now;
          const rate = done / Math.max(1e-9, (now - t0) / 1000);
          console.error(
            `train: verify ${done}/${total} images, ${rate.toFixed(0)} img/s, ETA ${
              Math.ceil((total - done) / Math.max(rate, 1e-9))
            } s`,
          );
        },
      });
    } catch (e) {
      if (e instanceof ImageDecodeError) throw new TrainConfigError(`${flag} ${e.message}`);
      throw e;
    }
  }
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The datasets, checked: what the run trains on. */
interface Inputs {
  syn: Dataset;
  synClasses: number;
  real?: { dir: string; indices: number[]; classes: number[]; numClasses: number };
  spec: ArchSpec;
  input: { height: number; width: number };
}

async function openInputs(cfg: TrainConfig): Promise<Inputs> {
  let syn: Dataset;
  try {
    syn = await openAnyDataset(cfg.data);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TrainConfigError(`--data ${cfg.data}: no such folder`);
    }
    if (e instanceof ManifestError || e instanceof ImageDecodeError) {
      throw new TrainConfigError(`--data ${cfg.data}: ${(e as Error).message}`);
    }
    throw e;
  }
  const n = syn.header.num_classes;
  if (n < 2) {
    throw new TrainConfigError(
      `--data ${cfg.data}: the dataset has ${n} class; classification training needs at least 2`,
    );
  }
  for (const r of syn.records()) {
    for (const [c, w] of r.label) {
      if (!(c >= 0 && c < n) || !(w >= 0)) {
        throw new TrainConfigError(
          `--data ${cfg.data}: ${r.path}: label class ${c} out of range, expected 0..${n - 1}`,
        );
      }
    }
  }
  let spec: ArchSpec;
  try {
    spec = archByName(cfg.arch);
  } catch (e) {
    throw new TrainConfigError(`--arch: ${(e as Error).message}`);
  }
  const input = cfg.input ?? spec.input;
  try {
    checkInput(spec, input.height, input.width);
  } catch (e) {
    throw new TrainConfigError((e as Error).message);
  }
  const checkSize = (dir: string, h: number, w: number) => {
    const ok = (h === input.height && w === input.width) ||
      (cfg.fit === "center-crop" && h >= input.height && w >= input.width) ||
      cfg.fit === "resize";
    if (!ok) {
      throw new TrainConfigError(
        `${dir}: images are ${h}×${w}, but ${spec.name} takes ${input.height}×${input.width}` +
          (cfg.fit === "exact"
            ? " (fit: exact)"
            : " (images must be at least that large for a centred crop); set --input HxW to match the data"),
      );
    }
  };
  checkSize(cfg.data, syn.header.image.height, syn.header.image.width);
  if (syn.size < cfg.batch) {
    throw new TrainConfigError(
      `--data ${cfg.data}: ${syn.size} images, fewer than one batch of ${cfg.batch}`,
    );
  }
  let real: Inputs["real"];
  if (cfg.real) {
    if (!cfg.domainMixup) {
      throw new TrainConfigError(`--real ${cfg.real.dir} is only used with --domain-mixup`);
    }
    let ds: Dataset;
    try {
      ds = await openAnyDataset(cfg.real.dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new TrainConfigError(`--real ${cfg.real.dir}: no such folder`);
      }
      throw new TrainConfigError(
        `--real ${cfg.real.dir}: empty or unreadable real set: ${(e as Error).message}`,
      );
    }
    const sel = selectReal(ds.records(), cfg.real.ids, cfg.real.perId);
    if (sel.indices.length === 0) {
      throw new TrainConfigError(`--real ${cfg.real.dir}: no images selected`);
    }
    if (sel.numClasses < 2) {
      // One real class: its head row learns "real photo", not an identity, and Domain Mixup's
      // real labels carry no identity signal.
      throw new TrainConfigError(
        `--real ${cfg.real.dir}: ${sel.numClasses} identity selected` +
          (cfg.real.ids ? ` (--real-ids ${cfg.real.ids})` : "") +
          `; Domain Mixup needs at least 2 real identities`,
      );
    }
    checkSize(cfg.real.dir, ds.header.image.height, ds.header.image.width);
    real = { dir: cfg.real.dir, ...sel };
  }
  return { syn, synClasses: n, real, spec, input };
}

/** Progress bar on stderr: step, loss, img/s, ETA. */
function drawBar(p: TrainProgress, done = false): void {
  const width = 24;
  const frac = p.totalSteps ? p.step / p.totalSteps : 0;
  const fill = Math.round(frac * width);
  const eta = p.etaSec === Infinity ? "?" : formatTime(p.etaSec);
  const line =
    `\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] step ${p.step}/${p.totalSteps} ` +
    `ep ${p.epoch} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
    `${p.imagesPerSec.toFixed(1)} img/s loader ${(100 * p.loaderShare).toFixed(0)}% ETA ${eta}  `;
  // A terminal gets one redrawn line; a log file gets one line per report.
  const tty = Deno.stderr.isTerminal();
  const text = tty ? line + (done ? "\n" : "") : done ? "" : line.slice(1).trimEnd() + "\n";
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

function formatTime(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

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
  const out = cfg.out;
  const outProblem = outDirProblem(out);
  if (outProblem) throw new TrainConfigError(outProblem);
  await Deno.mkdir(out, { recursive: true });
  // One trainer per run folder, held until this call returns (also on errors).
  const lock = await lockRunFolder(out);
  try {
    return await trainLocked(cfg, inputs, opts);
  } finally {
    lock.release();
  }
}

async function trainLocked(
  cfg: TrainConfig,
  inputs: Inputs,
  opts: TrainOptions,
): Promise<TrainResult> {
  const out = cfg.out;
  const lastPath = `${out}/last.ckpt`;
  const bestPath = `${out}/best.ckpt`;
  const hasLast = await exists(lastPath);
  if (hasLast && !opts.resume) {
    throw new TrainConfigError(
      `${out}: holds a checkpoint (last.ckpt); pass --resume to continue it or choose another --out`,
    );
  }
  const resumed: Checkpoint | undefined = hasLast && opts.resume
    ? await readCheckpoint(lastPath)
    : undefined;
  if (resumed) {
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
  }
  // `--threads` holds for the cpu backend however it is reached (`auto` included); config.json
  // records the thread count actually used.
  const backend = opts.backend ?? await selectBackend(cfg.backend, { threads: cfg.threads });
  cfg.threads = backendThreads(backend) ?? cfg.threads;
  await writeFileAtomic(`${out}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
  useBackend(backend);
  // Free what this call allocated, and the backend when this call created it (it may hold
  // worker threads and a large WebAssembly memory), also when training fails.
  const cleanup: (() => void)[] = [];
  try {
    const numClasses = inputs.synClasses + (inputs.real?.numClasses ?? 0);
    const model = new FaceModel(
      inputs.spec,
      inputs.input,
      headSpec(cfg.loss, numClasses, inputs.spec.embedding),
      { seed: cfg.seed, dropout: cfg.dropout },
    );
    cleanup.push(() => model.dispose());
    const params = model.parameters();
    const sgd = new SGD(params, { lr: 0, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    cleanup.push(() => sgd.dispose());
    for (const p of params) sgd.momentumOf(p); // every momentum is in every checkpoint

    const spe = stepsOf(inputs.syn.size, cfg.batch);
    const totalSteps = cfg.steps ?? cfg.epochs * spe;
    let globalStep = 0;
    let pos = { epoch: 0, step: 0 };
    let best = -Infinity;
    let lastLoss = NaN;
    const valSets: ValSet[] = await loadValSets(cfg.val, cfg.seed);

    const snapshot = async (): Promise<Checkpoint> => ({
      meta: { config: cfg, globalStep, position: pos, state: { best, lastLoss } },
      tensors: await trainingState(model, sgd),
    });
    if (resumed) {
      loadTrainingState(model, sgd, resumed.tensors);
      globalStep = resumed.meta.globalStep;
      pos = resumed.meta.position;
      best = (resumed.meta.state.best as number | null) ?? -Infinity;
      lastLoss = (resumed.meta.state.lastLoss as number | null) ?? NaN;
      // Lines logged after the checkpoint (before a kill) are redone: drop them.
      const text = await Deno.readTextFile(`${out}/metrics.jsonl`).catch(() => "");
      const keep = text.split("\n").filter((l) => {
        if (!l.trim()) return false;
        try {
          const step = JSON.parse(l).step;
          return typeof step !== "number" || step <= globalStep;
        } catch {
          return false; // a line torn by the kill
        }
      });
      await writeFileAtomic(`${out}/metrics.jsonl`, keep.map((l) => l + "\n").join(""));
    } else {
      await Deno.writeTextFile(`${out}/metrics.jsonl`, "");
    }
    const metrics = await Deno.open(`${out}/metrics.jsonl`, { append: true, create: true });
    const log = async (obj: Record<string, unknown>) => {
      await metrics.write(new TextEncoder().encode(JSON.stringify(obj) + "\n"));
    };
    await log({
      kind: "run",
      backend: backend.info,
      threads: cfg.threads ?? null,
      resumed_at: resumed ? globalStep : null,
    });
    let savedStep = resumed ? resumed.meta.globalStep : -1;
    const save = async (path: string) => {
      await writeCheckpoint(path, await snapshot(), opts);
      if (path === lastPath) savedStep = globalStep;
    };

    const plan: LoaderPlan = {
      data: cfg.data,
      real: inputs.real,
      domainMixup: cfg.domainMixup,
      input: inputs.input,
      fit: cfg.fit,
      augment: cfg.augment,
      seed: cfg.seed,
      batch: cfg.batch,
    };
    // On a GPU the step is fast and decoding is the likely bottleneck: more loader threads,
    // and enough batches in flight to keep each of them busy.
    const workers = cfg.workers ??
      (backend.name === "webgpu"
        ? Math.max(1, Math.min(8, (navigator.hardwareConcurrency || 2) - 2))
        : 1);
    const loader = await Loader.open(plan, spe, pos, {
      workers,
      prefetch: Math.max(cfg.prefetch, 2 * workers),
    });
    const micro = cfg.microBatch ?? cfg.batch;
    const { height, width } = inputs.input;
    const plane = 3 * height * width;
    const root = Rng.fromSeed(cfg.seed);
    const bar = opts.progressBar ?? true;
    const t0 = performance.now();
    let stepsThisCall = 0;
    let windowLoss = 0, windowSteps = 0;
    let windowT = t0, windowWait = loader.waitedMs, windowImgs = 0;
    let stopped = false;
    let progress: TrainProgress | undefined;

    /** Forward + backward of one micro-batch; returns the loss tensor (kept by the caller). */
    const microStep = (
      x: Float32Array,
      rows: number,
      labels: SoftLabel[],
      real: Int32Array | undefined,
      lambda: number,
      k: number,
    ): Tensor =>
      scope(() => {
        const terms = mixTerms(labels, lambda, real, inputs.synClasses);
        const loss = model.loss(
          tensor(x, [rows, 3, height, width]),
          terms,
          1 / cfg.batch,
          root.split("dropout", globalStep, k),
        );
        loss.backward();
        return loss;
      });

    try {
      while (globalStep < totalSteps) {
        let batch: Batch;
        try {
          batch = await loader.next();
        } catch (e) {
          const what = String((e as Error).message ?? e).split("\n")[0];
          throw new TrainDataError(
            `${what}; training stopped before step ${globalStep + 1}, the last checkpoint ${
              savedStep >= 0 ? `${lastPath} (step ${savedStep})` : "(none written yet)"
            } is intact: fix the data, then continue with --resume`,
          );
        }
        opts.tamper?.(batch, globalStep);
        const lr = learningRate(cfg, globalStep, totalSteps);
        sgd.zeroGrad();
        // Losses stay on the device until the step is done: one read-back per step, not one
        // per micro-batch (each read-back waits for the device).
        const argsOf = (k: number) => {
          const lo = k * micro, hi = Math.min(cfg.batch, lo + micro);
          return [
            batch.x.subarray(lo * plane, hi * plane),
            hi - lo,
            batch.labels.slice(lo, hi),
            batch.realClasses?.subarray(lo, hi),
            batch.lambda,
            k,
          ] as const;
        };
        const losses: Tensor[] = [];
        for (let k = 0; k * micro < cfg.batch; k++) losses.push(microStep(...argsOf(k)));
        const total = losses.length === 1
          ? losses[0]
          : scope(() => losses.reduce((a, b) => add(a, b)));
        const stepLoss = await total.item();
        if (!Number.isFinite(stepLoss)) {
          let k = 0;
          while (k < losses.length - 1 && Number.isFinite(await losses[k].item())) k++;
          startTrace();
          scope(() => {
            microStep(...argsOf(k));
          });
          const bad = await stopTrace();
          const where = bad
            ? `first non-finite value from op "${bad.op}" (${bad.phase}) called at ${bad.site}`
            : "no single op output was non-finite (the loss reduction overflowed)";
          await log({
            kind: "error",
            step: globalStep,
            epoch: batch.epoch,
            error: "non-finite loss",
            where,
          });
          throw new NonFiniteLossError(
            `step ${globalStep} (epoch ${batch.epoch}, batch ${batch.step}${
              losses.length > 1 ? `, micro-batch ${k}` : ""
            }): loss is ${stepLoss}; ${where}. ` +
              `Training stopped; the last good checkpoint is ${
                await exists(lastPath) ? lastPath : "(none written yet)"
              } (not overwritten)`,
          );
        }
        if (total !== losses[0]) total.dispose();
        for (const l of losses) l.dispose();
        sgd.lr = lr;
        sgd.step();
        globalStep++;
        stepsThisCall++;
        pos = batch.step + 1 >= spe
          ? { epoch: batch.epoch + 1, step: 0 }
          : { epoch: batch.epoch, step: batch.step + 1 };
        windowLoss += stepLoss;
        windowSteps++;
        windowImgs += cfg.batch;
        lastLoss = stepLoss;
        const epochEnd = pos.step === 0;
        if (globalStep % cfg.logEvery === 0 || epochEnd || globalStep === totalSteps) {
          await backend.flush();
          const dt = (performance.now() - windowT) / 1000;
          const ips = windowImgs / Math.max(dt, 1e-9);
          const share = (loader.waitedMs - windowWait) / Math.max(1, performance.now() - windowT);
          progress = {
            step: globalStep,
            totalSteps,
            epoch: batch.epoch,
            loss: windowLoss / windowSteps,
            lr,
            imagesPerSec: ips,
            etaSec: ((totalSteps - globalStep) * cfg.batch) / Math.max(ips, 1e-9),
            loaderShare: share,
          };
          await log({
            kind: "step",
            step: globalStep,
            epoch: batch.epoch,
            loss: progress.loss,
            lr,
            images_per_s: ips,
            loader_share: share,
            lambda: batch.lambda,
          });
          if (bar) drawBar(progress);
          opts.onProgress?.(progress);
          windowLoss = 0;
          windowSteps = 0;
          windowImgs = 0;
          windowT = performance.now();
          windowWait = loader.waitedMs;
        }
        if (epochEnd || globalStep === totalSteps) {
          let val: ValResult[] | undefined;
          if (valSets.length) {
            val = [];
            for (const s of valSets) val.push(await validate(model.backbone, s, { fit: cfg.fit }));
          }
          await log({
            kind: "epoch",
            epoch: batch.epoch,
            step: globalStep,
            loss: lastLoss,
            lr,
            val: val?.map((v) => ({
              name: v.name,
              accuracy: v.accuracy,
              std: v.std,
              pairs: v.pairs,
            })),
          });
          if (val && val[0].accuracy > best) {
            best = val[0].accuracy;
            await save(bestPath);
          }
          await save(lastPath);
          if (progress && val) {
            progress = { ...progress, val };
            opts.onProgress?.(progress);
          }
          // Throughput counts training only, not validation and checkpoint writing.
          windowT = performance.now();
          windowWait = loader.waitedMs;
        } else if (
          (cfg.checkpointEvery > 0 && globalStep % cfg.checkpointEvery === 0) ||
          (opts.signal?.aborted && globalStep < totalSteps)
        ) {
          await save(lastPath);
        }
        if (opts.signal?.aborted && globalStep < totalSteps) {
          stopped = true;
          break;
        }
        if (
          opts.stopAfterSteps !== undefined && stepsThisCall >= opts.stopAfterSteps &&
          globalStep < totalSteps
        ) {
          stopped = true;
          break;
        }
      }
    } finally {
      loader.close();
      metrics.close();
      if (bar && progress) drawBar(progress, true);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const result: TrainResult = {
      out,
      steps: globalStep,
      loss: lastLoss,
      bestAccuracy: Number.isFinite(best) ? best : undefined,
      selected: valSets.length && (await exists(bestPath)) ? bestPath : lastPath,
      imagesPerSec: (stepsThisCall * cfg.batch) / Math.max(elapsed, 1e-9),
      loaderShare: loader.waitedMs / Math.max(1, elapsed * 1000),
      stopped,
    };
    if (!stopped && !opts.noExport) {
      result.model = await exportRun(out, result.selected);
    }
    return result;
  } finally {
    for (const f of cleanup.reverse()) f();
    if (!opts.backend) backend.dispose();
  }
}

/** Export a run's checkpoint (default: best, else last) to `RUN/model.onnx` + `RUN/embedder.json`. */
export async function exportRun(out: string, checkpoint?: string): Promise<string> {
  const path = checkpoint ??
    ((await exists(`${out}/best.ckpt`)) ? `${out}/best.ckpt` : `${out}/last.ckpt`);
  const ck = await readCheckpoint(path);
  const cfg = parseTrainConfig(ck.meta.config, path);
  const spec = archByName(cfg.arch);
  const input = cfg.input ?? spec.input;
  const weights = new Map([...ck.tensors].map(([k, v]) => [k, v.data]));
  const bytes = exportBackboneOnnx(spec, input, weights);
  const model = `${out}/model.onnx`;
  await writeFileAtomic(model, bytes);
  await writeFileAtomic(
    `${out}/embedder.json`,
    JSON.stringify(
      {
        model: "model.onnx",
        inputSize: [input.height, input.width],
        layout: "nchw",
        channelOrder: "rgb",
        mean: 127.5,
        std: 127.5,
        embeddingDim: spec.embedding,
        description: `${spec.name} ${cfg.loss.kind}, ${
          path.split("/").pop()
        } at step ${ck.meta.globalStep}, data ${cfg.data}`,
      },
      null,
      2,
    ) + "\n",
  );
  return model;
}
