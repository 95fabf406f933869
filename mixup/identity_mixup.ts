/**
 * Identity Mixup (SynFace §3.2, code data/syn_images.py): image k of identity i gets its own
 * partner j ≠ i and a weight φ from {0, 0.05, …, 1}; its identity coefficients are
 * `φ·id_i + (1−φ)·id_j` and its soft label is `[[i, φ], [j, 1−φ]]`. An optional strength
 * `phiMin` restricts φ to the grid values ≥ phiMin (this project's addition, for Fig. 2).
 */
import { MIXUP_GRID, type Rng } from "../data/rng.ts";

/** One image's mixup draw. */
export interface MixupDraw {
  /** Partner identity (≠ i). */
  partner: number;
  /** Weight on the image's own identity, on {@link MIXUP_GRID}. */
  phi: number;
}

/**
 * The φ values {@link drawMixup} draws from: the {@link MIXUP_GRID} values ≥ `phiMin` (the IM
 * strength: 0 = the paper's full grid, 0.5 = mild mixing, 1 = no mixing). Throws a RangeError
 * naming `phiMin` unless it is a number in [0, 1].
 */
export function mixupGrid(phiMin = 0): readonly number[] {
  if (typeof phiMin !== "number" || !(phiMin >= 0 && phiMin <= 1)) {
    throw new RangeError(`Identity Mixup phiMin=${phiMin}: expected a number in [0, 1]`);
  }
  // the full grid itself for 0 so the default draws stay byte-identical
  return phiMin === 0 ? MIXUP_GRID : MIXUP_GRID.filter((v) => v >= phiMin - 1e-12);
}

/**
 * Draw partner j ≠ i uniformly from `[0, numIds)` and φ uniformly from the grid values ≥
 * `phiMin` (default 0: the whole grid).
 */
export function drawMixup(rng: Rng, i: number, numIds: number, phiMin = 0): MixupDraw {
  if (!(numIds >= 2)) {
    throw new RangeError(`Identity Mixup needs at least 2 identities, got ${numIds}`);
  }
  const grid = mixupGrid(phiMin);
  const r = rng.int(numIds - 1);
  return { partner: r >= i ? r + 1 : r, phi: rng.choice(grid) };
}

/**
 * The soft label `[[i, φ], [j, 1−φ]]`, dropping a zero weight (φ=1 → `[[i, 1]]`, φ=0 →
 * `[[j, 1]]`) and merging i = j; weights are exact grid values and sum to 1.
 */
export function mixupLabel(i: number, j: number, phi: number): [number, number][] {
  if (!(phi >= 0 && phi <= 1)) {
    throw new RangeError(`mixupLabel: φ=${phi}, expected a value in [0, 1]`);
  }
  if (i === j || phi === 1) return [[i, 1]];
  if (phi === 0) return [[j, 1]];
  // 1 − φ computed on the grid's 1/20 steps so 0.35 + 0.65 is exactly 1 in the manifest
  const steps = phi * 20;
  const rest = Number.isInteger(steps) ? (20 - steps) / 20 : 1 - phi;
  return [[i, phi], [j, rest]];
}

/**
 * How two identities' coefficients are blended:
 * - `linear` (the paper): `φ·a + (1−φ)·b`. For independent N(0,1) coefficients the blend has
 *   variance φ² + (1−φ)² (0.5 at φ = 0.5), so mixed identities sit closer to the mean face than
 *   any sampled identity.
 * - `variance` (this project's extension): the linear blend divided by √(φ² + (1−φ)²), so a
 *   mixed identity has the same N(0,1) distribution as a sampled one; same direction, same soft
 *   label, φ ∈ {0, 1} unchanged.
 */
export type MixupBlend = "linear" | "variance";

/** The blends {@link mixCoefficients} knows. */
export const MIXUP_BLENDS: readonly MixupBlend[] = ["linear", "variance"];

/** `φ·a + (1−φ)·b` elementwise, rescaled for the `variance` blend (see {@link MixupBlend}). */
export function mixCoefficients(
  a: Float32Array,
  b: Float32Array,
  phi: number,
  blend: MixupBlend = "linear",
): Float32Array {
  if (a.length !== b.length) {
    throw new RangeError(`mixCoefficients: lengths ${a.length} and ${b.length} differ`);
  }
  if (!MIXUP_BLENDS.includes(blend)) {
    throw new RangeError(`Identity Mixup blend "${blend}": expected ${MIXUP_BLENDS.join(" or ")}`);
  }
  const gain = blend === "variance" ? 1 / Math.sqrt(phi * phi + (1 - phi) * (1 - phi)) : 1;
  const out = new Float32Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = gain * (phi * a[k] + (1 - phi) * b[k]);
  return out;
}
