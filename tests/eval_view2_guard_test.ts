import assert from "node:assert/strict";
import { parseCsvPairs, parseLfwPairs, view2Reason } from "../eval/mod.ts";
import { TrainConfigError } from "../recognition/config.ts";
import { loadValSets } from "../recognition/validate.ts";
import { parseReproduceArgs, planOf, type ReproduceOptions } from "../tasks/reproduce/cli.ts";
import { temp } from "./_helpers.ts";

/** A View-2-shaped file: `folds` folds of `n` same then `n` different pairs (made-up names). */
function folded(folds: number, n: number, first?: [string, string]): string {
  const lines = [`${folds}\t${n}`];
  for (let f = 0; f < folds; f++) {
    for (let i = 0; i < n; i++) lines.push(`P${f}_${i}\t1\t2`);
    for (let i = 0; i < n; i++) lines.push(`P${f}_${i}\t1\tQ${f}_${i}\t1`);
  }
  if (first) [lines[1], lines[1 + n]] = first;
  return lines.join("\n") + "\n";
}

const V2_SAME = "Abel_Pacheco\t1\t4";
const V2_DIFF = "Abdel_Madi_Shabneh\t1\tDean_Barker\t1";

Deno.test("view 2 guard: by content — folds header, fingerprint pairs in any format", () => {
  // View 1 shape (one block) with made-up names passes.
  assert.equal(
    view2Reason(parseLfwPairs("2\nA 1 2\nB 1 2\nA 1 B 1\nC 1 D 1\n", "dev.txt")),
    undefined,
  );
  // Any folds header with more than one fold: refused (a 5-fold subset too).
  assert.match(view2Reason(parseLfwPairs(folded(5, 2), "subset.txt"))!, /5 folds.*View 2/);
  assert.match(view2Reason(parseLfwPairs(folded(10, 1), "renamed.txt"))!, /10 folds/);
  // View 2's first lines in a single block (re-blocked subset) or in a CSV: refused.
  const reblocked = `2\n${V2_SAME}\nX 1 2\n${V2_DIFF}\nX 1 Y 1\n`;
  assert.match(view2Reason(parseLfwPairs(reblocked, "mine.txt"))!, /mine\.txt:2: .*View 2/);
  const csv = parseCsvPairs(
    "Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg,Dean_Barker/Dean_Barker_0001.jpg,0\nX/1.jpg,X/2.jpg,1\n",
    "p.csv",
  );
  assert.match(view2Reason(csv)!, /p\.csv:1: /);
  // A CSV with folds is not LFW's format: shape alone does not refuse it.
  assert.equal(
    view2Reason(
      parseCsvPairs(
        "a/1.png,a/2.png,1,0\na/1.png,b/1.png,0,0\na/1.png,a/2.png,1,1\na/1.png,b/1.png,0,1\n",
      ),
    ),
    undefined,
  );
});

temp.test("view 2 guard: train --val-pairs refuses a renamed file, a symlink and a fold subset", async (tmp) => {
  await Deno.mkdir(`${tmp}/faces`); // no "lfw" anywhere in these paths
  await Deno.writeTextFile(`${tmp}/dev_pairs.txt`, folded(10, 3, [V2_SAME, V2_DIFF]));
  await Deno.symlink(`${tmp}/dev_pairs.txt`, `${tmp}/link.txt`);
  await Deno.writeTextFile(`${tmp}/five.txt`, folded(5, 3));
  for (const f of ["dev_pairs.txt", "link.txt", "five.txt"]) {
    await assert.rejects(
      loadValSets({ pairs: `${tmp}/${f}`, images: `${tmp}/faces`, maxPairs: 0, numPairs: 0 }, 0),
      (e: Error) => e instanceof TrainConfigError && /View 2/.test(e.message),
      f,
    );
  }
  // reproduce --dry-run resolves its plan through planOf: refused there too.
  for (const f of ["link.txt", "five.txt"]) {
    const o = parseReproduceArgs(
      `--preset smoke --val-pairs ${tmp}/${f} --val-images ${tmp}/faces --dry-run --out ${tmp}/out`
        .split(" "),
    ) as ReproduceOptions;
    await assert.rejects(
      planOf(o),
      (e: Error) => e.name === "UsageError" && /View 2/.test(e.message),
      f,
    );
  }
});
