/**
 * The realism meter's pixel check: the per-pixel mean of a set of aligned crops, and how far two
 * sets' means lie apart. The feature distance says how far the renders are from photos; the mean
 * images say where in the crop: a part every render gets wrong in the same way (a dark cap down
 * to the brows, say) stands out in their difference (generator/EXPERIMENTS.md, `embedded-aam@8`).
 */
import { encodePng, type RawImage, readRawImage, toTensor } from "../data/mod.ts";
import { preprocessImage } from "./images.ts";

/** Side of the frame the mean images are taken at (the ArcFace template's). */
export const MEAN_IMAGE_SIZE = 112;

/**
 * Running per-pixel sum of aligned crops, each framed as an embedder taking 112×112 sees it
 * ({@link preprocessImage}: resized, or centre-cropped from a raw 250×250 LFW photo). Takes
 * decoded pixels, so a pass that also embeds the crops decodes each file once.
 */
export class MeanImageSum {
  readonly #sum = new Float64Array(3 * MEAN_IMAGE_SIZE * MEAN_IMAGE_SIZE);
  #count = 0;

  add(raw: RawImage, file: string): void {
    const s = MEAN_IMAGE_SIZE;
    const d = preprocessImage(toTensor(raw, { mean: 0, std: 1 }), s, s, "auto", file).data;
    for (let i = 0; i < this.#sum.length; i++) this.#sum[i] += d[i];
    this.#count++;
  }

  /** Per-pixel mean RGB (0–255, CHW, `MEAN_IMAGE_SIZE`²) of what was added. */
  mean(): Float32Array {
    if (this.#count === 0) throw new RangeError("meanImage: no files");
    return Float32Array.from(this.#sum, (v) => v / this.#count);
  }
}

/** Per-pixel mean RGB (0–255, CHW, `MEAN_IMAGE_SIZE`²) of the images in `files` ({@link MeanImageSum}). */
export async function meanImage(files: string[]): Promise<Float32Array> {
  const sum = new MeanImageSum();
  for (const f of files) sum.add(await readRawImage(f), f);
  return sum.mean();
}

/** Mean absolute difference of two mean images, in 0–255 levels over every pixel and channel. */
export function meanImageGap(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`meanImageGap: ${a.length} vs ${b.length} values`);
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * A PNG of mean images side by side: generated, real, then 128 + 2 × (generated − real) (grey =
 * equal; brighter or darker where the renders are, on average), and the floor set's mean last
 * when given.
 */
export function meanImagesPng(generated: Float32Array, real: Float32Array, floor?: Float32Array) {
  const s = MEAN_IMAGE_SIZE, plane = s * s;
  const diff = Float32Array.from(generated, (v, i) => 128 + 2 * (v - real[i]));
  const panels = [generated, real, diff, ...(floor ? [floor] : [])];
  const W = s * panels.length, data = new Uint8Array(W * s * 3);
  panels.forEach((p, k) => {
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        for (let c = 0; c < 3; c++) {
          const v = Math.round(p[c * plane + y * s + x]);
          data[(y * W + k * s + x) * 3 + c] = Math.max(0, Math.min(255, v));
        }
      }
    }
  });
  return encodePng({ width: W, height: s, channels: 3, data });
}
