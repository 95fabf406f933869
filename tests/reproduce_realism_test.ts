/**
 * The realism meter as a `reproduce` stage: plan expansion, cache key, the stage adapter (with a
 * pixel embedder standing in for `fr_feature.onnx`) and the report's Realism table.
 */
import assert from "node:assert/strict";
import { createPixelEmbedder, measureRealism } from "../eval/mod.ts";
import { folderFingerprint, resolvePlan, STAGE_KINDS } from "../tasks/reproduce/cache.ts";
import { buildPlan, DEFAULT_GENERATOR_ID, resolvePreset } from "../tasks/reproduce/mod.ts";
import { buildReportModel, renderHtml, renderMarkdown } from "../tasks/reproduce/mod.ts";
import type { ResolvedPlan, StageContext } from "../tasks/reproduce/mod.ts";
import { CODE, META, outcomesOf } from "./_reproduce.ts";
import { realismStage } from "../tasks/reproduce/stages.ts";
import { realismTable } from "../tasks/reproduce/report.ts";
import { makeSet, temp } from "./_helpers.ts";

const LFW = { lfwImages: () => Promise.resolve("LFWIMG1") };

/** Pixel `i` of image `k` of identity `id`, offset by `base` (sets with other bases differ). */
const pixels = (base: number) => (id: number, k: number, i: number) =>
  (base + id * 29 + k * 7 + i * 13) % 256;

Deno.test("plan: one realism stage per generator on its synthetic test set; needs --lfw-images", async () => {
  const p = resolvePreset("smoke");
  const plan = buildPlan(p, { real: false, val: false, generator: "gen-x@2" });
  for (const e of plan.experiments) {
    const node = e.nodes.realism;
    if (e.name === "fig3") {
      assert.equal(node, undefined); // fig3 has no test set
      continue;
    }
    assert.deepEqual(node, {
      kind: "realism",
      config: { set: "syntest", generator: "gen-x@2", n: p.realism.n, seed: 0 },
    });
    assert.equal(e.nodes.syntest.kind, "verification");
  }
  // the generator id defaults to the embedded model's
  const dflt = buildPlan(p, { real: false, val: false }, ["table2"]).experiments[0].nodes.realism;
  assert.equal((dflt.config as { generator: string }).generator, DEFAULT_GENERATOR_ID);
  // with the real crops: one shared, runnable stage that reads the test set
  const r = await resolvePlan(plan, LFW, CODE);
  const meters = r.stages.filter((s) => s.kind === "realism");
  assert.equal(meters.length, 1);
  assert.deepEqual(meters[0].needs, []);
  assert.equal(meters[0].uses.length, plan.experiments.length - 1);
  assert.equal(meters[0].deps.syntest, r.refs.table1.syntest);
  assert.match(meters[0].dir, /^evals\//);
  // without them the stage is planned but waits for the flag (the default run stays fast)
  const none = await resolvePlan(plan, {}, CODE);
  assert.deepEqual(none.stages.find((s) => s.kind === "realism")!.needs, ["--lfw-images"]);
  // smoke keeps it small
  assert.ok(p.realism.n <= 3 * 12);
});

Deno.test("realism cache key: generator id, EP, real and floor fingerprints", async () => {
  const p = resolvePreset("smoke");
  const key = async (
    generator: string,
    ep: "wasm" | "node" | undefined,
    inputs: Parameters<typeof resolvePlan>[1] = LFW,
  ) => {
    const plan = buildPlan(p, { real: false, val: false, generator }, ["table2"]);
    const r = await resolvePlan(plan, inputs, CODE, ep ? { ep } : {});
    const s = r.stages.find((s) => s.kind === "realism")!;
    return { hash: s.hash, key: s.key as { ep?: string; config: { generator: string } } };
  };
  assert.ok(STAGE_KINDS.realism.onnx);
  const a = await key("gen-a@1", "wasm");
  assert.equal(a.key.ep, "wasm");
  assert.equal(a.key.config.generator, "gen-a@1");
  assert.notEqual(a.hash, (await key("gen-b@1", "wasm")).hash);
  const node = await key("gen-a@1", "node");
  assert.equal(node.key.ep, "node");
  assert.notEqual(a.hash, node.hash);
  assert.equal(a.hash, (await key("gen-a@1", "wasm")).hash);
  const other = await key("gen-a@1", "wasm", { lfwImages: () => Promise.resolve("LFWIMG2") });
  assert.notEqual(a.hash, other.hash);
  const floor = await key("gen-a@1", "wasm", {
    ...LFW,
    realFolder: () => Promise.resolve("FLOOR1"),
  });
  assert.notEqual(a.hash, floor.hash);
  assert.deepEqual((floor.key as unknown as { inputs: unknown }).inputs, {
    lfwImages: "LFWIMG1",
    floor: "FLOOR1",
  });
});

temp.test("realism stage: measures the test set against --lfw-images, leaves View 2 images out, floor --real", async (tmp) => {
  await makeSet(`${tmp}/syntest`, 6, pixels(10));
  await Deno.writeTextFile(
    `${tmp}/syntest/pairs.txt`,
    "2\t1\nid0\t1\t2\nid2\t1\tid3\t1\nid1\t1\t2\nid4\t2\tid5\t1\n",
  );
  await makeSet(`${tmp}/lfw`, 6, pixels(100));
  await makeSet(`${tmp}/celeb`, 5, pixels(50));
  // View 2-shaped test pairs (two folds) naming 8 of the 12 real images
  await Deno.writeTextFile(
    `${tmp}/pairs.txt`,
    "2\t1\nid0\t1\t2\nid1\t1\tid2\t1\nid3\t1\t2\nid4\t1\tid5\t2\n",
  );
  const plan = buildPlan(resolvePreset("smoke"), { real: true, val: false }, ["table2"]);
  const r = await resolvePlan(plan, LFW, CODE, { ep: "wasm" });
  const stage = r.stages.find((s) => s.kind === "realism")!;
  const syn = r.stages.find((s) => s.hash === stage.deps.syntest)!;
  const dir = `${tmp}/out/${stage.dir}`;
  await Deno.mkdir(dir, { recursive: true });
  const deps = { syntest: { stage: syn, dir: `${tmp}/syntest` } };
  const inputs = { lfwImages: `${tmp}/lfw`, lfwPairs: `${tmp}/pairs.txt`, real: `${tmp}/celeb` };
  const rest = {
    resume: false,
    backend: "cpu",
    workers: 1,
    ep: "wasm",
    progress: () => {},
  } as const;
  const ctx: StageContext = { stage, out: `${tmp}/out`, dir, deps, inputs, ...rest };
  const eps: (string | undefined)[] = [];
  const reference = createPixelEmbedder({ inputSize: [8, 8], workSize: [2, 2] });
  const result = await realismStage(ctx, (ep) => {
    eps.push(ep);
    return Promise.resolve(reference);
  });
  assert.deepEqual(eps, ["wasm"]);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/realism.json`));
  assert.equal(json.generator, DEFAULT_GENERATOR_ID);
  // the 4 real images no test pair names; all 12 generated; all 10 floor
  assert.deepEqual(json.images, { generated: 12, real: 4, floor: 10 });
  const want = await measureRealism({
    generated: `${tmp}/syntest`,
    real: `${tmp}/lfw`,
    floor: `${tmp}/celeb`,
    n: stage.node.kind === "realism" ? stage.node.config.n : 0,
    reference,
    excludeReal: new Set(["id0/id0_0001", "id0/id0_0002", "id1/id1_0001", "id2/id2_0001"]
      .concat(["id3/id3_0001", "id3/id3_0002", "id4/id4_0001", "id5/id5_0002"])),
    progress: false,
  });
  assert.equal(json.fd, want.fd);
  assert.equal(json.fd_floor, want.fd_floor);
  assert.equal(json.identity_accuracy, want.identity_accuracy);
  assert.ok(typeof json.identity_accuracy === "number");
  assert.equal(json.mean_image_gap, want.mean_image_gap);
  assert.equal(json.mean_image_gap_floor, want.mean_image_gap_floor);
  assert.deepEqual(json.colour, want.colour);
  assert.ok(
    (await Deno.stat(`${dir}/mean_images.png`)).size > 0,
    "the stage writes mean_images.png",
  );
  assert.deepEqual(result, {
    generator: DEFAULT_GENERATOR_ID,
    fd: want.fd,
    fd_ratio: want.fd_ratio,
  });
  // without --lfw-images the stage refuses (the plan marks it "needs" before it gets here)
  await assert.rejects(
    realismStage({ ...ctx, inputs: {} }, () => Promise.resolve(reference)),
    /needs --lfw-images/,
  );
});

temp.test("report: the Realism table from a hand-made realism.json; 'needs --lfw-images' without it", async (tmp) => {
  const plan = buildPlan(resolvePreset("smoke"), { real: false, val: false }, ["table2"]);
  /** The report of `r` with every runnable stage cached. */
  const report = (r: ResolvedPlan) =>
    buildReportModel(r, outcomesOf(r), { ...META, out: tmp }, () => Promise.resolve(null));
  const r = await resolvePlan(plan, LFW, CODE);
  const stage = r.stages.find((s) => s.kind === "realism")!;
  await Deno.mkdir(`${tmp}/${stage.dir}`, { recursive: true });
  await Deno.writeTextFile(
    `${tmp}/${stage.dir}/realism.json`,
    JSON.stringify({
      generator: DEFAULT_GENERATOR_ID,
      n: 24,
      fd: 0.812345678,
      fd_floor: 0.25,
      fd_ratio: 3.24938271,
      identity_accuracy: 0.875,
      mean_image_gap: 5.8349,
      colour: {
        generated: { rg_sd: 0.2004, chroma_detail: 7.88, luma_detail: 7.31 },
        real: { rg_sd: 0.1226, chroma_detail: 3.54, luma_detail: 9.78 },
      },
      note: "hand-made",
    }),
  );
  const model = await report(r);
  assert.deepEqual(model.realism?.map((x) => x.generator), [DEFAULT_GENERATOR_ID]);
  const md = renderMarkdown(model);
  assert.match(md, /## Realism/);
  assert.match(md, /never used for training or model choice/);
  assert.ok(
    md.includes(
      "| generator | n | fd | fd_floor | fd_ratio | identity_accuracy | mean_image_gap | gap_floor | cast_sd (real) | chroma_detail (real) | luma_detail (real) |",
    ),
  );
  assert.ok(
    md.includes(
      `| ${DEFAULT_GENERATOR_ID} | 24 | 0.8123 | 0.2500 | 3.25 | 87.50 | 5.8 | — | 0.200 (0.123) | 7.9 (3.5) | 7.3 (9.8) |`,
    ),
    md,
  );
  // a result from before luma_detail: its cell says so, the rest reads as before
  const [, [older]] = realismTable([{
    ...model.realism![0],
    result: {
      n: 24,
      fd: 0.5,
      colour: {
        generated: { rg_sd: 0.2, chroma_detail: 7.9 },
        real: { rg_sd: 0.12, chroma_detail: 3.5 },
      },
    },
  }]);
  assert.deepEqual(older.slice(-3), ["0.200 (0.120)", "7.9 (3.5)", "—"]);
  const html = renderHtml(model);
  assert.ok(
    html.includes(
      `<td>${DEFAULT_GENERATOR_ID}</td><td>24</td><td>0.8123</td><td>0.2500</td><td>3.25</td>` +
        "<td>87.50</td>",
    ),
  );
  // a malformed realism.json names the file and field
  await Deno.writeTextFile(`${tmp}/${stage.dir}/realism.json`, JSON.stringify({ n: 24 }));
  await assert.rejects(report(r), /realism\.json: field "fd"/);
  // no real crops: the row says what it needs
  const none = await resolvePlan(plan, {}, CODE);
  const m2 = await report(none);
  assert.ok(renderMarkdown(m2).includes(`| ${DEFAULT_GENERATOR_ID} | needs --lfw-images |`));
});

temp.test("folderFingerprint follows the files of a folder (names and sizes), not their order of listing", async (tmp) => {
  await makeSet(`${tmp}/a`, 2, pixels(0));
  const f0 = await folderFingerprint(`${tmp}/a`);
  assert.match(f0, /^[0-9a-f]{16}$/);
  assert.equal(await folderFingerprint(`${tmp}/a/`), f0);
  await Deno.writeFile(`${tmp}/a/id1/id1_0003.png`, new Uint8Array(3));
  const f1 = await folderFingerprint(`${tmp}/a`);
  assert.notEqual(f1, f0);
  await Deno.writeFile(`${tmp}/a/id1/id1_0003.png`, new Uint8Array(4));
  assert.notEqual(await folderFingerprint(`${tmp}/a`), f1);
});
