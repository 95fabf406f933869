/**
 * Parameter initialisation (He/Kaiming, PyTorch conventions), drawn from a seeded stream.
 * @module
 */
import { Rng } from "../../data/rng.ts";

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Which fan preserves the variance (default "fanIn"). */
  mode?: "fanIn" | "fanOut";
  /** Gain (default √2, for ReLU). */
  gain?: number;
}

/**
 * The fan whose variance the Kaiming initialisers preserve (weight shape (out, in, …kernel) as
 * in PyTorch), and their gain (default √2).
 */
function kaiming(shape: readonly number[], opts: KaimingOptions): { fan: number; gain: number } {
  const rf = shape.slice(2).reduce((a, b) => a * b, 1);
  const fan = opts.mode === "fanOut" ? shape[0] * rf : (shape[1] ?? 1) * rf;
  return { fan, gain: opts.gain ?? Math.SQRT2 };
}

/** N(0, (gain/√fan)²) (PyTorch `kaiming_normal_`). */
export function kaimingNormal(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}) {
  const { fan, gain } = kaiming(shape, opts);
  return rng.normals(shape.reduce((a, b) => a * b, 1), gain / Math.sqrt(fan));
}

/** U(−b, b) with b = gain·√(3/fan) (PyTorch `kaiming_uniform_`). */
export function kaimingUniform(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}) {
  const { fan, gain } = kaiming(shape, opts);
  const bound = gain * Math.sqrt(3 / fan);
  return uniform(shape.reduce((a, b) => a * b, 1), -bound, bound, rng);
}

/** n draws from U(lo, hi). */
export function uniform(n: number, lo: number, hi: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.range(lo, hi);
  return out;
}

let defaultStream = Rng.fromSeed(0x5eed).split("autodiff-init");
let drawn = 0;

/** The next default init stream (deterministic for a fixed construction order). */
export function nextInitRng(): Rng {
  return defaultStream.split(drawn++);
}

/** Resets the default init streams (call before building a model to make it reproducible). */
export function seedInit(seed: number): void {
  defaultStream = Rng.fromSeed(seed).split("autodiff-init");
  drawn = 0;
}
