/**
 * Dataset synthesis: shards and resumes make exactly the single-run set (same bytes), a folder
 * holding another dataset is refused, 112×96 crops, LFW-format verification pairs.
 */
import assert from "node:assert/strict";
import { openDataset } from "../data/mod.ts";
import { FaceGenerator } from "../generator/mod.ts";
import { makePairs, synthesize, synthesizeVerification } from "../mixup/mod.ts";

const gen = await FaceGenerator.load(undefined, { ep: "wasm" });
const base = { ids: 5, perId: 8, seed: 11, identityMixup: true, generator: gen, progress: false };

async function summary(dir: string): Promise<string[]> {
  const ds = await openDataset(dir);
  return ds.records().map((r) => `${r.path} ${r.sha256} ${JSON.stringify(r.label)}`);
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...opts,
  name: "synthesize: shards 1/2 + 2/2 and a resumed run equal the single run, byte for byte",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const single = await synthesize({ ...base, out: `${root}/single` });
      assert.equal(single.written, 40);
      const ref = await summary(`${root}/single`);
      assert.equal(ref.length, 40);

      await synthesize({ ...base, out: `${root}/sharded`, shard: { index: 2, count: 2 } });
      await synthesize({ ...base, out: `${root}/sharded`, shard: { index: 1, count: 2 } });
      assert.deepEqual(await summary(`${root}/sharded`), ref);

      // a run killed half way: keep the header and 5 records, drop one image file too
      await synthesize({ ...base, out: `${root}/resumed` });
      const mf = `${root}/resumed/manifest.jsonl`;
      const lines = (await Deno.readTextFile(mf)).split("\n");
      await Deno.writeTextFile(mf, lines.slice(0, 6).join("\n") + "\n" + lines[6].slice(0, 20));
      const again = await synthesize({ ...base, out: `${root}/resumed` });
      assert.ok(again.written >= 35 && again.written < 40, `resume wrote ${again.written}`);
      assert.deepEqual(await summary(`${root}/resumed`), ref);

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
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "synthesize: 112x96 crops and soft labels in the manifest",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await synthesize({ ...base, perId: 2, size: "112x96", out: dir });
      const ds = await openDataset(dir);
      assert.deepEqual(ds.header.image, { height: 112, width: 96, channels: 3 });
      const raw = await ds.readRaw(ds.records()[0]);
      assert.equal(raw.width, 96);
      for (const r of ds.records()) {
        assert.ok(Math.abs(r.label.reduce((s, [, w]) => s + w, 0) - 1) < 1e-9);
        assert.equal(r.path, `id${String(r.class).padStart(6, "0")}/${r.path.split("/")[1]}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "verification set: held-out identities and LFW-format pairs",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
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
      await synthesizeVerification({
        ids: 2,
        perId: 2,
        seed: 1,
        out: `${dir}/v`,
        pairsOut: `${dir}/pairs.txt`,
        folds: 1,
        perFold: 2,
        generator: gen,
        progress: false,
      });
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
      assert.notEqual(
        t.records()[0].sha256,
        ds.records()[0].sha256,
        "held-out identities differ from training ones",
      );
      await Deno.remove(train, { recursive: true });
      assert.match(await Deno.readTextFile(`${dir}/pairs.txt`), /^1\t2\n/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
