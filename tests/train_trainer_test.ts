import assert from "node:assert/strict";
import { CpuBackend } from "../recognition/autodiff/cpu/cpu_backend.ts";
import { CheckpointError, readCheckpoint } from "../recognition/checkpoint.ts";
import type { Batch } from "../recognition/batch_maker.ts";
import type { TrainConfigInput } from "../recognition/config.ts";
import { NonFiniteLossError, train } from "../recognition/trainer.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { TINY, tinyData } from "./_train_tiny.ts";

const backend = await CpuBackend.create({ threads: 1 });

/** A tiny two-epoch ArcFace run (see {@link TINY}) logging every step. */
function tinyConfig(data: string, out: string, extra: Partial<TrainConfigInput> = {}) {
  const loss = { kind: "arcface" as const, s: 16, m: 0.2 };
  return { data, out, ...TINY, lr: 0.1, epochs: 2, loss, logEvery: 1, ...extra };
}

const dataset = tinyData({ classes: 4, perClass: 4 });

const quiet = { backend, progressBar: false, noExport: true };

dataset.test("trainer: a tiny IR net overfits a tiny synthetic dataset", async ({ tmp, data }) => {
  const losses: number[] = [];
  const r = await train(
    tinyConfig(data, `${tmp}/run`, { epochs: 12, milestones: [0.8], augment: { enabled: true } }),
    { ...quiet, onProgress: (p) => losses.push(p.loss) },
  );
  assert.equal(r.steps, 24);
  const first = losses[0], last = (losses.at(-1)! + losses.at(-2)!) / 2;
  assert.ok(last < 0.25 * first, `loss ${first} → ${last}`);
  const lines = (await Deno.readTextFile(`${tmp}/run/metrics.jsonl`)).trim().split("\n");
  const epochs = lines.map((l) => JSON.parse(l)).filter((m) => m.kind === "epoch");
  assert.equal(epochs.length, 12);
  const cfg = JSON.parse(await Deno.readTextFile(`${tmp}/run/config.json`));
  assert.equal(cfg.momentum, 0.9);
  assert.equal(cfg.weightDecay, 5e-4);
});

dataset.test("trainer: kill and resume gives bit-identical weights to an uninterrupted run", async ({ tmp, data }) => {
  const extra = { epochs: 3, checkpointEvery: 2, dropout: 0.2, augment: { enabled: true } };
  await train(tinyConfig(data, `${tmp}/a`, extra), quiet);
  // "Killed" after 3 steps: the last checkpoint is from step 2, step 3 is lost and redone.
  const b = await train(tinyConfig(data, `${tmp}/b`, extra), { ...quiet, stopAfterSteps: 3 });
  assert.equal(b.stopped, true);
  assert.equal((await readCheckpoint(`${tmp}/b/last.ckpt`)).meta.globalStep, 2);
  await assert.rejects(train(tinyConfig(data, `${tmp}/b`, extra), quiet), /--resume/);
  const c = await train(tinyConfig(data, `${tmp}/b`, extra), { ...quiet, resume: true });
  assert.equal(c.steps, 6);
  // metrics.jsonl: the step redone after the "kill" is logged once, as in the uninterrupted run.
  const steps = (await Deno.readTextFile(`${tmp}/b/metrics.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((m) => m.kind === "step").map((m) => m.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  const ca = await readCheckpoint(`${tmp}/a/last.ckpt`);
  const cb = await readCheckpoint(`${tmp}/b/last.ckpt`);
  assert.equal(ca.tensors.size, cb.tensors.size);
  for (const [name, t] of ca.tensors) {
    const u = cb.tensors.get(name)!;
    assert.ok(
      new Uint8Array(t.data.buffer).every((v, i) => v === new Uint8Array(u.data.buffer)[i]),
      `tensor ${name} differs`,
    );
  }
  // A resume with a different recipe is refused.
  await assert.rejects(
    train(tinyConfig(data, `${tmp}/b`, { ...extra, lr: 0.05 }), { ...quiet, resume: true }),
    /another configuration/,
  );
});

dataset.test("trainer: NaN loss stops at the step, names the op, keeps the last good checkpoint", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  const err = await train(tinyConfig(data, out, { checkpointEvery: 1 }), {
    ...quiet,
    tamper: (batch, step) => {
      if (step === 2) batch.x[5] = NaN;
    },
  }).catch((e) => e);
  assert.ok(err instanceof NonFiniteLossError, String(err));
  assert.match(err.message, /step 2 /);
  assert.match(err.message, /op "conv2d" \(forward\)/);
  assert.match(err.message, /last\.ckpt/);
  assert.equal((await readCheckpoint(`${out}/last.ckpt`)).meta.globalStep, 2);
});

dataset.test("trainer: a failing checkpoint write (disk full) leaves the previous checkpoint", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  let writes = 0;
  const err = await train(tinyConfig(data, out, { checkpointEvery: 1 }), {
    ...quiet,
    writeFile: async (path, bytes) => {
      if (++writes === 2) {
        await Deno.writeFile(path, bytes.subarray(0, 100)); // half written, then ENOSPC
        throw new Error("No space left on device (os error 28)");
      }
      await Deno.writeFile(path, bytes);
    },
  }).catch((e) => e);
  assert.ok(err instanceof CheckpointError, String(err));
  assert.match(err.message, /previous checkpoint/);
  const ck = await readCheckpoint(`${out}/last.ckpt`);
  assert.equal(ck.meta.globalStep, 1);
  const leftovers = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
  assert.deepEqual(leftovers, []);
});

dataset.test("trainer: bad inputs give clear errors", async ({ tmp, data }) => {
  let runs = 0;
  const refused = (d: string, extra: Partial<TrainConfigInput>, re: RegExp) =>
    assert.rejects(train(tinyConfig(d, `${tmp}/r${++runs}`, extra), quiet), re);
  const one = `${tmp}/one`;
  await writeTinyDataset(one, { classes: 1, perClass: 8, height: 16, width: 16 });
  await refused(one, {}, /1 class; .*at least 2/);
  // Image size that does not fit the architecture's input.
  await refused(
    data,
    { input: { height: 32, width: 32 } },
    /images are 16×16, but ir_tiny takes 32×32/,
  );
  await refused(data, { input: { height: 14, width: 16 } }, /multiples of 4/);
  // …unless asked to resize (16×16 → 8×8).
  const resize = { input: { height: 8, width: 8 }, fit: "resize", epochs: 1 } as const;
  assert.equal((await train(tinyConfig(data, `${tmp}/r`, resize), quiet)).steps, 2);
  // Labels out of range: a manifest whose record names class 7 of 4.
  const bad = `${tmp}/bad`;
  await writeTinyDataset(bad, { classes: 4, perClass: 4, height: 16, width: 16 });
  const m = await Deno.readTextFile(`${bad}/manifest.jsonl`);
  await Deno.writeTextFile(
    `${bad}/manifest.jsonl`,
    m.replace('"label":[[3,1]]', '"label":[[7,1]]'),
  );
  await refused(bad, {}, /out of range/);
  // Empty real folder for Domain Mixup.
  await Deno.mkdir(`${tmp}/empty`);
  const empty = { real: { dir: `${tmp}/empty` }, domainMixup: true };
  await refused(data, empty, /--real .*empty.*no images found/);
  await refused(`${tmp}/nope`, {}, /no such folder/);
  const arch = /--arch: unknown architecture "resnet9000", expected one of: lresnet50e_ir/;
  await refused(data, { arch: "resnet9000" }, arch);
  await refused(data, { val: { pairs: "x/pairs.txt", images: "x" } }, /pairs file not found/);
});

dataset.test("trainer: Domain Mixup run with real classes after the synthetic ones", async ({ tmp, data }) => {
  const real = `${tmp}/real`;
  await writeTinyDataset(real, { classes: 3, perClass: 5, height: 16, width: 16, seed: 5 });
  const r = await train(
    tinyConfig(data, `${tmp}/run`, {
      real: { dir: real, ids: 2, perId: 3 },
      domainMixup: true,
      epochs: 1,
    }),
    quiet,
  );
  assert.equal(r.steps, 2);
  const ck = await readCheckpoint(`${tmp}/run/last.ckpt`);
  assert.deepEqual(ck.tensors.get("margin.weight")!.shape, [4 + 2, 16]);
  const lines = (await Deno.readTextFile(`${tmp}/run/metrics.jsonl`)).trim().split("\n");
  for (const l of lines.map((x) => JSON.parse(x)).filter((x) => x.kind === "step")) {
    assert.ok(Number.isInteger(Math.round(l.lambda * 20)));
  }
});

dataset.test("trainer: validation refuses LFW View 2", async ({ tmp, data }) => {
  await Deno.mkdir(`${tmp}/lfw`);
  const lines = ["10\t1"];
  for (let f = 0; f < 10; f++) lines.push("A\t1\t2", "A\t1\tB\t1");
  await Deno.writeTextFile(`${tmp}/lfw/pairs.txt`, lines.join("\n") + "\n");
  await assert.rejects(
    train(
      tinyConfig(data, `${tmp}/r`, {
        val: { pairs: `${tmp}/lfw/pairs.txt`, images: `${tmp}/lfw` },
      }),
      quiet,
    ),
    /View 2/,
  );
});

dataset.test("trainer: micro-batches with the CosFace/softmax heads run, learn and leak nothing", async ({ tmp, data }) => {
  for (const kind of ["cosface", "softmax"] as const) {
    const losses: number[] = [];
    const own = await CpuBackend.create({ threads: 1 });
    const live: number[] = [];
    const r = await train(
      tinyConfig(data, `${tmp}/${kind}`, {
        microBatch: 4,
        epochs: 3,
        loss: { kind },
        val: { data, numPairs: 20 },
      }),
      {
        ...quiet,
        backend: own,
        onProgress: (p) => {
          if (!p.val) losses.push(p.loss);
          live.push(own.liveBytes);
        },
      },
    );
    // No tensor leaks: device memory is flat from step to step and all freed at the end.
    assert.ok(live.every((b) => b === live[0]), `live bytes ${live}`);
    assert.equal(own.liveBytes, 0);
    own.dispose();
    assert.equal(r.steps, 6);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses.at(-1)! < losses[0], `${kind}: ${losses[0]} → ${losses.at(-1)}`);
  }
});

dataset.test("trainer: two accumulated micro-batches give the weights of one full batch", async ({ tmp, data }) => {
  // Each batch's second half is made a copy of its first half, so a micro-batch's batch-norm
  // statistics equal the full batch's and the full-batch gradient is exactly the sum of the
  // two micro-batch gradients (up to float rounding). Running statistics are buffers updated
  // once per pass, so they are not compared.
  const halves = (b: Batch) => {
    const n = b.labels.length / 2;
    b.x.copyWithin(b.x.length / 2, 0, b.x.length / 2);
    for (let i = 0; i < n; i++) b.labels[n + i] = b.labels[i];
  };
  const extra = { epochs: 1, lr: 0.05, dropout: 0 };
  await train(tinyConfig(data, `${tmp}/full`, extra), { ...quiet, tamper: halves });
  await train(tinyConfig(data, `${tmp}/micro`, { ...extra, microBatch: 4 }), {
    ...quiet,
    tamper: halves,
  });
  const full = await readCheckpoint(`${tmp}/full/last.ckpt`);
  const micro = await readCheckpoint(`${tmp}/micro/last.ckpt`);
  assert.equal(full.meta.globalStep, 2);
  let compared = 0, maxRel = 0, changed = 0;
  for (const [name, t] of full.tensors) {
    if (/running_(mean|var)$/.test(name)) continue;
    const u = micro.tensors.get(name)!.data;
    let num = 0, den = 0;
    for (let i = 0; i < t.data.length; i++) {
      num += (t.data[i] - u[i]) ** 2;
      den += t.data[i] ** 2;
    }
    // Relative to the tensor's norm, floored at 1e-2: a bias followed by batch norm has an
    // exactly-zero gradient in exact arithmetic, so its ~1e-7 values are rounding noise.
    // (Measured: ≤ 2e-6 on every tensor of norm > 0.01.)
    maxRel = Math.max(maxRel, Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-2));
    if (name.endsWith(".momentum") && den > 0) changed++;
    compared++;
  }
  assert.ok(compared > 10 && changed > 5, `${compared} tensors, ${changed} momenta non-zero`);
  assert.ok(maxRel < 1e-4, `micro-batches vs full batch: max relative difference ${maxRel}`);
  // And the check can fail: without the copied halves the two differ (batch statistics).
  await train(tinyConfig(data, `${tmp}/full2`, extra), quiet);
  await train(tinyConfig(data, `${tmp}/micro2`, { ...extra, microBatch: 4 }), quiet);
  const a = await readCheckpoint(`${tmp}/full2/last.ckpt`);
  const b = await readCheckpoint(`${tmp}/micro2/last.ckpt`);
  const w = [...a.tensors.keys()].find((k) => k.endsWith("conv1.weight") || k.includes("weight"))!;
  assert.notDeepEqual(a.tensors.get(w)!.data, b.tensors.get(w)!.data);
});
