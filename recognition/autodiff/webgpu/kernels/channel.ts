/**
 * Per-channel kernels on x laid out (n, c, hw): training batch norm (statistics, apply,
 * backward) and PReLU. Statistics and parameter gradients take one workgroup per channel
 * (tree reduction over n·hw); the elementwise parts take one invocation per element.
 * @module
 */

import type { BatchNormSpec, ChannelSpec } from "../../backend.ts";
import { grid, Params } from "../batch.ts";
import type { Ctx, GpuBuf } from "../ctx.ts";
import { groupMain, storage, wgReduceFns } from "./common.ts";
import { run1d } from "./elementwise.ts";
import { memo } from "./memo.ts";

const STRUCT = `struct Q { n: u32, c: u32, hw: u32, eps: f32, mom: f32 }
@group(0) @binding(0) var<uniform> P: Q;`;

/** Loop header over channel g's `count` = n·hw elements, with `idx` the index of (b, g, p). */
const OVER_CHANNEL = `for (var j = lid; j < count; j += WGu) {
    let idx = ((j / P.hw) * P.c + g) * P.hw + j % P.hw;`;

function chParams(s: ChannelSpec, eps = 0, mom = 0): Params {
  return new Params().u(s.n, s.c, s.hw).f(eps, mom);
}

/** The per-element kernels' uniforms after `n` (= n·c·hw), and their values. */
const EW_FIELDS = ", c: u32, hw: u32";
const ewParams = (s: ChannelSpec) => new Params().u(s.n * s.c * s.hw, s.c, s.hw);

/**
 * Batch-norm statistics: one workgroup per channel computes the mean, then the biased variance
 * (two passes over x, which is steadier than E[x²]−E[x]²), writes saveMean/saveInvStd and
 * updates the running statistics in place (unbiased variance for the running estimate).
 */
function bnStats(
  ctx: Ctx,
  x: GpuBuf,
  rm: GpuBuf,
  rv: GpuBuf,
  sm: GpuBuf,
  si: GpuBuf,
  s: BatchNormSpec,
) {
  const wg = ctx.tuning.reduce;
  const k = memo(`bn_stats/${wg}`, () => ({
    name: "batchNormStats",
    bindings: "rwwww",
    source: `${STRUCT}
${storage([["X", "r"], ["RM", "w"], ["RV", "w"], ["SM", "w"], ["SI", "w"]])}
${wgReduceFns(wg)}
${groupMain(wg)}
  if (g >= P.c) { return; }
  let count = P.n * P.hw;
  var acc = 0.0;
  ${OVER_CHANNEL.replace("WG", String(wg))}
    acc += X[idx];
  }
  let m = f32(count);
  let mean = wgSum(lid, acc) / m;
  acc = 0.0;
  ${OVER_CHANNEL.replace("WG", String(wg))}
    let d = X[idx] - mean;
    acc += d * d;
  }
  let v = wgSum(lid, acc) / m;
  if (lid == 0u) {
    SM[g] = mean;
    SI[g] = inverseSqrt(v + P.eps);
    let unbiased = select(v, v * m / (m - 1.0), count > 1u);
    RM[g] = (1.0 - P.mom) * RM[g] + P.mom * mean;
    RV[g] = (1.0 - P.mom) * RV[g] + P.mom * unbiased;
  }
}`,
  }));
  ctx.batch.dispatch(k, [x, rm, rv, sm, si], chParams(s, s.eps, s.momentum), grid(s.c));
}

/** Training batch norm: statistics, then out = γ·(x−μ)·invStd + β per element. */
export function batchNormTrain(
  ctx: Ctx,
  x: GpuBuf,
  gamma: GpuBuf,
  beta: GpuBuf,
  runMean: GpuBuf,
  runVar: GpuBuf,
  out: GpuBuf,
  saveMean: GpuBuf,
  saveInvStd: GpuBuf,
  s: BatchNormSpec,
): void {
  bnStats(ctx, x, runMean, runVar, saveMean, saveInvStd, s);
  // One invocation normalises one element.
  run1d(
    ctx,
    "batchNormApply",
    EW_FIELDS,
    [["X", "r"], ["G", "r"], ["B", "r"], ["SM", "r"], ["SI", "r"], ["O", "w"]],
    `let ch = (i / P.hw) % P.c;
  O[i] = G[ch] * (X[i] - SM[ch]) * SI[ch] + B[ch];`,
    [x, gamma, beta, saveMean, saveInvStd, out],
    ewParams(s),
    s.n * s.c * s.hw,
  );
}

/**
 * Training batch-norm backward: one workgroup per channel sums dβ = Σdy and dγ = Σdy·x̂; then
 * one invocation per element: dx = γ·invStd/M·(M·dy − dβ − x̂·dγ), M = n·hw.
 */
export function batchNormBackward(
  ctx: Ctx,
  x: GpuBuf,
  dy: GpuBuf,
  gamma: GpuBuf,
  saveMean: GpuBuf,
  saveInvStd: GpuBuf,
  dx: GpuBuf,
  dgamma: GpuBuf,
  dbeta: GpuBuf,
  s: ChannelSpec,
): void {
  const wg = ctx.tuning.reduce;
  const k1 = memo(`bn_bwd_reduce/${wg}`, () => ({
    name: "batchNormBackwardReduce",
    bindings: "rrrrww",
    source: `${STRUCT}
${storage([["X", "r"], ["DY", "r"], ["SM", "r"], ["SI", "r"], ["DG", "w"], ["DB", "w"]])}
${wgReduceFns(wg)}
${groupMain(wg)}
  if (g >= P.c) { return; }
  let count = P.n * P.hw;
  let mean = SM[g];
  let inv = SI[g];
  var sdy = 0.0;
  var sdyx = 0.0;
  ${OVER_CHANNEL.replace("WG", String(wg))}
    let d = DY[idx];
    sdy += d;
    sdyx += d * (X[idx] - mean) * inv;
  }
  let tdy = wgSum(lid, sdy);
  let tdyx = wgSum(lid, sdyx);
  if (lid == 0u) {
    DB[g] = tdy;
    DG[g] = tdyx;
  }
}`,
  }));
  ctx.batch.dispatch(k1, [x, dy, saveMean, saveInvStd, dgamma, dbeta], chParams(s), grid(s.c));
  // One invocation computes dx of one element.
  run1d(
    ctx,
    "batchNormBackwardApply",
    `${EW_FIELDS}, m: f32`,
    [...["X", "DY", "G", "SM", "SI", "DG", "DB"].map((b): [string, "r"] => [b, "r"]), ["DX", "w"]],
    `let ch = (i / P.hw) % P.c;
  let inv = SI[ch];
  let xh = (X[i] - SM[ch]) * inv;
  DX[i] = G[ch] * inv / P.m * (P.m * DY[i] - DB[ch] - xh * DG[ch]);`,
    [x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta, dx],
    ewParams(s).f(s.n * s.hw),
    s.n * s.c * s.hw,
  );
}

/** out = x > 0 ? x : α[ch]·x. One invocation maps one element. */
export function prelu(ctx: Ctx, x: GpuBuf, alpha: GpuBuf, out: GpuBuf, s: ChannelSpec): void {
  run1d(
    ctx,
    "prelu",
    EW_FIELDS,
    [["X", "r"], ["A", "r"], ["O", "w"]],
    `let v = X[i];
  O[i] = select(A[(i / P.hw) % P.c] * v, v, v > 0.0);`,
    [x, alpha, out],
    ewParams(s),
    s.n * s.c * s.hw,
  );
}

/**
 * PReLU backward: one invocation per element for dx = dy·(x > 0 ? 1 : α[ch]); one workgroup per
 * channel for dα[ch] = Σ_{x ≤ 0} dy·x.
 */
export function preluBackward(
  ctx: Ctx,
  x: GpuBuf,
  alpha: GpuBuf,
  dy: GpuBuf,
  dx: GpuBuf,
  dalpha: GpuBuf,
  s: ChannelSpec,
): void {
  run1d(
    ctx,
    "preluBackwardInput",
    EW_FIELDS,
    [["X", "r"], ["A", "r"], ["DY", "r"], ["DX", "w"]],
    "DX[i] = select(A[(i / P.hw) % P.c] * DY[i], DY[i], X[i] > 0.0);",
    [x, alpha, dy, dx],
    ewParams(s),
    s.n * s.c * s.hw,
  );
  const wg = ctx.tuning.reduce;
  const k2 = memo(`prelu_dalpha/${wg}`, () => ({
    name: "preluBackwardAlpha",
    bindings: "rrw",
    source: `${STRUCT}
${storage([["X", "r"], ["DY", "r"], ["DA", "w"]])}
${wgReduceFns(wg)}
${groupMain(wg)}
  if (g >= P.c) { return; }
  let count = P.n * P.hw;
  var acc = 0.0;
  ${OVER_CHANNEL.replace("WG", String(wg))}
    let v = X[idx];
    if (v <= 0.0) { acc += DY[idx] * v; }
  }
  let t = wgSum(lid, acc);
  if (lid == 0u) { DA[g] = t; }
}`,
  }));
  ctx.batch.dispatch(k2, [x, dy, dalpha], chParams(s), grid(s.c));
}
