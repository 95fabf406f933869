/**
 * Training configuration: one zod schema for everything a run needs, so a run folder's
 * `config.json` fully describes (and re-creates) the run. Defaults follow `../shared/PAPER.md`
 * (SGD momentum 0.9, weight decay 5e-4, ×0.1 at 60/75/90% of training, ArcFace s=30 m=0.5,
 * CosFace s=30 m=0.4, augmentation p=0.5 resize+crop, flip, random erasing).
 */
import type { Equal } from "../data/mod.ts";
import { z } from "./deps.ts";

/** Margin head and loss settings. */
export interface LossConfig {
  /** arcface | cosface | softmax (default arcface). */
  kind: "arcface" | "cosface" | "softmax";
  /** Scale s (default 30). */
  s?: number;
  /** Margin m (default 0.5 ArcFace, 0.4 CosFace). */
  m?: number;
  /** ArcFace easy margin (default off, as in the paper's code). */
  easyMargin: boolean;
}

/** Margin head and loss. `s`/`m` default to the paper's values for the chosen kind. */
const lossConfigSchema = z.object({
  kind: z.enum(["arcface", "cosface", "softmax"]).default("arcface"),
  /** Scale s (ArcFace/CosFace); default 30 as in the paper's code. */
  s: z.number().positive().optional(),
  /** Margin m; default 0.5 (ArcFace) or 0.4 (CosFace). */
  m: z.number().min(0).max(Math.PI / 2).optional(),
  /** ArcFace easy margin (cos(θ+m) only where cos θ > 0); the paper's code has it off. */
  easyMargin: z.boolean().default(false),
});
/** Zod schema of {@link LossConfig}. */
export const LossConfigSchema: z.ZodType<LossConfig, Partial<LossConfig>> = lossConfigSchema;

/** The paper's defaults: ArcFace s=30, m=0.5; CosFace s=30, m=0.4. */
export function lossDefaults(loss: LossConfig): { s: number; m: number } {
  const m = loss.kind === "cosface" ? 0.4 : loss.kind === "arcface" ? 0.5 : 0;
  return { s: loss.s ?? 30, m: loss.m ?? m };
}

/** Augmentation settings. */
export interface AugmentConfig {
  /** Apply augmentation at all (default true). */
  enabled: boolean;
  /** Probability of resize + random crop (default 0.5). */
  resizeCrop: number;
  /** Enlargement before the crop (default 1.125). */
  cropScale: number;
  /** Probability of a horizontal flip (default 0.5). */
  flip: number;
  /** Probability of random erasing (default 0.5). */
  erase: number;
}

/** Training augmentation (paper: p=0.5 resize+random crop, horizontal flip, random erasing). */
const augmentConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /** Probability of "enlarge by `cropScale`, then crop a random window of the input size". */
  resizeCrop: z.number().min(0).max(1).default(0.5),
  /** Enlargement factor of the resize before the random crop. */
  cropScale: z.number().min(1).max(2).default(1.125),
  /** Probability of a horizontal flip. */
  flip: z.number().min(0).max(1).default(0.5),
  /** Probability of random erasing (torchvision defaults: area 2–33%, aspect 0.3–3.3, value 0). */
  erase: z.number().min(0).max(1).default(0.5),
});
/** Zod schema of {@link AugmentConfig}. */
export const AugmentConfigSchema: z.ZodType<AugmentConfig, Partial<AugmentConfig>> =
  augmentConfigSchema;

/** Real-set selection: first `ids` identities × first `perId` images (0 = all). */
export interface RealConfig {
  /** A `data/` dataset or an aligned image folder `<identity>/<image>`. */
  dir: string;
  /** First R identities (sorted); 0 = all. */
  ids: number;
  /** First K images per identity (sorted); 0 = all. */
  perId: number;
}

/** The small labelled real set for Domain Mixup: first `ids` identities × first `perId` images. */
const realConfigSchema = z.object({
  /** A `data/` dataset or an aligned image folder `<identity>/<image>`. */
  dir: z.string().min(1),
  /** First R identities (sorted); 0 = all. */
  ids: z.number().int().min(0).default(0),
  /** First K images per identity (sorted); 0 = all. */
  perId: z.number().int().min(0).default(0),
});
/** Zod schema of {@link RealConfig}. */
export const RealConfigSchema: z.ZodType<RealConfig, Partial<RealConfig> & { dir: string }> =
  realConfigSchema;

/** Validation settings (model selection; never LFW View 2). */
export interface ValConfig {
  /** LFW View 1 pairs file. */
  pairs?: string;
  /** Image root of `pairs`. */
  images?: string;
  /** Held-out dataset to draw pairs from. */
  data?: string;
  /** Pairs drawn from `data` (default 600). */
  numPairs: number;
  /** Cap on the pairs used from `pairs` (0 = all). */
  maxPairs: number;
}

/** Validation (model selection) — never LFW View 2. */
const valConfigSchema = z.object({
  /** A pairs file in LFW View 1 format (`pairsDevTrain.txt`); View 2 (`10\t300`) is refused. */
  pairs: z.string().optional(),
  /** Image root for `pairs` (`<Name>/<Name>_NNNN.jpg`). */
  images: z.string().optional(),
  /** A held-out dataset (`data/` or image folder) from which same/different pairs are drawn. */
  data: z.string().optional(),
  /** Pairs drawn from `data` (half same, half different). */
  numPairs: z.number().int().positive().default(600),
  /** Cap on the pairs used from `pairs` (0 = all), to keep per-epoch validation cheap. */
  maxPairs: z.number().int().min(0).default(0),
});
/** Zod schema of {@link ValConfig}. */
export const ValConfigSchema: z.ZodType<ValConfig, Partial<ValConfig>> = valConfigSchema;

/** How dataset images reach the network input: as is, centred crop, or aspect crop + resize. */
export type FitMode = "exact" | "center-crop" | "resize";

/** Everything a training run needs (after defaults); see the schema for each field. */
export interface TrainConfig {
  /** Training set: a `data/` dataset (manifest.jsonl) or an image folder `<class>/<image>`. */
  data: string;
  /** Run folder: config.json, metrics.jsonl, checkpoints, model.onnx, embedder.json. */
  out: string;
  /** Backbone name (`ARCHS` in arch.ts; default `ir18_half`). */
  arch: string;
  /** Network input; default the architecture's (112×96 for the IR family). */
  input?: { height: number; width: number };
  /**
   * Dataset images of another size: "center-crop" (default; the paper's 112×112 → 112×96),
   * "resize" (centred window of the input's aspect, then resized: e.g. 112×112 → 64×64 for
   * cheap CPU runs) or "exact" (an error).
   */
  fit: FitMode;
  /** Head and loss. */
  loss: LossConfig;
  /** Epochs (default 40), unless `steps` is set. */
  epochs: number;
  /** Optimiser steps in total (overrides `epochs`). */
  steps?: number;
  /** Images per optimiser step (default 128; the paper 512). */
  batch: number;
  /** Images per forward/backward pass; gradients of batch/microBatch passes are accumulated. */
  microBatch?: number;
  /** Base learning rate (default 0.1·batch/512). */
  lr?: number;
  /** Fractions of the total steps where lr is multiplied by `gamma` (default 0.6, 0.75, 0.9). */
  milestones: number[];
  /** Learning-rate factor at each milestone (default 0.1). */
  gamma: number;
  /** Linear warm-up steps (default 0). */
  warmupSteps: number;
  /** SGD momentum (default 0.9). */
  momentum: number;
  /** Weight decay on every parameter (default 5e-4). */
  weightDecay: number;
  /** Dropout in the BN-Dropout-FC-BN head (default 0, as insightface's arcface_torch). */
  dropout: number;
  /** Seed of initialisation, data order, augmentation, λ and dropout (default 0). */
  seed: number;
  /** Compute backend (default auto: WebGPU on a hardware GPU, else cpu). */
  backend: "auto" | "cpu" | "webgpu";
  /** cpu backend threads, also when `auto` picks cpu (default all cores; recorded as used). */
  threads?: number;
  /** Training augmentation. */
  augment: AugmentConfig;
  /** Real set for Domain Mixup. */
  real?: RealConfig;
  /** Domain Mixup with `real` (default off). */
  domainMixup: boolean;
  /** Validation sets for model selection (never LFW View 2). */
  val?: ValConfig;
  /** Also checkpoint every N steps (default 0: each epoch only). */
  checkpointEvery: number;
  /** Loader Worker threads (0 = build batches inline); default 1 on cpu, up to 8 on a GPU. */
  workers?: number;
  /** Batches requested ahead of training (default 4). */
  prefetch: number;
  /** Metrics/progress every N steps (default 10). */
  logEvery: number;
}

/** A training configuration as given: `data` and `out` required, the rest defaulted. */
export type TrainConfigInput =
  & Partial<Omit<TrainConfig, "loss" | "augment" | "real" | "val">>
  & {
    data: string;
    out: string;
    loss?: Partial<LossConfig>;
    augment?: Partial<AugmentConfig>;
    real?: Partial<RealConfig> & { dir: string };
    val?: Partial<ValConfig>;
  };

/** Everything a training run needs. */
const trainConfigSchema = z.object({
  /** Synthetic (or any) training dataset folder. */
  data: z.string().min(1),
  /** Run folder: config.json, metrics.jsonl, checkpoints, model.onnx. */
  out: z.string().min(1),
  /** Backbone name, see `recognition/backbones.ts` (`lresnet50e_ir`, `ir18_half`, …). */
  arch: z.string().default("ir18_half"),
  /** Network input height×width; default: the architecture's own (112×96 for the IR family). */
  input: z.object({ height: z.number().int().positive(), width: z.number().int().positive() })
    .optional(),
  /** How dataset images of another size reach the input (see {@link TrainConfig.fit}). */
  fit: z.enum(["exact", "center-crop", "resize"]).default("center-crop"),
  loss: lossConfigSchema.default({ kind: "arcface", easyMargin: false }),
  /** Training length: epochs, or (when set) optimiser steps. */
  epochs: z.number().int().positive().default(40),
  steps: z.number().int().positive().optional(),
  /** Images per optimiser step (the paper: 512; 128 keeps CPU memory reasonable). */
  batch: z.number().int().positive().default(128),
  /** Images per forward/backward pass; batch/microBatch passes are accumulated per step. */
  microBatch: z.number().int().positive().optional(),
  /** Base learning rate; default 0.1·batch/512 (the paper: 0.1 at batch 512). */
  lr: z.number().positive().optional(),
  /** Multi-step schedule: lr ×gamma at these fractions of the total steps. */
  milestones: z.array(z.number().gt(0).lt(1)).default([0.6, 0.75, 0.9]),
  gamma: z.number().positive().default(0.1),
  /** Linear warm-up steps (0 = none). */
  warmupSteps: z.number().int().min(0).default(0),
  momentum: z.number().min(0).lt(1).default(0.9),
  weightDecay: z.number().min(0).default(5e-4),
  /** Dropout before the embedding FC (BN-Dropout-FC-BN head). */
  dropout: z.number().min(0).lt(1).default(0),
  seed: z.number().int().default(0),
  backend: z.enum(["auto", "cpu", "webgpu"]).default("auto"),
  /** CPU backend threads (default: all cores). */
  threads: z.number().int().positive().optional(),
  augment: augmentConfigSchema.default({
    enabled: true,
    resizeCrop: 0.5,
    cropScale: 1.125,
    flip: 0.5,
    erase: 0.5,
  }),
  real: realConfigSchema.optional(),
  /** Domain Mixup with `real` (λ per batch from the 21-value grid); without it `real` is only concatenated classes. */
  domainMixup: z.boolean().default(false),
  val: valConfigSchema.optional(),
  /** Checkpoint every N optimiser steps (0 = only at epoch ends). */
  checkpointEvery: z.number().int().min(0).default(0),
  /** Loader worker count and prefetch depth (batches queued ahead). */
  workers: z.number().int().min(0).optional(),
  prefetch: z.number().int().positive().default(4),
  /** Print/log the loss every N steps (reading it back costs a device sync). */
  logEvery: z.number().int().positive().default(10),
});
/** Zod schema of {@link TrainConfig} (input: {@link TrainConfigInput}). */
export const TrainConfigSchema: z.ZodType<TrainConfig, TrainConfigInput> = trainConfigSchema;

// The hand-written types above carry the per-field docs of the public API (JSR's no-slow-types
// rule refuses exported types inferred from an unannotated schema); they must stay exactly the
// schemas' types.
const _typesMatch: [
  Equal<z.infer<typeof lossConfigSchema>, LossConfig>,
  Equal<z.infer<typeof augmentConfigSchema>, AugmentConfig>,
  Equal<z.infer<typeof realConfigSchema>, RealConfig>,
  Equal<z.infer<typeof valConfigSchema>, ValConfig>,
  Equal<z.infer<typeof trainConfigSchema>, TrainConfig>,
  // An intersection is never Equal to an object type, so the input type is checked both ways.
  z.input<typeof trainConfigSchema> extends TrainConfigInput ? true : false,
  TrainConfigInput extends z.input<typeof trainConfigSchema> ? true : false,
] = [true, true, true, true, true, true, true];

/** Raised for invalid configurations and bad training inputs; the message says what and where. */
export class TrainConfigError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "TrainConfigError";
  }
}

/** Validate a configuration and apply defaults; errors name the field. */
export function parseTrainConfig(value: unknown, where = "config"): TrainConfig {
  const r = trainConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.length ? `field "${issue.path.join(".")}": ` : "";
    throw new TrainConfigError(`${where}: ${field}${issue.message}`);
  }
  const c = r.data;
  if (c.microBatch !== undefined && c.batch % c.microBatch !== 0) {
    throw new TrainConfigError(
      `${where}: field "microBatch": ${c.microBatch} does not divide batch ${c.batch}`,
    );
  }
  if (c.domainMixup && !c.real) {
    throw new TrainConfigError(`${where}: domainMixup needs a real set (field "real")`);
  }
  if (c.val?.pairs && !c.val.images) {
    throw new TrainConfigError(`${where}: field "val.pairs" needs "val.images" (the image root)`);
  }
  return c;
}

/** The effective base learning rate (0.1·batch/512 when not given). */
export function baseLr(c: TrainConfig): number {
  return c.lr ?? 0.1 * c.batch / 512;
}

/**
 * Learning rate at optimiser step `step` (0-based) of `total`: linear warm-up, then ×gamma at
 * each milestone fraction (milestone step = ⌊fraction·total⌋, so 0.6 of 40 epochs is epoch 24).
 */
export function learningRate(c: TrainConfig, step: number, total: number): number {
  const base = baseLr(c);
  if (step < c.warmupSteps) return base * (step + 1) / c.warmupSteps;
  let lr = base;
  for (const f of c.milestones) if (step >= Math.floor(f * total)) lr *= c.gamma;
  return lr;
}
