/**
 * `deno task train --data DIR --out RUN [flags]`: train a face recogniser (IR backbone + ArcFace/
 * CosFace/softmax head, Identity Mixup soft labels, optional Domain Mixup with a real set), then
 * export the selected checkpoint to `RUN/model.onnx` + `RUN/embedder.json`.
 */
import { choiceFlag, exitUsage, parseCliArgs, parseSizeFlag } from "../data/mod.ts";
import {
  ARCHS,
  CheckpointError,
  NonFiniteLossError,
  train,
  TrainConfigError,
  type TrainConfigInput,
  TrainDataError,
} from "../recognition/mod.ts";

const USAGE = `usage: deno task train --data DIR --out RUN [flags]

  --data DIR            training set: a data/ dataset (manifest.jsonl) or an image folder <class>/<img>
  --out RUN             run folder: config.json, metrics.jsonl, last.ckpt, best.ckpt, model.onnx
  --resume              continue RUN/last.ckpt exactly (same flags)
  --verify              check every image's sha256 against the manifest first (the fast check of
                        each file's presence and size always runs)
  --config FILE         JSON config (TrainConfigSchema); flags override it
  --arch NAME           ${Object.keys(ARCHS).join(" | ")} (default ir18_half)
  --input HxW           network input (default: the arch's, 112x96)
  --fit MODE            other image sizes: center-crop (default; 112x112 -> 112x96) | resize
                        (centred window of the input's aspect, resized: 112x112 -> 64x64) | exact
  --loss KIND           arcface | cosface | softmax (default arcface; s=30, m=0.5 / cosface m=0.4)
  --s S --m M           margin scale and margin; --easy-margin for ArcFace's easy margin
  --epochs E            default 40 (or --steps N optimiser steps)
  --batch B             images per step (default 128); --micro-batch M accumulates B/M passes
  --lr LR               default 0.1*B/512; ×0.1 at --milestones 0.6,0.75,0.9 of training
  --warmup N            linear warm-up steps (default 0)
  --momentum 0.9 --wd 5e-4 --dropout 0
  --seed S              default 0
  --backend KIND        auto | cpu | webgpu (default auto: WebGPU on a hardware GPU, else cpu)
  --threads N           cpu backend threads, also under auto (default all cores); results and
                        resumes are bit-exact at any thread count
  --real DIR            real aligned set for Domain Mixup (e.g. ../shared/data/celeba-aligned)
  --real-ids R          first R identities (default all); --real-per-id K first K images each
  --domain-mixup        blend real into synthetic with λ per batch (needs --real)
  --val-pairs FILE      View 1 pairs (pairsDevTrain.txt) for model selection; never View 2
  --val-images DIR      image root of --val-pairs; --val-max-pairs N caps the pairs used
  --val-data DIR        held-out dataset to draw verification pairs from (--val-num-pairs 600)
  --no-augment          no flip/crop/erasing
  --checkpoint-every N  also checkpoint every N steps (default: each epoch only)
  --workers N           loader threads (default 1 on cpu, up to 8 on webgpu); --prefetch N (default 4)
  --log-every N         metrics/progress every N steps (default 10)`;

const fail: (msg: string) => never = exitUsage("train", USAGE);

/** Exit status per kind of failure (2 is also a bad command line; 130 an interrupt). */
const EXIT_CODES: [new (...args: never[]) => Error, number][] = [
  [TrainConfigError, 2],
  [TrainDataError, 1],
  [NonFiniteLossError, 3],
  [CheckpointError, 4],
];

function num(v: string | undefined, flag: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (int && !Number.isInteger(x))) {
    fail(`--${flag} ${v}: expected ${int ? "an integer" : "a number"}`);
  }
  return x;
}

/** Parse the command line into a config (exported for tests). */
export async function parseTrainArgs(
  args: string[],
): Promise<{ config: TrainConfigInput; resume: boolean; verify: boolean }> {
  const s = { type: "string" } as const, b = { type: "boolean" } as const;
  const { values: v, positionals } = parseCliArgs({
    args,
    options: {
      data: s,
      out: s,
      resume: b,
      verify: b,
      config: s,
      arch: s,
      input: s,
      fit: s,
      loss: s,
      s: s,
      m: s,
      "easy-margin": b,
      epochs: s,
      steps: s,
      batch: s,
      "micro-batch": s,
      lr: s,
      milestones: s,
      warmup: s,
      momentum: s,
      wd: s,
      dropout: s,
      seed: s,
      backend: s,
      threads: s,
      real: s,
      "real-ids": s,
      "real-per-id": s,
      "domain-mixup": b,
      "val-pairs": s,
      "val-images": s,
      "val-max-pairs": s,
      "val-data": s,
      "val-num-pairs": s,
      "no-augment": b,
      "checkpoint-every": s,
      workers: s,
      prefetch: s,
      "log-every": s,
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  }, fail);
  if (v.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length) fail(`unexpected argument "${positionals[0]}"`);
  let base: Record<string, unknown> = {};
  if (v.config) {
    try {
      base = JSON.parse(await Deno.readTextFile(v.config));
    } catch (e) {
      fail(`--config ${v.config}: ${(e as Error).message}`);
    }
  }
  const c: Record<string, unknown> = { ...base };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) c[key] = value;
  };
  set("data", v.data);
  set("out", v.out);
  if (c.data === undefined) fail("--data DIR is required");
  if (c.out === undefined) fail("--out RUN is required");
  set("arch", v.arch);
  if (v.input !== undefined) c.input = parseSizeFlag("--input", v.input, fail);
  set("fit", choiceFlag("--fit", v.fit, ["exact", "center-crop", "resize"], fail));
  const loss = { ...(c.loss as Record<string, unknown> ?? {}) };
  if (v.loss !== undefined) {
    loss.kind = choiceFlag("--loss", v.loss, ["arcface", "cosface", "softmax"], fail);
  }
  if (v.s !== undefined) loss.s = num(v.s, "s");
  if (v.m !== undefined) loss.m = num(v.m, "m");
  if (v["easy-margin"]) loss.easyMargin = true;
  c.loss = loss;
  set("epochs", num(v.epochs, "epochs", true));
  set("steps", num(v.steps, "steps", true));
  set("batch", num(v.batch, "batch", true));
  set("microBatch", num(v["micro-batch"], "micro-batch", true));
  set("lr", num(v.lr, "lr"));
  if (v.milestones !== undefined) {
    c.milestones = v.milestones.split(",").map((x) => num(x.trim(), "milestones"));
  }
  set("warmupSteps", num(v.warmup, "warmup", true));
  set("momentum", num(v.momentum, "momentum"));
  set("weightDecay", num(v.wd, "wd"));
  set("dropout", num(v.dropout, "dropout"));
  set("seed", num(v.seed, "seed", true));
  set("backend", v.backend);
  set("threads", num(v.threads, "threads", true));
  if (v.real !== undefined) {
    c.real = {
      dir: v.real,
      ids: num(v["real-ids"], "real-ids", true) ?? 0,
      perId: num(v["real-per-id"], "real-per-id", true) ?? 0,
    };
  } else if (v["real-ids"] !== undefined || v["real-per-id"] !== undefined) {
    fail("--real-ids/--real-per-id need --real DIR");
  }
  if (v["domain-mixup"]) c.domainMixup = true;
  if (v["val-pairs"] || v["val-images"] || v["val-data"]) {
    c.val = {
      ...(c.val as Record<string, unknown> ?? {}),
      ...(v["val-pairs"] ? { pairs: v["val-pairs"] } : {}),
      ...(v["val-images"] ? { images: v["val-images"] } : {}),
      ...(v["val-data"] ? { data: v["val-data"] } : {}),
      ...(v["val-max-pairs"] ? { maxPairs: num(v["val-max-pairs"], "val-max-pairs", true) } : {}),
      ...(v["val-num-pairs"] ? { numPairs: num(v["val-num-pairs"], "val-num-pairs", true) } : {}),
    };
  }
  if (v["no-augment"]) c.augment = { enabled: false };
  set("checkpointEvery", num(v["checkpoint-every"], "checkpoint-every", true));
  set("workers", num(v.workers, "workers", true));
  set("prefetch", num(v.prefetch, "prefetch", true));
  set("logEvery", num(v["log-every"], "log-every", true));
  return { config: c as TrainConfigInput, resume: v.resume ?? false, verify: v.verify ?? false };
}

/** Entry point. */
export async function main(args: string[]): Promise<void> {
  const { config, resume, verify } = await parseTrainArgs(args);
  // First Ctrl-C: finish the step, save last.ckpt, exit 130; a second one exits at once.
  const stop = new AbortController();
  const onInt = () => {
    if (stop.signal.aborted) Deno.exit(130);
    console.error("\ntrain: stopping after this step (saving last.ckpt; Ctrl-C again to quit now)");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onInt);
  try {
    const r = await train(config, { resume, verify, signal: stop.signal });
    if (r.stopped) {
      console.error(`train: stopped at step ${r.steps}; continue with the same flags and --resume`);
      Deno.exit(130);
    }
    console.error(
      `train: ${r.steps} steps, last loss ${r.loss.toFixed(4)}` +
        (r.bestAccuracy !== undefined
          ? `, best validation accuracy ${(100 * r.bestAccuracy).toFixed(2)}%`
          : "") +
        `, ${r.imagesPerSec.toFixed(1)} img/s ` +
        `(loader ${(100 * r.loaderShare).toFixed(0)}% of the time)`,
    );
    console.error(`train: exported ${r.selected} → ${r.model}`);
  } catch (e) {
    const code = EXIT_CODES.find(([kind]) => e instanceof kind)?.[1];
    if (code === undefined) throw e;
    console.error(`train: ${(e as Error).message}`);
    Deno.exit(code);
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

if (import.meta.main) await main(Deno.args);
