/**
 * The float32 CPU backend (WebAssembly SIMD GEMM + im2col convolution + TS kernels) against
 * the float64 reference backend: forward values and gradients of every op on the same inputs.
 */
import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import * as ag from "../recognition/autodiff/mod.ts";
import { jsGemm } from "../recognition/autodiff/cpu/gemm.ts";
import { sgd } from "../recognition/autodiff/cpu/js_kernels.ts";
import type { WasmKernels } from "../recognition/autodiff/cpu/wasm_gemm.ts";
import { JOB_KERNELS } from "../recognition/autodiff/cpu/gemm_wat.ts";

const ref = new ag.Ref64Backend();
const cpu = await ag.CpuBackend.create({ initialMiB: 16 });

/** Runs f on both backends with the same random inputs; compares outputs and input grads. */
async function agree(
  name: string,
  shapes: number[][],
  f: (xs: ag.Tensor[]) => ag.Tensor,
  opts: { lo?: number; hi?: number; tol?: number; consts?: number[][]; cpu?: ag.Backend } = {},
): Promise<void> {
  const rng = Rng.fromSeed(11).split(name);
  const data = shapes.map((s) =>
    opts.consts?.[shapes.indexOf(s)] ??
      Array.from(
        { length: s.reduce((a, b) => a * b, 1) },
        () => Math.fround(rng.range(opts.lo ?? -1, opts.hi ?? 1)),
      )
  );
  const results: { out: Float32Array; grads: (Float32Array | null)[] }[] = [];
  for (const be of [ref, opts.cpu ?? cpu]) {
    ag.useBackend(be);
    const xs = shapes.map((s, i) =>
      ag.tensor(Float32Array.from(data[i]), s, { requiresGrad: !opts.consts?.[i] })
    );
    const out = ag.scope(() => {
      const y = f(xs);
      const w = ag.tensor(
        Float32Array.from({ length: y.size }, (_, i) => Math.sin(i + 1)),
        y.shape,
      );
      ag.sum(ag.mul(y, w)).backward();
      return y;
    });
    results.push({
      out: await out.toArray(),
      grads: await Promise.all(xs.map((x) => x.grad ? x.grad.toArray() : null)),
    });
    out.dispose();
    xs.forEach((x) => x.dispose());
  }
  const tol = opts.tol ?? 2e-4;
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    assert.equal(a.length, b.length, `${name} ${what}: length`);
    let scale = 1e-3;
    for (const v of a) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a.length; i++) {
      assert.ok(
        Math.abs(a[i] - b[i]) <= tol * scale,
        `${name} ${what}[${i}]: cpu ${b[i]} vs ref64 ${a[i]} (scale ${scale})`,
      );
    }
  };
  close(results[0].out, results[1].out, "output");
  results[0].grads.forEach((g, i) => {
    if (g) close(g, results[1].grads[i]!, `grad x${i}`);
  });
}

Deno.test("autodiff cpu: gemm kernel vs TS GEMM on odd sizes and transposes", () => {
  const js = jsGemm(cpu.memory);
  const rng = Rng.fromSeed(3);
  for (const [M, N, K] of [[1, 1, 1], [5, 7, 3], [13, 17, 19], [33, 70, 65], [64, 9, 130]]) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const [a, b, c1, c2] = [M * K, K * N, M * N, M * N].map((n) => cpu.alloc(n));
      cpu.upload(a, rng.normals(M * K));
      cpu.upload(b, rng.normals(K * N));
      const init = rng.normals(M * N);
      cpu.upload(c1, init);
      cpu.upload(c2, init);
      cpu.matmul(a, b, c1, ag.gemmSpec(M, N, K, { transA: ta, transB: tb }));
      const [ao, bo, co] = [cpu.off(a), cpu.off(b), cpu.off(c2)];
      js.gemm(M, N, K, ao, ta ? 1 : K, ta ? M : 1, bo, tb ? 1 : N, tb ? K : 1, co, N, false);
      const x = cpu.view(c1), y = cpu.view(c2);
      for (let i = 0; i < M * N; i++) {
        assert.ok(
          Math.abs(x[i] - y[i]) <= 1e-4 * (1 + Math.abs(y[i])),
          `gemm ${M}×${N}×${K} ${ta}/${tb} [${i}]: ${x[i]} vs ${y[i]}`,
        );
      }
      [a, b, c1, c2].forEach((t) => cpu.free(t));
    }
  }
});

Deno.test("autodiff cpu: elementwise, movement and reductions agree with ref64", async () => {
  await agree("bcast", [[2, 3, 4], [3, 1]], ([a, b]) => ag.div(ag.mul(ag.add(a, b), a), 2));
  await agree("maxmin", [[4, 5], [5]], ([a, b]) => ag.sub(ag.maximum(a, b), ag.minimum(a, b)));
  await agree(
    "unaries",
    [[3, 7]],
    ([x]) => ag.add(ag.exp(x), ag.sqrt(ag.add(ag.square(ag.relu(ag.abs(x))), 1))),
  );
  await agree("log clamp", [[10]], ([x]) => ag.log(ag.clamp(x, 0.1, 0.8)), { lo: 0, hi: 1 });
  await agree("where", [[2, 6]], ([x]) => ag.where(ag.compare("gt", x, 0), x, ag.neg(x)));
  await agree("permute sum", [[2, 3, 4, 5]], ([x]) => ag.sum(ag.permute(x, [3, 1, 0, 2]), [0, 2]));
  await agree("expand mean", [[3, 1, 2]], ([x]) => ag.mean(ag.expand(x, [2, 3, 4, 2]), 1));
  await agree("l2norm", [[4, 9]], ([x]) => ag.l2Normalize(x));
});

Deno.test("autodiff cpu: matmul, conv2d (im2col corners), bn, prelu, heads agree", async () => {
  await agree("matmul", [[7, 9], [9, 11]], ([a, b]) => ag.matmul(a, b));
  await agree(
    "matmul TT",
    [[9, 7], [11, 9]],
    ([a, b]) => ag.matmul(a, b, { transA: true, transB: true }),
  );
  await agree("bmm", [[3, 5, 6], [6, 4]], ([a, b]) => ag.matmul(a, b));
  for (
    const c of [
      { x: [2, 3, 6, 5], k: 1, s: 1, p: 0 },
      { x: [2, 3, 6, 5], k: 1, s: 2, p: 0 },
      { x: [2, 4, 7, 6], k: 3, s: 1, p: 1 },
      { x: [2, 4, 7, 6], k: 3, s: 2, p: 1 },
      { x: [1, 3, 8, 9], k: 3, s: 2, p: 0 },
      { x: [1, 2, 5, 5], k: 3, s: 1, p: 2 },
      // several blocks of output rows (conv_rows: 11 rows of 20, 10 of 21), and a block stretched
      // to the 128-column minimum (22 rows of 6 for Kd = 2304)
      { x: [2, 16, 50, 20], k: 3, s: 1, p: 1 },
      { x: [1, 16, 50, 41], k: 3, s: 2, p: 1 },
      { x: [1, 256, 30, 6], k: 3, s: 1, p: 1 },
    ]
  ) {
    await agree(
      `conv ${JSON.stringify(c)}`,
      [c.x, [5, c.x[1], c.k, c.k], [5]],
      ([x, w, b]) => ag.conv2d(x, w, b, { stride: c.s, padding: c.p }),
    );
  }
  await agree(
    "bn4d",
    [[3, 4, 3, 5], [4], [4]],
    ([x, g, b]) => ag.batchNormTrain(x, g, b, ag.zeros([4]), ag.ones([4])),
  );
  await agree(
    "bn4d + relu",
    [[3, 4, 3, 5], [4], [4]],
    ([x, g, b]) => ag.batchNormTrain(x, g, b, ag.zeros([4]), ag.ones([4]), { relu: true }),
  );
  await agree(
    "bn4d + prelu",
    [[3, 4, 3, 5], [4], [4], [4]],
    ([x, g, b, a]) => ag.batchNormTrain(x, g, b, ag.zeros([4]), ag.ones([4]), { prelu: a }),
  );
  await agree(
    "bn2d",
    [[6, 4], [4], [4]],
    ([x, g, b]) => ag.batchNormTrain(x, g, b, ag.zeros([4]), ag.ones([4])),
  );
  await agree("prelu", [[2, 3, 4, 4], [3]], ([x, a]) => ag.prelu(x, a));
  await agree(
    "soft CE",
    [[4, 6], [4, 6]],
    ([z, t]) => ag.softmaxCrossEntropy(z, t),
    { lo: -2, hi: 2, consts: [undefined!, Array.from({ length: 24 }, (_, i) => (i % 5) / 10)] },
  );
  for (const kind of ["arcface", "cosface"] as const) {
    await agree(
      `margin ${kind}`,
      [[4, 6]],
      ([c]) => ag.marginLogits(c, ag.tensor([0, 5, 2, -1], [4]), { kind, s: 30, m: 0.5 }),
      { lo: -0.8, hi: 0.95 },
    );
  }
});

Deno.test("autodiff cpu: fused SGD matches the formula; memory is reused", () => {
  ag.useBackend(cpu);
  const p = ag.keep(ag.tensor([1, -2], [2], { requiresGrad: true }));
  const opt = new ag.SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  // loss = Σ p² → grad 2p
  const expected = [1, -2];
  let v = [0, 0];
  for (let step = 0; step < 3; step++) {
    ag.scope(() => ag.sum(ag.square(p)).backward());
    opt.step();
    opt.zeroGrad();
    v = v.map((vi, i) => 0.9 * vi + 2 * expected[i] + 0.01 * expected[i]);
    expected.forEach((e, i) => (expected[i] = e - 0.1 * v[i]));
  }
  const got = cpu.view(p.buf);
  expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-5, `p[${i}] ${got[i]} vs ${e}`));
  const before = cpu.liveBytes;
  for (let i = 0; i < 3; i++) ag.scope(() => ag.sum(ag.square(ag.mul(p, 3))).backward());
  assert.equal(cpu.liveBytes, before, "scopes free every temporary");
  opt.dispose();
  p.dispose();
});

Deno.test("autodiff cpu: threaded GEMM slices (rows and columns) match one thread", async () => {
  const be = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await be.warmup();
  const rng = Rng.fromSeed(8);
  for (const [M, N, K, ta] of [[150, 70, 300, false], [37, 301, 200, true]] as const) {
    const a = be.alloc(M * K), b = be.alloc(K * N), c1 = be.alloc(M * N);
    be.upload(a, rng.normals(M * K));
    be.upload(b, rng.normals(K * N));
    const spec = ag.gemmSpec(M, N, K, { transA: ta });
    be.matmul(a, b, c1, spec);
    const ha = be.view(a).slice(), hb = be.view(b).slice(), got = be.view(c1).slice();
    const ra = ref.alloc(M * K), rb = ref.alloc(K * N), rc = ref.alloc(M * N);
    ref.upload(ra, ha);
    ref.upload(rb, hb);
    ref.matmul(ra, rb, rc, spec);
    const want = ref.read64(rc);
    for (let i = 0; i < M * N; i++) {
      assert.ok(Math.abs(got[i] - want[i]) < 1e-3 * (1 + Math.abs(want[i])), `[${i}]`);
    }
    [a, b, c1].forEach((x) => be.free(x));
  }
  assert.match(be.info, /2 threads/);
  // convolution with the batch split over both threads (3 images: 2 + 1)
  await be.warmup();
  for (const c of [{ k: 3, s: 2, p: 1 }, { k: 1, s: 1, p: 0 }]) {
    await agree(
      `threaded conv ${JSON.stringify(c)}`,
      [[3, 4, 9, 7], [6, 4, c.k, c.k]],
      ([x, w]) => ag.conv2d(x, w, null, { stride: c.s, padding: c.p }),
      { cpu: be },
    );
  }
  be.dispose();
});

Deno.test("autodiff cpu: batch-norm running statistics follow PyTorch (both backends)", async () => {
  // x: N=2, C=2, HW=3; channel 0 values 1..6, channel 1 all 2
  const data = [1, 2, 3, 2, 2, 2, 4, 5, 6, 2, 2, 2];
  for (const be of [ref, cpu]) {
    ag.useBackend(be);
    const x = ag.tensor(data, [2, 2, 3, 1]);
    const rm = ag.zeros([2]), rv = ag.ones([2]);
    const y = ag.noGrad(() => ag.batchNormTrain(x, ag.ones([2]), ag.zeros([2]), rm, rv));
    const [m, v, out] = [await rm.toArray(), await rv.toArray(), await y.toArray()];
    // mean 3.5, biased var 35/12, unbiased 3.5
    assert.ok(Math.abs(m[0] - 0.35) < 1e-6 && Math.abs(m[1] - 0.2) < 1e-6, `${be.name} mean ${m}`);
    assert.ok(
      Math.abs(v[0] - (0.9 + 0.35)) < 1e-5 && Math.abs(v[1] - 0.9) < 1e-6,
      `${be.name} var ${v}`,
    );
    assert.ok(
      Math.abs(out[0] - (1 - 3.5) / Math.sqrt(35 / 12 + 1e-5)) < 1e-5,
      `${be.name} out ${out[0]}`,
    );
    assert.ok(Math.abs(out[3]) < 1e-6, "constant channel normalises to 0");
  }
});

Deno.test("autodiff cpu: the portable JS GEMM path (im2col conv, direct 1×1) agrees with ref64", async () => {
  const js = await ag.CpuBackend.create({ initialMiB: 16, gemm: "js" });
  assert.doesNotMatch(js.info, /wasm|simd/i);
  for (const c of [{ k: 3, s: 2, p: 1 }, { k: 3, s: 1, p: 1 }, { k: 1, s: 1, p: 0 }]) {
    await agree(
      `js conv ${JSON.stringify(c)}`,
      [[2, 3, 7, 6], [4, 3, c.k, c.k], [4]],
      ([x, w, b]) => ag.conv2d(x, w, b, { stride: c.s, padding: c.p }),
      { cpu: js },
    );
  }
  js.dispose();
});

Deno.test("autodiff cpu: batch norm and PReLU split over threads equal one thread bit for bit", async () => {
  // 2×8×64×64 = 65536 elements: at the threshold where the channels are split over threads
  const one = await ag.CpuBackend.create({ initialMiB: 16, threads: 1 });
  const two = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await two.warmup();
  const rng = Rng.fromSeed(21);
  const data = rng.normals(2 * 8 * 64 * 64);
  const out: Float32Array[][] = [];
  for (const be of [one, two]) {
    ag.useBackend(be);
    const x = ag.tensor(data, [2, 8, 64, 64], { requiresGrad: true });
    const g = ag.tensor(Array.from({ length: 8 }, (_, i) => 1 + i / 8), [8], {
      requiresGrad: true,
    });
    const b = ag.tensor(new Float32Array(8), [8], { requiresGrad: true });
    const a = ag.tensor(new Float32Array(8).fill(0.25), [8], { requiresGrad: true });
    const y = ag.scope(() => {
      const y = ag.prelu(ag.batchNormTrain(x, g, b, ag.zeros([8]), ag.ones([8])), a);
      const w = ag.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i)), y.shape);
      ag.sum(ag.mul(y, w)).backward();
      return y;
    });
    out.push([await y.toArray(), ...await Promise.all([x, g, b, a].map((t) => t.grad!.toArray()))]);
    [y, x, g, b, a].forEach((t) => t.dispose());
  }
  ["y", "dx", "dgamma", "dbeta", "dalpha"].forEach((what, i) =>
    assert.deepEqual(out[1][i], out[0][i], what)
  );
  one.dispose();
  two.dispose();
});

Deno.test("autodiff cpu: fused batch norm + ReLU / PReLU has the bits of batch norm then the activation, any thread count", async () => {
  // one map over the threads' channel-split threshold, one with a ragged hw (scalar tails)
  const one = await ag.CpuBackend.create({ initialMiB: 16, threads: 1 });
  const two = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await two.warmup();
  for (const act of ["relu", "prelu"] as const) {
    for (const shape of [[2, 8, 64, 64], [3, 5, 7, 9]]) {
      const [, c] = shape, rng = Rng.fromSeed(23).split(String(shape));
      const data = rng.normals(shape.reduce((a, b) => a * b, 1));
      const gamma = Array.from({ length: c }, (_, i) => 1 + i / 8);
      const beta = Array.from({ length: c }, (_, i) => (i % 3) / 4 - 0.25);
      const slopes = Array.from({ length: c }, (_, i) => [0.25, -0.5, 0, 1.5][i % 4]);
      const out: Float32Array[][] = [];
      for (const [be, fused] of [[one, false], [one, true], [two, true], [two, false]] as const) {
        ag.useBackend(be);
        const x = ag.tensor(data, shape, { requiresGrad: true });
        const g = ag.tensor(gamma, [c], { requiresGrad: true });
        const b = ag.tensor(beta, [c], { requiresGrad: true });
        const a = ag.tensor(slopes, [c], { requiresGrad: true });
        const params = act === "prelu" ? [x, g, b, a] : [x, g, b];
        const y = ag.scope(() => {
          const stats = [ag.zeros([c]), ag.ones([c])] as const;
          const opts = !fused ? {} : act === "relu" ? { relu: true } : { prelu: a };
          const bn = ag.batchNormTrain(x, g, b, ...stats, opts);
          const y = fused ? bn : act === "relu" ? ag.relu(bn) : ag.prelu(bn, a);
          const w = ag.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i)), shape);
          ag.sum(ag.mul(y, w)).backward();
          return y;
        });
        out.push([await y.toArray(), ...await Promise.all(params.map((t) => t.grad!.toArray()))]);
        [y, x, g, b, a].forEach((t) => t.dispose());
      }
      const y0 = out[0][0];
      assert.ok(y0.some((v) => v === 0 || v < 0) && y0.some((v) => v > 0), `${act} active`);
      for (const k of [1, 2, 3]) {
        ["y", "dx", "dgamma", "dbeta", "dalpha"].slice(0, out[0].length).forEach((what, i) => {
          // the first differing element (deepEqual's diff of a 64 Ki-element array takes minutes)
          const at = out[k][i].findIndex((v, q) => !Object.is(v, out[0][i][q]));
          const how = ["", "fused", "fused, 2 threads", "2 threads"][k];
          const msg = `${act} [${shape}] ${how} ${what}[${at}]: ${out[k][i][at]} vs ${
            out[0][i][at]
          }`;
          assert.equal(at, -1, msg);
        });
      }
    }
  }
  one.dispose();
  two.dispose();
});

Deno.test("autodiff cpu: ReLU, its gradient, add, accumulate and chunk sums split over threads equal a plain loop", async () => {
  // 2·65536 + 13 elements: over the split threshold, ragged last range
  const n = 2 * 65536 + 13;
  const two = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await two.warmup();
  const rng = Rng.fromSeed(22);
  const [a, b, dy] = [0, 1, 2].map(() => Float32Array.from(rng.normals(n)));
  a[5] = -0;
  const ew = (two.gemm as WasmKernels).ew;
  const bufs = [a, b, dy].map((v) => {
    const buf = two.alloc(n);
    two.view(buf).set(v);
    return buf;
  });
  const out = two.alloc(n);
  const [pa, pb, pdy, po] = [...bufs, out].map((buf) => two.off(buf));
  ew.relu(pa, po, n);
  assert.deepEqual(two.view(out), a.map((v) => Math.max(v, 0)), "relu");
  ew.relu_bwd(pa, pdy, po, n);
  assert.deepEqual(two.view(out), dy.map((g, i) => a[i] > 0 ? g : 0), "relu gradient");
  ew.add(pa, pb, po, n);
  assert.deepEqual(two.view(out), a.map((v, i) => v + b[i]), "add");
  two.view(out).set(a); // a gradient sum (alpha 1: add in place) and a scaled one (axpy)
  two.accumulate(out, bufs[1], n, 1);
  assert.deepEqual(two.view(out), a.map((v, i) => v + b[i]), "accumulate");
  two.accumulate(out, bufs[2], n, -0.5);
  assert.deepEqual(
    two.view(out),
    a.map((v, i) => Math.fround(Math.fround(v + b[i]) + Math.fround(dy[i] * -0.5))),
    "accumulate, alpha −0.5",
  );
  // a weight gradient's chunk partials a, b, dy (stride n) summed into the first, in order
  const parts = two.alloc(3 * n);
  [a, b, dy].forEach((v, i) => two.view(parts).set(v, i * n));
  ew.add_chunks(two.off(parts), n, 3, n);
  const sum = a.map((v, i) => Math.fround(Math.fround(v + b[i]) + dy[i]));
  const got = two.view(parts), at = sum.findIndex((v, i) => !Object.is(v, got[i]));
  assert.equal(at, -1, `add_chunks[${at}]: ${got[at]} vs ${sum[at]}`);
  two.dispose();
});

Deno.test("autodiff cpu: the shared job queue runs every job once, on any thread", async () => {
  const two = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await two.warmup();
  const k = two.gemm as WasmKernels;
  const n = 50 * 1000 + 7, rng = Rng.fromSeed(23);
  const [a, b] = [0, 1].map(() => Float32Array.from(rng.normals(n)));
  const [pa, pb] = [a, b].map((v) => {
    const buf = two.alloc(n);
    two.view(buf).set(v);
    return two.off(buf);
  });
  // 51 jobs (more than threads, ragged last): a[range] += b[range] in place, so a job run twice
  // (or not at all) shows
  const add = JOB_KERNELS.indexOf("add");
  const jobs = Array.from({ length: Math.ceil(n / 1000) }, (_, i) => {
    const len = Math.min(1000, n - i * 1000);
    return { kernel: add, args: [pa + i * 1000, pb + i * 1000, pa + i * 1000, len] };
  });
  k.runQueue(jobs);
  const out = new Float32Array(two.memory.buffer, pa * 4, n);
  assert.deepEqual(out, a.map((v, i) => v + b[i]));
  two.dispose();
});

Deno.test("autodiff cpu: the wasm SGD step gives the TS kernel's bits, split over threads", async () => {
  const two = await ag.CpuBackend.create({ initialMiB: 16, threads: 2 });
  await two.warmup();
  const n = 2 * 65536 + 5, rng = Rng.fromSeed(24);
  const [p, g, m] = [0, 1, 2].map(() => Float32Array.from(rng.normals(n)));
  const spec = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  const bufs = [p, g, m].map((v) => {
    const buf = two.alloc(n);
    two.view(buf).set(v);
    return buf;
  });
  two.sgd(bufs[0], bufs[1], bufs[2], n, spec);
  const [pw, mw] = [p.slice(), m.slice()];
  sgd(pw, g, mw, n, spec);
  assert.deepEqual(two.view(bufs[0]), pw, "param");
  assert.deepEqual(two.view(bufs[2]), mw, "momentum");
  two.dispose();
});
