/**
 * Training configuration: one zod schema for everything a run needs, so a run folder's
 * `config.json` fully describes (and re-creates) the run. Defaults follow `../shared/PAPER.md`
 * (SGD momentum 0.9, weight decay 5e-4, ×0.1 at 60/75/90% of training, ArcFace s=30 m=0.5,
 * CosFace s=30 m=0.4, augmentation p=0.5 resize+crop, flip, random erasing).
 */
import { z } from "./deps.ts";

/** Margin head and loss. `s`/`m` default to the paper's values for the chosen kind. */
export const LossConfigSchema = z.object({
  kind: z.enum(["arcface", "cosface", "softmax"]).default("arcface"),
  /** Scale s (ArcFace/CosFace); default 30 as in the paper's code. */
  s: z.number().positive().optional(),
  /** Margin m; default 0.5 (ArcFace) or 0.4 (CosFace). */
  m: z.number().min(0).max(Math.PI / 2).optional(),
  /** ArcFace easy margin (cos(θ+m) only where cos θ > 0); the paper's code has it off. */
  easyMargin: z.boolean().default(false),
});
/** Margin head and loss settings. */
export type LossConfig = z.infer<typeof LossConfigSchema>;

/** The paper's defaults: ArcFace s=30, m=0.5; CosFace s=30, m=0.4. */
export function lossDefaults(loss: LossConfig): { s: number; m: number } {
  const m = loss.kind === "cosface" ? 0.4 : loss.kind === "arcface" ? 0.5 : 0;
  return { s: loss.s ?? 30, m: loss.m ?? m };
}

/** Training augmentation (paper: p=0.5 resize+random crop, horizontal flip, random erasing). */
export const AugmentConfigSchema = z.object({
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
/** Augmentation settings. */
export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;

/** The small labelled real set for Domain Mixup: first `ids` identities × first `perId` images. */
export const RealConfigSchema = z.object({
  /** A `data/` dataset or an aligned image folder `<identity>/<image>`. */
  dir: z.string().min(1),
  /** First R identities (sorted); 0 = all. */
  ids: z.number().int().min(0).default(0),
  /** First K images per identity (sorted); 0 = all. */
  perId: z.number().int().min(0).default(0),
});
/** Real-set selection. */
export type RealConfig = z.infer<typeof RealConfigSchema>;

/** Validation (model selection) — never LFW View 2. */
export const ValConfigSchema = z.object({
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
/** Validation settings. */
export type ValConfig = z.infer<typeof ValConfigSchema>;

/** Everything a training run needs. */
export const TrainConfigSchema = z.object({
  /** Synthetic (or any) training dataset folder. */
  data: z.string().min(1),
  /** Run folder: config.json, metrics.jsonl, checkpoints, model.onnx. */
  out: z.string().min(1),
  /** Backbone name, see `recognition/backbones.ts` (`lresnet50e_ir`, `ir18_half`, …). */
  arch: z.string().default("ir18_half"),
  /** Network input height×width; default: the architecture's own (112×96 for the IR family). */
  input: z.object({ height: z.number().int().positive(), width: z.number().int().positive() })
    .optional(),
  /** How dataset images of another size reach the input: only a centred crop, never a resize. */
  fit: z.enum(["exact", "center-crop"]).default("center-crop"),
  loss: LossConfigSchema.default({ kind: "arcface", easyMargin: false }),
  /** Training length: epochs, or (when set) optimiser steps. */
  epochs: z.number().int().positive().default(40),
  steps: z.number().int().positive().optional(),
  /** Images per optimiser step. */
  batch: z.number().int().positive().default(512),
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
  augment: AugmentConfigSchema.default({
    enabled: true,
    resizeCrop: 0.5,
    cropScale: 1.125,
    flip: 0.5,
    erase: 0.5,
  }),
  real: RealConfigSchema.optional(),
  /** Domain Mixup with `real` (λ per batch from the 21-value grid); without it `real` is only concatenated classes. */
  domainMixup: z.boolean().default(false),
  val: ValConfigSchema.optional(),
  /** Checkpoint every N optimiser steps (0 = only at epoch ends). */
  checkpointEvery: z.number().int().min(0).default(0),
  /** Loader worker count and prefetch depth (batches queued ahead). */
  workers: z.number().int().min(0).default(1),
  prefetch: z.number().int().positive().default(4),
  /** Print/log the loss every N steps (reading it back costs a device sync). */
  logEvery: z.number().int().positive().default(10),
});
/** A complete training configuration (after defaults). */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
/** A training configuration as given (defaults not yet applied). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Raised for invalid configurations and bad training inputs; the message says what and where. */
export class TrainConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainConfigError";
  }
}

/** Validate a configuration and apply defaults; errors name the field. */
export function parseTrainConfig(value: unknown, where = "config"): TrainConfig {
  const r = TrainConfigSchema.safeParse(value);
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
