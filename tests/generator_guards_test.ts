/** Generator manifests: a missing or URL model, and a wrong imageSize, fail before any write. */
import assert from "node:assert/strict";
import { FaceGenerator, resolveGeneratorModel } from "../generator/mod.ts";
import { isEmbeddedManifest } from "../generator/build.ts";
import { synthesize } from "../synthesis/mod.ts";
import { loose, runTask } from "./_helpers.ts";

const EMBEDDED = JSON.parse(
  await Deno.readTextFile(new URL("../generator/model/generator.json", import.meta.url)),
);
// Build (or find) the embedded model once, so a manifest can point at it.
await (await FaceGenerator.load(undefined, { ep: "wasm" })).close();
const FACE_ONNX = new URL(`../generator/model/${EMBEDDED.model}`, import.meta.url).pathname;

const names = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();

loose.test("generator guard: a missing model is an error naming it, and nothing is written beside the manifest", async (tmp) => {
  // A copy of the embedded manifest (same id) without its model file.
  await Deno.writeTextFile(`${tmp}/generator.json`, JSON.stringify(EMBEDDED));
  await assert.rejects(
    FaceGenerator.load(`${tmp}/generator.json`, { ep: "wasm" }),
    (e: Error) => e.message.includes(`${tmp}/${EMBEDDED.model}`) && /not found/.test(e.message),
  );
  assert.deepEqual(await names(tmp), ["generator.json"]);
});

loose.test("generator guard: a URL model is refused without --allow-net-model, and cached outside the manifest's folder with it", async (tmp) => {
  const bytes = await Deno.readFile(FACE_ONNX);
  const ac = new AbortController();
  let hits = 0;
  const server = Deno.serve(
    { port: 0, signal: ac.signal, onListen: () => {} },
    () => {
      hits++;
      return new Response(bytes);
    },
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/face.onnx`;
    await Deno.mkdir(`${tmp}/user`);
    const manifest = `${tmp}/user/generator.json`;
    await Deno.writeTextFile(manifest, JSON.stringify({ ...EMBEDDED, id: "net@1", model: url }));
    await assert.rejects(
      FaceGenerator.load(manifest, { ep: "wasm" }),
      /field "model": .*is a URL.*--allow-net-model/,
    );
    const g = await runTask("generate", `--out ${tmp}/o --ids 1 --per-id 1 --model ${manifest}`);
    assert.equal(g.code, 2, g.stderr);
    assert.match(g.stderr, /--allow-net-model/);
    assert.equal(hits, 0, "nothing fetched without the flag");
    // With the flag: fetched once into the cache, loadable from there.
    const local = await resolveGeneratorModel(manifest, {
      allowNet: true,
      cacheDir: `${tmp}/cache`,
    });
    assert.ok(String(local).startsWith(`${tmp}/cache/`), String(local));
    assert.equal(hits, 1);
    const gen = await FaceGenerator.load(local, { ep: "wasm" });
    assert.equal(gen.manifest.id, "net@1");
    await gen.close();
    assert.equal(
      await resolveGeneratorModel(manifest, { allowNet: true, cacheDir: `${tmp}/cache` }),
      local,
    );
    assert.equal(hits, 1, "the second call uses the cache");
    assert.deepEqual(await names(`${tmp}/user`), ["generator.json"]);
  } finally {
    ac.abort();
    await server.finished;
  }
});

loose.test("generator guard: a wrong imageSize fails before anything is written into --out", async (tmp) => {
  const manifest = `${tmp}/generator.json`;
  const run = { ids: 2, perId: 1, seed: 0, workers: 0, ep: "wasm", progress: false } as const;
  const options = { ...run, out: `${tmp}/out`, model: manifest };
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({ ...EMBEDDED, id: "wrong@1", model: FACE_ONNX, imageSize: [64, 64] }),
  );
  await assert.rejects(synthesize(options), /manifest says \[1,3,64,64\]/);
  const left = await names(`${tmp}/out`).catch(() => []);
  assert.deepEqual(left, [], `left behind: ${left}`);
  // The right size then writes into the same --out without complaint.
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({ ...EMBEDDED, id: "wrong@1", model: FACE_ONNX }),
  );
  const r = await synthesize(options);
  assert.equal(r.written, 2);
});

loose.test("generator guard: the project's own manifests may lack their model (built on first load), a copy of one may not", async (tmp) => {
  const own = ["generator.json", "procedural.json"].map((f) =>
    new URL(`../generator/model/${f}`, import.meta.url)
  );
  for (const url of own) {
    assert.ok(isEmbeddedManifest(url), url.href);
    assert.equal(await resolveGeneratorModel(url), url);
  }
  const copy = `${tmp}/procedural.json`;
  await Deno.copyFile(own[1], copy);
  assert.ok(!isEmbeddedManifest(new URL(`file://${copy}`)));
  await assert.rejects(resolveGeneratorModel(copy), /field "model": .*procedural\.onnx not found/);
});
