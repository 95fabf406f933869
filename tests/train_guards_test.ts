import assert from "node:assert/strict";
import { CpuBackend } from "../recognition/autodiff/cpu/cpu_backend.ts";
import { TrainConfigError } from "../recognition/config.ts";
import { lockRunFolder } from "../recognition/run_lock.ts";
import { train } from "../recognition/trainer.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { tiny, tinyCliArgs, tinyData } from "./_train_tiny.ts";
import { runTask } from "./_helpers.ts";

const backend = await CpuBackend.create({ threads: 1 });
const quiet = { backend, progressBar: false, noExport: true };

const dataset = tinyData({ classes: 3, perClass: 4 });

dataset.test("run lock: a second train into a held run folder is refused, naming the holder's pid", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  await Deno.mkdir(out);
  const held = await lockRunFolder(out);
  try {
    await assert.rejects(
      train(tiny(data, out), quiet),
      (e: Error) =>
        e instanceof TrainConfigError &&
        e.message.includes(`pid ${Deno.pid}`) && e.message.includes(`${out}/.lock`),
    );
    assert.equal(await Deno.stat(`${out}/metrics.jsonl`).catch(() => null), null);
  } finally {
    held.release();
  }
  // Released: the folder can be trained into, and the lock is released again afterwards.
  const r = await train(tiny(data, out), quiet);
  assert.equal(r.steps, 2);
  (await lockRunFolder(out)).release();
});

dataset.test("run lock: a stale lock file of a dead process is taken over", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  await Deno.mkdir(out);
  await Deno.writeTextFile(`${out}/.lock`, "999999999\n");
  const r = await train(tiny(data, out), quiet);
  assert.equal(r.steps, 2);
});

dataset.test("run lock: two train processes into one --out: exactly one runs, the other exits 2", async ({ tmp, data }) => {
  const out = `${tmp}/run`;
  const args = tinyCliArgs(data, out, "--steps 300 --backend cpu --threads 1 --workers 0");
  const [a, b] = await Promise.all([runTask("train", args), runTask("train", args)]);
  const errs = a.code === 2 ? a.stderr : b.stderr;
  assert.deepEqual([a.code, b.code].sort(), [0, 2], errs);
  assert.match(errs, /another train \(pid \d+\) is using this run folder/);
});

dataset.test("train: --out that is an existing file is a config error in words", async ({ tmp, data }) => {
  await Deno.writeTextFile(`${tmp}/file`, "x");
  await assert.rejects(
    train(tiny(data, `${tmp}/file`), quiet),
    (e: Error) => e instanceof TrainConfigError && /exists and is a file/.test(e.message),
  );
});

dataset.test("train: --real with fewer than 2 identities and --domain-mixup is refused", async ({ tmp, data }) => {
  const real = `${tmp}/real`;
  await writeTinyDataset(real, { classes: 3, perClass: 4, height: 16, width: 16, seed: 2 });
  const cfg = (ids: number) =>
    tiny(data, `${tmp}/run${ids}`, { real: { dir: real, ids, perId: 0 }, domainMixup: true });
  await assert.rejects(
    train(cfg(1), quiet),
    (e: Error) =>
      e instanceof TrainConfigError &&
      /--real .*: 1 identity selected.*at least 2/.test(e.message),
  );
  assert.equal((await train(cfg(2), quiet)).steps, 2);
});
