import assert from "node:assert/strict";
import { encodePng } from "../data/mod.ts";
import {
  type Embedder,
  evaluatePairs,
  parseCsvPairs,
  parseLfwPairs,
  readResultsJson,
  readRocCsv,
} from "../eval/mod.ts";
import { main as evaluateCli } from "../tasks/evaluate.ts";
import { temp } from "./_helpers.ts";

/** Images whose embedding (mean colour) is one of a few directions: `Name/Name_000k.png`. */
async function writeFaces(dir: string): Promise<void> {
  const colours: Record<string, number[][]> = {
    A: [[250, 10, 10], [240, 20, 10]],
    B: [[10, 250, 10], [20, 240, 10]],
    C: [[10, 10, 250], [10, 20, 240]],
    D: [[250, 250, 10], [240, 250, 20]],
  };
  for (const [name, list] of Object.entries(colours)) {
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
    for (const [k, rgb] of list.entries()) {
      const data = new Uint8Array(4 * 4 * 3).map((_, i) => rgb[i % 3]);
      const png = encodePng({ channels: 3, height: 4, width: 4, data });
      await Deno.writeFile(`${dir}/${name}/${name}_${String(k + 1).padStart(4, "0")}.png`, png);
    }
  }
}

/**
 * Grey 8×8 patterns, one per identity, each symmetric under a horizontal flip (so flip fusion
 * keeps them): image 2 of an identity is image 1 brighter by 20, which the pixel baseline's
 * per-image standardisation removes, so same pairs have cosine 1 and every protocol separates
 * same from different pairs perfectly.
 */
async function writePatterns(dir: string): Promise<void> {
  const patterns: Record<string, (y: number, x: number) => number> = {
    A: (y) => (y < 4 ? 200 : 40), // top half bright
    B: (_, x) => (x >= 2 && x < 6 ? 200 : 40), // centre columns bright
    C: (y) => (y % 2 ? 200 : 40), // horizontal stripes
    D: (y, x) => (y >= 2 && y < 6 && x >= 2 && x < 6 ? 40 : 200), // dark centre block
  };
  for (const [name, f] of Object.entries(patterns)) {
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
    for (const k of [0, 1]) {
      const data = new Uint8Array(8 * 8 * 3).map((_, i) => {
        const p = Math.floor(i / 3);
        return f(Math.floor(p / 8), p % 8) + 20 * k;
      });
      const png = encodePng({ channels: 3, height: 8, width: 8, data });
      await Deno.writeFile(`${dir}/${name}/${name}_${String(k + 1).padStart(4, "0")}.png`, png);
    }
  }
}

/** Embedding = mean pixel value per channel (0–255 scale). */
const meanColour: Embedder = {
  info: { kind: "test", name: "mean-colour", inputHeight: 4, inputWidth: 4 },
  embed: (batch) =>
    Promise.resolve(batch.map((img) => {
      const plane = img.height * img.width;
      return Float32Array.from([0, 1, 2], (c) => {
        let s = 0;
        for (let i = 0; i < plane; i++) s += img.data[c * plane + i] * 127.5 + 127.5;
        return s / plane;
      });
    })),
};

temp.test("eval evaluatePairs: View 2 folds, png detection, both protocols separate perfectly", async (dir) => {
  await writeFaces(dir);
  const view2 = parseLfwPairs(
    "2\t2\nA 1 2\nB 1 2\nA 1 B 1\nC 1 D 2\nC 1 2\nD 1 2\nA 2 C 1\nB 2 D 1\n",
  );
  const common = { embedder: meanColour, imagesDir: dir, progress: false as const };
  const ev = await evaluatePairs({ ...common, pairs: view2 });
  const r = ev.results;
  assert.equal(r.split, "2 folds of pairs.txt, thresholds from the other 1");
  assert.equal(r.pairs.folds, 2);
  assert.equal(r.synface!.accuracy, 1);
  assert.equal(r.insightface!.accuracy, 1);
  assert.equal(r.synface!.auc, 1);
  assert.equal(ev.embeddings.size, 8);
  // Same pairs have cosine near 1; A vs B ≈ 0.08.
  assert.ok(ev.scores.synface![0] > 0.99 && ev.scores.synface![2] < 0.2);

  const csv = parseCsvPairs(
    "A/A_0001.png,A/A_0002.png,1\nA/A_0001.png,B/B_0001.png,0\nC/C_0001.png,C/C_0002.png,1\nB/B_0002.png,D/D_0001.png,0\n",
  );
  const k = await evaluatePairs({ ...common, pairs: csv, kfold: 2, protocols: ["synface"] });
  assert.equal(k.results.insightface, undefined);
  assert.equal(k.results.synface!.fold_accuracies.length, 2);
  assert.match(k.results.split, /^2-fold inside pairs\.csv/);
  const t = await evaluatePairs({
    ...common,
    pairs: csv,
    thresholdPairs: view2,
    protocols: ["synface"],
  });
  assert.equal(t.results.pairs.threshold_pairs, 8);
  assert.equal(t.results.synface!.accuracy, 1);
});

temp.test("eval CLI: results.json carries both protocols, pairs, missing, model and flags", async (dir) => {
  await writePatterns(dir);
  await Deno.writeTextFile(
    `${dir}/pairs.txt`,
    "2\t2\nA 1 2\nB 1 2\nA 1 B 1\nC 1 D 2\nC 1 2\nD 1 2\nA 2 C 1\nB 2 D 1\n",
  );
  const flags = `--model pixels --pairs ${dir}/pairs.txt --images ${dir} --out ${dir}/out`;
  await evaluateCli([...flags.split(" "), "--no-plots"]);
  const r = JSON.parse(await Deno.readTextFile(`${dir}/out/results.json`));
  for (const p of ["synface", "insightface"]) {
    const keys = ["accuracy", "std", "threshold", "auc", "eer"];
    for (const k of [...keys, "tar_at_far_1e-3", "tar_at_far_1e-2"]) {
      assert.equal(typeof r[p][k], "number", `${p}.${k}`);
    }
    // Known answer: perfectly separable pairs (see writePatterns).
    assert.equal(r[p].accuracy, 1, `${p}.accuracy`);
    assert.equal(r[p].std, 0, `${p}.std`);
    assert.equal(r[p].auc, 1, `${p}.auc`);
    assert.equal(r[p].eer, 0, `${p}.eer`);
    assert.equal(r[p]["tar_at_far_1e-2"], 1, `${p}.tar_at_far_1e-2`);
  }
  assert.equal(r.pairs.evaluated, 8);
  assert.equal(r.missing.images, 0);
  assert.equal(r.model.kind, "pixels");
  assert.deepEqual(r.flags.protocols, ["synface", "insightface"]);
  assert.match(await Deno.readTextFile(`${dir}/out/table.md`), /\|pixels\|insightface\|/);
  // eval's own schema reads its file back; a broken field is named
  const back = await readResultsJson(`${dir}/out`);
  assert.equal(back?.synface?.accuracy, 1);
  const roc = await readRocCsv(`${dir}/out`, "synface");
  assert.ok(roc && roc.fpr.length > 2 && roc.fpr.length === roc.tpr.length);
  assert.equal(await readResultsJson(`${dir}/nowhere`), null);
  r.insightface.std = "x";
  await Deno.writeTextFile(`${dir}/out/results.json`, JSON.stringify(r));
  await assert.rejects(
    readResultsJson(`${dir}/out`),
    /out\/results\.json: field "insightface\.std": /,
  );
});
