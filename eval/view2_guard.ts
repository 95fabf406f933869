/**
 * Never select a model on LFW View 2: decide by a pairs file's content, not its name. A file is
 * refused for model selection when
 * - it is in View 2's shape: an LFW-format file whose header `folds\tN` has more than one fold
 *   (View 2 is `10\t300`; a subset of its folds keeps that shape), or
 * - it holds one of View 2's fingerprint pairs, the first same and first different pair of its
 *   first fold (`Abel_Pacheco 1 4`, `Abdel_Madi_Shabneh 1 Dean_Barker 1`), in any format
 *   (LFW or CSV, with or without extensions): a copy or a re-blocked subset of View 2.
 * View 1 (`pairsDevTrain.txt`, header `1100`; `pairsDevTest.txt`, `500`) and CSV files pass.
 */
import type { PairList } from "./pairs.ts";

/** View 2's first same and first different pair (image references without extension). */
const VIEW2_FINGERPRINT: readonly (readonly [string, string])[] = [
  ["Abel_Pacheco/Abel_Pacheco_0001", "Abel_Pacheco/Abel_Pacheco_0004"],
  ["Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001", "Dean_Barker/Dean_Barker_0001"],
];

function bare(ref: string): string {
  return ref.replace(/^\.\//, "").replace(/\.(png|jpe?g|pgm)$/i, "");
}

/**
 * Why `list` must not be used for model selection (it looks like LFW View 2), or undefined.
 *
 * @example
 * ```ts
 * import { parseLfwPairs, view2Reason } from "./mod.ts";
 * const dev = parseLfwPairs("1\nA 1 2\nA 1 B 1\n", "pairsDevTrain.txt");
 * console.assert(view2Reason(dev) === undefined);
 * ```
 */
export function view2Reason(list: PairList): string | undefined {
  if (list.format === "lfw" && list.folds > 1) {
    return `${list.file}: has ${list.folds} folds (a "folds<TAB>pairs" header), the shape of LFW View 2 (test pairs)`;
  }
  const keys = new Set(VIEW2_FINGERPRINT.flatMap(([a, b]) => [`${a}|${b}`, `${b}|${a}`]));
  const hit = list.pairs.find((p) => keys.has(`${bare(p.a)}|${bare(p.b)}`));
  if (hit) {
    return `${list.file}:${hit.line}: is a pair of LFW View 2 (test pairs), so the file is (part of) View 2`;
  }
  return undefined;
}
