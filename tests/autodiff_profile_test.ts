/**
 * The kernel profiler of `bench autodiff --profile` (`cpu/profile.ts`): every kernel call lands
 * in the right pass and layer, the profiled backend computes what the plain one does, and the
 * layer labels come off again.
 */
import assert from "node:assert/strict";
import * as ag from "../recognition/autodiff/mod.ts";
import { labelLayers, profileBackend, summarize } from "../recognition/autodiff/cpu/profile.ts";

class Tiny extends ag.Module {
  conv = this.child("conv", new ag.Conv2d(2, 3, 3, { padding: 1 }));
  bn = this.child("bn", new ag.BatchNorm2d(3));
  fc = this.child("fc", new ag.Linear(3, 2));
  forward(x: ag.Tensor): ag.Tensor {
    return this.fc.forward(ag.globalAvgPool(ag.relu(this.bn.forward(this.conv.forward(x)))));
  }
}

async function step(be: ag.Backend, label: boolean) {
  ag.useBackend(be);
  ag.seedInit(5);
  const net = new Tiny();
  const undo = label ? labelLayers(net) : () => {};
  const opt = new ag.SGD(net.parameters(), { lr: 0.1 });
  const x = ag.tensor(Float32Array.from({ length: 100 }, (_, i) => Math.sin(i)), [2, 2, 5, 5]);
  const loss = ag.scope(() => {
    const l = ag.crossEntropy(net.forward(x), ag.oneHot([0, 1], 2));
    l.backward();
    return l;
  });
  opt.step();
  const value = await loss.item();
  const w = await net.conv.weight.toArray();
  undo();
  return { net, value, w };
}

Deno.test("profileBackend splits kernel time by pass, family and layer", async () => {
  const cpu = await ag.CpuBackend.create({ initialMiB: 16, threads: 1 });
  try {
    const plain = await step(cpu, false);
    const prof = profileBackend(cpu);
    assert.ok(prof.backend instanceof ag.CpuBackend, "stand-in still passes instanceof");
    const timed = await step(prof.backend, true);
    assert.equal(timed.value, plain.value);
    assert.deepEqual(timed.w, plain.w);
    const cells = prof.cells();
    const find = (pass: string, family: string) =>
      cells.filter((c) => c.pass === pass && c.family === family);
    assert.deepEqual(find("forward", "conv2d").map((c) => c.layer), ["conv"]);
    assert.deepEqual(find("backward", "conv2dBackwardWeight").map((c) => c.layer), ["conv"]);
    assert.deepEqual(find("forward", "batchNormTrain").map((c) => c.layer), ["bn"]);
    assert.deepEqual(find("forward", "unary:relu").map((c) => c.layer), ["model"]);
    assert.equal(find("backward", "unaryBackward:relu").length, 1);
    assert.ok(find("update", "sgd").length > 0, "optimizer kernels are the update pass");
    assert.ok(find("forward", "softmaxCrossEntropy").every((c) => c.layer === ""));
    const rows = summarize(cells, 1, 1e6, (c) => c.pass);
    assert.deepEqual(
      rows.map((r) => r.key).sort(),
      ["(outside kernels)", "backward", "forward", "update"],
    );
    // labels came off: the instance has no own forward any more
    assert.ok(!Object.prototype.hasOwnProperty.call(timed.net.conv, "forward"));
    assert.equal(ag.profileLabel(), null);
  } finally {
    cpu.dispose();
  }
});
