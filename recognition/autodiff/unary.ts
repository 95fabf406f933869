/**
 * The elementwise ops in two tables. The unary one: each op's forward y = f(x) and derivative
 * dx = dy·f'(x) as a JS expression and a WGSL expression, side by side; the binary one: a ∘ b in
 * both languages. The cpu/ref64 kernels (`cpu/js_kernels.ts`)
 * and the WGSL kernels (`webgpu/kernels/elementwise.ts`) are both generated from it, and the
 * table's type (`Record<UnaryOp, …>`) makes `deno check` fail for an op without all four.
 *
 * Names in the expressions: `x` the input, `y` the forward output, `dy` the output gradient,
 * `a`/`b` the op's scalar parameters (`clamp`: lo, hi; `affine`: y = a·x + b). Each backend keeps
 * its own evaluation order (the JS forms are the reference arithmetic of the cpu backend).
 * @module
 */
import type { BinaryOp, UnaryOp } from "./backend.ts";

/** One unary op: forward and derivative, in JS and in WGSL. */
export interface UnaryRule {
  /** y from x (JS expression). */
  js: string;
  /** dx from x, y, dy (JS expression). */
  jsGrad: string;
  /** y from x (WGSL expression; parameters are `P.a`, `P.b`). */
  wgsl: string;
  /** dx from x, y, dy (WGSL expression). */
  wgslGrad: string;
}

/** Every unary op's forward and derivative. */
// deno-fmt-ignore: one op per line, like a table
export const UNARY: Readonly<Record<UnaryOp, UnaryRule>> = {
  neg: { js: "-x", jsGrad: "-dy", wgsl: "-x", wgslGrad: "-dy" },
  relu: { js: "x > 0 ? x : 0", jsGrad: "x > 0 ? dy : 0", wgsl: "max(x, 0.0)", wgslGrad: "select(0.0, dy, x > 0.0)" },
  exp: { js: "Math.exp(x)", jsGrad: "dy * y", wgsl: "exp(x)", wgslGrad: "dy * y" },
  log: { js: "Math.log(x)", jsGrad: "dy / x", wgsl: "log(x)", wgslGrad: "dy / x" },
  sqrt: { js: "Math.sqrt(x)", jsGrad: "(0.5 * dy) / y", wgsl: "sqrt(x)", wgslGrad: "dy * 0.5 / y" },
  square: { js: "x * x", jsGrad: "2 * x * dy", wgsl: "x * x", wgslGrad: "dy * 2.0 * x" },
  abs: { js: "Math.abs(x)", jsGrad: "x > 0 ? dy : x < 0 ? -dy : 0", wgsl: "abs(x)", wgslGrad: "dy * sign(x)" },
  clamp: {
    js: "x < a ? a : x > b ? b : x", jsGrad: "x >= a && x <= b ? dy : 0",
    wgsl: "min(max(x, P.a), P.b)", wgslGrad: "select(0.0, dy, x >= P.a && x <= P.b)",
  },
  affine: { js: "a * x + b", jsGrad: "a * dy", wgsl: "P.a * x + P.b", wgslGrad: "dy * P.a" },
};

/** An array of either precision (the kernels run on float32 and float64). */
type F = Float32Array | Float64Array;
/** A generated forward loop: out[i] = f(x[i]) for i < n. */
export type UnaryLoop = (x: F, out: F, n: number, a: number, b: number) => void;
/** A generated derivative loop: dx[i] = dy[i]·f'(x[i]) for i < n. */
export type UnaryGradLoop = (x: F, y: F, dy: F, dx: F, n: number, a: number, b: number) => void;

function compile<T>(params: string[], body: string): T {
  // One specialised loop per op (a shared loop calling a per-op function would be megamorphic).
  return new Function(...params, `"use strict";\n${body}`) as T;
}

/** Per-op JS loops generated from {@link UNARY}, built once at load. */
export const UNARY_JS: Readonly<Record<UnaryOp, { fwd: UnaryLoop; grad: UnaryGradLoop }>> = Object
  .fromEntries(
    Object.entries(UNARY).map(([op, r]) => [op, {
      fwd: compile<UnaryLoop>(
        ["X", "O", "n", "a", "b"],
        `for (let i = 0; i < n; i++) { const x = X[i]; O[i] = ${r.js}; }`,
      ),
      grad: compile<UnaryGradLoop>(
        ["X", "Y", "DY", "DX", "n", "a", "b"],
        `for (let i = 0; i < n; i++) { const x = X[i], y = Y[i], dy = DY[i]; DX[i] = ${r.jsGrad}; }`,
      ),
    }]),
  ) as Record<UnaryOp, { fwd: UnaryLoop; grad: UnaryGradLoop }>;

/** Every binary op as a JS and a WGSL expression of `a` and `b` (comparisons give 1 or 0). */
export const BINARY: Readonly<Record<BinaryOp, { js: string; wgsl: string }>> = {
  add: { js: "a + b", wgsl: "a + b" },
  sub: { js: "a - b", wgsl: "a - b" },
  mul: { js: "a * b", wgsl: "a * b" },
  div: { js: "a / b", wgsl: "a / b" },
  max: { js: "a > b || a !== a ? a : b", wgsl: "max(a, b)" },
  min: { js: "a < b || a !== a ? a : b", wgsl: "min(a, b)" },
  gt: { js: "a > b ? 1 : 0", wgsl: "select(0.0, 1.0, a > b)" },
  ge: { js: "a >= b ? 1 : 0", wgsl: "select(0.0, 1.0, a >= b)" },
  lt: { js: "a < b ? 1 : 0", wgsl: "select(0.0, 1.0, a < b)" },
  le: { js: "a <= b ? 1 : 0", wgsl: "select(0.0, 1.0, a <= b)" },
  eq: { js: "a === b ? 1 : 0", wgsl: "select(0.0, 1.0, a == b)" },
};

/** A generated row of a broadcasting binary op: O[o + j] = A[ia + j·sa] ∘ B[ib + j·sb], j < n. */
export type BinaryRow = (
  A: F,
  B: F,
  O: F,
  o: number,
  ia: number,
  ib: number,
  n: number,
  sa: number,
  sb: number,
) => void;

/** Per-op JS rows generated from {@link BINARY}, built once at load. */
export const BINARY_JS: Readonly<Record<BinaryOp, BinaryRow>> = Object.fromEntries(
  Object.entries(BINARY).map(([op, r]) => [
    op,
    compile<BinaryRow>(
      ["A", "B", "O", "o", "ia", "ib", "n", "sa", "sb"],
      `for (let j = 0; j < n; j++) { const a = A[ia + j * sa], b = B[ib + j * sb]; O[o + j] = ${r.js}; }`,
    ),
  ]),
) as Record<BinaryOp, BinaryRow>;
