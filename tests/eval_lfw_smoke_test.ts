import assert from "node:assert/strict";
import {
  createPixelEmbedder,
  evaluatePairs,
  loadImage,
  type Pair,
  type PairList,
  readPairs,
  writeEvaluationReport,
} from "../eval/mod.ts";
import { SHARED_DATA, sharedMissing, withTempDir } from "./_helpers.ts";

const LFW = new URL("lfw-view1/", SHARED_DATA).pathname;

/** The first `n` same and `n` different pairs of pairsDevTest.txt. */
async function fewPairs(n: number): Promise<PairList> {
  const list = await readPairs(`${LFW}pairsDevTest.txt`);
  const pick = (same: boolean) => list.pairs.filter((p) => p.same === same).slice(0, n);
  return { ...list, pairs: [...pick(true), ...pick(false)] };
}

Deno.test({
  name: "eval smoke: a few real LFW View 1 pairs end to end, with report files",
  ignore: sharedMissing("lfw-view1/aligned112"),
}, async () => {
  const pairs = await fewPairs(6);
  const evaluation = await evaluatePairs({
    embedder: createPixelEmbedder(),
    pairs,
    imagesDir: `${LFW}aligned112`,
    kfold: 2,
    progress: false,
  });
  const r = evaluation.results;
  assert.equal(r.pairs.evaluated, 12);
  assert.equal(r.pairs.folds, 2);
  for (const p of ["synface", "insightface"] as const) {
    const s = r[p]!;
    assert.ok(s.accuracy >= 0 && s.accuracy <= 1, `${p} accuracy ${s.accuracy}`);
    assert.equal(s.fold_accuracies.length, 2);
    assert.ok(s.auc >= 0 && s.auc <= 1);
  }
  assert.equal(r.insightface!.flip, true);
  assert.equal(r.synface!.flip, false);
  // insightface scores are squared distances of normalised flip-fused embeddings: in [0, 4].
  for (const d of evaluation.scores.insightface!) assert.ok(d >= 0 && d <= 4 + 1e-6);
  await withTempDir({}, async (dir) => {
    await writeEvaluationReport(dir, evaluation, { label: "pixels" });
    const json = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    assert.equal(json.synface.accuracy, r.synface!.accuracy);
    assert.ok(json.class_stats.intra > json.class_stats.inter - 1); // both present and finite
    const tables = ["table.md", "table.csv", "table.json"];
    for (const f of [...tables, "roc.svg", "hist_synface.svg", "scores.csv"]) {
      assert.ok((await Deno.stat(`${dir}/${f}`)).size > 0, f);
    }
    assert.match(await Deno.readTextFile(`${dir}/roc.svg`), /^<svg /);
    assert.match(await Deno.readTextFile(`${dir}/table.md`), /\|pixels\|synface\|/);
  });
});

Deno.test({
  name: "eval smoke: missing images fail by default and are counted with skipMissing",
  ignore: sharedMissing("lfw-view1/aligned112"),
}, async () => {
  const pairs = await fewPairs(3);
  const a = "Nobody_Here/Nobody_Here_0001";
  const ghost: Pair = { a, b: pairs.pairs[0].a, same: true, fold: 0, line: 99 };
  const withGhost = { ...pairs, pairs: [ghost, ...pairs.pairs] };
  const embedder = createPixelEmbedder(), imagesDir = `${LFW}aligned112`;
  const base = { embedder, pairs: withGhost, imagesDir, kfold: 2, progress: false as const };
  await assert.rejects(
    () => evaluatePairs(base),
    /1 image\(s\) of .*not found \(first: Nobody_Here\/Nobody_Here_0001\.jpg\); pass --skip-missing/,
  );
  const r = (await evaluatePairs({ ...base, skipMissing: true })).results;
  assert.equal(r.missing.images, 1);
  assert.equal(r.missing.pairs_skipped, 1);
  assert.equal(r.pairs.evaluated, 6);
});

Deno.test({
  name: "eval smoke: 250×250 funneled LFW is centre-cropped to the model size",
  ignore: sharedMissing("lfw-view1/images"),
}, async () => {
  const img = await loadImage(`${LFW}images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg`, 112, 96);
  assert.deepEqual([img.channels, img.height, img.width], [3, 112, 96]);
  await assert.rejects(
    () => loadImage(`${LFW}images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg`, 112, 112, "none"),
    /image is 250×250 but the model takes 112×112; use --crop auto/,
  );
});
