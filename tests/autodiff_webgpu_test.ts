/**
 * The webgpu backend against the float64 reference backend (`ref64`), kernel by kernel, on
 * small shapes (WebGPU here is Mesa llvmpipe: correct but slow). Tolerance: |got − want| ≤
 * atol + rtol·|want| with float32-level rtol 1e-4 and atol scaled to the sum length.
 * Skips with a message when `navigator.gpu.requestAdapter()` gives no adapter.
 */
import assert from "node:assert/strict";
import {
  type Backend,
  type Buf,
  type ConvSpec,
  gemmSpec,
  type MarginSpec,
  withConvOutput,
} from "../recognition/autodiff/backend.ts";
import { Rng } from "../data/rng.ts";
import { Ref64Backend } from "../recognition/autodiff/cpu/ref64_backend.ts";
import { createWebgpuBackend, type WebgpuBackend } from "../recognition/autodiff/webgpu/mod.ts";
import { sizeClass } from "../recognition/autodiff/webgpu/buffer_pool.ts";
import { planReduce } from "../recognition/autodiff/webgpu/kernels/reduce.ts";

const gpu = await createWebgpuBackend();
if (!gpu) console.log("skipped: navigator.gpu.requestAdapter() returned no adapter");
const ref = new Ref64Backend();
/** `webgpu.test(name, fn)`: a test named "webgpu: name", ignored without an adapter. */
const webgpu = {
  test: (name: string, fn: () => void | Promise<void>) =>
    Deno.test({ name: `webgpu: ${name}`, ignore: gpu === null, fn }),
};

/** Deterministic values in [lo, hi). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = Rng.fromSeed(seed);
  return Float32Array.from({ length: n }, () => rng.range(lo, hi));
}

interface Case {
  /** Initial contents of every buffer (inputs, in-place buffers and outputs alike). */
  bufs: Float32Array[];
  run(be: Backend, b: Buf[]): void;
  atol?: number;
  rtol?: number;
}

/** A buffer of `be` holding `d`. */
function upload(be: Backend, d: Float32Array): Buf {
  const b = be.alloc(d.length);
  be.upload(b, d);
  return b;
}

/** Run `c` on the webgpu backend and ref64, compare every buffer afterwards. */
async function check(name: string, c: Case, backend: Backend = gpu!): Promise<void> {
  const results: Float32Array[][] = [];
  for (const be of [backend, ref]) {
    const bufs = c.bufs.map((d) => upload(be, d));
    c.run(be, bufs);
    results.push(await Promise.all(bufs.map((b) => be.download(b))));
    bufs.forEach((b) => be.free(b));
  }
  const [got, want] = results;
  const atol = c.atol ?? 1e-5, rtol = c.rtol ?? 1e-4;
  got.forEach((g, bi) => {
    for (let i = 0; i < g.length; i++) {
      const w = want[bi][i];
      const ok = Math.abs(g[i] - w) <= atol + rtol * Math.abs(w) || (isNaN(w) && isNaN(g[i]));
      if (!ok) {
        assert.fail(`${name}: buffer ${bi} element ${i}: webgpu ${g[i]}, ref64 ${w}`);
      }
    }
  });
}

const zeros = (n: number) => new Float32Array(n);

/** 3×3 kernel, stride 1, padding 1: the output is as large as the input. */
const SAME_3X3 = { kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 };

webgpu.test("matmul (vec4, scalar and workgroup-memory kernels, transposes, batch)", async () => {
  // The same cases on the adapter's tuning and on the workgroup-memory (GPU) variant.
  const shared = await createWebgpuBackend({
    tuning: { ...gpu!.tuning, gemm: { wx: 8, wy: 4, rm: 1, rn: 2, shared: true, bk: 8 } },
  });
  const cases: [number, number, number, boolean, boolean, number, boolean][] = [
    [8, 8, 8, false, false, 1, false],
    [5, 7, 3, true, false, 2, false],
    [12, 16, 20, true, true, 3, false],
    [12, 16, 20, false, true, 2, false],
    [4, 12, 4, false, false, 1, false],
    [33, 17, 9, false, false, 2, true], // A broadcast over the batch
    [36, 44, 28, true, true, 2, true],
    [64, 72, 40, false, false, 1, false],
  ];
  for (const [m, n, k, transA, transB, batch, bcastA] of cases) {
    const aBatchStride = bcastA ? 0 : m * k;
    const spec = { batch, m, n, k, transA, transB, aBatchStride, bBatchStride: k * n };
    for (const be of [gpu!, shared!]) {
      await check(`matmul ${JSON.stringify(spec)} ${JSON.stringify(be.tuning.gemm)}`, {
        bufs: [rand((bcastA ? 1 : batch) * m * k, 1), rand(batch * k * n, 2), zeros(batch * m * n)],
        run: (b, [x, y, z]) => b.matmul(x, y, z, spec),
        atol: 1e-5 * k,
      }, be);
    }
  }
  shared!.dispose();
});

webgpu.test("matmul by hand (2×3 · 3×2)", async () => {
  const be = gpu!;
  const a = be.alloc(6), b = be.alloc(6), c = be.alloc(4);
  be.upload(a, new Float32Array([1, 2, 3, 4, 5, 6]));
  be.upload(b, new Float32Array([7, 8, 9, 10, 11, 12]));
  be.matmul(a, b, c, gemmSpec(2, 2, 3));
  assert.deepEqual([...await be.download(c)], [58, 64, 139, 154]);
  [a, b, c].forEach((x) => be.free(x));
});

const convs: Omit<ConvSpec, "outH" | "outW">[] = [
  { n: 2, cIn: 3, h: 7, w: 6, cOut: 5, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
  { n: 2, cIn: 4, h: 8, w: 7, cOut: 6, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
  { n: 1, cIn: 3, h: 6, w: 5, cOut: 4, kh: 3, kw: 3, strideH: 2, strideW: 1, padH: 0, padW: 2 },
  { n: 2, cIn: 8, h: 4, w: 4, cOut: 8, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 },
  { n: 2, cIn: 6, h: 5, w: 5, cOut: 4, kh: 1, kw: 1, strideH: 2, strideW: 2, padH: 0, padW: 0 },
  { n: 3, cIn: 2, h: 5, w: 4, cOut: 3, kh: 3, kw: 2, strideH: 1, strideW: 2, padH: 1, padW: 0 },
  // 2×6 outputs: weight-gradient blocks of 4 positions wrap across output rows.
  { n: 2, cIn: 8, h: 4, w: 12, cOut: 3, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
];

/**
 * Backends for the conv tests: the adapter's tuning, the other convolution kernel family
 * (workgroup-memory implicit GEMM vs register tap kernels), with small tiles so edges show.
 */
async function convBackends(): Promise<WebgpuBackend[]> {
  const other = await createWebgpuBackend({
    tuning: {
      ...gpu!.tuning,
      gemm: gpu!.tuning.gemm.sharedConv
        ? { wx: 8, wy: 4, rm: 2, rn: 2 }
        : { wx: 8, wy: 4, rm: 1, rn: 2, shared: true, sharedConv: true, bk: 8 },
    },
  });
  return [gpu!, other!];
}

webgpu.test("conv2d forward, input and weight gradients", async () => {
  const [main, other] = await convBackends();
  for (const be of [main, other]) {
    const tile = JSON.stringify(be.tuning.gemm);
    for (const p of convs) {
      const s = withConvOutput(p);
      const nx = s.n * s.cIn * s.h * s.w, nw = s.cOut * s.cIn * s.kh * s.kw;
      const ny = s.n * s.cOut * s.outH * s.outW;
      const atol = 1e-5 * s.cIn * s.kh * s.kw;
      for (const bias of [false, true]) {
        await check(`conv2d bias=${bias} ${JSON.stringify(s)} ${tile}`, {
          bufs: [rand(nx, 3), rand(nw, 4), rand(s.cOut, 5), zeros(ny)],
          run: (b, [x, w, bb, y]) => b.conv2d(x, w, bias ? bb : null, y, s),
          atol,
        }, be);
        await check(`conv2dBackwardWeight bias=${bias} ${JSON.stringify(s)} ${tile}`, {
          bufs: [rand(nx, 6), rand(ny, 7), zeros(nw), zeros(s.cOut)],
          run: (b, [x, dy, dw, db]) => b.conv2dBackwardWeight(x, dy, dw, bias ? db : null, s),
          atol: 1e-5 * s.n * s.outH * s.outW,
        }, be);
      }
      await check(`conv2dBackwardInput ${JSON.stringify(s)} ${tile}`, {
        bufs: [rand(ny, 8), rand(nw, 9), zeros(nx)],
        run: (b, [dy, w, dx]) => b.conv2dBackwardInput(dy, w, dx, s),
        atol: 1e-5 * s.cOut * s.kh * s.kw,
      }, be);
    }
  }
  other.dispose();
});

webgpu.test("conv2d weight gradient with split-K", async () => {
  // Long K (n·oh·ow = 2·16·16) and a small weight: the kernels split K into slices. With the
  // register kernels, cIn = 3 takes the generic kernel and cIn = 8 the per-tap one.
  const [main, other] = await convBackends();
  for (const be of [main, other]) {
    for (const cIn of [3, 8]) {
      const s = withConvOutput({ n: 2, cIn, h: 16, w: 16, cOut: 4, ...SAME_3X3 });
      const nx = s.n * s.cIn * s.h * s.w, ny = s.n * s.cOut * s.outH * s.outW;
      await check(`conv2dBackwardWeight split-K cIn=${cIn} ${JSON.stringify(be.tuning.gemm)}`, {
        bufs: [rand(nx, 10), rand(ny, 11), zeros(s.cOut * s.cIn * 9), zeros(s.cOut)],
        run: (b, [x, dy, dw, db]) => b.conv2dBackwardWeight(x, dy, dw, db, s),
        atol: 1e-3,
      }, be);
    }
  }
  other.dispose();
});

webgpu.test("unary ops and their derivatives", async () => {
  const n = 300;
  const ops = ["neg", "relu", "exp", "log", "sqrt", "square", "abs", "clamp", "affine"] as const;
  for (const op of ops) {
    const positive = op === "log" || op === "sqrt";
    const x = rand(n, 12, positive ? 0.1 : -2, 2);
    const p = { a: op === "clamp" ? -0.5 : 1.5, b: op === "clamp" ? 0.7 : -0.25 };
    await check(`unary ${op}`, {
      bufs: [x, zeros(n)],
      run: (be, [xb, y]) => be.unary(op, xb, y, n, p),
    });
    // y holds f(x) as the reference computes it, so both sides see the same y.
    const xRef = upload(ref, x), yRef = ref.alloc(n);
    ref.unary(op, xRef, yRef, n, p);
    const y = await ref.download(yRef);
    await check(`unaryBackward ${op}`, {
      bufs: [x, y, rand(n, 13), zeros(n)],
      run: (be, [xb, yb, dy, dx]) => be.unaryBackward(op, xb, yb, dy, dx, n, p),
    });
  }
});

webgpu.test("binary ops with broadcasting, where, strided", async () => {
  const ops = ["add", "sub", "mul", "div", "max", "min", "gt", "ge", "lt", "le", "eq"] as const;
  const layouts = [
    { shape: [37], aStrides: [1], bStrides: [1] },
    { shape: [2, 3, 4], aStrides: [12, 4, 1], bStrides: [0, 1, 0] },
    { shape: [3, 5], aStrides: [0, 1], bStrides: [1, 0] },
    { shape: [2, 2, 3, 2, 2], aStrides: [24, 12, 4, 2, 1], bStrides: [0, 3, 1, 0, 0] },
  ];
  for (const spec of layouts) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    for (const op of ops) {
      // Integer-valued inputs so that comparisons and eq hit equal values.
      const a = rand(64, 14, -3, 3).map(Math.round), b = rand(64, 15, 0.5, 3).map(Math.round);
      await check(`binary ${op} ${JSON.stringify(spec)}`, {
        bufs: [a, b, zeros(n)],
        run: (be, [ab, bb, o]) => be.binary(op, ab, bb, o, spec),
      });
    }
    await check(`where ${JSON.stringify(spec)}`, {
      bufs: [rand(64, 16).map((v) => v > 0 ? 1 : 0), rand(64, 17), rand(64, 18), zeros(n)],
      run: (be, [c, a, b, o]) =>
        be.where(c, a, b, o, { ...spec, condStrides: spec.bStrides, bStrides: spec.aStrides }),
    });
  }
  // Transpose of a 3×4×5 block starting at offset 7, and an expand.
  await check("strided transpose", {
    bufs: [rand(80, 19), zeros(60)],
    run: (be, [x, o]) => be.strided(x, o, { shape: [5, 3, 4], strides: [1, 20, 5], offset: 7 }),
  });
  await check("strided expand", {
    bufs: [rand(4, 20), zeros(24)],
    run: (be, [x, o]) => be.strided(x, o, { shape: [6, 4], strides: [0, 1], offset: 0 }),
  });
});

webgpu.test("fill, copy, accumulate, sgd", async () => {
  await check("fill", { bufs: [rand(50, 21)], run: (be, [o]) => be.fill(o, 2.5, 40) });
  await check("copy", {
    bufs: [rand(50, 22), rand(60, 23)],
    run: (be, [s, d]) => be.copy(s, d, 30, 5, 17),
  });
  await check("accumulate", {
    bufs: [rand(70, 24), rand(70, 25)],
    run: (be, [d, s]) => be.accumulate(d, s, 65, -0.75),
  });
  await check("sgd", {
    bufs: [rand(90, 26), rand(90, 27), rand(90, 28)],
    run: (be, [p, g, m]) => {
      be.sgd(p, g, m, 90, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
      be.sgd(p, g, m, 90, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    },
  });
});

webgpu.test("reduceSum over axes (thread and workgroup variants)", async () => {
  const cases: [number[], number[]][] = [
    [[4, 5, 6], [1, 5, 1]],
    [[4, 5, 6], [4, 1, 6]],
    [[4, 5, 6], [1, 1, 1]],
    [[3, 1, 7], [1, 1, 7]],
    [[2, 600], [2, 1]], // long rows: one workgroup per output
    [[1100, 3], [1100, 1]], // many short outputs: one invocation per output
    [[2, 3, 4, 5], [2, 1, 4, 1]],
  ];
  for (const [inShape, outShape] of cases) {
    const n = inShape.reduce((a, b) => a * b, 1), m = outShape.reduce((a, b) => a * b, 1);
    await check(`reduceSum ${inShape} -> ${outShape}`, {
      bufs: [rand(n, 29), zeros(m)],
      run: (be, [x, o]) => be.reduceSum(x, o, { inShape, outShape }),
      atol: 1e-5 * (n / m),
    });
  }
  assert.deepEqual(planReduce({ inShape: [2, 3, 4, 5], outShape: [2, 1, 1, 5] }), {
    nOut: 10,
    nRed: 12,
    keptShape: [2, 5],
    keptStrides: [60, 1],
    redShape: [12],
    redStrides: [5],
  });
});

webgpu.test("batch norm (train + backward, 2-D and 1-D) and PReLU", async () => {
  for (const [n, c, hw] of [[3, 4, 10], [5, 6, 1], [2, 3, 300]]) {
    const len = n * c * hw;
    const spec = { n, c, hw, eps: 1e-5, momentum: 0.1 };
    await check(`batchNormTrain ${n}×${c}×${hw}`, {
      bufs: [rand(len, 30, -2, 3), rand(c, 31, 0.5, 1.5), rand(c, 32), rand(c, 33)]
        .concat([rand(c, 34, 0.5, 2), zeros(len), zeros(c), zeros(c)]),
      run: (be, [x, g, b, rm, rv, o, sm, si]) =>
        be.batchNormTrain(x, g, b, rm, rv, o, sm, si, spec),
      atol: 1e-4,
    });
    // Saved statistics as the reference computes them feed both backward passes.
    const x = rand(len, 35, -2, 3);
    const r = [x, zeros(c), zeros(c), zeros(c), zeros(c), zeros(len), zeros(c), zeros(c)]
      .map((d) => upload(ref, d));
    ref.fill(r[1], 1, c);
    ref.batchNormTrain(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], spec);
    const [sm, si] = [await ref.download(r[6]), await ref.download(r[7])];
    await check(`batchNormBackward ${n}×${c}×${hw}`, {
      bufs: [x, rand(len, 36), rand(c, 37, 0.5, 1.5), sm, si, zeros(len), zeros(c), zeros(c)],
      run: (be, [xb, dy, g, smb, sib, dx, dg, db]) =>
        be.batchNormBackward(xb, dy, g, smb, sib, dx, dg, db, { n, c, hw }),
      atol: 1e-4,
    });
    await check(`prelu ${n}×${c}×${hw}`, {
      bufs: [rand(len, 38), rand(c, 39, 0, 0.5), zeros(len)],
      run: (be, [xb, a, o]) => be.prelu(xb, a, o, { n, c, hw }),
    });
    await check(`preluBackward ${n}×${c}×${hw}`, {
      bufs: [rand(len, 40), rand(c, 41, 0, 0.5), rand(len, 42), zeros(len), zeros(c)],
      run: (be, [xb, a, dy, dx, da]) => be.preluBackward(xb, a, dy, dx, da, { n, c, hw }),
      atol: 1e-4,
    });
  }
});

webgpu.test("softmax cross-entropy with soft targets", async () => {
  for (const [rows, cols] of [[4, 7], [3, 300]]) {
    const spec = { rows, cols };
    // Soft targets: two non-zero weights per row (Identity Mixup), one row summing to 0.5.
    const t = zeros(rows * cols);
    for (let r = 0; r < rows; r++) {
      t[r * cols + (r % cols)] += r === 0 ? 0.25 : 0.7;
      t[r * cols + ((3 * r + 1) % cols)] += r === 0 ? 0.25 : 0.3;
    }
    await check(`softmaxCrossEntropy ${rows}×${cols}`, {
      bufs: [rand(rows * cols, 43, -8, 8), t, zeros(rows), zeros(rows * cols)],
      run: (be, [z, tb, l, p]) => be.softmaxCrossEntropy(z, tb, l, p, spec),
      atol: 1e-5,
    });
    await check(`softmaxCrossEntropyBackward ${rows}×${cols}`, {
      bufs: [rand(rows * cols, 44, 0, 0.2), t, rand(rows, 45), zeros(rows * cols)],
      run: (be, [p, tb, dl, dz]) => be.softmaxCrossEntropyBackward(p, tb, dl, dz, spec),
    });
  }
});

webgpu.test("ArcFace / CosFace margins (th/mm guard, easy margin)", async () => {
  const rows = 6, cols = 5;
  // Cosines at the labels straddle th = cos(π − 0.5) ≈ −0.878 and 0.
  const cos = rand(rows * cols, 46, -0.99, 0.99);
  const labels = new Float32Array([0, 4, 2, -1, 1, 3]);
  const atLabel = [0.9, -0.95, -0.5, 0.3, 0.05, -0.8];
  labels.forEach((y, r) => {
    if (y >= 0) cos[r * cols + y] = atLabel[r];
  });
  const specs: MarginSpec[] = [
    { rows, cols, kind: "arcface", s: 64, m: 0.5, easyMargin: false },
    { rows, cols, kind: "arcface", s: 30, m: 0.5, easyMargin: true },
    { rows, cols, kind: "cosface", s: 64, m: 0.35, easyMargin: false },
  ];
  for (const spec of specs) {
    await check(`margin ${spec.kind} easy=${spec.easyMargin}`, {
      bufs: [cos, labels, zeros(rows * cols)],
      run: (be, [c, l, o]) => be.margin(c, l, o, spec),
      atol: 1e-4,
    });
    await check(`marginBackward ${spec.kind} easy=${spec.easyMargin}`, {
      bufs: [cos, labels, rand(rows * cols, 47), zeros(rows * cols)],
      run: (be, [c, l, d, o]) => be.marginBackward(c, l, d, o, spec),
      atol: 1e-4,
    });
  }
});

webgpu.test("one pipeline serves every size; work batches into few submits", async () => {
  const be = gpu!;
  const run = async (m: number, n: number, k: number) => {
    const a = be.alloc(m * k), b = be.alloc(k * n), c = be.alloc(m * n);
    be.matmul(a, b, c, gemmSpec(m, n, k));
    await be.flush();
    [a, b, c].forEach((x) => be.free(x));
  };
  await run(128, 128, 8); // sizes above half a tile: no narrow-tile variant either
  const compiled = be.pipelinesCompiled;
  await run(256, 132, 12);
  await run(192, 256, 100);
  assert.equal(be.pipelinesCompiled, compiled, "matmul of other sizes compiled again");

  // 50 recorded kernels and one read-back: one submission.
  const x = be.alloc(64), y = be.alloc(64);
  be.upload(x, rand(64, 48));
  const before = be.submits;
  for (let i = 0; i < 25; i++) {
    be.unary("affine", x, y, 64, { a: 1, b: 1 });
    be.unary("affine", y, x, 64, { a: 1, b: -0.5 });
  }
  const got = await be.download(x);
  assert.equal(be.submits - before, 1);
  const want = rand(64, 48).map((v) => v + 12.5);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-4, `affine chain element ${i}`));
  be.free(x);
  be.free(y);
});

webgpu.test("upload after recorded work keeps stream order; reused buffers are zero", async () => {
  const be = gpu!;
  const x = be.alloc(4), y = be.alloc(4);
  be.upload(x, new Float32Array([1, 2, 3, 4]));
  be.unary("neg", x, y, 4, {}); // recorded, not submitted
  be.upload(x, new Float32Array([10, 20, 30, 40])); // must land after the neg above
  assert.deepEqual([...await be.download(y)], [-1, -2, -3, -4]);
  assert.deepEqual([...await be.download(x)], [10, 20, 30, 40]);
  be.free(x);
  const z = be.alloc(4); // same size class: recycled and cleared
  assert.deepEqual([...await be.download(z)], [0, 0, 0, 0]);
  be.free(y);
  be.free(z);
  assert.throws(() => be.unary("neg", z, y, 4, {}), /after free/);
  // Recycled buffers are cleared lazily: in-place use and partial writes still see zeros.
  const src = be.alloc(8), junk = be.alloc(8);
  be.upload(src, new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
  be.upload(junk, new Float32Array(8).fill(9));
  be.free(junk);
  const acc = be.alloc(8); // recycles junk's buffer
  be.accumulate(acc, src, 8, 2);
  assert.deepEqual([...await be.download(acc)], [2, 4, 6, 8, 10, 12, 14, 16]);
  be.free(acc);
  const part = be.alloc(8); // recycled again, then only 3 elements written
  be.unary("neg", src, part, 3, {});
  assert.deepEqual([...await be.download(part)], [-1, -2, -3, 0, 0, 0, 0, 0]);
  be.free(part);
  be.free(src);
  assert.equal(sizeClass(1000), 1024);
  assert.equal(sizeClass(1100), 1280);
});

webgpu.test("a small network trains step for step like the cpu backend (engine end to end; batch norm + PReLU as one op or two)", async () => {
  // Imported here so the kernel tests above need no npm package (zod) at all.
  const ag = await import("../recognition/autodiff/mod.ts");
  // `fused`: batch norm + PReLU as one op (the cpu backend fuses the kernels, webgpu composes them)
  const run = async (be: Backend, fused: boolean) => {
    ag.useBackend(be);
    ag.seedInit(5);
    const conv1 = new ag.Conv2d(3, 8, 3, { stride: 2, padding: 1 });
    const bn1 = new ag.BatchNorm2d(8), act = new ag.PReLU(8);
    const conv2 = new ag.Conv2d(8, 12, 3, { stride: 1, padding: 1, bias: true });
    const bn2 = new ag.BatchNorm2d(12);
    const model = {
      parameters: () => [conv1, bn1, act, conv2, bn2].flatMap((m) => m.parameters()),
      forward(x: InstanceType<typeof ag.Tensor>) {
        const y = conv1.forward(x);
        return bn2.forward(
          conv2.forward(fused ? bn1.forward(y, act) : act.forward(bn1.forward(y))),
        );
      },
    };
    const fc = new ag.Linear(12, 6);
    const head = ag.parameter(rand(5 * 6, 50), [5, 6]);
    const params = [...model.parameters(), ...fc.parameters(), head];
    const opt = new ag.SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    const x = ag.keep(ag.tensor(rand(4 * 3 * 8 * 8, 51), [4, 3, 8, 8]));
    const ys = [0, 3, 1, 4];
    const labels = ag.keep(ag.tensor(ys, [4]));
    const targets = ag.keep(ag.oneHot(ys, 5));
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = ag.scope(() => {
        const emb = ag.l2Normalize(fc.forward(ag.globalAvgPool(model.forward(x))));
        const cos = ag.matmul(emb, ag.l2Normalize(head), { transB: true });
        const margin = { kind: "arcface" as const, s: 16, m: 0.3 };
        const l = ag.crossEntropy(ag.marginLogits(cos, labels, margin), targets);
        l.backward();
        return l;
      });
      opt.step();
      opt.zeroGrad();
      losses.push(await loss.item());
    }
    return losses;
  };
  const cpu = await ag.selectBackend("cpu");
  const want = await run(cpu, false);
  // fused and unfused: the same bits on either backend
  assert.deepEqual(await run(cpu, true), want, "cpu: fused batch norm + PReLU");
  cpu.dispose();
  const got = await run(gpu!, false);
  assert.deepEqual(await run(gpu!, true), got, "webgpu: fused batch norm + PReLU");
  got.forEach((l, i) =>
    assert.ok(Math.abs(l - want[i]) <= 1e-3 * Math.abs(want[i]), `step ${i}: ${got} vs ${want}`)
  );
  assert.ok(got[3] < got[0], `loss did not fall: ${got}`);
});

webgpu.test("runs on an external device and leaves it alive", async () => {
  // As with onnxruntime-web's `await ort.env.webgpu.device`: the caller owns the device.
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const be = await createWebgpuBackend({ device, adapterInfo: { description: "external" } });
  assert.ok(be && !be.gpu.owned);
  const x = be.alloc(3), y = be.alloc(3);
  be.upload(x, new Float32Array([1, 4, 9]));
  be.unary("sqrt", x, y, 3, {});
  assert.deepEqual([...await be.download(y)], [1, 2, 3]);
  be.dispose();
  device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }).destroy(); // still usable
  device.destroy();
});

webgpu.test("dispose the device (so deno test exits)", () => {
  gpu!.dispose();
  assert.throws(() => gpu!.alloc(1), /after dispose/);
});
