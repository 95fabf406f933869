import assert from "node:assert/strict";
import { Ref64Backend } from "../recognition/autodiff/cpu/ref64_backend.ts";
import { useBackend } from "../recognition/autodiff/tensor.ts";
import { scope, tensor } from "../recognition/autodiff/mod.ts";
import { headSpec } from "../recognition/heads.ts";
import { LossConfigSchema } from "../recognition/config.ts";

import { close, headAt } from "./_heads.ts";

useBackend(new Ref64Backend());

Deno.test("heads: paper defaults s=30, m=0.5 (ArcFace) and m=0.4 (CosFace)", () => {
  assert.deepEqual(
    [
      headSpec(LossConfigSchema.parse({ kind: "arcface" }), 2, 2).s,
      headSpec(LossConfigSchema.parse({}), 2, 2).m,
    ],
    [30, 0.5],
  );
  assert.equal(headSpec(LossConfigSchema.parse({ kind: "cosface" }), 2, 2).m, 0.4);
});

Deno.test("heads: ArcFace logits match hand values, including the th/mm branch", async () => {
  // Class centres at 0.3, 1.2, 2.8 rad; both embeddings at angle 0 (norm 2: normalised away).
  const head = headAt("arcface", [0.3, 1.2, 2.8]);
  const out = await scope(() =>
    head.logits(tensor(new Float32Array([2, 0, 2, 0]), [2, 2]), Int32Array.from([0, 2]))
  ).toArray();
  // Hand values: th = cos(π−0.5) = −0.87758, mm = sin(π−0.5)·0.5 = 0.23971.
  // Row 0, label 0: 30·cos(0.3+0.5) = 20.90120 (cos 0.3 > th). Others: 30·cos θ.
  // Row 1, label 2: cos 2.8 = −0.94222 < th → 30·(cos 2.8 − mm) = −35.45805.
  close(out, [20.901201, 10.870733, 30 * Math.cos(2.8), 28.660095, 10.870733, -35.458053], 1e-4);
});

Deno.test("heads: ArcFace easy margin and CosFace", async () => {
  const arc = headAt("arcface", [0.3, 2.8], true);
  const a = await scope(() =>
    arc.logits(tensor(new Float32Array([1, 0, 1, 0]), [2, 2]), Int32Array.from([0, 1]))
  ).toArray();
  // easy margin: label 1 has cos < 0 → plain 30·cos θ, no margin.
  close(a, [20.901201, 30 * Math.cos(2.8), 28.660095, 30 * Math.cos(2.8)], 1e-4);
  const cos = headAt("cosface", [0.3, 2.8]);
  const c = await scope(() =>
    cos.logits(tensor(new Float32Array([1, 0]), [1, 2]), Int32Array.from([0]))
  ).toArray();
  close(c, [16.660095, 30 * Math.cos(2.8)], 1e-4);
});
