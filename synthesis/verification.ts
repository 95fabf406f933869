/**
 * A synthetic verification set in LFW format (the paper's synthetic test set of Table 1):
 * held-out identities (random streams numbered from 10⁹, disjoint from any training set of the
 * same seed), written as a dataset of `<name>/<name>_NNNN.png`, plus a `pairs.txt` with
 * `folds` folds of `perFold` same pairs then `perFold` different pairs.
 */
import { Rng, writeFileAtomic } from "../data/mod.ts";
import {
  className,
  synthesize,
  type SynthesizeOptions,
  type SynthesizeResult,
} from "./synthesize.ts";

/** Stream offset of held-out identities. */
export const HELD_OUT_OFFSET = 1_000_000_000;

/** Options of {@link synthesizeVerification}. */
export interface VerificationOptions
  extends Omit<SynthesizeOptions, "idOffset" | "identityMixup" | "prefix" | "longTail"> {
  /** Where to write pairs.txt. */
  pairsOut: string;
  folds?: number;
  perFold?: number;
}

/** LFW pairs text for `ids` identities × `perId` images (deterministic in `seed`). */
export function makePairs(
  seed: number,
  ids: number,
  perId: number,
  folds = 10,
  perFold = 300,
  prefix = "syn",
): string {
  if (ids < 2 || perId < 2) {
    throw new RangeError(`pairs need ≥ 2 identities and ≥ 2 images each (got ${ids} × ${perId})`);
  }
  const rng = Rng.fromSeed(seed).split("pairs");
  const lines = [`${folds}\t${perFold}`];
  for (let f = 0; f < folds; f++) {
    const r = rng.split(f);
    for (let p = 0; p < perFold; p++) {
      const i = r.int(ids);
      const a = r.int(perId);
      let b = r.int(perId - 1);
      if (b >= a) b++;
      lines.push(`${className(i, prefix)}\t${Math.min(a, b) + 1}\t${Math.max(a, b) + 1}`);
    }
    for (let p = 0; p < perFold; p++) {
      const i = r.int(ids);
      let j = r.int(ids - 1);
      if (j >= i) j++;
      lines.push(
        `${className(i, prefix)}\t${r.int(perId) + 1}\t${className(j, prefix)}\t${
          r.int(perId) + 1
        }`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** Render the held-out identities and write the pairs file (atomically). */
export async function synthesizeVerification(o: VerificationOptions): Promise<SynthesizeResult> {
  const r = await synthesize({
    ...o,
    idOffset: HELD_OUT_OFFSET,
    identityMixup: false,
    prefix: "syn",
    longTail: "balanced",
  });
  await writeFileAtomic(o.pairsOut, makePairs(o.seed, o.ids, o.perId, o.folds, o.perFold));
  return r;
}
