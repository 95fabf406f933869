/**
 * Shorthands for building the generator's ONNX graph: each call adds one node (or constant) to
 * `g` and returns its value name, so graph code reads like the maths it computes.
 */
import type { GraphBuilder } from "../data/onnx/mod.ts";

/** The shorthands bound to one graph. */
export type GraphOps = ReturnType<typeof graphOps>;

/** Shorthands bound to `g`. */
export function graphOps(g: GraphBuilder) {
  const c = (v: number[] | number, dims?: number[]) => g.const(v, dims);
  const op = (t: string, ins: string[], a?: Parameters<GraphBuilder["op"]>[2]) => g.op(t, ins, a);
  const mul = (a: string, b: string) => op("Mul", [a, b]);
  const add = (a: string, b: string) => op("Add", [a, b]);
  const sub = (a: string, b: string) => op("Sub", [a, b]);
  const div = (a: string, b: string) => op("Div", [a, b]);
  const slice = (x: string, start: number, end: number, axis: number) =>
    op("Slice", [x, g.ints([start]), g.ints([end]), g.ints([axis])]);
  const col = (x: string, i: number) => slice(x, i, i + 1, -1); // keeps the last dim (size 1)
  const reshape = (x: string, dims: number[]) => op("Reshape", [x, g.ints(dims)]);
  const concat = (xs: string[], axis: number) => op("Concat", xs, { axis });
  const clip = (x: string, lo: number, hi: number) => op("Clip", [x, c(lo), c(hi)]);
  const lerp = (a: string, b: string, t: string) => add(a, mul(t, sub(b, a)));
  const sigmoid = (x: string) => op("Sigmoid", [x]);
  return { g, c, op, mul, add, sub, div, slice, col, reshape, concat, clip, lerp, sigmoid };
}

/**
 * The graph's fixed pseudo-random numbers (sensor noise, hair projections): a 32-bit LCG, uniform
 * in [−0.5, 0.5).
 */
export function lcgUniform(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216 - 0.5;
}
