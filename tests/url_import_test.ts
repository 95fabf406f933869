/**
 * Modules must work when imported by URL, where our workspace import map does not apply. A
 * script in a temp folder outside the repo, run with `--no-config`, imports `mod.ts` through
 * its `file://` URL and uses it for real; its results must equal this process's.
 */
import assert from "node:assert/strict";
import { encodePng, Rng } from "../mod.ts";
import { runOutsideRepo } from "./_helpers.ts";

const MOD_URL = new URL("../mod.ts", import.meta.url).href;

const SCRIPT = `
import * as m from ${JSON.stringify(MOD_URL)};
const rng = m.Rng.fromSeed(42).split("identity", 7);
const raw = { channels: 3, height: 3, width: 4, data: new Uint8Array(36).map((_, i) => i * 7) };
const png = m.encodePng(raw);
const back = m.decodeRaw(png, "x.png");
const dir = await Deno.makeTempDir();
const header = {
  kind: "header", schema_version: 1, image: { height: 3, width: 4, channels: 3 },
  layout: "class_dir", generator: null, num_classes: 1, source: "real",
};
const w = await m.DatasetWriter.open(dir, header);
await w.write({ path: "a/0.png", class: 0, label: [[0, 1]] }, png);
await w.close();
const ds = await m.openDataset(dir);
await ds.verify();
await Deno.remove(dir, { recursive: true });
// Bare specifiers must NOT resolve here: proves the import map is not in play.
const bare = await import("zod").then(() => "resolved", () => "unresolved");
console.log(JSON.stringify({
  uniform: rng.uniform(),
  normals: Array.from(rng.normals(3)),
  roundTrip: back.data.every((v, i) => v === raw.data[i]) && back.width === 4,
  pngLength: png.length,
  records: ds.records().map((r) => r.path),
  bare,
}));
`;

Deno.test("url import: mod.ts works from outside the repo without our import map", async () => {
  const got = await runOutsideRepo(SCRIPT);
  const rng = Rng.fromSeed(42).split("identity", 7);
  const raw = { channels: 3, height: 3, width: 4, data: new Uint8Array(36).map((_, i) => i * 7) };
  assert.deepEqual(got, {
    uniform: rng.uniform(),
    normals: Array.from(rng.normals(3)),
    roundTrip: true,
    pngLength: encodePng(raw).length,
    records: ["a/0.png"],
    bare: "unresolved",
  });
});

Deno.test("url import: every workspace member's mod.ts imports without our import map", async () => {
  const root = new URL("../", import.meta.url);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const urls = (config.workspace as string[]).map((m) => new URL(`${m}/mod.ts`, root).href);
  const script = `
const out = {};
for (const url of ${JSON.stringify(urls)}) {
  try {
    await import(url);
    out[url] = "ok";
  } catch (e) {
    out[url] = String(e.message ?? e).split("\\n").slice(0, 3).join(" ");
  }
}
console.log(JSON.stringify(out));
`;
  const got = await runOutsideRepo<Record<string, string>>(script);
  const failed = Object.entries(got).filter(([, v]) => v !== "ok");
  const list = failed.map(([u, e]) => `  ${u}: ${e}`).join("\n");
  assert.deepEqual(
    failed,
    [],
    `modules that need our import map (a bare or unpinned-dependency import?):\n${list}`,
  );
  assert.equal(Object.keys(got).length, urls.length);
});
