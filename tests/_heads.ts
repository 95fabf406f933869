/** Shared by the margin-head and Domain Mixup tests: heads with chosen class centres; `close`. */
import assert from "node:assert/strict";
import { headSpec, MarginHead } from "../recognition/heads.ts";
import { LossConfigSchema } from "../recognition/config.ts";

/** A head over 2-d embeddings whose class centres sit at the given angles. */
export function headAt(
  kind: "arcface" | "cosface" | "softmax",
  angles: number[],
  easyMargin = false,
) {
  const spec = headSpec(LossConfigSchema.parse({ kind, easyMargin }), angles.length, 2);
  const head = new MarginHead(spec, 0);
  const w = new Float32Array(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
  head.weight.backend.upload(head.weight.buf, w);
  return head;
}

/** Asserts `a` and `b` agree elementwise within `tol`, naming the first index that does not. */
export function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]} (tol ${tol})`);
  }
}
