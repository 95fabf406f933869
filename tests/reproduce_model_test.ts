/**
 * `reproduce --model`: the generator of every data stage (and so of the realism meter) comes
 * from a manifest; its manifest and model bytes key the data stages, the embedded default keys
 * them as before, and bad input fails before any stage runs.
 */
import assert from "node:assert/strict";
import { LEARNED_ID, PROCEDURAL_ID } from "../generator/mod.ts";
import {
  parseReproduceArgs,
  planOf,
  type ReproduceOptions,
  UsageError,
} from "../tasks/reproduce/cli.ts";
import { usedGenerator } from "../tasks/reproduce/cache.ts";
import { createStages } from "../tasks/reproduce/stages.ts";
import type { StageContext } from "../tasks/reproduce/run.ts";
import { runTask, temp } from "./_helpers.ts";

const PROCEDURAL = new URL("../generator/model/procedural.json", import.meta.url).pathname;

const opts = (...args: string[]) => parseReproduceArgs(args) as ReproduceOptions;

/** A user manifest `g.json` (the procedural one's blocks, id `user-gen@1`) and its `m.onnx`. */
async function userManifest(dir: string, modelBytes: string | null): Promise<string> {
  const m = JSON.parse(await Deno.readTextFile(PROCEDURAL));
  await Deno.writeTextFile(
    `${dir}/g.json`,
    JSON.stringify({ ...m, id: "user-gen@1", model: "m.onnx" }),
  );
  if (modelBytes !== null) await Deno.writeTextFile(`${dir}/m.onnx`, modelBytes);
  return `${dir}/g.json`;
}

/** Stage hashes of the smoke plan of table2 by label. */
async function hashes(...args: string[]): Promise<Record<string, string>> {
  const r = await planOf(opts("--preset", "smoke", "--only", "table2", ...args));
  return Object.fromEntries(r.stages.map((s) => [s.label, s.hash]));
}

temp.test("--model: its manifest and model bytes key the data stages; the default keys as before", async (dir) => {
  const manifest = await userManifest(dir, "model A");
  const a = await hashes("--model", manifest);
  assert.deepEqual(await hashes("--model", manifest), a, "same bytes: same stages (resume)");
  await Deno.writeTextFile(`${dir}/m.onnx`, "model B");
  const b = await hashes("--model", manifest);
  const dflt = await hashes();
  for (
    const label of [
      "syntest",
      "synval",
      "syn",
      "syn-im",
      "realism",
      "train-syn",
      "train-syn@syntest",
    ]
  ) {
    const l = `table2/${label}`;
    assert.notEqual(a[l], b[l], `${l}: new model bytes, new stage`);
    assert.notEqual(a[l], dflt[l], `${l}: user generator vs default`);
  }
  // the default: no generator part in any key, and naming its manifest changes nothing
  const r = await planOf(opts("--preset", "smoke", "--only", "table2"));
  assert.deepEqual(r.generator, { id: LEARNED_ID });
  assert.ok(r.stages.every((s) => !("generator" in (s.key as { inputs: object }).inputs)));
  const explicit = new URL("../generator/model/generator.json", import.meta.url).pathname;
  assert.deepEqual(await hashes("--model", explicit), dflt);
  // the realism meter is that of the generator used
  const u = await planOf(opts("--preset", "smoke", "--only", "table2", "--model", manifest));
  const meter = u.stages.find((s) => s.kind === "realism")!;
  assert.equal((meter.node.config as { generator: string }).generator, "user-gen@1");
  assert.equal(u.generator.load, new URL(`file://${manifest}`).href);
  assert.match(u.generator.fingerprint!, /^user-gen@1 manifest:[0-9a-f]{16} model:[0-9a-f]{16}$/);
});

Deno.test("--model generator/model/procedural.json: the project's other model, built from source", async () => {
  const g = await usedGenerator(PROCEDURAL);
  assert.equal(g.id, PROCEDURAL_ID);
  assert.match(g.fingerprint!, /^embedded-3dmm@1 manifest:[0-9a-f]{16} model:embedded$/);
});

temp.test("--model: bad input fails before planning, naming the file and field", async (dir) => {
  const fails = async (args: string[], re: RegExp) => {
    await assert.rejects(
      () => planOf(opts("--preset", "smoke", "--dry-run", ...args)),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  };
  await fails(["--model", `${dir}/none.json`], /none\.json: cannot read the generator manifest/);
  const noModel = await userManifest(dir, null);
  await fails(["--model", noModel], /g\.json: field "model": .*m\.onnx not found/);
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ format: "synface-generator/1" }));
  await fails(["--model", `${dir}/bad.json`], /bad\.json: field "id"/);
  const m = JSON.parse(await Deno.readTextFile(PROCEDURAL));
  const net = { ...m, id: "net@1", model: "https://example.invalid/m.onnx" };
  await Deno.writeTextFile(`${dir}/net.json`, JSON.stringify(net));
  await fails(["--model", `${dir}/net.json`], /net\.json: .*--allow-net-model/);
  assert.throws(() => opts("--allow-net-model"), /--allow-net-model needs --model/);
});

temp.test("data stages open the --model generator (a missing model is its error)", async (dir) => {
  const manifest = await userManifest(dir, "x");
  const r = await planOf(opts("--preset", "smoke", "--only", "table2", "--model", manifest));
  await Deno.remove(`${dir}/m.onnx`);
  const stage = r.stages.find((s) => s.label === "table2/syntest")!;
  const ctx: StageContext = {
    stage,
    out: dir,
    dir: `${dir}/s`,
    deps: {},
    resume: false,
    inputs: { model: r.generator.load },
    backend: "cpu",
    workers: 0,
    ep: "wasm",
    progress: () => {},
  };
  const stages = createStages();
  await assert.rejects(
    () => stages.verification(ctx),
    /g\.json: field "model": .*m\.onnx not found/,
  );
  await stages.close();
});

Deno.test("the task: --dry-run names the generator; a bad --model exits 2 before any stage", async () => {
  const ok = await runTask(
    "reproduce",
    `--preset smoke --dry-run --only table2 --model ${PROCEDURAL}`,
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^generator: embedded-3dmm@1 \(.*procedural\.json\)$/m);
  assert.match(ok.stdout, /realism meter of embedded-3dmm@1/);
  const bad = await runTask("reproduce", "--preset smoke --dry-run --model /nonexistent/g.json");
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /reproduce: --model \/nonexistent\/g\.json: .*cannot read the generator manifest/,
  );
});
