/**
 * Checkpoint files: one self-describing binary file per checkpoint, written atomically (temp
 * file in the same folder, fsync, rename), so a crash or a full disk while writing leaves the
 * previous checkpoint intact.
 *
 * Layout: "SYNFCKPT" (8 bytes), u32 version, u32 JSON length, JSON meta (UTF-8), zero padding to
 * a multiple of 4, then the float32 tensors back to back in the order of `meta.tensors`.
 */
import type { Equal } from "../data/mod.ts";
import { z } from "./deps.ts";

const MAGIC = "SYNFCKPT";
const VERSION = 1;

/** One tensor's entry in the checkpoint meta. */
const tensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
});

/** The JSON part of a checkpoint. */
export interface CheckpointMeta {
  /** The run configuration (`TrainConfig`) as written to config.json. */
  config: unknown;
  /** Optimiser steps done. */
  globalStep: number;
  /** The next batch to train on. */
  position: { epoch: number; step: number };
  /** Whatever else the trainer needs to continue exactly. */
  state: Record<string, unknown>;
  /** Tensor names and shapes, in data order. */
  tensors: { name: string; shape: number[] }[];
}

const checkpointMetaSchema = z.object({
  /** The run configuration (`TrainConfig`) as written to config.json. */
  config: z.unknown(),
  /** Optimiser steps done. */
  globalStep: z.number().int().min(0),
  /** The next batch to train on. */
  position: z.object({ epoch: z.number().int().min(0), step: z.number().int().min(0) }),
  /** Whatever else the trainer needs to continue exactly (best score, last loss). */
  state: z.record(z.string(), z.unknown()),
  tensors: z.array(tensorEntrySchema),
});
/** Zod schema of {@link CheckpointMeta}. */
export const CheckpointMetaSchema: z.ZodType<CheckpointMeta> = checkpointMetaSchema;
// The hand-written type carries the public docs (no-slow-types); it must stay the schema's type.
const _typesMatch: Equal<z.infer<typeof checkpointMetaSchema>, CheckpointMeta> = true;

/** A checkpoint in memory. */
export interface Checkpoint {
  /** Config, step, data position and trainer state. */
  meta: Omit<CheckpointMeta, "tensors">;
  /** Weights, running statistics and momenta by name. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Raised when a checkpoint cannot be written or read; says which file and what happened. */
export class CheckpointError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Serialise a checkpoint to bytes. */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const tensors = [...ckpt.tensors].map(([name, t]) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new CheckpointError(`tensor "${name}": shape [${t.shape}] but ${t.data.length} values`);
    }
    return { name, shape: t.shape };
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...ckpt.meta, tensors }));
  const head = 16 + json.length;
  const start = Math.ceil(head / 4) * 4;
  let total = start;
  for (const t of ckpt.tensors.values()) total += t.data.byteLength;
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let off = start;
  for (const t of ckpt.tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), off);
    off += t.data.byteLength;
  }
  return out;
}

/** Parse checkpoint bytes; `file` names the source in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file = "<checkpoint>"): Checkpoint {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointError(`${file}: not a synface checkpoint (bad magic bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) {
    throw new CheckpointError(`${file}: checkpoint version ${version}, expected ${VERSION}`);
  }
  const len = view.getUint32(12, true);
  if (16 + len > bytes.length) throw new CheckpointError(`${file}: truncated meta`);
  let meta: CheckpointMeta;
  try {
    meta = CheckpointMetaSchema.parse(
      JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + len))),
    );
  } catch (e) {
    throw new CheckpointError(`${file}: bad meta: ${(e as Error).message}`);
  }
  let off = Math.ceil((16 + len) / 4) * 4;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of meta.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (off + 4 * n > bytes.length) {
      throw new CheckpointError(`${file}: truncated at tensor "${t.name}"`);
    }
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes.subarray(off, off + 4 * n));
    tensors.set(t.name, { shape: t.shape, data });
    off += 4 * n;
  }
  if (off !== bytes.length) {
    throw new CheckpointError(`${file}: ${bytes.length - off} trailing bytes after the tensors`);
  }
  const { tensors: _t, ...rest } = meta;
  return { meta: rest, tensors };
}

/** How bytes reach the disk; replaceable in tests (e.g. to simulate a full disk). */
export type WriteFileFn = (path: string, data: Uint8Array) => Promise<void>;

async function writeAndSync(path: string, data: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < data.length) off += await f.write(data.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

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
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const tmp = `${dir}/.${path.slice(path.lastIndexOf("/") + 1)}.${crypto.randomUUID()}.tmp`;
  try {
    await (opts.writeFile ?? writeAndSync)(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
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
