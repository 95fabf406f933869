import assert from "node:assert/strict";
import {
  canonicalJson,
  codeFingerprints,
  hashKey,
  readDone,
  resolvePlan,
  STAGE_KINDS,
  writeFileAtomic,
} from "../tasks/reproduce/cache.ts";
import { buildPlan, type Preset, resolvePreset } from "../tasks/reproduce/mod.ts";
import {
  NeedsError,
  runPlan,
  type StageContext,
  type StageFn,
  type StageImpls,
} from "../tasks/reproduce/run.ts";
import { CODE } from "./_reproduce.ts";
import { temp } from "./_helpers.ts";

function plan(p: Preset = resolvePreset("smoke"), only?: ("table1" | "table2" | "fig3")[]) {
  return buildPlan(p, { real: false, val: false }, only);
}

async function hashes(p: Preset, code = CODE, only?: ("table1" | "table2")[]) {
  const r = await resolvePlan(plan(p, only), {}, code);
  return { r, t2: r.refs.table2 };
}

Deno.test("canonical JSON and hashes are stable (key order, undefined fields)", async () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: undefined } }),
    '{"a":{"d":[1,{"y":1,"z":0}]},"b":1}',
  );
  assert.equal(await hashKey({ a: 1, b: 2 }), await hashKey({ b: 2, a: 1 }));
  // A fixed value pins the hash function itself: changing it would orphan every cache.
  assert.equal(await hashKey({ a: 1 }), "015abd7f5cc57a2d");
  const a = await hashes(resolvePreset("smoke"));
  const b = await hashes(resolvePreset("smoke"));
  assert.deepEqual(a.r.stages.map((s) => s.hash), b.r.stages.map((s) => s.hash));
});

Deno.test("identical nodes of different experiments are one stage", async () => {
  const { r } = await hashes(resolvePreset("smoke"));
  assert.equal(r.refs.table1.syn, r.refs.table2.syn);
  assert.equal(r.refs.table1["train-syn"], r.refs.table2["train-syn"]);
  assert.equal(r.refs.table2["syn"], r.refs.fig6["vary-all-6x4"], "fig6 'all' is the base set");
  const s = r.stages.find((s) => s.hash === r.refs.table2["train-syn"])!;
  assert.ok(s.uses.includes("table1/train-syn") && s.uses.includes("table2/train-syn"));
  assert.equal(new Set(r.stages.map((s) => s.hash)).size, r.stages.length);
  // Topological order: every dependency comes earlier.
  const seen = new Set<string>();
  for (const st of r.stages) {
    for (const h of Object.values(st.deps)) assert.ok(seen.has(h), `${st.label} after its deps`);
    seen.add(st.hash);
  }
});

Deno.test("a changed config changes exactly the stages it affects", async () => {
  const base = await hashes(resolvePreset("smoke"), CODE, ["table2"]);
  const p = resolvePreset("smoke");
  p.train.epochs = 2;
  const more = await hashes(p, CODE, ["table2"]);
  assert.equal(more.t2.syn, base.t2.syn, "datasets unchanged");
  assert.equal(more.t2.syntest, base.t2.syntest);
  assert.notEqual(more.t2["train-syn"], base.t2["train-syn"], "runs changed");
  const ev = "train-syn@syntest";
  assert.notEqual(more.t2[ev], base.t2[ev], "their evals changed");
  const gen = await hashes(resolvePreset("smoke"), { ...CODE, generator: "g2" }, ["table2"]);
  assert.notEqual(gen.t2.syn, base.t2.syn, "generator source is part of a dataset's key");
  assert.notEqual(gen.t2[ev], base.t2[ev], "and flows downstream");
  const evl = await hashes(resolvePreset("smoke"), { ...CODE, eval: "e2" }, ["table2"]);
  assert.equal(evl.t2["train-syn"], base.t2["train-syn"], "eval source does not touch runs");
  assert.notEqual(evl.t2[ev], base.t2[ev]);
});

Deno.test("real-input fingerprints key the stages that read them; missing inputs are 'needs'", async () => {
  const p = resolvePreset("smoke");
  const pl = buildPlan(p, { real: true, val: false }, ["table2"]);
  /** Resolved with `--real` fingerprinting as `real` and `--lfw-*` as `lfw`. */
  const at = (real: string, lfw: string) =>
    resolvePlan(pl, { real: (s) => Promise.resolve(`${real}${s.ids}x${s.perId}`), lfw }, CODE);
  const [a, b, c] = [await at("A", "L1"), await at("B", "L1"), await at("A", "L2")];
  const t = (r: typeof a) => r.refs.table2;
  assert.equal(t(a)["train-syn"], t(b)["train-syn"]);
  assert.notEqual(t(a)["train-syn-im-dm2"], t(b)["train-syn-im-dm2"]);
  assert.equal(t(a)["train-syn@syntest"], t(c)["train-syn@syntest"]);
  assert.notEqual(t(a)["train-syn@lfw"], t(c)["train-syn@lfw"]);
  const none = await resolvePlan(pl, {}, CODE);
  const dm = none.stages.find((s) => s.hash === none.refs.table2["train-syn-im-dm4@lfw"])!;
  assert.deepEqual(dm.needs, ["--lfw-pairs/--lfw-images", "--real"]);
  assert.deepEqual(none.stages.find((s) => s.hash === none.refs.table2["train-syn"])!.needs, []);
});

Deno.test("the ONNX execution provider keys the stages that run models, and so what reads them", async () => {
  const pl = plan(resolvePreset("smoke"), ["table2"]);
  const none = await resolvePlan(pl, {}, CODE);
  const wasm = await resolvePlan(pl, {}, CODE, { ep: "wasm" });
  const node = await resolvePlan(pl, {}, CODE, { ep: "node" });
  assert.deepEqual(node.stages.map((s) => s.label), wasm.stages.map((s) => s.label));
  const kinds = new Set<string>();
  node.stages.forEach((s, i) => {
    const key = s.key as { ep?: string };
    assert.equal(key.ep, STAGE_KINDS[s.kind].onnx ? "node" : undefined, s.label);
    assert.equal((none.stages[i].key as { ep?: string }).ep, undefined);
    // every stage of table 2 runs a model or reads a dataset a model made
    assert.notEqual(s.hash, wasm.stages[i].hash, s.label);
    kinds.add(s.kind);
  });
  assert.ok(kinds.has("dataset") && kinds.has("train") && kinds.has("eval"));
});

/** One protocol of eval's `results.json` (`eval/results_schema.ts`), with these numbers. */
function summary(accuracy: number, std: number) {
  return {
    description: "fake",
    score: "cosine",
    flip: false,
    accuracy,
    std,
    threshold: 0.3,
    thresholds: [0.3],
    fold_accuracies: [accuracy],
    train_accuracy: accuracy,
    auc: accuracy,
    eer: 1 - accuracy,
    "tar_at_far_1e-3": null,
    "tar_at_far_1e-2": accuracy,
    "far_at_far_1e-3": null,
    "far_at_far_1e-2": 0.01,
    tar_note: "fake",
  };
}

/** Fake stage functions that record calls and write a marker file. */
function fakes(fail: Partial<Record<string, Error>> = {}) {
  const calls: { label: string; resume: boolean }[] = [];
  const fn = async (ctx: StageContext) => {
    calls.push({ label: ctx.stage.label, resume: ctx.resume });
    const err = fail[ctx.stage.label];
    if (err) throw err;
    for (const d of Object.values(ctx.deps)) await Deno.stat(`${d.dir}/out.txt`);
    await Deno.writeTextFile(`${ctx.dir}/out.txt`, ctx.stage.hash);
    if (ctx.stage.kind === "eval") {
      await Deno.writeTextFile(
        `${ctx.dir}/results.json`,
        JSON.stringify({ synface: summary(0.75, 0.05), insightface: summary(0.8, 0.04) }),
      );
    }
    return { ok: true };
  };
  const impls = Object.fromEntries(Object.keys(STAGE_KINDS).map((k) => [k, fn])) as StageImpls;
  return { calls, impls };
}

temp.test("finished stages are skipped, partial ones resumed, failures block dependents", async (out) => {
  const r = await resolvePlan(plan(resolvePreset("smoke"), ["table2"]), {}, CODE);
  const lines: string[] = [];
  const f1 = fakes({ "table2/train-syn-im": new Error("boom\nstack") });
  const o1 = await runPlan(r, f1.impls, { out, log: (l) => lines.push(l) });
  const status = (o: typeof o1, ref: string) => o.find((x) => x.stage.hash === r.refs.table2[ref])!;
  assert.equal(status(o1, "train-syn").status, "done");
  assert.equal(status(o1, "train-syn-im").status, "failed");
  assert.equal(status(o1, "train-syn-im").message, "boom");
  assert.equal(status(o1, "train-syn-im@syntest").status, "blocked");
  assert.match(status(o1, "train-syn-im@syntest").message!, /table2\/train-syn-im failed: boom/);
  assert.equal(status(o1, "train-syn-im-dm2").status, "needs-input");
  assert.equal(lines.length, r.stages.length, "one progress line per stage");
  assert.match(lines[0], /^reproduce \[ 1\/\d+\] verification table2\/syntest .* done in .* ETA /);
  assert.ok(f1.calls.every((c) => !c.resume));

  const f2 = fakes();
  const o2 = await runPlan(r, f2.impls, { out, log: () => {} });
  assert.deepEqual(f2.calls.map((c) => c.label), [
    "table2/train-syn-im",
    "table2/train-syn-im@syntest",
  ]);
  assert.equal(f2.calls[0].resume, true, "the failed run's folder is resumed");
  assert.equal(f2.calls[1].resume, false);
  assert.equal(status(o2, "train-syn").status, "cached");
  assert.equal(status(o2, "train-syn-im@syntest").status, "done");

  const f3 = fakes();
  const o3 = await runPlan(r, f3.impls, { out, log: () => {} });
  assert.equal(f3.calls.length, 0, "everything finished: nothing runs");
  assert.ok(o3.every((o) => o.status === "cached" || o.status === "needs-input"));

  // A done.json of another hash (stale) does not count as finished.
  const st = r.stages.find((s) => s.hash === r.refs.table2["train-syn"])!;
  const done = JSON.parse(await Deno.readTextFile(`${out}/${st.dir}/done.json`));
  await writeFileAtomic(
    `${out}/${st.dir}/done.json`,
    JSON.stringify({ ...done, hash: "0".repeat(16) }),
  );
  assert.equal(await readDone(out, st), null);
});

temp.test("a missing module reports 'needs X' for its stages and blocks the rest", async (out) => {
  const r = await resolvePlan(plan(resolvePreset("smoke"), ["table2"]), {}, CODE);
  const f = fakes();
  f.impls.train = () => Promise.reject(new NeedsError("recognition/", "train() (issue 5)"));
  const o = await runPlan(r, f.impls, { out, log: () => {} });
  const train = o.find((x) => x.stage.hash === r.refs.table2["train-syn"])!;
  assert.equal(train.status, "needs-module");
  assert.equal(train.message, "needs recognition/: train() (issue 5)");
  const ev = o.find((x) => x.stage.hash === r.refs.table2["train-syn@syntest"])!;
  assert.equal(ev.status, "blocked");
  assert.equal(ev.message, "needs recognition/: train() (issue 5)");
  assert.equal(await Deno.stat(`${out}/${train.stage.dir}/done.json`).catch(() => null), null);
});

temp.test("code fingerprints follow source edits, not the build outputs a .gitignore names nor docs", async (root) => {
  await Deno.mkdir(`${root}/gen/model`, { recursive: true });
  await Deno.writeTextFile(`${root}/gen/mod.ts`, "export const a = 1;\n");
  await Deno.writeTextFile(`${root}/gen/model/.gitignore`, "face.onnx\n*.tmp\n");
  const url = new URL(`file://${root}/`);
  const before = await codeFingerprints(url, ["gen", "absent"]);
  assert.deepEqual(Object.keys(before), ["gen"]);
  // what the first run builds (and an interrupted write) must not change the hash
  await Deno.writeFile(`${root}/gen/model/face.onnx`, new Uint8Array([1, 2, 3]));
  await Deno.writeTextFile(`${root}/gen/model/x.onnx.tmp`, "partial");
  assert.deepEqual(await codeFingerprints(url, ["gen"]), before);
  // a file the .gitignore does not name counts, and so does an edit
  await Deno.writeTextFile(`${root}/gen/model/face.json`, "{}");
  const added = await codeFingerprints(url, ["gen"]);
  assert.notEqual(added.gen, before.gen);
  // documentation (a README, an experiment log, a figure, in any folder) does not count
  await Deno.writeTextFile(`${root}/gen/README.md`, "# gen\n");
  await Deno.writeTextFile(`${root}/gen/model/EXPERIMENTS.md`, "results\n");
  await Deno.writeTextFile(`${root}/gen/model/run.log`, "step 1\n");
  await Deno.writeFile(`${root}/gen/preview.png`, new Uint8Array([137, 80, 78, 71]));
  assert.deepEqual(await codeFingerprints(url, ["gen"]), added);
  await Deno.writeTextFile(`${root}/gen/mod.ts`, "export const a = 2;\n");
  assert.notEqual((await codeFingerprints(url, ["gen"])).gen, added.gen);
});

temp.test("side by side: up to `jobs` trainings at once in processes of their own, other stages one at a time, inputs first", async (out) => {
  const p = resolvePreset("smoke", { seeds: 3 });
  const r = await resolvePlan(plan(p, ["table2"]), {}, CODE);
  const f = fakes();
  let trains = 0, others = 0, maxTrains = 0, maxOthers = 0;
  const finishedAt = new Map<string, number>();
  let clock = 0;
  const threads: (number | undefined)[] = [];
  const slow = (inner: StageFn, train: boolean): StageFn => async (ctx) => {
    for (const h of Object.values(ctx.stage.deps)) {
      assert.ok(finishedAt.has(h), `${ctx.stage.label} starts after its inputs`);
    }
    if (train) threads.push(ctx.threads);
    train ? trains++ : others++;
    maxTrains = Math.max(maxTrains, trains);
    maxOthers = Math.max(maxOthers, others);
    await new Promise((res) => setTimeout(res, train ? 30 : 5));
    const result = await inner(ctx);
    train ? trains-- : others--;
    finishedAt.set(ctx.stage.hash, ++clock);
    return result;
  };
  for (const k of Object.keys(f.impls) as (keyof StageImpls)[]) {
    f.impls[k] = slow(f.impls[k], k === "train");
  }
  const lines: string[] = [];
  const o = await runPlan(r, f.impls, {
    out,
    jobs: 2,
    threadsPerJob: 1,
    log: (l) => lines.push(l),
  });
  assert.equal(maxTrains, 2, "two trainings overlapped, never three");
  assert.equal(maxOthers, 1, "stages in this process run one at a time");
  assert.equal(threads.length, 6, "three seeds × (no IM, IM)");
  assert.ok(threads.every((t) => t === 1), "each side-by-side training gets its thread count");
  assert.equal(o.filter((x) => x.status === "done").length, f.calls.length);
  assert.deepEqual(o.map((x) => x.stage.hash), r.stages.map((s) => s.hash), "plan order");
  assert.equal(lines.length, r.stages.length);
  assert.match(
    lines.at(-1)!,
    new RegExp(`^reproduce \\[${r.stages.length}/${r.stages.length}\\]`),
  );

  // One job: every stage in turn, in this process (no thread count).
  maxTrains = 0;
  threads.length = 0;
  await runPlan(r, f.impls, { out: `${out}/one-job`, log: () => {} });
  assert.equal(maxTrains, 1);
  assert.ok(threads.every((t) => t === undefined));
});
