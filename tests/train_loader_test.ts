import assert from "node:assert/strict";
import { Loader } from "../recognition/loader.ts";
import type { LoaderPlan } from "../recognition/batch_maker.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { AugmentConfigSchema } from "../recognition/config.ts";
import { temp } from "./_helpers.ts";

async function plan(dir: string, extra: Partial<LoaderPlan> = {}): Promise<LoaderPlan> {
  await writeTinyDataset(dir, { classes: 4, perClass: 4, height: 32, width: 32 });
  return {
    data: dir,
    domainMixup: false,
    input: { height: 32, width: 32 },
    fit: "center-crop",
    augment: AugmentConfigSchema.parse({}),
    seed: 7,
    batch: 4,
    ...extra,
  };
}

temp.test("loader: worker and inline give the same batches; resume mid-stream matches", async (dir) => {
  const p = await plan(dir);
  const a = await Loader.open(p, 4, { epoch: 0, step: 0 }, { workers: 1, prefetch: 3 });
  const b = await Loader.open(p, 4, { epoch: 0, step: 0 }, { workers: 0 });
  const c = await Loader.open(p, 4, { epoch: 1, step: 2 }, { workers: 0 });
  const d = await Loader.open(p, 4, { epoch: 0, step: 0 }, { workers: 2, prefetch: 5 });
  const seenA = [];
  for (let i = 0; i < 7; i++) {
    const x = await a.next(), y = await b.next();
    assert.deepEqual([x.epoch, x.step], [y.epoch, y.step]);
    assert.deepEqual(x.x, y.x);
    assert.deepEqual(x.labels, y.labels);
    assert.deepEqual((await d.next()).x, x.x); // two workers: same stream, in order
    seenA.push(x);
  }
  const z = await c.next();
  assert.deepEqual([z.epoch, z.step], [1, 2]);
  assert.deepEqual(z.x, seenA[6].x);
  // Each epoch visits every image once (16 images, 4 steps of 4).
  const classes = seenA.slice(0, 4).flatMap((bt) => bt.labels.map((l) => l[0][0]));
  assert.deepEqual(classes.sort(), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  // Different epochs shuffle differently.
  assert.notDeepEqual(seenA[0].x, seenA[4].x);
  for (const l of [a, b, c, d]) l.close();
});

temp.test("loader: domain mixup blends with one lambda per batch from the grid", async (tmp) => {
  const dir = `${tmp}/syn`, realDir = `${tmp}/real`;
  await writeTinyDataset(realDir, { classes: 2, perClass: 3, seed: 9 });
  const p = await plan(dir, {
    domainMixup: true,
    augment: AugmentConfigSchema.parse({ enabled: false }),
    real: { dir: realDir, indices: [0, 1, 3, 4], classes: [0, 0, 1, 1] },
  });
  const l = await Loader.open(p, 4, { epoch: 0, step: 0 }, { workers: 0 });
  const lambdas = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const bt = await l.next();
    lambdas.add(bt.lambda);
    assert.ok(Math.abs(bt.lambda * 20 - Math.round(bt.lambda * 20)) < 1e-12);
    assert.equal(bt.realClasses!.length, 4);
    for (const c of bt.realClasses!) assert.ok(c === 0 || c === 1);
  }
  assert.ok(lambdas.size > 1);
  l.close();
});
