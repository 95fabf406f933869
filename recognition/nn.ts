/**
 * Small layers composed from the engine's primitives (`autodiff/ops.ts`) that the backbone and
 * the heads need: host data to tensors, inference-mode batch norm, dropout with a host-side
 * seeded mask (so a resumed run draws the same masks), linear, and L2 normalisation.
 */
import type { Rng } from "../data/rng.ts";
import * as op from "./autodiff/ops.ts";
import { empty, type Tensor } from "./autodiff/tensor.ts";

/** A tensor holding `data` with `shape` on the default backend. */
export function fromData(data: Float32Array, shape: readonly number[]): Tensor {
  const t = empty(shape);
  if (data.length !== t.size) {
    throw new RangeError(`fromData: ${data.length} values for shape [${shape}]`);
  }
  t.backend.upload(t.buf, data);
  return t;
}

/** Inference-mode batch norm: γ·(x − running mean)/√(running var + ε) + β, per channel (dim 1). */
export function batchNormEval(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps: number,
): Tensor {
  const c = x.shape[1];
  const bshape = x.shape.length === 4 ? [1, c, 1, 1] : [1, c];
  const scale = op.div(gamma, op.sqrt(op.add(runVar, eps)));
  const shift = op.sub(beta, op.mul(runMean, scale));
  return op.add(op.mul(x, op.reshape(scale, bshape)), op.reshape(shift, bshape));
}

/** Inverted dropout with a mask drawn from `rng` on the host (identity when p = 0). */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (p <= 0) return x;
  const mask = new Float32Array(x.size);
  const keep = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? 0 : keep;
  return op.mul(x, fromData(mask, x.shape));
}

/** y = x·Wᵀ + b with W [out, in], b [out] (or none). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const y = op.matmul(x, w, { transB: true });
  return b ? op.add(y, op.reshape(b, [1, b.size])) : y;
}

/** Rows scaled to unit L2 norm: x / √(Σx² + ε). */
export function l2normalize(x: Tensor, eps = 1e-12): Tensor {
  const norm = op.sqrt(op.add(op.sum(op.square(x), 1, true), eps));
  return op.div(x, norm);
}
