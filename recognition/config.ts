/**
 * Training configuration: one zod schema for everything a run needs, so a run folder's
 * `config.json` fully describes (and re-creates) the run. Defaults follow `../shared/PAPER.md`
 * (SGD momentum 0.9, weight decay 5e-4, ×0.1 at 60/75/90% of training, ArcFace s=30 m=0.5,
 * CosFace s=30 m=0.4, augmentation p=0.5 resize+crop, flip, random erasing).
 */
import { describeIssue } from "../data/dataset.ts";
import { z } from "./deps.ts";

// Types are the schemas' own (`z.infer`), so a field's docs, default and type are written once.

/** Margin head and loss. `s`/`m` default to the paper's values for the chosen kind. */
export const LossConfigSchema = z.object({
  /** arcface | cosface | softmax (default arcface). */
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
  /** Apply augmentation at all (default true). */
  enabled: z.boolean().default(true),
  /** Probability of "enlarge by `cropScale`, then crop a random window of the input size". */
  resizeCrop: z.number().min(0).max(1).default(0.5),
  /** Enlargement factor of the resize before the random crop (default 1.125). */
  cropScale: z.number().min(1).max(2).default(1.125),
  /** Probability of a horizontal flip. */
  flip: z.number().min(0).max(1).default(0.5),
  /** Probability of random erasing (torchvision defaults: area 2–33%, aspect 0.3–3.3, value 0). */
  erase: z.number().min(0).max(1).default(0.5),
  /**
   * Photometric augmentation (ours, not the paper's; all 0 = off, and no random draws, so a run
   * without it is bit-identical to one from before it existed). Probability of a colour jitter:
   * brightness, contrast and saturation each × U(0.6, 1.4).
   */
  colour: z.number().min(0).max(1).default(0),
  /** Probability of turning the image grey (luminance in all channels). */
  grey: z.number().min(0).max(1).default(0),
  /** Probability of a Gaussian blur, σ ~ U(0.3, 1.5) pixels of the input. */
  blur: z.number().min(0).max(1).default(0),
  /** Probability of a low-resolution round trip: shrink to U(0.3, 0.8) of the size, then back. */
  lowRes: z.number().min(0).max(1).default(0),
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

/** Validation (model selection) — never LFW View 2. */
export const ValConfigSchema = z.object({
  /** A pairs file in LFW View 1 format (`pairsDevTrain.txt`); View 2 (`10\t300`) is refused. */
  pairs: z.string().optional(),
  /** Image root for `pairs` (`<Name>/<Name>_NNNN.jpg`). */
  images: z.string().optional(),
  /** A held-out dataset (`data/` or image folder) from which same/different pairs are drawn. */
  data: z.string().optional(),
  /** Pairs drawn from `data` (half same, half different; default 600). */
  numPairs: z.number().int().positive().default(600),
  /** Cap on the pairs used from `pairs` (0 = all), to keep per-epoch validation cheap. */
  maxPairs: z.number().int().min(0).default(0),
});
/** Validation settings (model selection; never LFW View 2). */
export type ValConfig = z.infer<typeof ValConfigSchema>;

/** Everything a training run needs. */
export const TrainConfigSchema = z.object({
  /** Training set: a `data/` dataset (manifest.jsonl) or an image folder `<class>/<image>`. */
  data: z.string().min(1),
  /** Run folder: config.json, metrics.jsonl, checkpoints, model.onnx, embedder.json. */
  out: z.string().min(1),
  /** Backbone name (`ARCHS` in arch.ts: `lresnet50e_ir`, `ir18_half`, …; default `ir18_half`). */
  arch: z.string().default("ir18_half"),
  /** Network input height×width; default: the architecture's own (112×96 for the IR family). */
  input: z.object({ height: z.number().int().positive(), width: z.number().int().positive() })
    .optional(),
  /**
   * Dataset images of another size: "center-crop" (default; the paper's 112×112 → 112×96),
   * "resize" (centred window of the input's aspect, then resized: e.g. 112×112 → 64×64 for
   * cheap CPU runs) or "exact" (an error).
   */
  fit: z.enum(["exact", "center-crop", "resize"]).default("center-crop"),
  /** Head and loss. */
  loss: LossConfigSchema.prefault({}),
  /** Epochs (default 40), unless `steps` is set. */
  epochs: z.number().int().positive().default(40),
  /** Optimiser steps in total (overrides `epochs`). */
  steps: z.number().int().positive().optional(),
  /** Images per optimiser step (the paper: 512; default 128 keeps CPU memory reasonable). */
  batch: z.number().int().positive().default(128),
  /** Images per forward/backward pass; batch/microBatch passes are accumulated per step. */
  microBatch: z.number().int().positive().optional(),
  /** Base learning rate; default 0.1·batch/512 (the paper: 0.1 at batch 512). */
  lr: z.number().positive().optional(),
  /** Fractions of the total steps where lr is multiplied by `gamma` (default 0.6, 0.75, 0.9). */
  milestones: z.array(z.number().gt(0).lt(1)).default([0.6, 0.75, 0.9]),
  /** Learning-rate factor at each milestone (default 0.1). */
  gamma: z.number().positive().default(0.1),
  /** Linear warm-up steps (default 0 = none). */
  warmupSteps: z.number().int().min(0).default(0),
  /** SGD momentum (default 0.9). */
  momentum: z.number().min(0).lt(1).default(0.9),
  /** Weight decay on every parameter (default 5e-4). */
  weightDecay: z.number().min(0).default(5e-4),
  /** Dropout in the BN-Dropout-FC-BN head (default 0, as insightface's arcface_torch). */
  dropout: z.number().min(0).lt(1).default(0),
  /** Seed of initialisation, data order, augmentation, λ and dropout (default 0). */
  seed: z.number().int().default(0),
  /** Compute backend (default auto: WebGPU on a hardware GPU, else cpu). */
  backend: z.enum(["auto", "cpu", "webgpu"]).default("auto"),
  /** cpu backend threads, also when `auto` picks cpu (default all cores; recorded as used). */
  threads: z.number().int().positive().optional(),
  /** Training augmentation. */
  augment: AugmentConfigSchema.prefault({}),
  /** Real set for Domain Mixup. */
  real: RealConfigSchema.optional(),
  /** Domain Mixup with `real` (λ per batch from the 21-value grid); without it `real` is only concatenated classes. */
  domainMixup: z.boolean().default(false),
  /** Validation sets for model selection (never LFW View 2). */
  val: ValConfigSchema.optional(),
  /** Also checkpoint every N optimiser steps (default 0: only at epoch ends). */
  checkpointEvery: z.number().int().min(0).default(0),
  /** Loader Worker threads (0 = build batches inline); default 1 on cpu, up to 8 on a GPU. */
  workers: z.number().int().min(0).optional(),
  /** Batches requested ahead of training (default 4). */
  prefetch: z.number().int().positive().default(4),
  /** Metrics/progress every N steps (default 10; reading the loss back costs a device sync). */
  logEvery: z.number().int().positive().default(10),
});
/** Everything a training run needs (after defaults); see the schema for each field. */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
/** A training configuration as given: `data` and `out` required, the rest defaulted. */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
/** How dataset images reach the network input: as is, centred crop, or aspect crop + resize. */
export type FitMode = TrainConfig["fit"];

/** Raised for invalid configurations and bad training inputs; the message says what and where. */
export class TrainConfigError extends Error {
  override name = "TrainConfigError";
}

/** Validate a configuration and apply defaults; errors name the field. */
export function parseTrainConfig(value: unknown, where = "config"): TrainConfig {
  const r = TrainConfigSchema.safeParse(value);
  if (!r.success) throw new TrainConfigError(`${where}: ${describeIssue(r.error)}`);
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
