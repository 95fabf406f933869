/**
 * Training augmentation as in the paper's code: with p=0.5 enlarge and crop a random window back
 * to the input size, a horizontal flip with p=0.5, and random erasing (torchvision
 * `RandomErasing` defaults: p=0.5, area 2–33 %, aspect 0.3–3.3, value 0 on normalised pixels).
 * Every draw comes from the `Rng` passed in, which the loader derives per sample from
 * (seed, epoch, position), so a sample's augmentation does not depend on worker timing.
 */
import type { ImageTensor } from "../data/image.ts";
import type { Rng } from "../data/rng.ts";
import { centerCrop, crop, flipHorizontal, resize } from "../data/transform.ts";
import type { AugmentConfig, FitMode } from "./config.ts";

/**
 * The centred window of an `h × w` image with the aspect ratio of `height × width` (the largest
 * one), which "resize" scales to the input size.
 */
export function aspectWindow(
  h: number,
  w: number,
  height: number,
  width: number,
): [number, number] {
  return h * width > w * height
    ? [Math.round((w * height) / width), w]
    : [h, Math.round((h * width) / height)];
}

/**
 * Bring a decoded image to the network input size: unchanged when equal; "center-crop": a
 * centred crop of a larger image; "resize": the largest centred window of the input's aspect
 * ratio, resized (area averaging when shrinking). Anything else is an error naming the file.
 */
export function fitImage(
  image: ImageTensor,
  height: number,
  width: number,
  fit: FitMode,
  file: string,
): ImageTensor {
  if (image.height === height && image.width === width) return image;
  if (fit === "center-crop" && image.height >= height && image.width >= width) {
    return centerCrop(image, height, width);
  }
  if (fit === "resize") {
    const [ch, cw] = aspectWindow(image.height, image.width, height, width);
    const c = ch === image.height && cw === image.width ? image : centerCrop(image, ch, cw);
    return resize(c, height, width);
  }
  throw new RangeError(
    `${file}: image is ${image.height}×${image.width}, the network input is ${height}×${width}` +
      (fit === "exact" ? " (fit: exact)" : " (a centred crop needs an image at least that large)"),
  );
}

/** Apply the training augmentation to an image already at the input size. */
export function augment(image: ImageTensor, cfg: AugmentConfig, rng: Rng): ImageTensor {
  if (!cfg.enabled) return image;
  const { height, width } = image;
  let x = image;
  // Draw every decision in a fixed order whether or not it fires, so draws never shift.
  const doCrop = rng.uniform() < cfg.resizeCrop, doFlip = rng.uniform() < cfg.flip;
  const doErase = rng.uniform() < cfg.erase;
  if (doCrop) {
    const h2 = Math.round(height * cfg.cropScale), w2 = Math.round(width * cfg.cropScale);
    const big = resize(x, h2, w2);
    x = crop(big, rng.int(h2 - height + 1), rng.int(w2 - width + 1), height, width);
  }
  if (doFlip) x = flipHorizontal(x);
  if (cfg.colour > 0 || cfg.grey > 0 || cfg.blur > 0 || cfg.lowRes > 0) {
    x = photometric(x, cfg, rng);
  }
  if (doErase) x = randomErase(x, rng);
  return x;
}

/**
 * The photometric part of {@link augment}: a photo's exposure, colour, focus and resolution vary
 * from shot to shot, and a rendered face's do much less; so a recogniser trained on renders sees
 * them vary here. Order: low resolution, blur, colour jitter (brightness, contrast, saturation),
 * grey. Pixels are normalised (`(u − 0.5)/0.5`); the jitter clamps to the valid range.
 */
export function photometric(image: ImageTensor, cfg: AugmentConfig, rng: Rng): ImageTensor {
  const { channels, height, width } = image;
  // every draw, fired or not, so the stream never shifts with the outcome
  const doLowRes = rng.uniform() < cfg.lowRes, scale = rng.range(0.3, 0.8);
  const doBlur = rng.uniform() < cfg.blur, sigma = rng.range(0.3, 1.5);
  const doColour = rng.uniform() < cfg.colour;
  const [bright, contrast, saturation] = [0, 1, 2].map(() => rng.range(0.6, 1.4));
  const doGrey = rng.uniform() < cfg.grey;
  let x = image;
  if (doLowRes) {
    const h = Math.max(1, Math.round(height * scale)), w = Math.max(1, Math.round(width * scale));
    x = resize(resize(x, h, w), height, width);
  }
  if (doBlur) x = gaussianBlur(x, sigma);
  if (channels !== 3 || !(doColour || doGrey)) return x;
  const hw = height * width, src = x.data, data = new Float32Array(3 * hw);
  const lum = (p: number, d: Float32Array) =>
    0.299 * d[p] + 0.587 * d[hw + p] + 0.114 * d[2 * hw + p];
  for (let i = 0; i < 3 * hw; i++) data[i] = (src[i] + 1) / 2;
  if (doColour) {
    let mean = 0;
    for (let p = 0; p < hw; p++) mean += lum(p, data) * bright;
    mean /= hw;
    for (let p = 0; p < hw; p++) {
      const g = lum(p, data) * bright;
      for (let c = 0; c < 3; c++) {
        const v = data[c * hw + p] * bright;
        const sat = g + (v - g) * saturation;
        data[c * hw + p] = Math.min(1, Math.max(0, (sat - mean) * contrast + mean));
      }
    }
  }
  if (doGrey) {
    for (let p = 0; p < hw; p++) {
      const g = lum(p, data);
      data[p] = data[hw + p] = data[2 * hw + p] = g;
    }
  }
  for (let i = 0; i < 3 * hw; i++) data[i] = data[i] * 2 - 1;
  return { channels, height, width, data };
}

/** Separable Gaussian blur (radius ⌈2.5σ⌉, edges clamped). */
export function gaussianBlur(image: ImageTensor, sigma: number): ImageTensor {
  const { channels, height, width } = image;
  const r = Math.max(1, Math.ceil(2.5 * sigma));
  const k = Array.from(
    { length: 2 * r + 1 },
    (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)),
  );
  const sum = k.reduce((a, b) => a + b, 0);
  const w = k.map((v) => v / sum);
  const clampI = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  const tmp = new Float32Array(image.data.length), out = new Float32Array(image.data.length);
  for (let c = 0; c < channels; c++) {
    const base = c * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) {
          s += w[i + r] * image.data[base + y * width + clampI(x + i, width)];
        }
        tmp[base + y * width + x] = s;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += w[i + r] * tmp[base + clampI(y + i, height) * width + x];
        out[base + y * width + x] = s;
      }
    }
  }
  return { channels, height, width, data: out };
}

/**
 * torchvision `RandomErasing` (scale 0.02–0.33, ratio 0.3–3.3, value 0): up to 10 tries to
 * place a rectangle that fits; zero it (in a copy). No rectangle when every try misses.
 */
export function randomErase(image: ImageTensor, rng: Rng): ImageTensor {
  const { channels, height, width } = image;
  const area = height * width;
  const logLo = Math.log(0.3), logHi = Math.log(3.3);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.range(0.02, 0.33);
    const aspect = Math.exp(rng.range(logLo, logHi));
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (!(h < height && w < width) || h === 0 || w === 0) continue;
    const top = rng.int(height - h + 1), left = rng.int(width - w + 1);
    const data = image.data.slice();
    for (let c = 0; c < channels; c++) {
      for (let y = top; y < top + h; y++) {
        const row = (c * height + y) * width;
        data.fill(0, row + left, row + left + w);
      }
    }
    return { channels, height, width, data };
  }
  return image;
}
