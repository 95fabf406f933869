/**
 * The 68-point landmark model of faceplugin (`fr_landmark.onnx`): its input and output handling,
 * as the package's `lib/fr_landmark.js` does it. The detector's box is made square (its height,
 * about the same centre, clipped to the image) and truncated to whole pixels; that window,
 * resized to 64×64 (bilinear) and grey, `x/256`, goes in; the 136 outputs are `(x, y)` fractions
 * of the box. Points follow the iBUG 300-W order (jaw 0–16, brows 17–26, nose 27–35, eyes
 * 36–47, mouth 48–67).
 * @module
 */
import type { RawImage } from "../data/mod.ts";
import type { Detection } from "./detect.ts";
import { resizeBilinear, toGrey } from "./pixels.ts";

/** Landmark model input side. */
export const LANDMARK_SIZE = 64;

/** The whole-pixel window the landmark model looks at, and the box its outputs are relative to. */
export interface LandmarkWindow {
  /** The box outputs are fractions of (`x = x1 + u·w`, `y = y1 + v·h`). */
  x1: number;
  y1: number;
  w: number;
  h: number;
  /** The pixels cropped for the model (the box, moved inside the image when it sticks out). */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The landmark window for a detection in a `width × height` image. */
export function landmarkWindow(det: Detection, width: number, height: number): LandmarkWindow {
  // faceplugin's scaleResult: a square of the box's height about its centre, clipped.
  const side = det.y2 - det.y1;
  const cx = (det.x1 + det.x2) / 2, cy = (det.y1 + det.y2) / 2;
  const bx1 = Math.trunc(Math.max(0, cx - side / 2));
  const by1 = Math.trunc(Math.max(0, cy - side / 2));
  const bx2 = Math.trunc(Math.min(width - 1, cx + side / 2));
  const by2 = Math.trunc(Math.min(height - 1, cy + side / 2));
  const w = Math.max(1, bx2 - bx1), h = Math.max(1, by2 - by1);
  // alignLandmarkImage with scale 1: shrink to fit, shift inside, truncate.
  const scale = Math.min((height - 1) / h, (width - 1) / w, 1);
  const nw = w * scale, nh = h * scale;
  const ccx = w / 2 + bx1, ccy = h / 2 + by1;
  let l = ccx - nw / 2, t = ccy - nh / 2, r = ccx + nw / 2, b = ccy + nh / 2;
  if (l < 0) [r, l] = [r - l, 0];
  if (t < 0) [b, t] = [b - t, 0];
  if (r > width - 1) [l, r] = [l - (r - width + 1), width - 1];
  if (b > height - 1) [t, b] = [t - (b - height + 1), height - 1];
  const left = Math.max(Math.trunc(l), 0), top = Math.max(Math.trunc(t), 0);
  const cw = Math.max(1, Math.min(Math.trunc(r - l), width - 1, width - left));
  const ch = Math.max(1, Math.min(Math.trunc(b - t), height - 1, height - top));
  return { x1: bx1, y1: by1, w, h, left, top, width: cw, height: ch };
}

/** The landmark model's input (`[1, 1, 64, 64]` data) for a window of an image. */
export function landmarkInput(image: RawImage, win: LandmarkWindow): Float32Array {
  const small = toGrey(resizeBilinear(image, LANDMARK_SIZE, LANDMARK_SIZE, win));
  const out = new Float32Array(LANDMARK_SIZE * LANDMARK_SIZE);
  for (let i = 0; i < out.length; i++) out[i] = small.data[i] / 256;
  return out;
}

/** The model's 136 outputs → 68 `[x, y]` points in source pixels (not truncated). */
export function decodeLandmarks(output: Float32Array, win: LandmarkWindow): [number, number][] {
  if (output.length !== 136) {
    throw new Error(`landmark model: ${output.length} outputs, expected 136 (68 points)`);
  }
  const pts: [number, number][] = [];
  for (let i = 0; i < 68; i++) {
    pts.push([output[2 * i] * win.w + win.x1, output[2 * i + 1] * win.h + win.y1]);
  }
  return pts;
}

/**
 * The 5 alignment points from the 68: image-left eye centre (mean of 36–41), image-right eye
 * centre (42–47), nose tip (30), image-left (48) and image-right (54) mouth corner.
 */
export function fivePoints(pts: readonly (readonly [number, number])[]): [number, number][] {
  const mean = (from: number, to: number): [number, number] => {
    let x = 0, y = 0;
    for (let i = from; i <= to; i++) {
      x += pts[i][0];
      y += pts[i][1];
    }
    const n = to - from + 1;
    return [x / n, y / n];
  };
  return [mean(36, 41), mean(42, 47), [pts[30][0], pts[30][1]], [pts[48][0], pts[48][1]], [
    pts[54][0],
    pts[54][1],
  ]];
}
