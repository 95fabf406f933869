/**
 * WGSL snippets shared by the kernels: binding declarations and the linear invocation index of
 * a 1-D launch spread over a 2-D grid (WebGPU caps each grid dimension at 65535 workgroups).
 * @module
 */

import { grid } from "../batch.ts";

/** `@group(0) @binding(i+1) var<storage, …> name: array<type>;` for each entry. */
export function storage(
  decls: [name: string, access: "r" | "w", type?: string][],
): string {
  return decls.map(([name, access, type], i) =>
    `@group(0) @binding(${i + 1}) var<storage, ${
      access === "w" ? "read_write" : "read"
    }> ${name}: array<${type ?? "f32"}>;`
  ).join("\n");
}

/** Signature + index prologue of a 1-D elementwise kernel: defines `i`, returns past `P.n`. */
export function ewMain(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${wg}u + lid;
  if (i >= P.n) { return; }`;
}

/** Workgroup grid covering `n` invocations in workgroups of `wg`. */
export function ewGrid(n: number, wg: number): [number, number, number] {
  return grid(Math.ceil(n / wg));
}

/** Linear workgroup id of a 2-D grid (one workgroup per row/channel/output). */
export const GROUP_ID = "(wid.y * nwg.x + wid.x)";

/**
 * WGSL lines that decompose linear index `idx` over `shape` (uniform vec4 array `P.shape`,
 * rank `rank` known at compile time) and accumulate `Σ coord·P.<s>[d]` into `var <s>Idx`.
 */
export function decompose(rank: number, idx: string, strides: string[]): string {
  const lines = [`var rem = ${idx};`];
  for (const s of strides) lines.push(`var ${s}Idx = 0u;`);
  for (let d = rank - 1; d >= 0; d--) {
    const e = `[${d >> 2}][${d & 3}]`;
    lines.push(`{ let sz = P.shape${e}; let c = rem % sz; rem = rem / sz;`);
    for (const s of strides) lines.push(`  ${s}Idx += c * P.${s}${e};`);
    lines.push(`}`);
  }
  return lines.join("\n  ");
}

/**
 * WGSL `fn wgSum(lid, v) -> f32` (and `wgMax`): the sum/max of `v` over the `wg` invocations of
 * a workgroup, via a tree in workgroup memory; every invocation gets the result. Call from
 * workgroup-uniform control flow.
 */
export function wgReduceFns(wg: number): string {
  const fn = (name: string, combine: string) => `
fn ${name}(lid: u32, v: f32) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = ${combine}; }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}`;
  return `var<workgroup> part: array<f32, ${wg}>;` +
    fn("wgSum", "part[lid] + part[lid + s]") + fn("wgMax", "max(part[lid], part[lid + s])");
}

/** Signature of a one-workgroup-per-item kernel: defines `g` (item) and `lid`. */
export function groupMain(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = ${GROUP_ID};`;
}
