/**
 * Every differentiable op: analytic gradients (backward rules) against central finite
 * differences, all on the float64 reference backend, on small random shapes including
 * broadcasting and stride/padding corner cases.
 */
import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import * as ag from "../recognition/autodiff/mod.ts";

const be = new ag.Ref64Backend();
ag.useBackend(be);

interface Input {
  shape: number[];
  /** Value range (default −1..1). */
  lo?: number;
  hi?: number;
  /** Constant input (no gradient check). */
  data?: number[];
}

/**
 * Checks d(Σ f(xs)·R)/dxs against central differences, R a fixed random weighting so every
 * output element matters.
 */
function gradCheck(
  name: string,
  inputs: Input[],
  f: (xs: ag.Tensor[]) => ag.Tensor,
  seed = 1,
  tol = 1e-6,
): void {
  const rng = Rng.fromSeed(seed).split(name);
  const xs = inputs.map((inp, i) => {
    const n = inp.shape.reduce((a, b) => a * b, 1);
    const data = inp.data ??
      Array.from({ length: n }, () => rng.range(inp.lo ?? -1, inp.hi ?? 1));
    const t = ag.tensor(new Float64Array(data), inp.shape, { requiresGrad: !inp.data });
    t.name = `x${i}`;
    return t;
  });
  let weights: ag.Tensor | null = null;
  const loss = (): ag.Tensor => {
    const y = f(xs);
    if (!weights) {
      weights = ag.keep(ag.tensor(
        new Float64Array(Array.from({ length: y.size }, () => rng.range(-1, 1))),
        y.shape,
      ));
    }
    return ag.sum(ag.mul(y, weights));
  };
  ag.scope(() => loss().backward());
  const h = 1e-6;
  for (const [i, x] of xs.entries()) {
    if (!x.requiresGrad) continue;
    assert.ok(x.grad, `${name}: input ${i} got no gradient`);
    const analytic = be.read64(x.grad!.buf);
    const vals = be.read64(x.buf);
    for (let k = 0; k < x.size; k++) {
      const orig = vals[k];
      const at = (v: number) => {
        be.upload(x.buf, new Float64Array([v]), k);
        return ag.noGrad(() => ag.scope(() => be.read64(loss().buf)[0]));
      };
      const num = (at(orig + h) - at(orig - h)) / (2 * h);
      be.upload(x.buf, new Float64Array([orig]), k);
      const err = Math.abs(num - analytic[k]);
      assert.ok(
        err <= tol + 1e-4 * Math.abs(num),
        `${name}: d/dx${i}[${k}] analytic ${analytic[k]} vs numeric ${num}`,
      );
    }
  }
  for (const x of xs) x.dispose();
  assert.equal(ag.tapeLength(), 0, `${name}: tape not cleared`);
}

Deno.test("autodiff grad: unary ops", () => {
  const s = [2, 3];
  gradCheck("neg", [{ shape: s }], ([x]) => ag.neg(x));
  gradCheck("relu", [{ shape: s }], ([x]) => ag.relu(x));
  gradCheck("exp", [{ shape: s }], ([x]) => ag.exp(x));
  gradCheck("log", [{ shape: s, lo: 0.5, hi: 2 }], ([x]) => ag.log(x));
  gradCheck("sqrt", [{ shape: s, lo: 0.5, hi: 2 }], ([x]) => ag.sqrt(x));
  gradCheck("square", [{ shape: s }], ([x]) => ag.square(x));
  gradCheck("abs", [{ shape: s }], ([x]) => ag.abs(x));
  gradCheck("clamp", [{ shape: [12], data: undefined }], ([x]) => ag.clamp(x, -0.43, 0.37));
  gradCheck("affine", [{ shape: s }], ([x]) => ag.affine(x, -1.5, 0.25));
  gradCheck(
    "scalar ops",
    [{ shape: s, lo: 0.5, hi: 1 }],
    ([x]) => ag.div(ag.sub(ag.mul(ag.add(x, 2), 3), 1), 4),
  );
});

Deno.test("autodiff grad: binary ops with broadcasting", () => {
  const pairs: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [3, 1]],
    [[4], [2, 1, 4]],
    [[2, 1, 3], [1, 4, 1]],
    [[2, 3], []],
  ];
  for (const [a, b] of pairs) {
    const tag = `[${a}]∘[${b}]`;
    gradCheck(`add ${tag}`, [{ shape: a }, { shape: b }], ([x, y]) => ag.add(x, y));
    gradCheck(`sub ${tag}`, [{ shape: a }, { shape: b }], ([x, y]) => ag.sub(x, y));
    gradCheck(`mul ${tag}`, [{ shape: a }, { shape: b }], ([x, y]) => ag.mul(x, y));
    gradCheck(`div ${tag}`, [{ shape: a }, { shape: b, lo: 0.5, hi: 2 }], ([x, y]) => ag.div(x, y));
    gradCheck(`max ${tag}`, [{ shape: a }, { shape: b }], ([x, y]) => ag.maximum(x, y));
    gradCheck(`min ${tag}`, [{ shape: a }, { shape: b }], ([x, y]) => ag.minimum(x, y));
  }
  gradCheck("x*x (same tensor twice)", [{ shape: [3] }], ([x]) => ag.mul(x, x));
  gradCheck("x+x+x", [{ shape: [3] }], ([x]) => ag.add(ag.add(x, x), x));
  gradCheck(
    "where",
    [{ shape: [2, 3], data: [1, -1, 2, -2, 0.5, 0] }, { shape: [3] }, { shape: [2, 1] }],
    ([c, a, b]) => ag.where(ag.compare("gt", c, 0), a, b),
  );
});

Deno.test("autodiff grad: movement and reductions", () => {
  gradCheck("reshape", [{ shape: [2, 6] }], ([x]) => ag.mul(ag.reshape(x, [3, -1]), 2));
  gradCheck("permute", [{ shape: [2, 3, 4] }], ([x]) => ag.permute(x, [2, 0, 1]));
  gradCheck("transpose", [{ shape: [3, 5] }], ([x]) => ag.transpose(x));
  gradCheck("expand", [{ shape: [3, 1] }], ([x]) => ag.expand(x, [2, 3, 4]));
  gradCheck("flatten", [{ shape: [2, 3, 2, 2] }], ([x]) => ag.flatten(x));
  gradCheck("sum all", [{ shape: [2, 3, 4] }], ([x]) => ag.sum(x));
  gradCheck("sum [0,2]", [{ shape: [2, 3, 4] }], ([x]) => ag.sum(x, [0, 2]));
  gradCheck("sum 1 keepdim", [{ shape: [2, 3, 4] }], ([x]) => ag.sum(x, 1, true));
  gradCheck("mean -1", [{ shape: [2, 3, 4] }], ([x]) => ag.mean(x, -1));
  gradCheck("globalAvgPool", [{ shape: [2, 3, 2, 3] }], ([x]) => ag.globalAvgPool(x));
});

Deno.test("autodiff grad: matmul (transposes, batch, broadcast batch), linear", () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = transA ? [4, 3] : [3, 4], b = transB ? [5, 4] : [4, 5];
      gradCheck(
        `matmul ${transA}/${transB}`,
        [{ shape: a }, { shape: b }],
        ([x, y]) => ag.matmul(x, y, { transA, transB }),
      );
      gradCheck(
        `bmm ${transA}/${transB}`,
        [{ shape: [2, ...a] }, { shape: [2, ...b] }],
        ([x, y]) => ag.matmul(x, y, { transA, transB }),
      );
    }
  }
  gradCheck("bmm 3D×2D", [{ shape: [2, 3, 4] }, { shape: [4, 2] }], ([x, y]) => ag.matmul(x, y));
  gradCheck(
    "bmm 2D×3D transB",
    [{ shape: [3, 4] }, { shape: [2, 5, 4] }],
    ([x, y]) => ag.matmul(x, y, { transB: true }),
  );
  gradCheck(
    "linear",
    [{ shape: [3, 4] }, { shape: [2, 4] }, { shape: [2] }],
    ([x, w, b]) => ag.linear(x, w, b),
  );
});

Deno.test("autodiff grad: conv2d (1×1/3×3, stride 1/2, padding, bias, odd sizes)", () => {
  const cases: { x: number[]; k: number; stride: number; padding: number; bias: boolean }[] = [
    { x: [2, 3, 4, 5], k: 1, stride: 1, padding: 0, bias: false },
    { x: [2, 3, 5, 4], k: 1, stride: 2, padding: 0, bias: true },
    { x: [1, 2, 5, 6], k: 3, stride: 1, padding: 1, bias: true },
    { x: [2, 2, 5, 6], k: 3, stride: 2, padding: 1, bias: false },
    { x: [1, 2, 7, 5], k: 3, stride: 2, padding: 0, bias: true },
    { x: [1, 1, 4, 4], k: 3, stride: 1, padding: 2, bias: false },
  ];
  for (const c of cases) {
    const w = [3, c.x[1], c.k, c.k];
    const inputs: Input[] = [{ shape: c.x }, { shape: w }];
    if (c.bias) inputs.push({ shape: [3] });
    gradCheck(
      `conv2d ${JSON.stringify(c)}`,
      inputs,
      ([x, wt, b]) => ag.conv2d(x, wt, b ?? null, { stride: c.stride, padding: c.padding }),
    );
  }
});

Deno.test("autodiff grad: batch norm (train 4D/2D, eval), prelu", () => {
  for (const shape of [[3, 2, 2, 3], [5, 3]]) {
    const c = shape[1];
    const rm = ag.zeros([c]), rv = ag.ones([c]);
    gradCheck(
      `batchNorm train [${shape}]`,
      [{ shape }, { shape: [c], lo: 0.5, hi: 1.5 }, { shape: [c] }],
      ([x, g, b]) => ag.batchNormTrain(x, g, b, rm, rv),
    );
    gradCheck(
      `batchNorm + relu train [${shape}]`,
      [{ shape }, { shape: [c], lo: 0.5, hi: 1.5 }, { shape: [c] }],
      ([x, g, b]) => ag.batchNormTrain(x, g, b, rm, rv, { relu: true }),
    );
    gradCheck(
      `batchNorm + prelu train [${shape}]`,
      [{ shape }, { shape: [c], lo: 0.5, hi: 1.5 }, { shape: [c] }, { shape: [c], lo: -0.5 }],
      ([x, g, b, a]) => ag.batchNormTrain(x, g, b, rm, rv, { prelu: a }),
    );
    gradCheck(
      `batchNorm eval [${shape}]`,
      [{ shape }, { shape: [c], lo: 0.5, hi: 1.5 }, { shape: [c] }],
      ([x, g, b]) => ag.batchNormEval(x, g, b, rm, rv),
    );
  }
  gradCheck("prelu 4D", [{ shape: [2, 3, 2, 2] }, { shape: [3] }], ([x, a]) => ag.prelu(x, a));
  gradCheck("prelu 2D", [{ shape: [4, 3] }, { shape: [3] }], ([x, a]) => ag.prelu(x, a));
});

Deno.test("autodiff grad: soft-target cross-entropy, margins, l2 normalise, dropout", () => {
  const t = [0.7, 0.3, 0, 0, 0, 0, 1, 0, 0.2, 0.2, 0.2, 0.6];
  gradCheck(
    "softmaxCrossEntropy",
    [{ shape: [3, 4], lo: -3, hi: 3 }, { shape: [3, 4], data: t }],
    ([z, tt]) => ag.softmaxCrossEntropy(z, tt),
  );
  gradCheck(
    "crossEntropy (mean)",
    [{ shape: [3, 4] }, { shape: [3, 4], data: t }],
    ([z, tt]) => ag.crossEntropy(z, tt),
  );
  // random cosines in (−0.8, 0.95): away from th = cos(π − 0.5) ≈ −0.878 where φ has a kink
  for (
    const o of [
      { kind: "arcface", s: 30, m: 0.5 },
      { kind: "arcface", s: 30, m: 0.5, easyMargin: true },
      { kind: "cosface", s: 30, m: 0.4 },
    ] as ag.MarginOptions[]
  ) {
    gradCheck(
      `margin ${JSON.stringify(o)}`,
      [{ shape: [4, 3], data: undefined, lo: -0.8, hi: 0.95 }],
      ([c]) => ag.marginLogits(c, ag.tensor([0, 2, 1, -1], [4]), o),
    );
  }
  gradCheck("l2Normalize", [{ shape: [3, 4] }], ([x]) => ag.l2Normalize(x, 1));
  gradCheck("dropout", [{ shape: [4, 5] }], ([x]) => ag.dropout(x, 0.3, Rng.fromSeed(5)));
});

Deno.test("autodiff grad: arcface th/mm guard and cosface by hand", () => {
  const m = 0.5, th = Math.cos(Math.PI - m), mm = Math.sin(Math.PI - m) * m;
  const c = ag.tensor(new Float64Array([-0.95, 0.2, 0.5, -0.5]), [2, 2]);
  const lab = ag.tensor([0, 1], [2]);
  const arc = be.read64(ag.marginLogits(c, lab, { kind: "arcface", s: 1, m }).buf);
  assert.ok(-0.95 < th);
  assert.ok(Math.abs(arc[0] - (-0.95 - mm)) < 1e-12, "guard branch c − mm");
  assert.equal(arc[1], 0.2);
  assert.equal(arc[2], 0.5);
  assert.ok(Math.abs(arc[3] - Math.cos(Math.acos(-0.5) + m)) < 1e-12);
  const easy = be.read64(
    ag.marginLogits(c, lab, { kind: "arcface", s: 1, m, easyMargin: true }).buf,
  );
  assert.equal(easy[0], -0.95);
  assert.equal(easy[3], -0.5);
  const cf = be.read64(ag.marginLogits(c, lab, { kind: "cosface", s: 2, m: 0.4 }).buf);
  assert.deepEqual([...cf].map((v) => +v.toFixed(12)), [-2.7, 0.4, 1, -1.8]);
});
