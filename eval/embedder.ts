/** The embedder interface every model and baseline implements, and flip fusion. */
import { flipHorizontal, type ImageTensor } from "../data/mod.ts";

/** What an embedder is, for reports and for preprocessing. */
export interface EmbedderInfo {
  /** `onnx`, `pixels`, `pca`, or another kind. */
  kind: string;
  /** Model file or a short name. */
  name: string;
  /** Input height × width the embedder expects; images are cropped/resized to it. */
  inputHeight: number;
  inputWidth: number;
  /** Any further settings (layout, channel order, mean/std, …), copied into results. */
  [key: string]: unknown;
}

/**
 * A face embedder. `embed` takes images as CHW float RGB tensors normalised `(x − 127.5)/127.5`
 * (the `data/image.ts` convention) at `info.inputHeight × info.inputWidth`, and returns one
 * embedding per image (not necessarily normalised).
 */
export interface Embedder {
  readonly info: EmbedderInfo;
  embed(batch: ImageTensor[]): Promise<Float32Array[]>;
  /** Release native resources (ONNX sessions). */
  dispose?(): Promise<void>;
}

/** `v / ‖v‖` (zero vectors stay zero). */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Flip fusion: `normalise(e(image) + e(flipped image))`, as insightface's test-time flip. */
export function fuseFlip(plain: Float32Array, flipped: Float32Array): Float32Array {
  if (plain.length !== flipped.length) {
    throw new RangeError(`fuseFlip: lengths ${plain.length} and ${flipped.length} differ`);
  }
  const sum = new Float32Array(plain.length);
  for (let i = 0; i < sum.length; i++) sum[i] = plain[i] + flipped[i];
  return l2normalize(sum);
}

/** Embed `batch` and its horizontal mirror; returns the plain and the flip-fused embeddings. */
export async function embedWithFlip(
  embedder: Embedder,
  batch: ImageTensor[],
): Promise<{ plain: Float32Array[]; fused: Float32Array[] }> {
  const plain = await embedder.embed(batch);
  const flipped = await embedder.embed(batch.map(flipHorizontal));
  return { plain, fused: plain.map((e, i) => fuseFlip(e, flipped[i])) };
}

/** Cosine similarity (0 when either vector is zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Squared L2 distance of the L2-normalised vectors (`2 − 2·cos`, in [0, 4]). */
export function sqdistNormalized(a: Float32Array, b: Float32Array): number {
  const x = l2normalize(a), y = l2normalize(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return s;
}
