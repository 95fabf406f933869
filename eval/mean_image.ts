/**
 * The realism meter's pixel check: the per-pixel mean of a set of aligned crops, and how far two
 * sets' means lie apart. The feature distance says how far the renders are from photos; the mean
 * images say where in the crop: a part every render gets wrong in the same way (a dark cap down
 * to the brows, say) stands out in their difference (generator/EXPERIMENTS.md, `embedded-aam@8`).
 * Beside them, statistics of the face's centre: how far its colour cast varies between images,
 * and how much fine colour and brightness detail it carries (generator/EXPERIMENTS.md, "Camera
 * colour", "Sharpness").
 */
import { encodePng, type RawImage, readRawImage, toTensor } from "../data/mod.ts";
import { preprocessImage } from "./images.ts";

/** Side of the frame the mean images are taken at (the ArcFace template's). */
export const MEAN_IMAGE_SIZE = 112;

/**
 * Where colour is judged: the face's centre in the 112 frame, from the eyes (template rows 51–52)
 * to just below the mouth (row 92), between the outer eye corners, so background, hair and the
 * head's outline stay out of it.
 */
export const FACE_CENTRE = { top: 50, bottom: 95, left: 35, right: 77 } as const;

/** Colour statistics of a set of crops over {@link FACE_CENTRE}. */
export interface ColourStats {
  /**
   * Each image's face-centre chromaticity (mean r − mean g) / mean level: its mean over the set
   * and its spread (sd) from image to image. A set whose faces take on casts from green to red
   * that photos do not shows as a larger spread.
   */
  rg_mean: number;
  rg_sd: number;
  /** The same for (mean b − mean g). */
  bg_mean: number;
  bg_sd: number;
  /**
   * Fine colour detail: the mean absolute 4-neighbour Laplacian of r − g (0–255 levels). Cameras
   * and JPEG keep colour at a lower resolution than brightness, so photos' colour is smooth.
   */
  chroma_detail: number;
  /**
   * Fine brightness detail: the same Laplacian of the luminance (Rec. 601, 0–255 levels). A
   * rendered face whose texture was resampled from a low-resolution model is softer than a photo.
   */
  luma_detail: number;
}

/**
 * Running pixel summary of aligned crops, each framed as an embedder taking 112×112 sees it
 * ({@link preprocessImage}: resized, or centre-cropped from a raw 250×250 LFW photo): the
 * per-pixel mean and the {@link ColourStats}. Takes decoded pixels, so a pass that also embeds
 * the crops decodes each file once.
 */
export class PixelSummarySum {
  readonly #sum = new Float64Array(3 * MEAN_IMAGE_SIZE * MEAN_IMAGE_SIZE);
  readonly #rg: number[] = [];
  readonly #bg: number[] = [];
  #detail = 0;
  #lumaDetail = 0;

  add(raw: RawImage, file: string): void {
    const s = MEAN_IMAGE_SIZE, plane = s * s;
    const d = preprocessImage(toTensor(raw, { mean: 0, std: 1 }), s, s, "auto", file).data;
    for (let i = 0; i < this.#sum.length; i++) this.#sum[i] += d[i];
    const { top, bottom, left, right } = FACE_CENTRE;
    const m = [0, 0, 0];
    const area = (bottom - top) * (right - left);
    let lap = 0, lapLuma = 0;
    const rg = (y: number, x: number) => d[y * s + x] - d[plane + y * s + x];
    const luma = (y: number, x: number) =>
      0.299 * d[y * s + x] + 0.587 * d[plane + y * s + x] + 0.114 * d[2 * plane + y * s + x];
    /** |4-neighbour Laplacian| of the plane `f` at (y, x). */
    const laplacian = (f: (y: number, x: number) => number, y: number, x: number) =>
      Math.abs(4 * f(y, x) - f(y - 1, x) - f(y + 1, x) - f(y, x - 1) - f(y, x + 1));
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        for (let c = 0; c < 3; c++) m[c] += d[c * plane + y * s + x];
        lap += laplacian(rg, y, x);
        lapLuma += laplacian(luma, y, x);
      }
    }
    const level = (m[0] + m[1] + m[2]) / 3;
    // +1 level per pixel keeps a black crop finite
    const norm = level + area;
    this.#rg.push((m[0] - m[1]) / norm);
    this.#bg.push((m[2] - m[1]) / norm);
    this.#detail += lap / area;
    this.#lumaDetail += lapLuma / area;
  }

  /** Per-pixel mean RGB (0–255, CHW, `MEAN_IMAGE_SIZE`²) and the colour statistics of what was added. */
  summary(): { mean: Float32Array; colour: ColourStats } {
    const n = this.#rg.length;
    if (n === 0) throw new RangeError("meanImage: no files");
    const meanSd = (v: number[]) => {
      const mu = v.reduce((a, b) => a + b, 0) / n;
      return [mu, Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / n)];
    };
    const [rg_mean, rg_sd] = meanSd(this.#rg), [bg_mean, bg_sd] = meanSd(this.#bg);
    // float32, as the realism cache stores them: a cached summary reads back identical
    const colour = {
      rg_mean,
      rg_sd,
      bg_mean,
      bg_sd,
      chroma_detail: this.#detail / n,
      luma_detail: this.#lumaDetail / n,
    };
    for (const k of Object.keys(colour) as (keyof ColourStats)[]) {
      colour[k] = Math.fround(colour[k]);
    }
    return { mean: Float32Array.from(this.#sum, (v) => v / n), colour };
  }
}

/** The pixel summary ({@link PixelSummarySum}) of the images in `files`. */
export async function pixelSummary(
  files: string[],
): Promise<{ mean: Float32Array; colour: ColourStats }> {
  const sum = new PixelSummarySum();
  for (const f of files) sum.add(await readRawImage(f), f);
  return sum.summary();
}

/** Per-pixel mean RGB (0–255, CHW, `MEAN_IMAGE_SIZE`²) of the images in `files`. */
export async function meanImage(files: string[]): Promise<Float32Array> {
  return (await pixelSummary(files)).mean;
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
