/**
 * Tensor factories and the composite ops (built from primitives in `ops.ts`, so their
 * gradients come for free): mean, linear, flatten, global average pooling, dropout,
 * L2 normalisation, eval-mode batch norm, cross-entropy.
 * @module
 */
import type { Rng } from "../../data/rng.ts";
import type { Backend } from "./backend.ts";
import {
  add,
  type BatchNormOptions,
  batchNormTrain,
  div,
  matmul,
  mul,
  prelu,
  relu,
  reshape,
  softmaxCrossEntropy,
  sqrt,
  square,
  sub,
  sum,
} from "./ops.ts";
import { empty, getBackend, ShapeError, shapeSize, type Tensor } from "./tensor.ts";

/** Options of the tensor factories. */
export interface TensorOptions {
  requiresGrad?: boolean;
  backend?: Backend;
}

/** A tensor holding `data` (row-major) with `shape`. */
export function tensor(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts: TensorOptions = {},
): Tensor {
  if (data.length !== shapeSize(shape)) {
    throw new ShapeError("tensor", `data has ${data.length} elements`, [shape]);
  }
  const t = empty(shape, opts.backend ?? getBackend());
  if (t.size) {
    const arr = data instanceof Float32Array || data instanceof Float64Array
      ? data
      : Float32Array.from(data);
    t.backend.upload(t.buf, arr);
  }
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const t = empty(shape, opts.backend ?? getBackend());
  if (value !== 0 && t.size) t.backend.fill(t.buf, value, t.size);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** Zeros. */
export const zeros = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  full(shape, 0, opts);
/** Ones. */
export const ones = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  full(shape, 1, opts);

/** Normal(0, std²) draws from a seeded stream. */
export function randn(
  shape: readonly number[],
  rng: Rng,
  std = 1,
  opts: TensorOptions = {},
): Tensor {
  return tensor(rng.normals(shapeSize(shape), std), shape, opts);
}

/** Rows×classes one-hot (or weighted) targets: row r gets `weights[r]` (default 1) at labels[r]. */
export function oneHot(
  labels: ArrayLike<number>,
  classes: number,
  weights?: ArrayLike<number>,
  opts: TensorOptions = {},
): Tensor {
  const t = new Float32Array(labels.length * classes);
  for (let r = 0; r < labels.length; r++) {
    const y = labels[r];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new RangeError(`oneHot: label ${y} at row ${r} is not in [0, ${classes})`);
    }
    t[r * classes + y] += weights ? weights[r] : 1;
  }
  return tensor(t, [labels.length, classes], opts);
}

/** Mean over `axes` (default all). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const s = sum(x, axes, keepdim);
  const n = x.size / (s.size || 1);
  return mul(s, 1 / n);
}

/** Collapses dims from `startDim` on: (N, C, H, W) → (N, C·H·W). */
export function flatten(x: Tensor, startDim = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startDim), -1]);
}

/** y = x·Wᵀ + b with W (out, in) as in PyTorch; x is (N, in). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[1]) {
    throw new ShapeError("linear", "expected x (N, in) and W (out, in)", [x.shape, w.shape]);
  }
  const y = matmul(x, w, { transB: true });
  return b ? add(y, b) : y;
}

/** (N, C, H, W) → (N, C) by averaging over H, W. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new ShapeError("globalAvgPool", "expected (N,C,H,W)", [x.shape]);
  return mean(x, [2, 3]);
}

/**
 * Inverted dropout: zeroes each element with probability p (mask drawn from `rng`) and scales
 * the rest by 1/(1−p); identity when not training or p = 0.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!training || p === 0) return x;
  if (!(p > 0 && p < 1)) throw new RangeError(`dropout: p=${p}, expected 0 ≤ p < 1`);
  const m = new Float32Array(x.size);
  const k = 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() >= p ? k : 0;
  return mul(x, tensor(m, x.shape, { backend: x.backend }));
}

/** x / √(Σx² + eps) along `axis`: unit L2 norm (the margin heads' and validation's arithmetic). */
export function l2Normalize(x: Tensor, axis = 1, eps = 1e-12): Tensor {
  return div(x, sqrt(add(sum(square(x), axis, true), eps)));
}

/**
 * Eval-mode batch norm: (x − runMean)/√(runVar + eps)·γ + β per channel (composed from
 * elementwise ops, so it is differentiable in x, γ, β).
 */
export function batchNormEval(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  eps = 1e-5,
): Tensor {
  const c = x.shape[1];
  const bshape = x.shape.length === 4 ? [c, 1, 1] : [c];
  const scale = div(gamma, sqrt(add(runVar, eps)));
  const shift = sub(beta, mul(runMean, scale));
  return add(mul(x, reshape(scale, bshape)), reshape(shift, bshape));
}

/**
 * Batch norm in either mode (`training`: batch statistics and running-stat update), followed by
 * a ReLU with `relu` or a PReLU with `prelu` (fused into one op in training mode).
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  opts: { training: boolean } & BatchNormOptions,
): Tensor {
  if (opts.training) return batchNormTrain(x, gamma, beta, runMean, runVar, opts);
  const y = batchNormEval(x, gamma, beta, runMean, runVar, opts.eps ?? 1e-5);
  return opts.prelu ? prelu(y, opts.prelu) : opts.relu ? relu(y) : y;
}

/** Mean soft-target cross-entropy of logits (N, C) against targets (N, C). */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return mean(softmaxCrossEntropy(logits, targets));
}
