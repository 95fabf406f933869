/** Training data is checked before the first step; a file lost mid-run stops with one line. */
import assert from "node:assert/strict";
import { DatasetWriter, encodePng, openDataset } from "../data/mod.ts";
import { CpuBackend } from "../recognition/autodiff/cpu/cpu_backend.ts";
import { readCheckpoint } from "../recognition/checkpoint.ts";
import { TrainConfigError } from "../recognition/config.ts";
import { train, TrainDataError } from "../recognition/trainer.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { tiny, tinyCliArgs, tinyData } from "./_train_tiny.ts";
import { runTask, temp } from "./_helpers.ts";

const backend = await CpuBackend.create({ threads: 1 });
const quiet = { backend, progressBar: false, noExport: true };

const dataset = tinyData({ classes: 4, perClass: 5 });

dataset.test("data check: manifest records carry the file size", async ({ data }) => {
  const ds = await openDataset(data), r = ds.records()[0];
  assert.equal(r.bytes, (await Deno.stat(`${data}/${r.path}`)).size);
});

dataset.test("data check: missing files and a swapped image of another size are refused before the first step", async ({ tmp, data }) => {
  const ds = await openDataset(data);
  const [r0, r1, r2] = ds.records();
  await Deno.remove(`${data}/${r0.path}`);
  await Deno.remove(`${data}/${r1.path}`);
  await assert.rejects(
    train(tiny(data, `${tmp}/a`), quiet),
    (e: Error) =>
      e instanceof TrainConfigError &&
      e.message.includes(`2 of 20 images`) && e.message.includes(r0.path) &&
      /not found/.test(e.message),
  );
  assert.equal(await Deno.stat(`${tmp}/a/metrics.jsonl`).catch(() => null), null);
  // A fresh copy, with another image (another size in bytes) in place of its third.
  const data2 = `${tmp}/data2`;
  await writeTinyDataset(data2, { classes: 4, perClass: 5, height: 16, width: 16 });
  const other = encodePng({ height: 16, width: 16, channels: 3, data: new Uint8Array(768) });
  await Deno.writeFile(`${data2}/${r2.path}`, other);
  await assert.rejects(
    train(tiny(data2, `${tmp}/b`), quiet),
    (e: Error) =>
      e instanceof TrainConfigError && e.message.includes(`1 of 20 images`) &&
      e.message.includes(r2.path) && /\d+ bytes, the manifest says \d+/.test(e.message),
  );
});

/** A dataset of flat-colour images (their PNGs all have the same size in bytes). */
async function writeFlat(dir: string, classes: number, perClass: number, config?: unknown) {
  const w = await DatasetWriter.open(dir, {
    kind: "header",
    schema_version: 1,
    image: { height: 16, width: 16, channels: 3 },
    layout: "class_dir",
    generator: "test@1",
    num_classes: config ? 4 : classes,
    source: "synthetic",
    ...(config ? { config } : {}),
  });
  for (let c = 0; c < classes; c++) {
    for (let k = 0; k < perClass; k++) {
      const px = new Uint8Array(768).fill(40 * c + k);
      await w.write(
        { path: `${c}/${k}.png`, class: c, label: [[c, 1]] },
        encodePng({ height: 16, width: 16, channels: 3, data: px }),
      );
    }
  }
  await w.close();
}

temp.test("data check: a same-size swap passes the fast check and is caught by verify", async (tmp) => {
  const data = `${tmp}/data`;
  await writeFlat(data, 3, 4);
  // Two images of different classes whose files have the same size in bytes.
  const recs = (await openDataset(data)).records();
  const ra = recs.find((r) => recs.some((q) => q.class !== r.class && q.bytes === r.bytes))!;
  const rb = recs.find((q) => q.class !== ra.class && q.bytes === ra.bytes)!;
  const [a, b] = [`${data}/${ra.path}`, `${data}/${rb.path}`];
  const [bytesA, bytesB] = [await Deno.readFile(a), await Deno.readFile(b)];
  assert.equal(bytesA.length, bytesB.length);
  await Deno.writeFile(a, bytesB);
  await Deno.writeFile(b, bytesA);
  assert.equal((await train(tiny(data, `${tmp}/a`), quiet)).steps, 2);
  await assert.rejects(
    train(tiny(data, `${tmp}/b`), { ...quiet, verify: true }),
    (e: Error) => e instanceof TrainConfigError && /sha256 .* does not match/.test(e.message),
  );
});

temp.test("data check: header counts that the records do not reach are warned about", async (tmp) => {
  // An unfinished generate: the header promises 4 ids × 3 images, 2 identities were written.
  const data = `${tmp}/data`;
  await writeFlat(data, 2, 4, { ids: 4, per_id: 3, long_tail: "balanced" });
  const warnings: string[] = [];
  await train(tiny(data, `${tmp}/run`), { ...quiet, onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /header says 4 classes, 12 images.*2 classes, 8 images.*unfinished/);
});

dataset.test("data check: an image lost mid-run stops with one line naming it; last.ckpt stays usable", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  let removed = false;
  await assert.rejects(
    train(tiny(data, out, { steps: 20, checkpointEvery: 1, logEvery: 1 }), {
      ...quiet,
      onProgress: (p) => {
        if (p.step >= 2 && !removed) {
          removed = true;
          Deno.removeSync(data, { recursive: true });
        }
      },
    }),
    (e: Error) =>
      e instanceof TrainDataError && !e.message.includes("\n") &&
      e.message.includes(data) && /last checkpoint .*last\.ckpt \(step \d+\)/.test(e.message),
  );
  const ck = await readCheckpoint(`${out}/last.ckpt`);
  assert.ok(ck.meta.globalStep >= 2 && ck.meta.globalStep < 20);
});

dataset.test("data check: the train CLI exits 2 on a cut dataset and accepts --verify", async ({ tmp, data }) => {
  const ds = await openDataset(data);
  await Deno.remove(`${data}/${ds.records()[5].path}`);
  const flags = "--steps 1 --backend cpu --threads 1 --verify";
  const r = await runTask("train", tinyCliArgs(data, `${tmp}/run`, flags));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /1 of 20 images missing or changed; first: .*not found/);
});
