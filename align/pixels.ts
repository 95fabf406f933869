/**
 * Pixel sampling on 8-bit HWC images, as OpenCV does it (the models were trained and used behind
 * `cv.resize`/`cv.cvtColor`): bilinear resize with half-pixel centres and no antialiasing,
 * ITU-R 601 grey, and bilinear affine warps.
 * @module
 */
import type { RawImage } from "../data/mod.ts";

/**
 * Resize the `w × h` window at (`left`, `top`) of `src` to `outW × outH`, bilinear with half-pixel
 * centres and edge clamping (OpenCV `INTER_LINEAR`: no antialiasing when shrinking), rounded to
 * 8 bits like `cv.resize` on `CV_8U`.
 */
export function resizeBilinear(
  src: RawImage,
  outW: number,
  outH: number,
  window: { left: number; top: number; width: number; height: number } = {
    left: 0,
    top: 0,
    width: src.width,
    height: src.height,
  },
): RawImage {
  const { channels: c } = src;
  const out = new Uint8Array(outW * outH * c);
  const sx = window.width / outW;
  const sy = window.height / outH;
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const [ix, fx] = tap(x, sx, window.width);
    x0s[x] = (window.left + ix) * c;
    x1s[x] = (window.left + Math.min(ix + 1, window.width - 1)) * c;
    fxs[x] = fx;
  }
  const rowLen = src.width * c;
  for (let y = 0; y < outH; y++) {
    const [iy, fy] = tap(y, sy, window.height);
    const r0 = (window.top + iy) * rowLen;
    const r1 = (window.top + Math.min(iy + 1, window.height - 1)) * rowLen;
    for (let x = 0; x < outW; x++) {
      const fx = fxs[x];
      const a = x0s[x];
      const b = x1s[x];
      const o = (y * outW + x) * c;
      for (let k = 0; k < c; k++) {
        const top = src.data[r0 + a + k] + (src.data[r0 + b + k] - src.data[r0 + a + k]) * fx;
        const bot = src.data[r1 + a + k] + (src.data[r1 + b + k] - src.data[r1 + a + k]) * fx;
        out[o + k] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return { channels: c, height: outH, width: outW, data: out };
}

/** Source pixel and weight of output `o`: half-pixel centres, `scale` per output, edge-clamped. */
function tap(o: number, scale: number, size: number): [number, number] {
  const f = (o + 0.5) * scale - 0.5;
  const i = Math.floor(f);
  if (i < 0) return [0, 0];
  if (i >= size - 1) return [size - 1, 0];
  return [i, f - i];
}

/** 8-bit grey of an RGB (or grey) image: `0.299 R + 0.587 G + 0.114 B`, rounded. */
export function toGrey(src: RawImage): RawImage {
  if (src.channels === 1) return src;
  const n = src.width * src.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * src.channels;
    out[i] = Math.round(0.299 * src.data[p] + 0.587 * src.data[p + 1] + 0.114 * src.data[p + 2]);
  }
  return { channels: 1, height: src.height, width: src.width, data: out };
}

/** The same pixels with three channels (grey replicated). */
export function toRgb(src: RawImage): RawImage {
  if (src.channels === 3) return src;
  if (src.channels !== 1) throw new Error(`toRgb: ${src.channels} channels, expected 1 or 3`);
  const n = src.width * src.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src.data[i];
  return { channels: 3, height: src.height, width: src.width, data: out };
}

/**
 * Sample `src` through the affine map `m` (output pixel → source pixel:
 * `sx = m[0]·x + m[1]·y + m[2]`, `sy = m[3]·x + m[4]·y + m[5]`), bilinear, pixels outside the
 * source black (OpenCV `warpAffine` with `WARP_INVERSE_MAP`, constant border 0).
 */
export function warpAffineBilinear(
  src: RawImage,
  m: readonly number[],
  outW: number,
  outH: number,
): RawImage {
  const c = src.channels;
  const out = new Uint8Array(outW * outH * c);
  const W = src.width;
  const H = src.height;
  const px = (x: number, y: number, k: number) =>
    x < 0 || y < 0 || x >= W || y >= H ? 0 : src.data[(y * W + x) * c + k];
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = m[0] * x + m[1] * y + m[2];
      const sy = m[3] * x + m[4] * y + m[5];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * outW + x) * c;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const r0 = (y0 * W + x0) * c;
        const r1 = r0 + W * c;
        for (let k = 0; k < c; k++) {
          const top = src.data[r0 + k] + (src.data[r0 + c + k] - src.data[r0 + k]) * fx;
          const bot = src.data[r1 + k] + (src.data[r1 + c + k] - src.data[r1 + k]) * fx;
          out[o + k] = Math.round(top + (bot - top) * fy);
        }
      } else {
        for (let k = 0; k < c; k++) {
          const top = px(x0, y0, k) + (px(x0 + 1, y0, k) - px(x0, y0, k)) * fx;
          const bot = px(x0, y0 + 1, k) + (px(x0 + 1, y0 + 1, k) - px(x0, y0 + 1, k)) * fx;
          out[o + k] = Math.round(top + (bot - top) * fy);
        }
      }
    }
  }
  return { channels: c, height: outH, width: outW, data: out };
}
