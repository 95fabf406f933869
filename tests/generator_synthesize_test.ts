/**
 * Dataset synthesis: shards and resumes make exactly the single-run set (same bytes), a folder
 * holding another dataset is refused, 112×96 crops, LFW-format verification pairs.
 */
import assert from "node:assert/strict";
import { openDataset, sha256Hex } from "../data/mod.ts";
import { FaceGenerator } from "../generator/mod.ts";
import { makePairs, synthesize, synthesizeVerification } from "../synthesis/mod.ts";
import { loose, taskCommand } from "./_helpers.ts";

const gen = await FaceGenerator.load(undefined, { ep: "wasm" });
const base = { ids: 5, perId: 8, seed: 11, identityMixup: true, generator: gen, progress: false };

/** Each record's path, label and the sha256 of its file as read from disk (not the manifest's). */
async function summary(dir: string): Promise<string[]> {
  const ds = await openDataset(dir);
  const out: string[] = [];
  for (const r of ds.records()) {
    const file = await sha256Hex(await Deno.readFile(`${dir}/${r.path}`));
    assert.equal(file, r.sha256, `${dir}/${r.path}: the manifest's hash is not the file's`);
    out.push(`${r.path} ${file} ${JSON.stringify(r.label)}`);
  }
  return out;
}

loose.test("synthesize: shards 1/2 + 2/2 and a resumed run equal the single run, byte for byte", async (root) => {
  const single = await synthesize({ ...base, out: `${root}/single` });
  assert.equal(single.written, 40);
  const ref = await summary(`${root}/single`);
  assert.equal(ref.length, 40);

  await synthesize({ ...base, out: `${root}/sharded`, shard: { index: 2, count: 2 } });
  await synthesize({ ...base, out: `${root}/sharded`, shard: { index: 1, count: 2 } });
  assert.deepEqual(await summary(`${root}/sharded`), ref);

  // a torn manifest tail (what a kill in the middle of a line leaves): header, 5 records and
  // the first 20 characters of the 6th
  await synthesize({ ...base, out: `${root}/resumed` });
  const mf = `${root}/resumed/manifest.jsonl`;
  const lines = (await Deno.readTextFile(mf)).split("\n");
  await Deno.writeTextFile(mf, lines.slice(0, 6).join("\n") + "\n" + lines[6].slice(0, 20));
  const again = await synthesize({ ...base, out: `${root}/resumed` });
  assert.ok(again.written >= 35 && again.written < 40, `resume wrote ${again.written}`);
  assert.deepEqual(await summary(`${root}/resumed`), ref);

  // a real `deno task generate` child killed with SIGKILL mid-run, then resumed (2 ids, to
  // keep the test short; its reference is rendered in this process)
  await synthesize({ ...base, ids: 2, out: `${root}/ref2` });
  const ref2 = await summary(`${root}/ref2`);
  const killed = `${root}/killed`;
  const cli = `--out ${killed} --ids 2 --per-id 8 --seed 11 --identity-mixup --workers 1 --ep wasm`;
  const child = taskCommand("generate", cli, "null").spawn();
  let seen = 0;
  for (let i = 0; i < 6000 && seen < 3; i++) {
    const text = await Deno.readTextFile(`${killed}/manifest.jsonl`).catch(() => "");
    seen = Math.max(0, text.split("\n").length - 2);
    if (seen < 3) await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL", "the child finished before it could be killed");
  const partial = (await openDataset(killed)).size;
  assert.ok(partial >= 3 && partial < 16, `killed after ${partial} images`);
  assert.equal((await taskCommand("generate", cli, "null").output()).code, 0);
  assert.deepEqual(await summary(killed), ref2);

  // a different dataset in the folder: refused, nothing overwritten
  const before = await Deno.readTextFile(`${root}/single/manifest.jsonl`);
  await assert.rejects(
    synthesize({ ...base, seed: 12, out: `${root}/single` }),
    /different dataset/,
  );
  assert.equal(await Deno.readTextFile(`${root}/single/manifest.jsonl`), before);
  await assert.rejects(
    synthesize({ ...base, out: `${root}/x`, shard: { index: 3, count: 2 } }),
    /--shard 3\/2/,
  );
});

loose.test("synthesize: 112x96 crops and soft labels in the manifest", async (dir) => {
  await synthesize({ ...base, perId: 2, size: "112x96", out: dir });
  const ds = await openDataset(dir);
  assert.deepEqual(ds.header.image, { height: 112, width: 96, channels: 3 });
  const raw = await ds.readRaw(ds.records()[0]);
  assert.equal(raw.width, 96);
  for (const r of ds.records()) {
    assert.ok(Math.abs(r.label.reduce((s, [, w]) => s + w, 0) - 1) < 1e-9);
    assert.equal(r.path, `id${String(r.class).padStart(6, "0")}/${r.path.split("/")[1]}`);
  }
});

loose.test("verification set: held-out identities and LFW-format pairs", async (dir) => {
  const text = makePairs(3, 20, 4, 2, 5);
  const lines = text.trim().split("\n");
  assert.equal(lines[0], "2\t5");
  assert.equal(lines.length, 1 + 2 * 10);
  for (let f = 0; f < 2; f++) {
    for (let p = 0; p < 10; p++) {
      const cols = lines[1 + f * 10 + p].split("\t");
      if (p < 5) {
        assert.equal(cols.length, 3);
        assert.ok(Number(cols[1]) < Number(cols[2]) && Number(cols[2]) <= 4);
      } else {
        assert.equal(cols.length, 4);
        assert.notEqual(cols[0], cols[2]);
      }
    }
  }
  const layout = {
    ids: 2,
    perId: 2,
    seed: 1,
    folds: 1,
    perFold: 2,
    generator: gen,
    progress: false,
  };
  await synthesizeVerification({ ...layout, out: `${dir}/v`, pairsOut: `${dir}/pairs.txt` });
  const ds = await openDataset(`${dir}/v`);
  assert.deepEqual(ds.records().map((r) => r.path), [
    "syn000000/syn000000_0001.png",
    "syn000000/syn000000_0002.png",
    "syn000001/syn000001_0001.png",
    "syn000001/syn000001_0002.png",
  ]);
  const train = await Deno.makeTempDir();
  await synthesize({ ids: 2, perId: 1, seed: 1, out: train, generator: gen, progress: false });
  const t = await openDataset(train);
  const [heldOut, training] = [ds.records()[0].sha256, t.records()[0].sha256];
  assert.notEqual(training, heldOut, "held-out identities differ from training ones");
  await Deno.remove(train, { recursive: true });
  assert.match(await Deno.readTextFile(`${dir}/pairs.txt`), /^1\t2\n/);
});
