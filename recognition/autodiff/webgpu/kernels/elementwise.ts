/**
 * Elementwise kernels: fill, copy, accumulate, unary ops and their derivatives, broadcasting
 * binary ops, where, strided gather (transpose/expand/slice) and the fused SGD update.
 * Broadcasting kernels are specialised by rank (the index decomposition is unrolled); shapes
 * and strides are uniforms, so one pipeline serves every size.
 * @module
 */

import type {
  BinaryOp,
  BinarySpec,
  SgdSpec,
  StridedSpec,
  UnaryOp,
  UnaryParams,
  WhereSpec,
} from "../../backend.ts";
import { BINARY, UNARY } from "../../unary.ts";
import { Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { decompose, ewGrid, ewMain, storage } from "./common.ts";
import { memo } from "./memo.ts";

/**
 * A kernel with one invocation per element i < n: uniforms `struct Q { n: u32<fields> }`, the
 * buffers `decls` (bound in order; their access letters are the bindings) and `body` (`i` set).
 */
export function run1d(
  ctx: Ctx,
  name: string,
  fields: string,
  decls: [name: string, access: "r" | "w"][],
  body: string,
  bufs: GpuBuf[],
  p: Params,
  n: number,
) {
  const wg = ctx.tuning.elementwise;
  const k = memo(`${name}/${wg}`, () => ({
    name,
    source: `struct Q { n: u32${fields} }
@group(0) @binding(0) var<uniform> P: Q;
${storage(decls)}
${ewMain(wg)}
  ${body}
}`,
    bindings: decls.map(([, access]) => access).join(""),
  }));
  ctx.batch.dispatch(k, bufs, p, ewGrid(n, wg));
}

/** out[0..n) = value. One invocation writes one element. */
export function fill(ctx: Ctx, out: GpuBuf, value: number, n: number): void {
  run1d(ctx, "fill", ", v: f32", [["o", "w"]], "o[i] = P.v;", [out], new Params().u(n).f(value), n);
}

/** dst[dOff + i] = src[sOff + i]. One invocation copies one element. */
export function copy(
  ctx: Ctx,
  src: GpuBuf,
  dst: GpuBuf,
  n: number,
  sOff: number,
  dOff: number,
): void {
  const body = "dst[P.d + i] = src[P.s + i];";
  const p = new Params().u(n, sOff, dOff);
  run1d(ctx, "copy", ", s: u32, d: u32", [["src", "r"], ["dst", "w"]], body, [src, dst], p, n);
}

/** In place dst[i] += alpha·src[i]. One invocation updates one element. */
export function accumulate(ctx: Ctx, dst: GpuBuf, src: GpuBuf, n: number, alpha: number): void {
  const body = "dst[i] = dst[i] + P.alpha * src[i];";
  const p = new Params().u(n).f(alpha);
  run1d(ctx, "accumulate", ", alpha: f32", [["dst", "w"], ["src", "r"]], body, [dst, src], p, n);
}

/** out[i] = f(x[i]). One invocation maps one element. */
export function unary(
  ctx: Ctx,
  op: UnaryOp,
  x: GpuBuf,
  out: GpuBuf,
  n: number,
  p: UnaryParams,
): void {
  if (!(op in UNARY)) throw new Error(`webgpu unary: unknown op "${op}"`);
  run1d(
    ctx,
    `unary_${op}`,
    ", a: f32, b: f32",
    [["X", "r"], ["O", "w"]],
    `let x = X[i];
  O[i] = ${UNARY[op].wgsl};`,
    [x, out],
    new Params().u(n).f(p.a ?? 0, p.b ?? 0),
    n,
  );
}

/** dx[i] = dy[i]·f'(x[i]) (using x or y = f(x)). One invocation maps one element. */
export function unaryBackward(
  ctx: Ctx,
  op: UnaryOp,
  x: GpuBuf,
  y: GpuBuf,
  dy: GpuBuf,
  dx: GpuBuf,
  n: number,
  p: UnaryParams,
): void {
  if (!(op in UNARY)) throw new Error(`webgpu unaryBackward: unknown op "${op}"`);
  run1d(
    ctx,
    `unary_grad_${op}`,
    ", a: f32, b: f32",
    [["X", "r"], ["Y", "r"], ["DY", "r"], ["DX", "w"]],
    `let x = X[i];
  let y = Y[i];
  let dy = DY[i];
  DX[i] = ${UNARY[op].wgslGrad};`,
    [x, y, dy, dx],
    new Params().u(n).f(p.a ?? 0, p.b ?? 0),
    n,
  );
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkRank(what: string, shape: readonly number[]): void {
  if (shape.length > 8) throw new Error(`webgpu ${what}: rank ${shape.length} > 8`);
}

/** out[i] = a[ia] ∘ b[ib], ia/ib from i's coordinates and the broadcast strides. */
export function binary(
  ctx: Ctx,
  op: BinaryOp,
  a: GpuBuf,
  b: GpuBuf,
  out: GpuBuf,
  spec: BinarySpec,
): void {
  if (!(op in BINARY)) throw new Error(`webgpu binary: unknown op "${op}"`);
  checkRank("binary", spec.shape);
  const rank = spec.shape.length;
  const n = count(spec.shape);
  run1d(
    ctx,
    `binary_${op}_r${rank}`,
    `, shape: array<vec4<u32>, 2>, as_: array<vec4<u32>, 2>,
  bs: array<vec4<u32>, 2>`,
    [["A", "r"], ["B", "r"], ["O", "w"]],
    `${decompose(rank, "i", ["as_", "bs"])}
  let a = A[as_Idx];
  let b = B[bsIdx];
  O[i] = ${BINARY[op].wgsl};`,
    [a, b, out],
    new Params().u(n).vec(spec.shape).vec(spec.aStrides).vec(spec.bStrides),
    n,
  );
}

/** out[i] = cond[ic] ≠ 0 ? a[ia] : b[ib] with broadcast strides. */
export function where(
  ctx: Ctx,
  cond: GpuBuf,
  a: GpuBuf,
  b: GpuBuf,
  out: GpuBuf,
  spec: WhereSpec,
): void {
  checkRank("where", spec.shape);
  const rank = spec.shape.length;
  const n = count(spec.shape);
  run1d(
    ctx,
    `where_r${rank}`,
    `, shape: array<vec4<u32>, 2>, cs: array<vec4<u32>, 2>,
  as_: array<vec4<u32>, 2>, bs: array<vec4<u32>, 2>`,
    [["C", "r"], ["A", "r"], ["B", "r"], ["O", "w"]],
    `${decompose(rank, "i", ["cs", "as_", "bs"])}
  O[i] = select(B[bsIdx], A[as_Idx], C[csIdx] != 0.0);`,
    [cond, a, b, out],
    new Params().u(n).vec(spec.shape).vec(spec.condStrides).vec(spec.aStrides).vec(spec.bStrides),
    n,
  );
}

/** out[i] = x[offset + Σ coord_d·strides[d]] over the output coordinates of i. */
export function strided(ctx: Ctx, x: GpuBuf, out: GpuBuf, spec: StridedSpec): void {
  checkRank("strided", spec.shape);
  const rank = spec.shape.length;
  const n = count(spec.shape);
  run1d(
    ctx,
    `strided_r${rank}`,
    ", off: u32, shape: array<vec4<u32>, 2>, xs: array<vec4<u32>, 2>",
    [["X", "r"], ["O", "w"]],
    `${decompose(rank, "i", ["xs"])}
  O[i] = X[P.off + xsIdx];`,
    [x, out],
    new Params().u(n, spec.offset).vec(spec.shape).vec(spec.strides),
    n,
  );
}

/**
 * Fused SGD, in place (PyTorch semantics): g = grad + wd·p; mom = μ·mom + g; p −= lr·mom.
 * One invocation updates one parameter.
 */
export function sgd(
  ctx: Ctx,
  param: GpuBuf,
  grad: GpuBuf,
  mom: GpuBuf,
  n: number,
  spec: SgdSpec,
): void {
  run1d(
    ctx,
    "sgd",
    ", lr: f32, mu: f32, wd: f32",
    [["W", "w"], ["G", "r"], ["M", "w"]],
    `let w = W[i];
  let g = G[i] + P.wd * w;
  let m = P.mu * M[i] + g;
  M[i] = m;
  W[i] = w - P.lr * m;`,
    [param, grad, mom],
    new Params().u(n).f(spec.lr, spec.momentum, spec.weightDecay),
    n,
  );
}
