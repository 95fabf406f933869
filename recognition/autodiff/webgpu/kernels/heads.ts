/**
 * Loss-head kernels: softmax cross-entropy with soft targets (one workgroup per row) and the
 * ArcFace/CosFace margin on cosine logits (one invocation per logit).
 * @module
 */

import type { MarginSpec, RowSpec } from "../../backend.ts";
import { grid, Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { ewGrid, ewMain, groupMain, storage, wgReduceFns } from "./common.ts";
import { memo } from "./memo.ts";

const ROWS = `struct Q { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> P: Q;`;

/**
 * One workgroup per row r: max, Σexp, then probs[r,j] = softmax and
 * loss[r] = Σ_j t[r,j]·(lse − z[r,j]) with lse = max + log Σexp.
 */
export function softmaxCrossEntropy(
  ctx: Ctx,
  logits: GpuBuf,
  targets: GpuBuf,
  loss: GpuBuf,
  probs: GpuBuf,
  s: RowSpec,
): void {
  const wg = ctx.tuning.reduce;
  const k = memo(`softmax_ce/${wg}`, () => ({
    name: "softmaxCrossEntropy",
    bindings: "rrww",
    source: `${ROWS}
${storage([["Z", "r"], ["T", "r"], ["L", "w"], ["PR", "w"]])}
${wgReduceFns(wg)}
${groupMain(wg)}
  if (g >= P.rows) { return; }
  let base = g * P.cols;
  var mx = -3.4e38;
  for (var j = lid; j < P.cols; j += ${wg}u) { mx = max(mx, Z[base + j]); }
  let zmax = wgMax(lid, mx);
  var se = 0.0;
  for (var j = lid; j < P.cols; j += ${wg}u) { se += exp(Z[base + j] - zmax); }
  let total = wgSum(lid, se);
  let lse = zmax + log(total);
  var l = 0.0;
  for (var j = lid; j < P.cols; j += ${wg}u) {
    let z = Z[base + j];
    PR[base + j] = exp(z - zmax) / total;
    l += T[base + j] * (lse - z);
  }
  let lt = wgSum(lid, l);
  if (lid == 0u) { L[g] = lt; }
}`,
  }));
  const p = new Params().u(s.rows, s.cols);
  ctx.batch.dispatch(k, [logits, targets, loss, probs], p, grid(s.rows));
}

/** One workgroup per row r: dz[r,j] = dloss[r]·((Σ_j t[r,j])·p[r,j] − t[r,j]). */
export function softmaxCrossEntropyBackward(
  ctx: Ctx,
  probs: GpuBuf,
  targets: GpuBuf,
  dloss: GpuBuf,
  dlogits: GpuBuf,
  s: RowSpec,
): void {
  const wg = ctx.tuning.reduce;
  const k = memo(`softmax_ce_bwd/${wg}`, () => ({
    name: "softmaxCrossEntropyBackward",
    bindings: "rrrw",
    source: `${ROWS}
${storage([["PR", "r"], ["T", "r"], ["DL", "r"], ["DZ", "w"]])}
${wgReduceFns(wg)}
${groupMain(wg)}
  if (g >= P.rows) { return; }
  let base = g * P.cols;
  var ts = 0.0;
  for (var j = lid; j < P.cols; j += ${wg}u) { ts += T[base + j]; }
  let tsum = wgSum(lid, ts);
  let d = DL[g];
  for (var j = lid; j < P.cols; j += ${wg}u) {
    DZ[base + j] = d * (tsum * PR[base + j] - T[base + j]);
  }
}`,
  }));
  const p = new Params().u(s.rows, s.cols);
  ctx.batch.dispatch(k, [probs, targets, dloss, dlogits], p, grid(s.rows));
}

const MARGIN = `struct Q { n: u32, cols: u32, s: f32, m: f32, cm: f32, sm: f32, th: f32, mm: f32,
  arc: u32, easy: u32 }
@group(0) @binding(0) var<uniform> P: Q;
// φ(c) and φ'(c) at the label (see MarginSpec; th/mm guard unless easy margin).
fn phi(c: f32) -> vec2<f32> {
  if (P.arc == 0u) { return vec2<f32>(c - P.m, 1.0); }
  let sn = sqrt(max(0.0, 1.0 - c * c));
  let v = vec2<f32>(c * P.cm - sn * P.sm, P.cm + P.sm * c / max(sn, 1e-6));
  if (P.easy != 0u) { return select(vec2<f32>(c, 1.0), v, c > 0.0); }
  return select(vec2<f32>(c - P.mm, 1.0), v, c > P.th);
}
fn isLabel(i: u32) -> bool {
  let y = L[i / P.cols];
  return y >= 0.0 && u32(y) == i % P.cols;
}`;

function marginParams(n: number, s: MarginSpec): Params {
  return new Params().u(n, s.cols).f(
    s.s,
    s.m,
    Math.cos(s.m),
    Math.sin(s.m),
    Math.cos(Math.PI - s.m),
    Math.sin(Math.PI - s.m) * s.m,
  ).u(s.kind === "arcface" ? 1 : 0, s.easyMargin ? 1 : 0);
}

/** out[r,j] = s·cos[r,j], or s·φ(cos) at j = label[r]. One invocation per logit. */
export function margin(ctx: Ctx, cos: GpuBuf, labels: GpuBuf, out: GpuBuf, s: MarginSpec): void {
  const wg = ctx.tuning.elementwise;
  const n = s.rows * s.cols;
  const k = memo(`margin/${wg}`, () => ({
    name: "margin",
    bindings: "rrw",
    source: `${
      MARGIN.replace("fn isLabel", `${storage([["C", "r"], ["L", "r"], ["O", "w"]])}\nfn isLabel`)
    }
${ewMain(wg)}
  let c = C[i];
  O[i] = P.s * select(c, phi(c).x, isLabel(i));
}`,
  }));
  ctx.batch.dispatch(k, [cos, labels, out], marginParams(n, s), ewGrid(n, wg));
}

/** dcos = s·dout, or s·φ'(cos)·dout at the label. One invocation per logit. */
export function marginBackward(
  ctx: Ctx,
  cos: GpuBuf,
  labels: GpuBuf,
  dout: GpuBuf,
  dcos: GpuBuf,
  s: MarginSpec,
): void {
  const wg = ctx.tuning.elementwise;
  const n = s.rows * s.cols;
  const k = memo(`margin_bwd/${wg}`, () => ({
    name: "marginBackward",
    bindings: "rrrw",
    source: `${
      MARGIN.replace(
        "fn isLabel",
        `${storage([["C", "r"], ["L", "r"], ["DO", "r"], ["DC", "w"]])}\nfn isLabel`,
      )
    }
${ewMain(wg)}
  let c = C[i];
  DC[i] = P.s * DO[i] * select(1.0, phi(c).y, isLabel(i));
}`,
  }));
  ctx.batch.dispatch(k, [cos, labels, dout, dcos], marginParams(n, s), ewGrid(n, wg));
}
