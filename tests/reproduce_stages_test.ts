/**
 * The eval and feature-spread stage adapters against the real eval module, with a tiny ONNX
 * "embedder" (per-channel mean) standing in for a trained run, and colour-coded identities.
 */
import assert from "node:assert/strict";
import { encodePng, listImages } from "../data/mod.ts";
import { resolvePlan, type Stage } from "../tasks/reproduce/cache.ts";
import { buildPlan, type ExperimentName, resolvePreset } from "../tasks/reproduce/mod.ts";
import { readEvalResults } from "../tasks/reproduce/mod.ts";
import type { StageContext } from "../tasks/reproduce/run.ts";
import {
  createStages,
  linkRealSlice,
  reproduceGeneratorOptions,
  trainerConfig,
  verificationFiles,
} from "../tasks/reproduce/stages.ts";
import { GeneratorPool } from "../generator/mod.ts";
import { openGenerator } from "../synthesis/mod.ts";
import { channelMeanModel } from "./_eval_tiny_onnx.ts";
import { temp } from "./_helpers.ts";

const COLORS = [[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]];

async function face(path: string, rgb: number[], jitter: number) {
  const data = new Uint8Array(112 * 112 * 3);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.min(255, rgb[i % 3] + ((i * 7 + jitter * 13) % 11));
  }
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, encodePng({ data, height: 112, width: 112, channels: 3 }));
}

async function fixture(root: string) {
  // A "run": model.onnx + embedder.json, as recognition's export writes them.
  await Deno.mkdir(`${root}/run`, { recursive: true });
  const model = channelMeanModel(["N", 3, 112, 112], [2, 3], ["N", 3]);
  await Deno.writeFile(`${root}/run/model.onnx`, model);
  const embedder = { model: "model.onnx", inputSize: [112, 112] };
  await Deno.writeTextFile(`${root}/run/embedder.json`, JSON.stringify(embedder));
  // A verification set: 10 folds × (1 same + 1 different) in LFW format.
  const lines = ["10\t1"];
  for (let f = 0; f < 10; f++) {
    const a = `id${f % 4}`;
    const b = `id${(f + 1) % 4}`;
    lines.push(`${a}\t1\t2`, `${a}\t1\t${b}\t1`);
  }
  await Deno.mkdir(`${root}/ver`, { recursive: true });
  await Deno.writeTextFile(`${root}/ver/pairs.txt`, lines.join("\n") + "\n");
  for (let k = 0; k < 4; k++) {
    for (let n = 1; n <= 2; n++) await face(`${root}/ver/id${k}/id${k}_000${n}.png`, COLORS[k], n);
  }
  // An image-folder dataset (4 identities × 3) for the feature spread, and a "real" folder.
  for (let k = 0; k < 4; k++) {
    for (let n = 0; n < 3; n++) {
      await face(`${root}/ds/c${k}/${n}.png`, COLORS[k], n);
      await face(`${root}/real/p${k}/${n}.png`, COLORS[3 - k], n + 5);
    }
  }
}

type Ctx = StageContext;

/** The smoke plan of `only`, resolved (with a `--real` fingerprint when `real`). */
function smoke(only: ExperimentName[], real: boolean) {
  const plan = buildPlan(resolvePreset("smoke"), { real, val: false }, only);
  return resolvePlan(plan, real ? { real: () => Promise.resolve("r") } : {}, {});
}

function ctx(stage: Stage, dir: string, deps: Ctx["deps"], inputs: Ctx["inputs"] = {}): Ctx {
  const rest = { resume: false, backend: "cpu", workers: 2, progress: () => {} } as const;
  return { stage, out: dir, dir, deps, inputs, ...rest };
}

temp.test("eval and features stages run the eval module and write what the report reads", async (root) => {
  await fixture(root);
  const resolved = await smoke(["table2", "fig2"], true);
  const byRef = (exp: "table2" | "fig2", ref: string) =>
    resolved.stages.find((s) => s.hash === resolved.refs[exp][ref])!;
  const dep = (dir: string, s: Stage) => ({ stage: s, dir });

  const evalStage = byRef("table2", "train-syn@syntest");
  await Deno.mkdir(`${root}/eval`);
  const r = await createStages().eval(ctx(evalStage, `${root}/eval`, {
    "train-syn": dep(`${root}/run`, byRef("table2", "train-syn")),
    syntest: dep(`${root}/ver`, byRef("table2", "syntest")),
  }));
  assert.deepEqual(r, { figures: [{ title: "ROC: table2/train-syn@syntest", file: "roc.svg" }] });
  const res = await readEvalResults(`${root}/eval`);
  assert.equal(res?.synface?.accuracy, 1);
  assert.equal(res?.insightface?.accuracy, 1);
  assert.ok(res?.synface?.roc && res.synface.roc.fpr.length > 2);
  await Deno.stat(`${root}/eval/roc.svg`);

  const spread = byRef("fig2", "spread");
  await Deno.mkdir(`${root}/spread`);
  const f = await createStages().features(ctx(spread, `${root}/spread`, {
    "train-syn": dep(`${root}/run`, byRef("fig2", "train-syn")),
    syn: dep(`${root}/ds`, byRef("fig2", "syn")),
    "syn-im": dep(`${root}/ds`, byRef("fig2", "syn-im")),
    "syn-im-mild": dep(`${root}/ds`, byRef("fig2", "syn-im-mild")),
  }, { real: `${root}/real` })) as { figures: unknown[]; table: { rows: (string | number)[][] } };
  assert.deepEqual(f.figures, [{
    title: "Fig. 2: feature spread by set and identity",
    file: "spread.svg",
  }]);
  assert.deepEqual(f.table.rows.map((r) => [r[0], r[1]]), [
    ["synthetic, no IM", 4],
    ["synthetic, IM (φ ∈ {0 … 1})", 4],
    ["synthetic, mild IM (φ ≥ 0.5)", 4],
    ["real", 4],
  ]);
  for (const row of f.table.rows) {
    assert.ok((row[2] as number) > (row[3] as number), "intra > inter cosine");
  }
  assert.match(await Deno.readTextFile(`${root}/spread/spread.svg`), /^<svg/);
});

temp.test("train stage config: paths from deps and inputs; real-only runs link the slice", async (root) => {
  await fixture(root);
  const resolved = await smoke(["table1", "table2"], true);
  const s = resolved.stages.find((x) => x.hash === resolved.refs.table2["train-syn-im-dm4"])!;
  const c = ctx(s, `${root}/r`, { synval: { stage: s, dir: "/v" } }, { real: "/real" });
  const cfg = trainerConfig(s.node as Parameters<typeof trainerConfig>[0], c, "/syn");
  assert.deepEqual(
    { ...cfg, out: undefined },
    {
      data: "/syn",
      out: undefined,
      arch: "ir_tiny",
      input: { height: 32, width: 32 },
      fit: "resize",
      loss: { kind: "arcface" },
      epochs: 1,
      batch: 8,
      lr: 0.05,
      seed: 1,
      augment: { colour: 0.8, grey: 0.2, blur: 0.3, lowRes: 0.3 },
      backend: "cpu",
      workers: 1,
      real: { dir: "/real", ids: 6, perId: 4 },
      domainMixup: true,
      val: { data: "/v", numPairs: 24 },
    },
  );
  const slice = await linkRealSlice(`${root}/real`, { ids: 2, perId: 2 }, `${root}/slice`);
  assert.deepEqual(await listImages(slice), ["p0/0.png", "p0/1.png", "p1/0.png", "p1/1.png"]);
  await assert.rejects(
    linkRealSlice(`${root}/real`, { ids: 9, perId: 1 }, `${root}/s2`),
    /4 identity folders, the plan needs 9/,
  );
  assert.deepEqual(await verificationFiles(`${root}/ver`), {
    pairs: `${root}/ver/pairs.txt`,
    images: `${root}/ver`,
  });
  await assert.rejects(verificationFiles(`${root}/run`), /has no pairs\.txt/);
});

temp.test("train stage in a process of its own: progress relayed, model exported; a failure carries the child's error", async (root) => {
  await fixture(root);
  const resolved = await smoke(["table1"], false);
  const s = resolved.stages.find((x) => x.hash === resolved.refs.table1["train-syn"])!;
  const deps = (data: string) => ({
    syn: { stage: s, dir: data },
    synval: { stage: s, dir: `${root}/ds` },
  });
  const progress: number[] = [];
  const c = {
    ...ctx(s, `${root}/r`, deps(`${root}/ds`)),
    threads: 1,
    progress: (f: number) => progress.push(f),
  };
  await Deno.mkdir(c.dir, { recursive: true });
  const result = await createStages().train(c) as { steps: number; imagesPerSec: number };
  assert.equal(result.steps, 1, "12 images, batch 8: one full batch in one epoch");
  assert.ok(result.imagesPerSec > 0);
  assert.ok(progress.length > 0 && progress.at(-1)! <= 1, "the child's progress reaches us");
  assert.ok((await Deno.stat(`${c.dir}/model.onnx`)).size > 0);
  const request = JSON.parse(await Deno.readTextFile(`${c.dir}/train-request.json`));
  assert.deepEqual([request.backend, request.threads, request.workers], ["cpu", 1, 1]);

  const bad = { ...c, dir: `${root}/r2`, deps: deps(`${root}/missing`) };
  await Deno.mkdir(bad.dir, { recursive: true });
  await assert.rejects(
    createStages().train(bad),
    /^Error: --data .*\/missing: no such folder \(exit code 1 of .*train_process\.ts .*train-request\.json\)$/,
  );
});

Deno.test("reproduce renders datasets with a pool of one-thread workers, also on native node (bit-reproducible)", async () => {
  // a native session with 2 intra-op threads made the default preset's 60 × 50 with 210 of
  // 3,000 images a few 8-bit values off from one run to the next; the pool does not
  const procedural = new URL("../generator/model/procedural.json", import.meta.url).href;
  for (const ep of ["node", "wasm"] as const) {
    const o = reproduceGeneratorOptions({ workers: 2, ep, inputs: { model: procedural } });
    assert.deepEqual(o, { model: procedural, workers: 2, ep });
    const gen = await openGenerator(o);
    try {
      assert.ok(gen instanceof GeneratorPool, `${ep}: ${gen.constructor.name}`);
    } finally {
      await gen.close();
    }
  }
});
