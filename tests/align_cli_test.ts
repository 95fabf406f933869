/**
 * `deno task align` on a folder: mirror tree, statuses (ok, several_faces, no_face, bad_image
 * for a corrupt JPEG, ok for a PNG named .jpg), exit codes, and a run killed mid-way (a real
 * child process, SIGKILL) then rerun leaves the same files as one uninterrupted run.
 */
import assert from "node:assert/strict";
import { encodeJpeg, encodePng, nodeAvailable } from "../data/mod.ts";
import { parseAlignCsv } from "../align/mod.ts";
import { main } from "../tasks/align.ts";
import { canvas, faceTile } from "./_align_faces.ts";
import { runTask, taskCommand, temp } from "./_helpers.ts";

function face(row: number, col: number, at: [number, number] = [44, 44]) {
  return canvas(200, 200, [{ image: faceTile(row, col), at }]);
}

async function listFiles(dir: string, rel = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [k, v] of await listFiles(dir, r)) out.set(k, v); }
    else out.set(r, await Deno.readFile(`${dir}/${r}`));
  }
  return out;
}

temp.test("align task: statuses, mirror tree, summary and exit codes", async (tmp) => {
  const src = `${tmp}/in`;
  await Deno.mkdir(`${src}/a`, { recursive: true });
  await Deno.mkdir(`${src}/b`, { recursive: true });
  const good = encodeJpeg(face(2, 0));
  await Deno.writeFile(`${src}/a/face.jpg`, good);
  const two = canvas(360, 200, [
    { image: faceTile(0, 0), at: [10, 44] },
    { image: faceTile(1, 0), at: [160, 44] },
  ]);
  await Deno.writeFile(`${src}/a/two.jpg`, encodeJpeg(two));
  await Deno.writeFile(`${src}/b/blank.jpg`, encodeJpeg(canvas(200, 200)));
  await Deno.writeFile(`${src}/b/corrupt.jpg`, good.slice(0, 600));
  await Deno.writeFile(`${src}/b/png_named.jpg`, encodePng(face(4, 0)));
  await Deno.writeFile(`${src}/b/notes.txt`, new TextEncoder().encode("not an image"));

  const code = await main(["--in", src, "--out", `${tmp}/out`, "--workers", "1", "--ep", "wasm"]);
  assert.equal(code, 1, "a bad image makes the run exit 1");
  const rows = parseAlignCsv(await Deno.readTextFile(`${tmp}/out/align.csv`), "align.csv");
  assert.deepEqual(rows.map((r) => [r.path, r.identity, r.status]), [
    ["a/face.jpg", "a", "ok"],
    ["a/two.jpg", "a", "several_faces"],
    ["b/blank.jpg", "b", "no_face"],
    ["b/corrupt.jpg", "b", "bad_image"],
    ["b/png_named.jpg", "b", "ok"],
  ]);
  assert.equal(rows[0].landmarks68!.length, 68);
  assert.equal(rows[2].points5, null);
  const files = await listFiles(`${tmp}/out`);
  for (const p of ["a/face.jpg", "a/two.jpg", "b/png_named.jpg"]) {
    assert.deepEqual([...files.get(p)!.subarray(0, 2)], [0xff, 0xd8], `${p} is a JPEG crop`);
  }
  assert.ok(!files.has("b/blank.jpg") && !files.has("b/corrupt.jpg"), "no crop without a face");
  const summary = JSON.parse(await Deno.readTextFile(`${tmp}/out/align_summary.json`));
  assert.deepEqual(summary.counts, { ok: 2, several_faces: 1, no_face: 1, bad_image: 1 });
  assert.equal(summary.ep, "wasm");
  assert.equal(JSON.parse(await Deno.readTextFile(`${tmp}/out/align.json`)).ep, "wasm");
  assert.deepEqual(summary.noFace, ["b/blank.jpg"]);
  assert.equal(summary.bad[0].path, "b/corrupt.jpg");
  assert.match(summary.bad[0].error, /b\/corrupt\.jpg: corrupt or truncated JPEG/);
  // A rerun finds everything done (the decoder's error kept) and --skip-bad exits 0.
  const before = await listFiles(`${tmp}/out`);
  assert.equal(await main(["--in", src, "--out", `${tmp}/out`, "--skip-bad", "--ep", "wasm"]), 0);
  assert.deepEqual(await listFiles(`${tmp}/out`), before);
  // Two shards into one folder: the last to finish merges them into the same align.csv,
  // summary and crops as the single run.
  for (const shard of ["2/2", "1/2"]) {
    await main(
      `--in ${src} --out ${tmp}/sharded --shard ${shard} --workers 1 --ep wasm`.split(" "),
    );
  }
  const sharded = await listFiles(`${tmp}/sharded`);
  assert.ok(sharded.has("align.shard-1-of-2.csv") && sharded.has("align.shard-2-of-2.csv"));
  for (const [k, v] of before) assert.deepEqual(sharded.get(k), v, `${k} differs`);
  // Crops of one folder come from one EP: asking for another is refused, naming both.
  if ((await nodeAvailable()).available) {
    const other = await runTask("align", `--in ${src} --out ${tmp}/out --ep node`);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /"ep":"wasm".*"ep":"node"/s);
  }
});

Deno.test("align task: a bad command line exits 2 with the usage", async () => {
  const bad = ["--size 96", "--shard 3/2", "--min-score 2", "--ep cpu", "--threads 0"];
  for (const args of ["--in x", ...bad.map((b) => `--in x --out y ${b}`)]) {
    const out = await runTask("align", args);
    assert.equal(out.code, 2, args);
    assert.match(out.stderr, /usage: deno task align/);
  }
});

temp.test("align task: a run killed mid-way and rerun leaves the same files as one run", async (tmp) => {
  const src = `${tmp}/in`;
  await Deno.mkdir(src);
  for (let i = 0; i < 10; i++) {
    const img = face(i % 8, Math.floor(i / 8) * 3, [30 + 3 * i, 40]);
    await Deno.writeFile(`${src}/f${i}.jpg`, encodeJpeg(img));
  }
  // One uninterrupted run.
  const once = await runTask("align", `--in ${src} --out ${tmp}/once --workers 1`);
  assert.equal(once.code, 0, once.stderr);
  // A run killed as soon as its journal holds a finished row.
  const child = taskCommand("align", `--in ${src} --out ${tmp}/twice --workers 1`).spawn();
  const journal = `${tmp}/twice/align.journal.csv`;
  for (let t = 0; t < 1200; t++) {
    const text = await Deno.readTextFile(journal).catch(() => "");
    if (text.split("\n").length > 2) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  await child.output();
  const partial = await listFiles(`${tmp}/twice`);
  assert.ok(!partial.has("align.csv"), "the killed run must not have finished");
  assert.ok(partial.has("align.journal.csv"));
  const rerun = await runTask("align", `--in ${src} --out ${tmp}/twice --workers 1`);
  assert.equal(rerun.code, 0);
  const skipped = /\((\d+) done before\)/.exec(rerun.stderr);
  assert.ok(skipped && Number(skipped[1]) >= 2, "the rerun resumes from the journal");
  const a = await listFiles(`${tmp}/once`), b = await listFiles(`${tmp}/twice`);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, `${k} differs`);
});
