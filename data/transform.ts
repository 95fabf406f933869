/** Geometric transforms on CHW float images. Pure functions: inputs are never modified. */
import type { ImageTensor } from "./image.ts";

/** Mirror left↔right. */
export function flipHorizontal(image: ImageTensor): ImageTensor {
  const { channels, height, width } = image;
  const data = new Float32Array(image.data.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const row = (c * height + y) * width;
      for (let x = 0; x < width; x++) data[row + x] = image.data[row + width - 1 - x];
    }
  }
  return { channels, height, width, data };
}

/** Crop a `height × width` window whose top-left corner is (`top`, `left`). */
export function crop(
  image: ImageTensor,
  top: number,
  left: number,
  height: number,
  width: number,
): ImageTensor {
  if (top < 0 || left < 0 || top + height > image.height || left + width > image.width) {
    throw new RangeError(
      `crop: window ${height}×${width} at (${top}, ${left}) exceeds image ${image.height}×${image.width}`,
    );
  }
  const data = new Float32Array(image.channels * height * width);
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < height; y++) {
      const src = (c * image.height + top + y) * image.width + left;
      data.set(image.data.subarray(src, src + width), (c * height + y) * width);
    }
  }
  return { channels: image.channels, height, width, data };
}

/** Crop the centred `height × width` window (offsets rounded down). */
export function centerCrop(image: ImageTensor, height: number, width: number): ImageTensor {
  return crop(
    image,
    Math.floor((image.height - height) / 2),
    Math.floor((image.width - width) / 2),
    height,
    width,
  );
}

/**
 * Resize to `height × width`. Bilinear (half-pixel centres, edge clamped) when enlarging;
 * area averaging (exact box filter) along any axis that shrinks, so downscaling does not alias.
 */
export function resize(image: ImageTensor, height: number, width: number): ImageTensor {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`resize: target ${height}×${width}, expected positive integers`);
  }
  const rows = axisWeights(image.height, height), cols = axisWeights(image.width, width);
  const { channels } = image;
  const tmp = new Float32Array(channels * image.height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < image.height; y++) {
      const src = (c * image.height + y) * image.width;
      const dst = (c * image.height + y) * width;
      for (let x = 0; x < width; x++) {
        const w = cols[x];
        let s = 0;
        for (let k = 0; k < w.index.length; k++) s += w.weight[k] * image.data[src + w.index[k]];
        tmp[dst + x] = s;
      }
    }
  }
  const data = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const w = rows[y];
      const dst = (c * height + y) * width;
      for (let k = 0; k < w.index.length; k++) {
        const src = (c * image.height + w.index[k]) * width;
        const wk = w.weight[k];
        for (let x = 0; x < width; x++) data[dst + x] += wk * tmp[src + x];
      }
    }
  }
  return { channels, height, width, data };
}

interface Taps {
  index: number[];
  weight: number[];
}

function axisWeights(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const taps: Taps[] = [];
  for (let o = 0; o < outSize; o++) {
    if (scale > 1) {
      // Area: output pixel o covers [o·scale, (o+1)·scale) of the input.
      const start = o * scale;
      const end = start + scale;
      const index: number[] = [], weight: number[] = [];
      for (let i = Math.floor(start); i < Math.min(Math.ceil(end), inSize); i++) {
        const overlap = Math.min(end, i + 1) - Math.max(start, i);
        if (overlap > 1e-9) {
          index.push(i);
          weight.push(overlap / scale);
        }
      }
      taps.push({ index, weight });
    } else {
      const x = (o + 0.5) * scale - 0.5, x0 = Math.floor(x), f = x - x0;
      const a = Math.min(Math.max(x0, 0), inSize - 1);
      const b = Math.min(Math.max(x0 + 1, 0), inSize - 1);
      taps.push(a === b ? { index: [a], weight: [1] } : { index: [a, b], weight: [1 - f, f] });
    }
  }
  return taps;
}

/**
 * Lay images out on a grid (row-major), `gap` pixels apart on a background of `background`
 * (a normalised value; −1 is black). All images must share channels and size.
 */
export function contactSheet(
  images: ImageTensor[],
  columns: number,
  options: { gap?: number; background?: number } = {},
): ImageTensor {
  const { gap = 2, background = 1 } = options;
  if (images.length === 0) throw new Error("contactSheet: no images");
  if (!(Number.isInteger(columns) && columns > 0)) {
    throw new RangeError(`contactSheet: ${columns} columns, expected a positive integer`);
  }
  const { channels, height, width } = images[0];
  const rows = Math.ceil(images.length / columns);
  const H = rows * height + (rows + 1) * gap, W = columns * width + (columns + 1) * gap;
  const data = new Float32Array(channels * H * W).fill(background);
  images.forEach((img, n) => {
    if (img.channels !== channels || img.height !== height || img.width !== width) {
      throw new Error(
        `contactSheet: image ${n} is ${img.channels}×${img.height}×${img.width}, expected ${channels}×${height}×${width}`,
      );
    }
    const top = gap + Math.floor(n / columns) * (height + gap);
    const left = gap + (n % columns) * (width + gap);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        const src = (c * height + y) * width;
        data.set(img.data.subarray(src, src + width), (c * H + top + y) * W + left);
      }
    }
  });
  return { channels, height: H, width: W, data };
}
