/**
 * The face detector of faceplugin (`fr_detect.onnx`, an Ultra-Light 320×240 RFB detector with
 * the prior decoding inside the graph): its input and output handling, as the package's
 * `lib/fr_detect.js` does it. Input: the whole image resized to 320×240 (bilinear), RGB,
 * `(x − 127)/128`, NCHW. Output: 4,420 priors with `[background, face]` scores and boxes as
 * fractions of the image; boxes scoring ≥ 0.65 are kept (at most 750, best first) and
 * overlapping ones suppressed.
 * @module
 */
import type { RawImage } from "../data/mod.ts";
import { resizeBilinear, toRgb } from "./pixels.ts";

/** Detector input width and height. */
export const DETECT_W = 320;
export const DETECT_H = 240;
/** faceplugin's `confidence_threshold`, `top_k` and `nms_threshold`. */
export const DETECT_THRESHOLD = 0.65;
export const DETECT_TOP_K = 750;
export const DETECT_NMS = 0.4;

/** A detected face: box corners in source pixels and the face score. */
export interface Detection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

/** The detector's input tensor data (NCHW `[1, 3, 240, 320]`) for an image. */
export function detectorInput(image: RawImage): Float32Array {
  const small = resizeBilinear(toRgb(image), DETECT_W, DETECT_H);
  const plane = DETECT_W * DETECT_H;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (small.data[3 * i + c] - 127) / 128;
  }
  return out;
}

/**
 * Turn the detector's outputs (`scores` `[N·2]`, `boxes` `[N·4]` as fractions) into detections
 * in the pixels of a `width × height` image: threshold, keep the best `DETECT_TOP_K`, then
 * non-maximum suppression (a box goes when its intersection with a kept one covers ≥ 0.4 of its
 * own area, as in faceplugin's `cpuNMS`).
 */
export function decodeDetections(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  threshold = DETECT_THRESHOLD,
): Detection[] {
  const n = scores.length / 2;
  let cands: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1];
    if (s < threshold) continue;
    cands.push({
      x1: boxes[4 * i] * width,
      y1: boxes[4 * i + 1] * height,
      x2: boxes[4 * i + 2] * width,
      y2: boxes[4 * i + 3] * height,
      score: s,
    });
  }
  cands.sort((p, q) => q.score - p.score);
  cands = cands.slice(0, DETECT_TOP_K).filter((b) => b.x2 > b.x1 && b.y2 > b.y1);
  // Greedy suppression, best score first. (faceplugin's `cpuNMS` visits boxes by their bottom
  // edge instead, which keeps a weaker box of a cluster; the shared data's boxes, the known
  // answer, are the best-scored ones: see README.)

  const kept: Detection[] = [];
  let rest = cands;
  while (rest.length) {
    const last = rest[0];
    kept.push(last);
    rest = rest.slice(1).filter((b) => {
      const w = Math.max(0, Math.min(b.x2, last.x2) - Math.max(b.x1, last.x1) + 1);
      const h = Math.max(0, Math.min(b.y2, last.y2) - Math.max(b.y1, last.y1) + 1);
      return (w * h) / ((b.x2 - b.x1) * (b.y2 - b.y1)) < DETECT_NMS;
    });
  }
  return kept;
}

/** The detection whose box centre is nearest the image centre (ties: the higher score). */
export function nearestCentre(dets: Detection[], width: number, height: number): number {
  let best = -1, bestD = Infinity;
  dets.forEach((d, i) => {
    const dx = (d.x1 + d.x2) / 2 - width / 2;
    const dy = (d.y1 + d.y2) / 2 - height / 2;
    const dist = dx * dx + dy * dy;
    if (dist < bestD || (dist === bestD && d.score > dets[best].score)) {
      best = i;
      bestD = dist;
    }
  });
  return best;
}
