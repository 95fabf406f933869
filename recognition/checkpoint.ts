/**
 * Training checkpoints: the engine's state-dict file (`autodiff/state_dict.ts`, "SYNFCKPT")
 * holding the model's parameters and running statistics, the optimiser's momenta
 * (`<param>.momentum`) and the run's position as meta; written atomically (temp file in the same
 * folder, fsync, rename), so a crash or a full disk while writing leaves the previous checkpoint
 * intact.
 */
import {
  decodeStateDict,
  encodeStateDict,
  loadStateDict,
  type Module,
  type SGD,
  type StateDict,
  stateDict,
} from "./autodiff/mod.ts";
import { z } from "./deps.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";

/** The JSON part of a checkpoint (besides the tensor list). */
export const CheckpointMetaSchema = z.object({
  /** The run configuration (`TrainConfig`) as written to config.json. */
  config: z.unknown(),
  /** Optimiser steps done. */
  globalStep: z.number().int().min(0),
  /** The next batch to train on. */
  position: z.object({ epoch: z.number().int().min(0), step: z.number().int().min(0) }),
  /** Whatever else the trainer needs to continue exactly (best score, last loss). */
  state: z.record(z.string(), z.unknown()),
});
/** The JSON part of a checkpoint (besides the tensor list). */
export type CheckpointMeta = z.infer<typeof CheckpointMetaSchema>;

/** A checkpoint in memory. */
export interface Checkpoint {
  /** Config, step, data position and trainer state. */
  meta: CheckpointMeta;
  /** Weights, running statistics and momenta by name. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Raised when a checkpoint cannot be written or read; says which file and what happened. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

const MOMENTUM = ".momentum";

/** The tensors of a checkpoint: `model`'s state dict and `opt`'s momenta as `<param>.momentum`. */
export async function trainingState(model: Module, opt: SGD): Promise<Checkpoint["tensors"]> {
  const out = new Map(Object.entries(await stateDict(model)));
  for (const [name, m] of Object.entries(await opt.stateDict())) out.set(name + MOMENTUM, m);
  return out;
}

/** Loads what {@link trainingState} saved back into `model` and `opt` (every name must match). */
export function loadTrainingState(model: Module, opt: SGD, tensors: Checkpoint["tensors"]): void {
  const weights: StateDict = {}, momenta: StateDict = {};
  for (const [name, t] of tensors) {
    if (name.endsWith(MOMENTUM)) momenta[name.slice(0, -MOMENTUM.length)] = t;
    else weights[name] = t;
  }
  loadStateDict(model, weights);
  // A momentum left at zero would resume silently inexactly: every one must be there.
  for (const [name] of model.namedParameters()) {
    if (!momenta[name]) throw new CheckpointError(`missing momentum "${name}${MOMENTUM}"`);
  }
  opt.loadStateDict(momenta);
}

/** Serialise a checkpoint to bytes. */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  try {
    return encodeStateDict(Object.fromEntries(ckpt.tensors), { ...ckpt.meta });
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
}

/** Parse checkpoint bytes; `file` names the source in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file = "<checkpoint>"): Checkpoint {
  let decoded: ReturnType<typeof decodeStateDict>;
  try {
    decoded = decodeStateDict(bytes, file);
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
  const meta = CheckpointMetaSchema.safeParse(decoded.meta);
  if (!meta.success) throw new CheckpointError(`${file}: bad meta: ${meta.error.message}`);
  return { meta: meta.data, tensors: new Map(Object.entries(decoded.state)) };
}

/** How bytes reach the disk; replaceable in tests (e.g. to simulate a full disk). */
export type WriteFileFn = (path: string | URL, data: Uint8Array) => Promise<void>;

/**
 * Write a checkpoint atomically to `path`. On any failure the temp file is removed, `path`
 * keeps its previous content, and a {@link CheckpointError} says so.
 */
export async function writeCheckpoint(
  path: string,
  ckpt: Checkpoint,
  opts: { writeFile?: WriteFileFn } = {},
): Promise<void> {
  const bytes = encodeCheckpoint(ckpt);
  try {
    await writeFileAtomic(path, bytes, { sync: true, write: opts.writeFile });
  } catch (e) {
    throw new CheckpointError(
      `${path}: writing the checkpoint failed (${(e as Error).message}); ` +
        `the previous checkpoint at that path, if any, is unchanged`,
    );
  }
}

/** Read a checkpoint file. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new CheckpointError(`${path}: no such checkpoint`);
    throw e;
  }
  return decodeCheckpoint(bytes, path);
}
