/**
 * Named parameters and buffers of a module as host arrays (`stateDict`), loading them back with
 * shape checks (`loadStateDict`), and a small binary container for them (`encodeStateDict` /
 * `decodeStateDict`): "SYNFTNSR", u32 header length, JSON header (zod-validated), float32 data.
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
  for (const [name, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
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
  const targets = new Map([...m.namedParameters(), ...m.namedBuffers()]);
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

const MAGIC = "SYNFTNSR";

/** The parsed header of the binary container. */
export interface StateHeader {
  version: 1;
  meta: Record<string, unknown>;
  tensors: { name: string; shape: number[]; offset: number }[];
}

/** Header of the binary container (validated on load). */
export const StateHeaderSchema: z.ZodType<StateHeader> = z.object({
  version: z.literal(1),
  meta: z.record(z.string(), z.unknown()),
  tensors: z.array(
    z.object({
      name: z.string().min(1),
      shape: z.array(z.number().int().nonnegative()),
      offset: z.number().int().nonnegative(),
    }),
  ),
});

/** Serialises a state dict (plus JSON-able `meta`) to bytes. */
export function encodeStateDict(sd: StateDict, meta: Record<string, unknown> = {}): Uint8Array {
  let offset = 0;
  const tensors = Object.entries(sd).map(([name, e]) => {
    const t = { name, shape: e.shape, offset };
    offset += e.data.length;
    return t;
  });
  const header = new TextEncoder().encode(JSON.stringify({ version: 1, meta, tensors }));
  const start = Math.ceil((12 + header.length) / 4) * 4;
  const bytes = new Uint8Array(start + offset * 4);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, header.length, true);
  bytes.set(header, 12);
  const data = new Float32Array(bytes.buffer, start, offset);
  Object.values(sd).forEach((e, i) => data.set(e.data, tensors[i].offset));
  return bytes;
}

/** Parses bytes written by {@link encodeStateDict}; `source` names the file in errors. */
export function decodeStateDict(
  bytes: Uint8Array,
  source = "checkpoint",
): { state: StateDict; meta: Record<string, unknown> } {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`${source}: not a synface tensor file (expected magic ${MAGIC})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = dv.getUint32(8, true);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen)));
  } catch (e) {
    throw new Error(`${source}: header is not JSON (${e})`);
  }
  const parsed = StateHeaderSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${source}: bad header: ${parsed.error.message}`);
  const start = Math.ceil((12 + hlen) / 4) * 4;
  const total = (bytes.length - start) / 4;
  const copy = bytes.slice(start); // aligned copy
  const data = new Float32Array(copy.buffer, 0, Math.floor(total));
  const state: StateDict = {};
  for (const t of parsed.data.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + n > data.length) {
      throw new Error(`${source}: tensor ${t.name} [${t.shape}] runs past the end of the data`);
    }
    state[t.name] = { shape: t.shape, data: data.slice(t.offset, t.offset + n) };
  }
  return { state, meta: parsed.data.meta };
}
