/**
 * The learned appearance model: a PCA of real face photographs in the generator's texture frame
 * (5-point aligned to the ArcFace 112×112 template, i.e. the frontal projection of the mean mesh,
 * sampled on an R×R grid, RGB in [0, 1], HWC). Stored as `appearance.bin`: a magic line, a JSON
 * header (zod-checked), then float16 `mean` [R·R·3] and `basis` [K, R·R·3], each basis row already
 * scaled by its component's standard deviation, so N(0, 1) coefficients give faces distributed
 * like the photos. Optionally a detail bank follows: M photos' luminance residuals (what the K
 * components miss: pores, lashes, hair strands, sharp edges), int8 with a scale each, keyed by
 * the photos' first coefficients, so the generator adds the nearest photo's fine detail to a
 * sampled texture. Built by `deno task build-generator --faces DIR`; read by `build.ts`.
 */
import { parseJsonText } from "../data/mod.ts";
import { z } from "./deps.ts";

const MAGIC = "SYNFACE-APPEARANCE/1\n";

const headerSchema = z.object({
  format: z.literal("synface-appearance/1"),
  /** Texture grid side (R): the 112×112 frame sampled at R×R texel centres. */
  resolution: z.number().int().min(8).max(224),
  /** Number of components (K). */
  components: z.number().int().positive(),
  /** Variance of each component (before scaling into the basis), descending. */
  variances: z.array(z.number().nonnegative()),
  /** Share of the total variance the K components explain. */
  explained: z.number().min(0).max(1),
  /** Photos the model was learned from, and how they were chosen. */
  images: z.number().int().positive(),
  source: z.string(),
  /** SHA-256 of the sorted list of photo file names + sizes (what "same photos" means). */
  sourceHash: z.string(),
  /** Detail bank size M (residual images of M photos; absent = no bank). */
  details: z.number().int().nonnegative().optional(),
  /** Leading normalised coefficients each residual is keyed by (nearest-key selection). */
  detailKeys: z.number().int().positive().optional(),
  /**
   * Shape model of the photos' 68 landmarks (iBUG order, x/y in the 112 frame): `mean` [136] and
   * `basis` [L][136], rows scaled by √variance. Present when the textures are shape-free (each
   * photo warped onto `mean` before the PCA); the generator's geometry then carries the shape.
   */
  shape: z.object({
    mean: z.array(z.number()).length(136),
    basis: z.array(z.array(z.number()).length(136)).min(1),
    variances: z.array(z.number().nonnegative()),
  }).refine((s) => s.variances.length === s.basis.length, {
    message: "expected one variance per basis row",
    path: ["variances"],
  }).optional(),
}).refine((h) => !h.details || (h.detailKeys !== undefined && h.detailKeys <= h.components), {
  message: "a detail bank needs detailKeys ≤ components",
  path: ["detailKeys"],
});
/** Header of `appearance.bin`. */
export type AppearanceHeader = z.infer<typeof headerSchema>;

/** A decoded appearance model. */
export interface AppearanceModel {
  header: AppearanceHeader;
  /** [R·R·3], HWC, RGB in [0, 1]. */
  mean: Float32Array;
  /** [K, R·R·3], rows scaled by √variance. */
  basis: Float32Array;
  /** The detail bank, when the header has `details`. */
  detail?: DetailBank;
}

/** M photos' luminance residuals after the K-component reconstruction, and their keys. */
export interface DetailBank {
  /** [M, detailKeys]: each photo's leading normalised coefficients (≈ N(0, 1)). */
  keys: Float32Array;
  /** [M]: value of one int8 step of each residual. */
  scale: Float32Array;
  /** [M, R·R], row-major texels: luminance residual / scale. */
  residual: Int8Array;
}

function detailSizes(h: AppearanceHeader): { m: number; keys: number; texels: number } {
  const m = h.details ?? 0;
  return { m, keys: m ? h.detailKeys! : 0, texels: h.resolution ** 2 };
}

/** float32 → IEEE half bits (round to nearest even; deterministic). */
export function toHalf(v: number): number {
  const f = new Float32Array([v]), x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** IEEE half bits → number. */
export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Encode a model as `appearance.bin` bytes (float16 payload). */
export function encodeAppearance(m: AppearanceModel): Uint8Array {
  const D = m.header.resolution ** 2 * 3;
  if (m.mean.length !== D || m.basis.length !== m.header.components * D) {
    throw new RangeError(
      `encodeAppearance: mean ${m.mean.length} / basis ${m.basis.length} values, ` +
        `expected ${D} / ${m.header.components * D}`,
    );
  }
  const ds = detailSizes(m.header);
  if (
    ds.m &&
    (m.detail?.keys.length !== ds.m * ds.keys || m.detail.scale.length !== ds.m ||
      m.detail.residual.length !== ds.m * ds.texels)
  ) {
    throw new RangeError(`encodeAppearance: detail bank does not match details ${ds.m}`);
  }
  const halves = m.mean.length + m.basis.length + ds.m * (ds.keys + 1);
  const head = new TextEncoder().encode(MAGIC + JSON.stringify(m.header) + "\n");
  const pad = (8 - (head.length % 8)) % 8;
  const out = new Uint8Array(head.length + pad + 2 * halves + ds.m * ds.texels);
  out.set(head);
  out.fill(0x20, head.length - 1, head.length - 1 + pad); // spaces before the final newline
  out[head.length - 1 + pad] = 0x0a;
  const h = new Uint16Array(out.buffer, head.length + pad);
  for (let i = 0; i < m.mean.length; i++) h[i] = toHalf(m.mean[i]);
  for (let i = 0; i < m.basis.length; i++) h[m.mean.length + i] = toHalf(m.basis[i]);
  if (ds.m) {
    let o = m.mean.length + m.basis.length;
    for (const v of m.detail!.keys) h[o++] = toHalf(v);
    for (const v of m.detail!.scale) h[o++] = toHalf(v);
    new Int8Array(out.buffer, head.length + pad + 2 * halves).set(m.detail!.residual);
  }
  return out;
}

/** Decode `appearance.bin` bytes; errors name `file` and what was expected. */
export function decodeAppearance(bytes: Uint8Array, file = "appearance.bin"): AppearanceModel {
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) {
    throw new Error(`${file}: not an appearance model (expected "${MAGIC.trim()}")`);
  }
  const end = bytes.indexOf(0x0a, MAGIC.length);
  if (end < 0 || (end + 1) % 8 !== 0) {
    throw new Error(`${file}: header line not found or misaligned`);
  }
  const text = new TextDecoder().decode(bytes.subarray(MAGIC.length, end));
  const header = parseJsonText(text, `${file}: header`, headerSchema);
  const D = header.resolution ** 2 * 3;
  const ds = detailSizes(header);
  const halves = D * (1 + header.components) + ds.m * (ds.keys + 1);
  const need = 2 * halves + ds.m * ds.texels;
  if (bytes.length - (end + 1) !== need) {
    throw new Error(`${file}: payload is ${bytes.length - end - 1} bytes, expected ${need}`);
  }
  const payload = bytes.slice(end + 1);
  const h = new Uint16Array(payload.buffer, 0, halves);
  const mean = Float32Array.from(h.subarray(0, D), fromHalf);
  const kd = D * (1 + header.components);
  const basis = Float32Array.from(h.subarray(D, kd), fromHalf);
  if (!ds.m) return { header, mean, basis };
  const detail: DetailBank = {
    keys: Float32Array.from(h.subarray(kd, kd + ds.m * ds.keys), fromHalf),
    scale: Float32Array.from(h.subarray(kd + ds.m * ds.keys, halves), fromHalf),
    residual: new Int8Array(payload.buffer, 2 * halves, ds.m * ds.texels),
  };
  return { header, mean, basis, detail };
}
