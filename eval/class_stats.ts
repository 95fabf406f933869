/** Mean intra-class and inter-class cosine of a labelled feature set. */
import { cosine } from "./embedder.ts";

/** Intra/inter-class cosine summary. */
export interface ClassCosineStats {
  identities: number;
  /** Mean cosine over all pairs of images of the same identity. */
  intra: number;
  intraPairs: number;
  /** Mean cosine over pairs of images of different identities (all, or a strided sample). */
  inter: number;
  interPairs: number;
}

/**
 * Mean intra- and inter-class cosine. Inter-class pairs are all pairs when there are at most
 * `maxInterPairs` of them, else every k-th pair in a fixed order (deterministic).
 */
export function classCosineStats(
  byIdentity: Map<string, Float32Array[]>,
  maxInterPairs = 200_000,
): ClassCosineStats {
  const ids = [...byIdentity.keys()];
  let intra = 0, nIntra = 0;
  for (const feats of byIdentity.values()) {
    for (let i = 0; i < feats.length; i++) {
      for (let j = i + 1; j < feats.length; j++) {
        intra += cosine(feats[i], feats[j]);
        nIntra++;
      }
    }
  }
  const flat = ids.flatMap((id, k) => byIdentity.get(id)!.map((f) => ({ f, k })));
  const totalPairs = (flat.length * (flat.length - 1)) / 2;
  const stride = Math.max(1, Math.ceil(totalPairs / maxInterPairs));
  let inter = 0, nInter = 0, counter = 0;
  for (let i = 0; i < flat.length; i++) {
    for (let j = i + 1; j < flat.length; j++) {
      if (flat[i].k === flat[j].k) continue;
      if (counter++ % stride !== 0) continue;
      inter += cosine(flat[i].f, flat[j].f);
      nInter++;
    }
  }
  return {
    identities: ids.length,
    intra: nIntra ? intra / nIntra : NaN,
    intraPairs: nIntra,
    inter: nInter ? inter / nInter : NaN,
    interPairs: nInter,
  };
}
