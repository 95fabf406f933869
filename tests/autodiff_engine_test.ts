/**
 * Engine behaviour: error messages, NaN/Inf tracing, checkpoints, and tiny networks that must
 * learn separable toy problems to 100% accuracy (MLP with BN/PReLU/dropout; CNN with a
 * CosFace head).
 */
import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import * as ag from "../recognition/autodiff/mod.ts";

const cpu = await ag.CpuBackend.create({ initialMiB: 16 });
ag.useBackend(cpu);

Deno.test("autodiff engine: shape errors name the op, the shapes and the call site", () => {
  const a = ag.zeros([2, 3]), b = ag.zeros([4, 5]);
  assert.throws(() => ag.matmul(a, b), (e: Error) => {
    assert.match(e.message, /matmul/);
    assert.match(e.message, /\[2,3\] and \[4,5\]/);
    assert.match(e.message, /autodiff_engine_test\.ts:\d+/);
    return true;
  });
  assert.throws(() => ag.add(ag.zeros([3]), ag.zeros([4])), /add: shapes do not broadcast/);
  assert.throws(
    () => ag.conv2d(ag.zeros([1, 3, 4, 4]), ag.zeros([2, 4, 3, 3])),
    /conv2d.*\[1,3,4,4\] and \[2,4,3,3\]/,
  );
  assert.throws(() => ag.reshape(a, [4, 2]), /reshape: cannot reshape to \[4,2\]/);
  [a, b].forEach((t) => t.dispose());
});

Deno.test("autodiff engine: NaN/Inf tracing names the producing op and call site", async () => {
  const x = ag.tensor([1, -1, 2], [3], { requiresGrad: true });
  ag.startTrace();
  const loss = ag.scope(() => {
    const l = ag.sum(ag.mul(ag.log(x), 2)); // log(−1) = NaN
    l.backward();
    return l;
  });
  assert.ok(Number.isNaN(await loss.item()));
  const bad = await ag.stopTrace();
  assert.ok(bad);
  assert.equal(bad.op, "unary:log");
  assert.equal(bad.phase, "forward");
  assert.match(bad.site, /autodiff_engine_test\.ts:\d+/);
  loss.dispose();
  x.dispose();
});

class Mlp extends ag.Module {
  fc1 = this.child("fc1", new ag.Linear(2, 16));
  bn = this.child("bn", new ag.BatchNorm1d(16));
  act = this.child("act", new ag.PReLU(16));
  drop = this.child("drop", new ag.Dropout(0.1, Rng.fromSeed(4)));
  fc2 = this.child("fc2", new ag.Linear(16, 3));
  forward(x: ag.Tensor): ag.Tensor {
    return this.fc2.forward(
      this.drop.forward(this.act.forward(this.bn.forward(this.fc1.forward(x)))),
    );
  }
}

async function accuracy(logits: ag.Tensor, labels: number[]): Promise<number> {
  const z = await logits.toArray();
  const c = logits.shape[1];
  let ok = 0;
  labels.forEach((y, r) => {
    let best = 0;
    for (let j = 1; j < c; j++) if (z[r * c + j] > z[r * c + best]) best = j;
    if (best === y) ok++;
  });
  return ok / labels.length;
}

Deno.test("autodiff engine: an MLP learns three separable blobs to 100%", async () => {
  ag.seedInit(1);
  const rng = Rng.fromSeed(2);
  const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const n = 48;
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const xs = labels.flatMap((
    y,
  ) => [centers[y][0] + rng.normal() * 0.4, centers[y][1] + rng.normal() * 0.4]);
  const x = ag.tensor(xs, [n, 2]), t = ag.oneHot(labels, 3);
  const net = new Mlp();
  const opt = new ag.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  let first = 0, last = 0;
  for (let step = 0; step < 60; step++) {
    const loss = ag.scope(() => {
      const l = ag.crossEntropy(net.forward(x), t);
      l.backward();
      return l;
    });
    opt.step();
    opt.zeroGrad();
    const v = await loss.item();
    loss.dispose();
    if (step === 0) first = v;
    last = v;
  }
  assert.ok(last < first / 4, `loss ${first} → ${last}`);
  net.eval();
  const logits = ag.noGrad(() => ag.scope(() => net.forward(x)));
  assert.equal(await accuracy(logits, labels), 1);
  logits.dispose();

  // checkpoint round trip through bytes reproduces the eval outputs
  const sd = await ag.stateDict(net);
  assert.ok("bn.running_mean" in sd && "fc1.weight" in sd && "act.weight" in sd);
  const bytes = ag.encodeStateDict(sd, { step: 60 });
  const { state, meta } = ag.decodeStateDict(bytes);
  assert.equal(meta.step, 60);
  const net2 = new Mlp().eval();
  ag.loadStateDict(net2, state);
  const [a, b] = ag.noGrad(() => ag.scope(() => [net.forward(x), net2.forward(x)]));
  assert.deepEqual(await a.toArray(), await b.toArray());
  const wrong = { ...state, "fc1.weight": { shape: [3, 3], data: new Float32Array(9) } };
  assert.throws(
    () => ag.loadStateDict(net2, wrong),
    /fc1\.weight: checkpoint has \[3,3\], model expects \[16,2\]/,
  );
  assert.throws(
    () => ag.decodeStateDict(new Uint8Array(20), "x.ckpt"),
    /x\.ckpt: not a synface checkpoint/,
  );
  [a, b, x, t].forEach((v) => v.dispose());
  net.dispose();
  net2.dispose();
  opt.dispose();
});

Deno.test("autodiff engine: a small CNN with a CosFace head learns bar orientation", async () => {
  ag.seedInit(3);
  const rng = Rng.fromSeed(5);
  const n = 16, S = 8;
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const img = new Float32Array(n * S * S);
  labels.forEach((y, b) => {
    const k = rng.int(S);
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        const on = y === 0 ? i === k : j === k;
        img[b * S * S + i * S + j] = (on ? 1 : 0) + 0.1 * rng.normal();
      }
    }
  });
  const x = ag.tensor(img, [n, 1, S, S]);
  const body = new ag.Sequential(
    new ag.Conv2d(1, 8, 3, { padding: 1 }),
    new ag.BatchNorm2d(8),
    new ag.PReLU(8),
    new ag.Conv2d(8, 16, 3, { stride: 2, padding: 1 }),
    new ag.BatchNorm2d(16),
    new ag.ReLU(),
  );
  const head = ag.parameter(ag.kaimingNormal([2, 16], rng), [2, 16]);
  const params = [...body.parameters(), head];
  const opt = new ag.SGD(params, { lr: 0.05 });
  const lab = ag.tensor(labels, [n]);
  const t = ag.oneHot(labels, 2);
  const logitsOf = (margin: boolean) => {
    const f = ag.l2Normalize(ag.globalAvgPool(body.forward(x)));
    const cos = ag.matmul(f, ag.l2Normalize(head), { transB: true });
    return margin ? ag.marginLogits(cos, lab, { kind: "cosface", s: 16, m: 0.2 }) : cos;
  };
  for (let step = 0; step < 40; step++) {
    ag.scope(() => ag.crossEntropy(logitsOf(true), t).backward());
    opt.step();
    opt.zeroGrad();
  }
  body.eval();
  const cos = ag.noGrad(() => ag.scope(() => logitsOf(false)));
  assert.equal(await accuracy(cos, labels), 1);
  [cos, x, lab, t, head].forEach((v) => v.dispose());
  body.dispose();
  opt.dispose();
});

Deno.test("autodiff engine: selectBackend gives the named backends", async () => {
  const ref = await ag.selectBackend("ref64");
  assert.equal(ref.name, "ref64");
  const c = await ag.selectBackend("cpu");
  assert.equal(c.name, "cpu");
  assert.match(c.info, /WebAssembly SIMD/);
  c.dispose();
  assert.equal(typeof (await ag.hasHardwareGpu()), "boolean");
});
