/**
 * Domain Mixup (`../shared/PAPER.md`, lib/core/functions.py of the paper's code): a synthetic
 * batch and a real batch are blended pixel-wise with one λ per batch from the 21-value grid,
 * and the margin logits and the cross-entropy terms are mixed with the same weights:
 *
 *   out_syn = w1·C(f,l1) + w2·C(f,l2)
 *   out     = λ·out_syn + (1−λ)·C(f,y_real)
 *   loss    = λ·(mean(w1·CE(out,l1)) + mean(w2·CE(out,l2))) + (1−λ)·mean(CE(out,y_real))
 *
 * generalised to soft labels with any number of terms: each row has terms (class, a) with
 * a = λ·w for the synthetic label's classes and 1−λ for the real class, so
 * out = Σ a·C(f,class) and loss = mean over rows of Σ a·CE(out,class). Plain Identity Mixup is
 * λ = 1 (no real batch). This file is engine-free (plain arrays); what applies the terms is
 * `MarginHead.mixedLogits` / `MarginHead.mixedLoss` in `recognition/heads.ts`.
 */
import { MIXUP_GRID, type Rng } from "../data/rng.ts";

/** A soft label: `[class, weight]` pairs with weights summing to 1 (the dataset format). */
export type SoftLabel = readonly (readonly [number, number])[];

/** λ for one batch: uniform over {0, 0.05, …, 1}. */
export function sampleLambda(rng: Rng): number {
  return rng.choice(MIXUP_GRID);
}

/** x = λ·syn + (1−λ)·real, elementwise on normalised images (written into `out`, default new). */
export function blendPixels(
  syn: Float32Array,
  real: Float32Array,
  lambda: number,
  out: Float32Array = new Float32Array(syn.length),
): Float32Array {
  if (syn.length !== real.length || out.length !== syn.length) {
    throw new RangeError(
      `blendPixels: synthetic ${syn.length}, real ${real.length}, out ${out.length} values; expected equal sizes`,
    );
  }
  const mu = 1 - lambda;
  for (let i = 0; i < syn.length; i++) out[i] = lambda * syn[i] + mu * real[i];
  return out;
}

/** What `selectReal` needs of a record: its class index and its path (for the sort). */
export interface ClassPath {
  /** Class (identity) index. */
  class: number;
  /** Relative image path, sorted within a class. */
  path: string;
}

/**
 * The paper's real subset: the first `ids` identities (by class index, i.e. sorted folder
 * names) × the first `perId` images of each (sorted by path); 0 means "all". Returns the chosen
 * indices into `records` and the compact class of each (0..R−1, in identity order).
 */
export function selectReal(
  records: readonly ClassPath[],
  ids: number,
  perId: number,
): { indices: number[]; classes: number[]; numClasses: number } {
  const byClass = Map.groupBy(records.keys(), (i) => records[i].class);
  const order = [...byClass.keys()].sort((a, b) => a - b);
  const chosen = ids > 0 ? order.slice(0, ids) : order;
  const indices: number[] = [], classes: number[] = [];
  chosen.forEach((cls, k) => {
    const list = byClass.get(cls)!.slice().sort((a, b) =>
      records[a].path < records[b].path ? -1 : records[a].path > records[b].path ? 1 : 0
    );
    for (const i of perId > 0 ? list.slice(0, perId) : list) {
      indices.push(i);
      classes.push(k);
    }
  });
  return { indices, classes, numClasses: chosen.length };
}

/**
 * The real set oversampled to `length` (the synthetic set's): whole copies of
 * `0..realSize−1` then the first `length mod realSize`, as the paper's code repeats its list.
 */
export function oversample(realSize: number, length: number): number[] {
  if (realSize <= 0) throw new RangeError("oversample: the real set is empty");
  return Array.from({ length }, (_, i) => i % realSize);
}

/** One mixing term per row: class index (−1 = none) and weight `a` (0 when none). */
export interface MixTerm {
  /** Class of each row (−1: this row has no such term). */
  classes: Int32Array;
  /** Weight a of each row (0 where there is no term). */
  weights: Float32Array;
}

/**
 * The mixing terms of a batch: for row b, λ·w for each synthetic label class and (1−λ) for the
 * real class `realOffset + real[b]` (when a real batch is given). Term t of a row with fewer
 * terms has class −1 and weight 0. Weights of a row sum to 1.
 */
export function mixTerms(
  syn: readonly SoftLabel[],
  lambda = 1,
  real?: ArrayLike<number>,
  realOffset = 0,
): MixTerm[] {
  const rows = syn.length;
  if (real !== undefined && real.length !== rows) {
    throw new RangeError(`mixTerms: ${rows} synthetic labels but ${real.length} real labels`);
  }
  const synTerms = syn.reduce((m, l) => Math.max(m, l.length), 0);
  const count = synTerms + (real !== undefined ? 1 : 0);
  const terms = Array.from({ length: count }, () => ({
    classes: new Int32Array(rows).fill(-1),
    weights: new Float32Array(rows),
  }));
  const synScale = real !== undefined ? lambda : 1;
  for (let b = 0; b < rows; b++) {
    syn[b].forEach(([cls, w], t) => {
      terms[t].classes[b] = cls;
      terms[t].weights[b] = synScale * w;
    });
    if (real !== undefined) {
      terms[count - 1].classes[b] = realOffset + real[b];
      terms[count - 1].weights[b] = 1 - lambda;
    }
  }
  // λ = 1 gives real terms of weight 0; they are kept (harmless) so shapes stay fixed.
  return terms;
}

/** Dense soft targets (rows × numClasses) of the terms: t[b, class] += a. */
export function termTargets(terms: readonly MixTerm[], numClasses: number): Float32Array {
  const rows = terms.length ? terms[0].classes.length : 0;
  const out = new Float32Array(rows * numClasses);
  for (const { classes, weights } of terms) {
    for (let b = 0; b < rows; b++) {
      const c = classes[b];
      if (c < 0) continue;
      if (c >= numClasses) {
        throw new RangeError(`termTargets: class ${c} out of range, expected < ${numClasses}`);
      }
      out[b * numClasses + c] += weights[b];
    }
  }
  return out;
}
