/**
 * Per-adapter kernel shapes, kept apart from kernel semantics: every entry computes the same
 * result; only speed differs. Measured on Mesa llvmpipe (software, 256-bit SIMD across
 * invocations): plain register blocking with vec4 loads and small workgroups beats bigger
 * tiles; discrete GPUs want many threads and larger per-thread tiles.
 * @module
 */

import type { AdapterSummary } from "./device.ts";

/** Kernel-shape choices; see {@link tuningFor}. */
export interface Tuning {
  /** Table row that matched, for logs. */
  name: string;
  /**
   * GEMM/conv workgroup: `wx`×`wy` invocations; each computes (4·rm)×(4·rn) outputs. With
   * `shared`, plain matmuls stage (4·rm·wy)×`bk` and `bk`×(4·rn·wx) tiles of A and B in
   * workgroup memory (the textbook GPU kernel); without, each invocation fetches its own
   * operands (best on llvmpipe, whose "workgroup memory" is ordinary memory plus barriers).
   */
  gemm: {
    wx: number;
    wy: number;
    rm: number;
    rn: number;
    shared?: boolean;
    /** Convolutions too as workgroup-memory implicit GEMMs (else the register tap kernels). */
    sharedConv?: boolean;
    /** K tile of the workgroup-memory kernels (default 16). */
    bk?: number;
  };
  /** Invocations per workgroup of elementwise kernels. */
  elementwise: number;
  /** Invocations per workgroup of row/channel reductions (power of two). */
  reduce: number;
  /** Split-K target: split a long-K GEMM until it has about this many workgroups. */
  splitKWorkgroups: number;
}

const TABLE: { match: (a: AdapterSummary) => boolean; tuning: Tuning }[] = [
  {
    match: (a) => a.isFallback,
    tuning: {
      name: "software (llvmpipe)",
      gemm: { wx: 8, wy: 4, rm: 4, rn: 2 },
      elementwise: 64,
      reduce: 64,
      splitKWorkgroups: 16,
    },
  },
  {
    match: () => true,
    tuning: {
      name: "discrete GPU",
      gemm: { wx: 16, wy: 16, rm: 2, rn: 2, shared: true, sharedConv: true, bk: 16 },
      elementwise: 256,
      reduce: 256,
      splitKWorkgroups: 512,
    },
  },
];

/** The first table row whose predicate matches the adapter. */
export function tuningFor(adapter: AdapterSummary): Tuning {
  return TABLE.find((r) => r.match(adapter))!.tuning;
}

/**
 * The tile for an m×n output: halves the per-invocation multiplicity (rm, rn) while a
 * workgroup's tile would still cover twice the output, so narrow products (32-channel convs,
 * small heads) do not leave most invocations idle. Thread counts stay as tuned.
 */
export function fitTile(t: Tuning["gemm"], m: number, n: number): Tuning["gemm"] {
  let { rm, rn } = t;
  while (rm > 1 && 4 * t.wy * (rm / 2) >= m) rm /= 2;
  while (rn > 1 && 4 * t.wx * (rn / 2) >= n) rn /= 2;
  return rm === t.rm && rn === t.rn ? t : { ...t, rm, rn };
}
