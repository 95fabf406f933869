/**
 * The realism meter's pixel check: the per-pixel mean of a set of aligned crops, and how far two
 * sets' means lie apart. The feature distance says how far the renders are from photos; the mean
 * images say where in the crop: a part every render gets wrong in the same way (a dark cap down
 * to the brows, say) stands out in their difference (generator/EXPERIMENTS.md, `embedded-aam@8`).
 */
import { encodePng, readImage } from "../data/mod.ts";
import { preprocessImage } from "./images.ts";

/** Side of the frame the mean images are taken at (the ArcFace template's). */
export const MEAN_IMAGE_SIZE = 112;

/**
 * Per-pixel mean RGB (0–255, CHW, `MEAN_IMAGE_SIZE`²) of the images in `files`, each framed as an
 * embedder taking 112×112 sees it ({@link preprocessImage}: resized, or centre-cropped from a raw
 * 250×250 LFW photo).
 */
export async function meanImage(files: string[]): Promise<Float32Array> {
  if (files.length === 0) throw new RangeError("meanImage: no files");
  const s = MEAN_IMAGE_SIZE, sum = new Float64Array(3 * s * s);
  for (const f of files) {
    const d = preprocessImage(await readImage(f, { mean: 0, std: 1 }), s, s, "auto", f).data;
    for (let i = 0; i < sum.length; i++) sum[i] += d[i];
  }
  return Float32Array.from(sum, (v) => v / files.length);
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
