/**
 * Named parameters and buffers of a module as host arrays (`stateDict`), loading them back with
 * shape checks (`loadStateDict`), and the one checkpoint file format (`encodeStateDict` /
 * `decodeStateDict`): "SYNFCKPT" (8 bytes), u32 version, u32 JSON length, JSON (the caller's
 * meta plus `tensors`: names and shapes in data order), zero padding to a multiple of 4, then the
 * float32 tensors back to back. The trainer's checkpoints (`../checkpoint.ts`) are this format.
 * @module
 */
import { z } from "./deps.ts";
import type { Module } from "./nn.ts";

/** One saved tensor. */
export interface StateEntry {
  shape: number[];
  data: Float32Array;
}

/** Tensors by dotted name ("layer1.0.bn1.running_mean"). */
export type StateDict = Record<string, StateEntry>;

/** Downloads every parameter and buffer of `m`. */
export async function stateDict(m: Module): Promise<StateDict> {
  const out: StateDict = {};
  for (const [name, t] of m.namedTensors()) {
    out[name] = { shape: [...t.shape], data: await t.toArray() };
  }
  return out;
}

/** Options of {@link loadStateDict}. */
export interface LoadOptions {
  /** Fail on missing or unexpected names (default true). */
  strict?: boolean;
}

/** Uploads saved tensors into `m`; shape mismatches and (when strict) missing/extra names throw. */
export function loadStateDict(m: Module, sd: StateDict, opts: LoadOptions = {}): void {
  const strict = opts.strict ?? true;
  const targets = new Map(m.namedTensors());
  const problems: string[] = [];
  for (const [name, t] of targets) {
    const e = sd[name];
    if (!e) {
      if (strict) problems.push(`missing ${name} [${t.shape}]`);
      continue;
    }
    if (e.shape.join() !== t.shape.join() || e.data.length !== t.size) {
      problems.push(`${name}: checkpoint has [${e.shape}], model expects [${t.shape}]`);
    }
  }
  if (strict) {
    for (const name of Object.keys(sd)) {
      if (!targets.has(name)) problems.push(`unexpected ${name}`);
    }
  }
  if (problems.length) throw new Error(`loadStateDict: ${problems.join("; ")}`);
  for (const [name, t] of targets) {
    const e = sd[name];
    if (e) t.backend.upload(t.buf, e.data);
  }
}

const MAGIC = "SYNFCKPT";
const VERSION = 1;

/** The JSON part's tensor list (the rest of the JSON is the caller's meta). */
const headerSchema = z.looseObject({
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().min(0)) })),
});

/** Serialises a state dict plus JSON-able `meta` to bytes (see the module comment). */
export function encodeStateDict(sd: StateDict, meta: Record<string, unknown> = {}): Uint8Array {
  const entries = Object.entries(sd);
  const tensors = entries.map(([name, e]) => {
    if (e.shape.reduce((a, b) => a * b, 1) !== e.data.length) {
      throw new Error(`tensor "${name}": shape [${e.shape}] but ${e.data.length} values`);
    }
    return { name, shape: e.shape };
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...meta, tensors }));
  const start = Math.ceil((16 + json.length) / 4) * 4;
  const bytes = new Uint8Array(start + entries.reduce((a, [, e]) => a + e.data.byteLength, 0));
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.length, true);
  bytes.set(json, 16);
  let off = start;
  for (const [, { data }] of entries) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), off);
    off += data.byteLength;
  }
  return bytes;
}

/** Parses bytes written by {@link encodeStateDict}; `source` names the file in errors. */
export function decodeStateDict(
  bytes: Uint8Array,
  source = "checkpoint",
): { state: StateDict; meta: Record<string, unknown> } {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${source}: not a synface checkpoint (expected magic ${MAGIC})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) {
    throw new Error(`${source}: checkpoint version ${version}, expected ${VERSION}`);
  }
  const len = view.getUint32(12, true);
  if (16 + len > bytes.length) throw new Error(`${source}: truncated meta`);
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + len))));
  } catch (e) {
    throw new Error(`${source}: bad meta: ${(e as Error).message}`);
  }
  let off = Math.ceil((16 + len) / 4) * 4;
  const state: StateDict = {};
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (off + 4 * n > bytes.length) throw new Error(`${source}: truncated at tensor "${t.name}"`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes.subarray(off, off + 4 * n));
    state[t.name] = { shape: t.shape, data };
    off += 4 * n;
  }
  if (off !== bytes.length) {
    throw new Error(`${source}: ${bytes.length - off} trailing bytes after the tensors`);
  }
  const { tensors: _t, ...meta } = header;
  return { state, meta };
}
