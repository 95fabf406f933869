/**
 * Sum reduction over the axes where `outShape` is 1. The JS side drops size-1 axes and merges
 * neighbouring axes of the same kind (kept/reduced), so most calls reduce one or two groups.
 * Two launch shapes: one invocation per output when each output sums few elements, one
 * workgroup per output (tree reduction in workgroup memory) when it sums many.
 * @module
 */

import type { ReduceSpec } from "../../backend.ts";
import { grid, Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { ewGrid, ewMain, GROUP_ID, storage } from "./common.ts";
import { memo } from "./memo.ts";

/** Kept and reduced axis groups of a reduction, each with input strides. */
export interface ReducePlan {
  nOut: number;
  nRed: number;
  keptShape: number[];
  keptStrides: number[];
  redShape: number[];
  redStrides: number[];
}

/** Collapse a {@link ReduceSpec} into kept/reduced groups (see the module comment). */
export function planReduce(spec: ReduceSpec): ReducePlan {
  const { inShape, outShape } = spec;
  if (inShape.length !== outShape.length) {
    throw new Error(
      `webgpu reduceSum: inShape [${inShape}] and outShape [${outShape}] differ in rank`,
    );
  }
  const axes: { size: number; reduced: boolean }[] = [];
  for (let d = 0; d < inShape.length; d++) {
    if (outShape[d] !== inShape[d] && outShape[d] !== 1) {
      throw new Error(
        `webgpu reduceSum: outShape [${outShape}] must equal inShape [${inShape}] or be 1 per axis`,
      );
    }
    if (inShape[d] === 1) continue;
    const reduced = outShape[d] === 1;
    const last = axes[axes.length - 1];
    if (last && last.reduced === reduced) last.size *= inShape[d];
    else axes.push({ size: inShape[d], reduced });
  }
  const plan: ReducePlan = {
    nOut: 1,
    nRed: 1,
    keptShape: [],
    keptStrides: [],
    redShape: [],
    redStrides: [],
  };
  let stride = 1;
  for (let d = axes.length - 1; d >= 0; d--) {
    const a = axes[d];
    if (a.reduced) {
      plan.redShape.unshift(a.size);
      plan.redStrides.unshift(stride);
      plan.nRed *= a.size;
    } else {
      plan.keptShape.unshift(a.size);
      plan.keptStrides.unshift(stride);
      plan.nOut *= a.size;
    }
    stride *= a.size;
  }
  if (inShape.some((s) => s === 0)) plan.nRed = 0;
  return plan;
}

/** WGSL: input offset of `idx` decomposed over group `g` (rank known at compile time). */
function offsetOf(rank: number, idx: string, g: string): string {
  if (rank === 0) return "0u";
  if (rank === 1) return `${idx} * P.${g}s[0][0]`;
  const parts: string[] = [];
  let rem = idx;
  for (let d = rank - 1; d >= 0; d--) {
    const e = `[${d >> 2}][${d & 3}]`;
    if (d === 0) parts.push(`(${rem}) * P.${g}s${e}`);
    else {
      parts.push(`((${rem}) % P.${g}${e}) * P.${g}s${e}`);
      rem = `(${rem}) / P.${g}${e}`;
    }
  }
  return parts.join(" + ");
}

const STRUCT = `struct Q { n: u32, nRed: u32, k: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>,
  r: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> P: Q;`;

/** out = Σ over the reduced axes of x, see {@link ReduceSpec}. */
export function reduceSum(ctx: Ctx, x: GpuBuf, out: GpuBuf, spec: ReduceSpec): void {
  const plan = planReduce(spec);
  const kr = plan.keptShape.length, rr = plan.redShape.length;
  const p = new Params().u(plan.nOut, plan.nRed).vec(plan.keptShape).vec(plan.keptStrides)
    .vec(plan.redShape).vec(plan.redStrides);
  if (plan.nRed < 256 && plan.nOut >= 1024) {
    const wg = ctx.tuning.elementwise;
    // One invocation sums all inputs of one output.
    const k = memo(`reduce_thread/${kr}/${rr}/${wg}`, () => ({
      name: "reduce_thread",
      bindings: "rw",
      source: `${STRUCT}
${storage([["X", "r"], ["O", "w"]])}
${ewMain(wg)}
  let base = ${offsetOf(kr, "i", "k")};
  var acc = 0.0;
  for (var j = 0u; j < P.nRed; j++) {
    acc += X[base + ${offsetOf(rr, "j", "r")}];
  }
  O[i] = acc;
}`,
    }));
    ctx.batch.dispatch(k, [x, out], p, ewGrid(plan.nOut, wg));
    return;
  }
  const wg = ctx.tuning.reduce;
  // One workgroup sums all inputs of one output: strided partial sums, then a tree.
  const k = memo(`reduce_group/${kr}/${rr}/${wg}`, () => ({
    name: "reduce_group",
    bindings: "rw",
    source: `${STRUCT}
${storage([["X", "r"], ["O", "w"]])}
var<workgroup> part: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = ${GROUP_ID};
  let live = o < P.n;
  let base = ${offsetOf(kr, "o", "k")};
  var acc = 0.0;
  if (live) {
    for (var j = lid; j < P.nRed; j += ${wg}u) {
      acc += X[base + ${offsetOf(rr, "j", "r")}];
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  if (live && lid == 0u) { O[o] = part[0]; }
}`,
  }));
  ctx.batch.dispatch(k, [x, out], p, grid(plan.nOut));
}
