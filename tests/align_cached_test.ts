/**
 * `alignCached` (behind `evaluate --align` and `reproduce --align`): crops are cached by content
 * hash, the view mirrors the input's relative paths, photos without a face get their centre (or
 * are dropped), and `evaluate --align` scores unaligned photos end to end.
 */
import assert from "node:assert/strict";
import { alignCached } from "../align/mod.ts";
import { decodeRaw, encodeJpeg, encodePng } from "../data/mod.ts";
import { main as evaluate } from "../tasks/evaluate.ts";
import { canvas, faceTile } from "./_align_faces.ts";
import { temp } from "./_helpers.ts";

temp.test("align cache: content-hash crops, mirror views, no-face policy, evaluate --align", async (tmp) => {
  const src = `${tmp}/photos`;
  for (const id of ["p1", "p2"]) await Deno.mkdir(`${src}/${id}`, { recursive: true });
  const photo = (row: number, x: number) =>
    encodeJpeg(canvas(200, 200, [{ image: faceTile(row, 0), at: [x, 44] }]));
  await Deno.writeFile(`${src}/p1/a.jpg`, photo(2, 40));
  await Deno.writeFile(`${src}/p1/b.jpg`, photo(2, 50));
  await Deno.writeFile(`${src}/p2/a.jpg`, photo(4, 40));
  await Deno.writeFile(`${src}/p2/same_bytes.jpg`, photo(4, 40)); // identical bytes to p2/a
  await Deno.writeFile(`${src}/p2/blank.png`, encodePng(canvas(160, 200)));
  const files = ["p1/a.jpg", "p1/b.jpg", "p2/a.jpg", "p2/same_bytes.jpg", "p2/blank.png"];
  const cacheDir = `${tmp}/cache`;

  const opts = { inDir: src, files, cacheDir, ep: "wasm", progress: false } as const;
  const first = await alignCached({ ...opts, workers: 1 });
  assert.equal(first.ep, "wasm");
  assert.ok(first.dir.startsWith(`${cacheDir}/112/views/`), first.dir);
  assert.equal(first.aligned, 4, "identical bytes are aligned once");
  assert.deepEqual(first.noFace, ["p2/blank.png"]);
  const a = decodeRaw(await Deno.readFile(`${first.dir}/p1/a.jpg`), "a.jpg");
  assert.deepEqual([a.height, a.width, a.channels], [112, 112, 3]);
  assert.deepEqual(
    await Deno.readFile(`${first.dir}/p2/a.jpg`),
    await Deno.readFile(`${first.dir}/p2/same_bytes.jpg`),
  );
  // The face moved by 10 px in the photo; its crop barely changes (that is what alignment is).
  const b = decodeRaw(await Deno.readFile(`${first.dir}/p1/b.jpg`), "b.jpg");
  let mad = 0;
  for (let i = 0; i < a.data.length; i++) mad += Math.abs(a.data[i] - b.data[i]) / a.data.length;
  assert.ok(mad < 6, `crops of the shifted face differ by ${mad.toFixed(1)}`);
  // No face: the centre of the photo, named and encoded as the input (PNG).
  const blank = decodeRaw(await Deno.readFile(`${first.dir}/p2/blank.png`), "blank.png");
  assert.deepEqual([blank.height, blank.width, blank.data[0]], [112, 112, 128]);

  const again = await alignCached(opts);
  assert.equal(again.aligned, 0, "everything comes from the cache the second time");
  assert.equal(again.dir, first.dir);
  const dropped = await alignCached({ ...opts, noFace: "drop" });
  assert.notEqual(dropped.dir, first.dir);
  assert.ok(!(await Deno.stat(`${dropped.dir}/p2/blank.png`).then(() => true, () => false)));

  // evaluate --align on the raw photos (pixel baseline: no model needed).
  await Deno.writeTextFile(
    `${tmp}/pairs.csv`,
    "p1/a.jpg,p1/b.jpg,1\np2/a.jpg,p2/same_bytes.jpg,1\np1/a.jpg,p2/a.jpg,0\np1/b.jpg,p2/a.jpg,0\n",
  );
  await evaluate(
    `--model pixels --pairs ${tmp}/pairs.csv --images ${src} --out ${tmp}/eval --kfold 2 --align --align-cache ${cacheDir} --ep wasm --no-plots --protocol synface`
      .split(" "),
  );
  const r = JSON.parse(await Deno.readTextFile(`${tmp}/eval/results.json`));
  assert.equal(r.missing.images, 0);
  // Column 5 is the synface score: every same pair scores above every different pair.
  const scores = (await Deno.readTextFile(`${tmp}/eval/scores.csv`)).trim().split("\n").slice(1)
    .map((l) => l.split(","));
  const same = scores.filter((f) => f[2] === "1").map((f) => Number(f[4]));
  const diff = scores.filter((f) => f[2] === "0").map((f) => Number(f[4]));
  assert.equal(same.length + diff.length, 4);
  assert.ok(Math.min(...same) > Math.max(...diff), `same ${same}, different ${diff}`);
});

Deno.test("reproduce --align: parsed, off by default", async () => {
  const { parseReproduceArgs } = await import("../tasks/reproduce/cli.ts");
  const on = parseReproduceArgs(["--align", "--real", "/r"]);
  const off = parseReproduceArgs([]);
  assert.ok(on !== "help" && off !== "help");
  assert.equal(on.align, true);
  assert.equal(off.align, false);
});
