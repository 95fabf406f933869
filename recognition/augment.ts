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
  const doCrop = rng.uniform() < cfg.resizeCrop;
  const doFlip = rng.uniform() < cfg.flip;
  const doErase = rng.uniform() < cfg.erase;
  if (doCrop) {
    const h2 = Math.round(height * cfg.cropScale);
    const w2 = Math.round(width * cfg.cropScale);
    const big = resize(x, h2, w2);
    x = crop(big, rng.int(h2 - height + 1), rng.int(w2 - width + 1), height, width);
  }
  if (doFlip) x = flipHorizontal(x);
  if (doErase) x = randomErase(x, rng);
  return x;
}

/**
 * torchvision `RandomErasing` (scale 0.02–0.33, ratio 0.3–3.3, value 0): up to 10 tries to
 * place a rectangle that fits; zero it (in a copy). No rectangle when every try misses.
 */
export function randomErase(image: ImageTensor, rng: Rng): ImageTensor {
  const { channels, height, width } = image;
  const area = height * width;
  const logLo = Math.log(0.3);
  const logHi = Math.log(3.3);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.range(0.02, 0.33);
    const aspect = Math.exp(rng.range(logLo, logHi));
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (!(h < height && w < width) || h === 0 || w === 0) continue;
    const top = rng.int(height - h + 1);
    const left = rng.int(width - w + 1);
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
