/**
 * The two verification protocols, always named in outputs because they give different numbers for
 * the same embeddings.
 */

/** Protocol names. */
export type ProtocolName = "synface" | "insightface";

/** Every protocol, in report order. */
export const PROTOCOL_NAMES: readonly ProtocolName[] = ["synface", "insightface"];

/** How a protocol scores a pair and turns scores into decisions. */
export interface Protocol {
  name: ProtocolName;
  /** One-line description for reports. */
  description: string;
  /** `cosine` similarity of the embeddings, or squared L2 `distance` of the L2-normalised ones. */
  score: "cosine" | "sqdist";
  /** Whether embeddings are the sum of image and horizontally flipped image, re-normalised. */
  flip: boolean;
  /** Threshold grid, as numpy's `arange(start, stop, step)` (stop excluded). */
  grid: { start: number; stop: number; step: number };
  /** `greater`: accept as same when `score > thr`; `less`: when `score < thr`. */
  accept: "greater" | "less";
  /** Which maximum wins when several thresholds give the best training accuracy. */
  tie: "first" | "last";
}

/**
 * SynFace (sphereface/CosFace evaluation code): cosine similarity, no flip, thresholds
 * `arange(−1, 1, 0.005)`, threshold chosen on the other nine folds with the LAST maximum winning
 * (`acc >= best`), same when `score > thr`.
 */
export const SYNFACE: Protocol = {
  name: "synface",
  description:
    "SynFace: cosine, no flip, thresholds arange(-1,1,0.005), threshold from training folds (last max wins), same if cos > thr",
  score: "cosine",
  flip: false,
  grid: { start: -1, stop: 1, step: 0.005 },
  accept: "greater",
  tie: "last",
};

/**
 * insightface (`verification.py`): embeddings of image + flip summed then L2-normalised, squared
 * L2 distance, thresholds `arange(0, 4, 0.01)`, first maximum wins (`argmax`), same when
 * `dist < thr`.
 */
export const INSIGHTFACE: Protocol = {
  name: "insightface",
  description:
    "insightface: flip-sum + L2-normalise, squared L2, thresholds arange(0,4,0.01), threshold from training folds (first max wins), same if dist < thr",
  score: "sqdist",
  flip: true,
  grid: { start: 0, stop: 4, step: 0.01 },
  accept: "less",
  tie: "first",
};

/** The protocol called `name`. */
export function protocolByName(name: string): Protocol {
  if (name === "synface") return SYNFACE;
  if (name === "insightface") return INSIGHTFACE;
  throw new RangeError(`unknown protocol "${name}", expected synface or insightface`);
}

/** The thresholds of `grid` exactly as numpy computes `arange`: `start + i·step`, i < ⌈(stop−start)/step⌉. */
export function thresholdGrid(grid: Protocol["grid"]): Float64Array {
  const n = Math.ceil((grid.stop - grid.start) / grid.step);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = grid.start + i * grid.step;
  return out;
}
