import assert from "node:assert/strict";
import { Ref64Backend } from "../recognition/autodiff/cpu/ref64_backend.ts";
import { useBackend } from "../recognition/autodiff/tensor.ts";
import { scope, tensor } from "../recognition/autodiff/mod.ts";
import {
  blendPixels,
  mixTerms,
  oversample,
  sampleLambda,
  selectReal,
  type SoftLabel,
  termTargets,
} from "../mixup/domain_mixup.ts";
import { Rng } from "../data/rng.ts";

import { close, headAt } from "./_heads.ts";

useBackend(new Ref64Backend());

/** Per row: synthetic classes l1, l2 with weights w1, w2, and the real class yReal. */
type Labels = Record<"l1" | "w1" | "l2" | "w2" | "yReal", number[]>;

/** The paper's Domain Mixup loss (ArcFace s = 30, m = 0.5) in plain JS, from PAPER.md. */
function paperLoss(cos: number[][], { l1, w1, l2, w2, yReal }: Labels, lambda: number): number {
  const s = 30, m = 0.5;
  const th = Math.cos(Math.PI - m), mm = Math.sin(Math.PI - m) * m;
  const C = (r: number, y: number) =>
    cos[r].map((c, j) => {
      if (j !== y) return s * c;
      const sin = Math.sqrt(1 - c * c);
      return s * (c > th ? c * Math.cos(m) - sin * Math.sin(m) : c - mm);
    });
  const CE = (z: number[], y: number) => {
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0));
    return lse - z[y];
  };
  const B = cos.length;
  let t1 = 0, t2 = 0, t3 = 0;
  for (let r = 0; r < B; r++) {
    const a = C(r, l1[r]), b = C(r, l2[r]), c = C(r, yReal[r]);
    const outSyn = a.map((v, j) => w1[r] * v + w2[r] * b[j]);
    const out = outSyn.map((v, j) => lambda * v + (1 - lambda) * c[j]);
    t1 += w1[r] * CE(out, l1[r]);
    t2 += w2[r] * CE(out, l2[r]);
    t3 += CE(out, yReal[r]);
  }
  return lambda * (t1 / B + t2 / B) + (1 - lambda) * (t3 / B);
}

Deno.test("mixup: the mixed loss equals the paper's Domain Mixup formula on a toy batch", async () => {
  const angles = [0.1, 0.9, 1.7, 2.5, 3.0]; // 3 synthetic classes, 2 real (offset 3)
  const head = headAt("arcface", angles);
  const embAngles = [0.2, 1.5, 2.9];
  const emb = new Float32Array(embAngles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
  const cos = embAngles.map((e) => angles.map((a) => Math.cos(e - a)));
  const syn: SoftLabel[] = [[[0, 0.7], [1, 0.3]], [[1, 0.55], [2, 0.45]], [[2, 1]]];
  const real = [0, 1, 1];
  for (const lambda of [0.35, 1, 0]) {
    const terms = mixTerms(syn, lambda, real, 3);
    const got = await scope(() => head.mixedLoss(tensor(emb, [3, 2]), terms, 1 / 3)).item();
    const labels = {
      l1: [0, 1, 2],
      w1: [0.7, 0.55, 1],
      l2: [1, 2, 2],
      w2: [0.3, 0.45, 0],
      yReal: [3, 4, 4],
    };
    const want = paperLoss(cos, labels, lambda);
    assert.ok(
      Math.abs(got - want) < 1e-4 * Math.max(1, Math.abs(want)),
      `λ=${lambda}: ${got} vs ${want}`,
    );
  }
  // Targets of a row sum to 1 and put λ·w on the synthetic classes, 1−λ on the real one.
  const t = termTargets(mixTerms(syn, 0.35, real, 3), 5);
  close(t.subarray(0, 5), [0.35 * 0.7, 0.35 * 0.3, 0, 0.65, 0], 1e-7);
});

Deno.test("mixup: plain Identity Mixup (λ=1, no real) is the weighted margin CE", async () => {
  const head = headAt("cosface", [0.1, 0.9, 1.7]);
  const emb = new Float32Array([Math.cos(0.5), Math.sin(0.5)]);
  const got = await scope(() =>
    head.mixedLoss(tensor(emb, [1, 2]), mixTerms([[[0, 0.6], [2, 0.4]]]), 1)
  ).item();
  const cos = [0.1, 0.9, 1.7].map((a) => Math.cos(0.5 - a));
  const C = (y: number) => cos.map((c, j) => 30 * (j === y ? c - 0.4 : c));
  const out = C(0).map((v, j) => 0.6 * v + 0.4 * C(2)[j]);
  const lse = Math.log(out.reduce((a, v) => a + Math.exp(v), 0));
  const want = 0.6 * (lse - out[0]) + 0.4 * (lse - out[2]);
  assert.ok(Math.abs(got - want) < 1e-4, `${got} vs ${want}`);
});

Deno.test("mixup: gradient of the mixed loss w.r.t. the embedding matches finite differences", async () => {
  const head = headAt("arcface", [0.1, 0.9, 1.7, 2.5]);
  const base = [0.8, 0.3, -0.2, 0.9];
  const syn: SoftLabel[] = [[[0, 0.6], [1, 0.4]], [[2, 1]]];
  const terms = mixTerms(syn, 0.4, [0, 0], 3);
  const f = async (v: number[]) =>
    await scope(() => head.mixedLoss(tensor(new Float32Array(v), [2, 2]), terms, 0.5)).item();
  const x = tensor(new Float32Array(base), [2, 2]);
  x.requiresGrad = true;
  x.name = "emb";
  scope(() => head.mixedLoss(x, terms, 0.5).backward());
  const g = await x.grad!.toArray();
  for (let i = 0; i < base.length; i++) {
    const h = 1e-4;
    const up = base.slice(), dn = base.slice();
    up[i] += h;
    dn[i] -= h;
    const fd = (await f(up) - await f(dn)) / (2 * h);
    assert.ok(
      Math.abs(fd - g[i]) < 2e-3 * Math.max(1, Math.abs(fd)),
      `d/demb[${i}]: ${g[i]} vs ${fd}`,
    );
  }
});

Deno.test("mixup: real selection takes the first R identities × first K images, sorted", () => {
  const recs = [
    { class: 2, path: "c/1.jpg" },
    { class: 0, path: "a/3.jpg" },
    { class: 0, path: "a/1.jpg" },
    { class: 1, path: "b/9.jpg" },
    { class: 0, path: "a/2.jpg" },
    { class: 1, path: "b/1.jpg" },
  ];
  const sel = selectReal(recs, 2, 2);
  assert.deepEqual(sel.indices, [2, 4, 5, 3]);
  assert.deepEqual(sel.classes, [0, 0, 1, 1]);
  assert.equal(sel.numClasses, 2);
  assert.deepEqual(selectReal(recs, 0, 0).indices.length, 6);
  assert.deepEqual(oversample(3, 7), [0, 1, 2, 0, 1, 2, 0]);
  assert.throws(() => oversample(0, 4), /empty/);
});

Deno.test("mixup: λ comes from the 21-value grid; pixel blend", () => {
  const rng = Rng.fromSeed(3);
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) seen.add(sampleLambda(rng.split(i)));
  assert.equal(seen.size, 21);
  const out = blendPixels(new Float32Array([1, -1]), new Float32Array([0, 1]), 0.25);
  close(out, [0.25, 0.5], 1e-7);
});
