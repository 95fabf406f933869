import assert from "node:assert/strict";
import { readCheckpoint } from "../recognition/checkpoint.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { taskCommand, temp } from "./_helpers.ts";

/** `deno run tasks/train.ts`: 80 tiny steps from `data` into `out`, a checkpoint after each. */
function trainCmd(data: string, out: string, ...extra: string[]): Deno.Command {
  // Default backend and threads (all cores): the cpu backend's results do not depend on its
  // thread count or on which threads are idle, so resumes are bit-exact with the defaults.
  const flags = "--arch ir_tiny --input 16x16 --batch 8 --steps 80 --lr 0.05 --dropout 0.1 " +
    "--checkpoint-every 1 --workers 1";
  const args = ["--data", data, "--out", out, ...flags.split(" "), ...extra];
  return taskCommand("train", args, "null");
}

async function lastStep(path: string): Promise<number> {
  try {
    return (await readCheckpoint(path)).meta.globalStep;
  } catch {
    return -1;
  }
}

temp.test("trainer: SIGKILL or Ctrl-C mid-run, then --resume, equals an uninterrupted run bit for bit (default flags)", async (tmp) => {
  const data = `${tmp}/data`;
  await writeTinyDataset(data, { classes: 4, perClass: 6, height: 16, width: 16 });
  assert.equal((await trainCmd(data, `${tmp}/a`).output()).code, 0);

  const child = trainCmd(data, `${tmp}/b`).spawn();
  let killedAt = -1;
  for (let i = 0; i < 4000; i++) {
    const s = await lastStep(`${tmp}/b/last.ckpt`);
    if (s >= 3) {
      child.kill("SIGKILL");
      killedAt = s;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const status = await child.status;
  assert.ok(killedAt >= 3, "the run never wrote a checkpoint");
  assert.equal(status.signal, "SIGKILL", "the run finished before it could be killed");
  assert.ok((await lastStep(`${tmp}/b/last.ckpt`)) < 80);

  assert.equal((await trainCmd(data, `${tmp}/b`, "--resume").output()).code, 0);
  const a = await readCheckpoint(`${tmp}/a/last.ckpt`);
  const b = await readCheckpoint(`${tmp}/b/last.ckpt`);
  assert.equal(b.meta.globalStep, 80);
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!.data;
    const same = new Uint32Array(t.data.buffer).every((v, i) => v === new Uint32Array(u.buffer)[i]);
    assert.ok(same, `tensor ${name} differs after kill + resume`);
  }
  // Ctrl-C: the run saves last.ckpt at the step boundary and exits 130; --resume continues.
  const c = trainCmd(data, `${tmp}/c`).spawn();
  for (let i = 0; i < 4000 && (await lastStep(`${tmp}/c/last.ckpt`)) < 2; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  c.kill("SIGINT");
  assert.equal((await c.status).code, 130);
  const stoppedAt = await lastStep(`${tmp}/c/last.ckpt`);
  assert.ok(stoppedAt >= 2 && stoppedAt < 80, `stopped at ${stoppedAt}`);
  assert.equal((await trainCmd(data, `${tmp}/c`, "--resume").output()).code, 0);
  const cc = await readCheckpoint(`${tmp}/c/last.ckpt`);
  for (const [name, t] of a.tensors) {
    assert.deepEqual(cc.tensors.get(name)!.data, t.data, `tensor ${name} after Ctrl-C + resume`);
  }
  const model = (run: string) => Deno.readFile(`${tmp}/${run}/model.onnx`);
  assert.deepEqual(await model("b"), await model("a"));
});
