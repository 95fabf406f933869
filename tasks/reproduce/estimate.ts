/**
 * Time estimates of a plan's nodes at a preset's assumed throughput (what `--dry-run` prints and
 * the scheduler orders by).
 */
import type { PlanNode, Preset } from "./plan_schema.ts";

/**
 * Wall time of the plan's training per second of `estimateSeconds` (which assumes one run at a
 * time on the whole machine) when `jobs` runs train side by side, one thread each.
 */
export function trainWallFactor(preset: Preset, jobs: number): number {
  if (jobs <= 1) return 1;
  return preset.estimate.trainImgPerS / (jobs * preset.estimate.trainImgPerSPerJob);
}

/** Image counts of the external pair files, where known (else View 2's 6000 pairs / 1000). */
export interface EstimateCounts {
  /** Distinct images `--lfw-pairs` refers to. */
  lfwImages?: number;
  /** Distinct images `--val-pairs` refers to. */
  valImages?: number;
}

/**
 * Estimated seconds of one node at the preset's assumed throughput. `lookup` resolves a
 * reference of the node's experiment (for sizes of the data a run or eval reads).
 */
export function estimateSeconds(
  node: PlanNode,
  preset: Preset,
  lookup: (ref: string) => PlanNode | undefined,
  counts: EstimateCounts = {},
): number {
  const e = preset.estimate;
  const over = e.stageOverheadS;
  switch (node.kind) {
    case "dataset":
      return over + node.config.ids * node.config.perId / e.generateImgPerS;
    case "verification":
      return over + node.config.ids * node.config.perId / e.generateImgPerS;
    case "preview":
      return over + (node.config.ids * node.config.variations + 60) / e.generateImgPerS;
    case "train": {
      const c = node.config;
      const data = c.data ? lookup(c.data) : undefined;
      let images = data?.kind === "dataset" ? data.config.ids * data.config.perId : 0;
      if (c.real) images = Math.max(images, c.real.ids * c.real.perId);
      const valImages = c.val.kind === "synthetic" ? 2 * c.val.pairs : counts.valImages ?? 1000;
      return over + c.epochs * (images / e.trainImgPerS + valImages / e.embedImgPerS);
    }
    case "eval": {
      const t = node.config.test;
      const set = t.kind === "synthetic" ? lookup(t.set) : undefined;
      // Both protocols: plain + flipped embeddings. Unknown LFW file: View 2's 6000 pairs.
      const images = set?.kind === "verification"
        ? set.config.ids * set.config.perId
        : counts.lfwImages ?? 12000;
      return over + 2 * images / e.embedImgPerS;
    }
    case "features":
      return over + node.config.sets.length * node.config.ids * node.config.perId / e.embedImgPerS;
    case "realism": {
      // generated, real and floor samples, plus the set's pairs for identity accuracy
      const set = lookup(node.config.set);
      const images = set?.kind === "verification" ? set.config.ids * set.config.perId : 0;
      return over + (3 * node.config.n + images) / e.embedImgPerS;
    }
  }
}
