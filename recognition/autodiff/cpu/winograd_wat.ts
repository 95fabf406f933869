/**
 * WebAssembly SIMD text of the Winograd-style fast 3×3 convolutions, generated from the
 * schemes' transform matrices (`SCHEMES`): input tiles are transformed (V = Bᵀ d B), multiplied
 * channel-wise by the transformed kernel (U = G g Gᵀ, done by the caller) as P² GEMMs (one per
 * transformed position ξ: C_out×C_in times C_in×tiles, the module's `$gemm`), and transformed
 * back (Y = Aᵀ M A). The weight gradient is the adjoint: dU[ξ] = Σ_tiles Z[ξ]·V[ξ]ᵀ with
 * Z = A dY Aᵀ, then dW = Gᵀ dU G (caller).
 * Transforms run on 4 horizontally adjacent tiles at once (one per f32x4 lane), on zero-padded
 * copies of the input rows a tile row needs, so the inner loops have no bounds checks.
 * Work is cut into blocks of tile rows (several images' rows when the images are small); each
 * block's output is written by exactly one thread, in an order that depends only on the shapes,
 * so the bits do not depend on the thread count.
 * @module
 */
import { lanes } from "./gemm_pack_wat.ts";

/** A fast-convolution scheme: 1-D transforms, applied along both dimensions. */
export interface Scheme {
  /** Export name of its job kernel. */
  name: string;
  /** Input taps per tile (per dimension). */
  nIn: number;
  /** Input advance from one tile to the next (2 or 4). */
  step: number;
  /** Bᵀ: P rows over the nIn taps. */
  bt: number[][];
  /** Aᵀ: nOut rows over the P products (nOut 2 or 4). */
  at: number[][];
  /** G: P rows over the 3 kernel taps (used by the caller). */
  g: number[][];
}

/**
 * The schemes. `f43`: Winograd F(4, 3) with Lavin's points 0, ±1, ±2 (stride 1: 36 products
 * per 4×4 outputs instead of 144; F(2, 3), 16 per 2×2, lost to it in every pass of the bench
 * nets' layers); its transforms are factored (`apply1d`).
 * `s2`: stride 2, padding 1, as even and odd input phases: y[2t] and y[2t+1] from taps
 * x[4t−1 … 4t+3] as w1·x[4t] (even phase, 1 tap) and F(2, 2) on the odd phase (3 products for
 * 2 outputs of a 2-tap kernel): 5 products per 2 outputs, 25 per 2×2 instead of 36.
 * `s2dx`: the input gradient of `s2` (a transposed stride-2 convolution): dx[4t … 4t+3] from
 * dy[2t … 2t+2], even outputs w1·dy, odd outputs F(2, 2) with kernel (w2, w0): 25 products
 * per 4×4 dx instead of 36.
 */
export const SCHEMES = {
  f43: {
    name: "wino43",
    nIn: 6,
    step: 4,
    bt: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    g: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
  },
  s2: {
    name: "wino_s2",
    nIn: 5,
    step: 4,
    bt: [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, -1, 0, 0], [0, 0, 1, 0, 0], [0, 0, -1, 0, 1]],
    at: [[1, 0, 1, 1, 0], [0, 1, 0, 1, 1]],
    g: [[0, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]],
  },
  s2dx: {
    name: "wino_s2dx",
    nIn: 3,
    step: 2,
    bt: [[1, 0, 0], [0, 1, 0], [1, -1, 0], [0, 1, 0], [0, -1, 1]],
    at: [[1, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 1]],
    g: [[0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 0, 0]],
  },
} as const satisfies Record<string, Scheme>;

/** Schemes with a weight gradient (mode 2 of the job kernel, and a `_kun` untransform). */
export const WEIGHT_SCHEMES: readonly string[] = ["wino43", "wino_s2"];

/** `(local.get $x)`. */
export const L = (x: string) => `(local.get $${x})`;
/** `(local.set $x v)`. */
export const set = (x: string, v: string) => `(local.set $${x} ${v})`;
/** Declarations of v128 locals. */
export const v128Locals = (names: string[]) => names.map((n) => `(local $${n} v128)`).join(" ");
const sh = (a: string, b: string, l: number[]) => `(i8x16.shuffle ${lanes(...l)} ${a} ${b})`;

/**
 * Σ coef·vec in order (at least one non-zero coefficient); a coefficient other than ±1 is a
 * product |c|·vec added or subtracted, so rows sharing |c|·vec share one product (value
 * numbering in the engine's compiler).
 */
function lin(coefs: readonly number[], vecs: string[]): string {
  let out = "";
  coefs.forEach((c, i) => {
    if (c === 0) return;
    const a = Math.abs(c);
    const v = a === 1 ? vecs[i] : `(f32x4.mul ${vecs[i]} (v128.const f32x4 ${a} ${a} ${a} ${a}))`;
    if (!out) out = c > 0 ? v : `(f32x4.neg ${v})`;
    else out = `(${c > 0 ? "f32x4.add" : "f32x4.sub"} ${out} ${v})`;
  });
  return out;
}
/** Σ coef·vec with a positive term first, and a coefficient shared by every term factored out. */
function linF(coefs: readonly number[], vecs: string[]): string {
  const nz = coefs.flatMap((c, i) => (c === 0 ? [] : [i]));
  const a = Math.abs(coefs[nz[0]]);
  if (a !== 1 && nz.every((i) => Math.abs(coefs[i]) === a)) {
    return `(f32x4.mul ${linF(coefs.map((c) => Math.sign(c)), vecs)} ${f32c(a)})`;
  }
  const first = nz.find((i) => coefs[i] > 0) ?? nz[0];
  const order = [first, ...nz.filter((i) => i !== first)];
  return lin(order.map((i) => coefs[i]), order.map((i) => vecs[i]));
}
const f32c = (a: number) => `(v128.const f32x4 ${a} ${a} ${a} ${a})`;
/** Temporaries of {@link apply1d}. */
const Q_LOCALS = Array.from({ length: 8 }, (_, i) => `q${i}`);

/**
 * The 1-D transform out[r] = Σ_k m[r][k]·vecs[k]: statements (into the `q` temporaries) and
 * one expression per row. A matrix of ±1 and 0 is summed row by row (`lin`, the stride-2
 * schemes' code). Others are factored: input pairs that every row takes as a sum or a
 * difference (v_k ± v_l, computed once), then row pairs a, b whose half-sum e and half-difference
 * o are sparser (a = e + o, b = e − o); the rest row by row.
 */
function apply1d(m: readonly (readonly number[])[], vecs: string[]): {
  pre: string[];
  outs: string[];
} {
  if (m.every((r) => r.every((c) => c === 0 || Math.abs(c) === 1))) {
    return { pre: [], outs: m.map((r) => lin(r, vecs)) };
  }
  const pre: string[] = [];
  const tmp = (expr: string) => {
    const name = Q_LOCALS[pre.length];
    if (!name) throw new Error("winograd: too many transform temporaries");
    pre.push(set(name, expr));
    return L(name);
  };
  const cols = vecs.slice();
  let mat = m.map((r) => r.slice());
  const used = new Set<number>();
  for (let k = 0; k < cols.length; k++) {
    for (let l = k + 1; l < cols.length && !used.has(k); l++) {
      if (used.has(l)) continue;
      const same = mat.map((r) => r[k] !== 0 && r[l] === r[k]);
      const opp = mat.map((r) => r[k] !== 0 && r[l] === -r[k]);
      const ok = mat.every((r, i) => (r[k] === 0 && r[l] === 0) || same[i] || opp[i]);
      if (!ok || !same.some(Boolean) || !opp.some(Boolean)) continue;
      const [ck, cl] = [cols[k], cols[l]];
      cols[k] = tmp(`(f32x4.add ${ck} ${cl})`);
      cols[l] = tmp(`(f32x4.sub ${ck} ${cl})`);
      mat = mat.map((r, i) => {
        const n = r.slice();
        n[k] = same[i] ? r[k] : 0;
        n[l] = opp[i] ? r[k] : 0;
        return n;
      });
      used.add(k).add(l);
    }
  }
  const nnz = (r: readonly number[]) => r.filter((c) => c !== 0).length;
  const outs: (string | null)[] = mat.map(() => null);
  for (let a = 0; a < mat.length; a++) {
    for (let b = a + 1; b < mat.length && !outs[a]; b++) {
      if (outs[b]) continue;
      const e = mat[a].map((c, i) => (c + mat[b][i]) / 2);
      const o = mat[a].map((c, i) => (c - mat[b][i]) / 2);
      if (
        !nnz(e) || !nnz(o) || [...e, ...o].some((c) => !Number.isInteger(c)) ||
        nnz(e) + nnz(o) >= nnz(mat[a]) + nnz(mat[b])
      ) continue;
      const E = tmp(linF(e, cols)), O = tmp(linF(o, cols));
      outs[a] = `(f32x4.add ${E} ${O})`;
      outs[b] = `(f32x4.sub ${E} ${O})`;
    }
  }
  return { pre, outs: outs.map((x, i) => x ?? linF(mat[i], cols)) };
}
const transpose = (m: readonly (readonly number[])[]) => m[0].map((_, j) => m.map((r) => r[j]));

/**
 * Floats between the P² planes of V, M and Z beyond their cIn·Tb (cOut·Tb): plane sizes are often
 * multiples of 4 KiB, which would put the stores of a transform into one L1 cache set.
 */
export const WINO_PAD = 16;
const PAD = WINO_PAD;

/** Floats of a padded scratch row of a scheme for `twp` tiles. */
export function scratchRow(s: Scheme, twp: number): number {
  return Math.ceil((s.step * twp + s.nIn + 4) / 4) * 4;
}

/**
 * Taps of the 4 tiles (lanes) from a padded scratch row at byte address `row` + step·tx·4:
 * tap k = (r[b+k], r[b+k+step], r[b+k+2·step], r[b+k+3·step]), b = step·tx.
 */
function gathers(s: Scheme, base: string, prefix: string): string[] {
  const out: string[] = [];
  if (s.step === 2) {
    for (let k = 0; k < s.nIn; k += 2) {
      out.push(set("va", `(v128.load offset=${4 * k} ${base})`));
      out.push(set("vb", `(v128.load offset=${4 * k + 16} ${base})`));
      out.push(set(`${prefix}${k}`, sh(L("va"), L("vb"), [0, 2, 4, 6])));
      if (k + 1 < s.nIn) out.push(set(`${prefix}${k + 1}`, sh(L("va"), L("vb"), [1, 3, 5, 7])));
    }
  } else if (s.step === 4) {
    for (let j = 0; j < 5; j++) out.push(set(`l${j}`, `(v128.load offset=${16 * j} ${base})`));
    // 4×4 transpose of l0…l3 gives taps 0…3; tap 4 is lane 0 of l1…l4
    out.push(set("va", sh(L("l0"), L("l1"), [0, 4, 1, 5])));
    out.push(set("vb", sh(L("l0"), L("l1"), [2, 6, 3, 7])));
    out.push(set("vc", sh(L("l2"), L("l3"), [0, 4, 1, 5])));
    out.push(set("vd", sh(L("l2"), L("l3"), [2, 6, 3, 7])));
    const taps = [
      sh(L("va"), L("vc"), [0, 1, 4, 5]),
      sh(L("va"), L("vc"), [2, 3, 6, 7]),
      sh(L("vb"), L("vd"), [0, 1, 4, 5]),
      sh(L("vb"), L("vd"), [2, 3, 6, 7]),
    ];
    for (let k = 0; k < Math.min(4, s.nIn); k++) out.push(set(`${prefix}${k}`, taps[k]));
    // taps 4 and 5: lanes 0 and 1 of l1…l4
    for (let k = 4; k < s.nIn; k++) {
      out.push(set("va", sh(L("l1"), L("l2"), [k - 4, k, k - 4, k])));
      out.push(set("vb", sh(L("l3"), L("l4"), [k - 4, k, k - 4, k])));
      out.push(set(`${prefix}${k}`, sh(L("va"), L("vb"), [0, 1, 4, 5])));
    }
  } else throw new Error(`winograd: step ${s.step}`);
  return out;
}

/** The functions of scheme `s` (inside the GEMM module: they call its `$gemm` and `$min`). */
function schemeWat(s: Scheme, mr: number): string {
  const P = s.bt.length, nOut = s.at.length, nIn = s.nIn, N = `_${s.name}`;
  const dInv = Array.from({ length: nIn }, (_, k) => `d${k}`);
  const tLoc: string[] = [];
  for (let r = 0; r < nIn; r++) for (let j = 0; j < P; j++) tLoc.push(`t${r}_${j}`);
  const mLoc: string[] = [];
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) mLoc.push(`m${i}_${j}`);
  const sLoc: string[] = [];
  for (let i = 0; i < P; i++) for (let b = 0; b < nOut; b++) sLoc.push(`s${i}_${b}`);
  const yLoc: string[] = [];
  for (let a = 0; a < nOut; a++) for (let b = 0; b < nOut; b++) yLoc.push(`y${a}_${b}`);
  const plane = (k: number) => `(i32.mul (local.get $xs) (i32.const ${k}))`;

  // input transform: per tap row r, (d Bᵀᵀ)[r][j] = Σ_k bt[j][k]·d_k; then along rows
  const inBody: string[] = [];
  for (let r = 0; r < nIn; r++) {
    const base =
      `(i32.add (local.get $sc) (i32.add (i32.mul (local.get $L4) (i32.const ${r})) (i32.mul (local.get $tx) (i32.const ${
        4 * s.step
      }))))`;
    inBody.push(...gathers(s, base, "d"));
    const { pre, outs } = apply1d(s.bt, dInv.map(L));
    inBody.push(...pre);
    for (let j = 0; j < P; j++) inBody.push(set(`t${r}_${j}`, outs[j]));
  }
  // a factored column's statements come before its stores (the temporaries are shared)
  const factored = apply1d(s.bt, dInv.map(L)).pre.length > 0;
  for (let jj = 0; jj < P; jj++) {
    for (let ii = 0; ii < P; ii++) {
      const [i, j] = factored ? [ii, jj] : [jj, ii];
      const { pre, outs } = apply1d(s.bt, Array.from({ length: nIn }, (_, r) => L(`t${r}_${j}`)));
      if (i === 0) inBody.push(...pre);
      inBody.push(`(v128.store (i32.add (local.get $dst) ${plane(P * i + j)}) ${outs[i]})`);
    }
  }

  // output transform: s_i_b = Σ_j at[b][j]·m_i_j, y_a_b = Σ_i at[a][i]·s_i_b
  const outBody: string[] = [];
  for (let k = 0; k < P * P; k++) {
    outBody.push(set(mLoc[k], `(v128.load (i32.add (local.get $src) ${plane(k)}))`));
  }
  for (let i = 0; i < P; i++) {
    const { pre, outs } = apply1d(s.at, Array.from({ length: P }, (_, j) => L(`m${i}_${j}`)));
    outBody.push(...pre);
    for (let b = 0; b < nOut; b++) outBody.push(set(`s${i}_${b}`, outs[b]));
  }
  const factoredOut = apply1d(s.at, mLoc.slice(0, P).map(L)).pre.length > 0;
  for (let aa = 0; aa < nOut; aa++) {
    for (let bb = 0; bb < nOut; bb++) {
      const [a, b] = factoredOut ? [bb, aa] : [aa, bb];
      const { pre, outs } = apply1d(s.at, Array.from({ length: P }, (_, i) => L(`s${i}_${b}`)));
      if (a === 0) outBody.push(...pre);
      outBody.push(set(`y${a}_${b}`, outs[a]));
    }
  }
  // row a of the 4 tiles, tile-major: nOut = 2 interleaves, nOut = 4 transposes
  const rowVecs = (a: number): string[] => {
    const y = (b: number) => L(`y${a}_${b}`);
    if (nOut === 2) return [sh(y(0), y(1), [0, 4, 1, 5]), sh(y(0), y(1), [2, 6, 3, 7])];
    return [
      set("va", sh(y(0), y(1), [0, 4, 1, 5])),
      set("vb", sh(y(0), y(1), [2, 6, 3, 7])),
      set("vc", sh(y(2), y(3), [0, 4, 1, 5])),
      set("vd", sh(y(2), y(3), [2, 6, 3, 7])),
      sh(L("va"), L("vc"), [0, 1, 4, 5]),
      sh(L("va"), L("vc"), [2, 3, 6, 7]),
      sh(L("vb"), L("vd"), [0, 1, 4, 5]),
      sh(L("vb"), L("vd"), [2, 3, 6, 7]),
    ];
  };
  for (let a = 0; a < nOut; a++) {
    const parts = rowVecs(a);
    const sets = parts.filter((p) => p.startsWith("(local.set"));
    const vecs = parts.filter((p) => !p.startsWith("(local.set"));
    const seg = 4 * nOut; // floats of the 4 tiles' outputs in a row
    outBody.push(`
          (if (i32.lt_u (i32.add (local.get $y) (i32.const ${a})) (local.get $oh)) (then
            (local.set $dst (i32.add (local.get $row) (i32.add (i32.mul (local.get $ow4) (i32.const ${a}))
              (i32.mul (local.get $tx) (i32.const ${4 * nOut})))))
            ${sets.join("\n            ")}
            (if (i32.le_s (i32.add (i32.mul (local.get $tx) (i32.const ${nOut})) (i32.const ${seg})) (local.get $ow))
              (then ${
      vecs.map((v, q) => `(v128.store offset=${16 * q} (local.get $dst) ${v})`).join(" ")
    })
              (else
                ;; a ragged right edge: only the ow − nOut·tx outputs inside the row
                (local.set $cnt (i32.sub (local.get $ow) (i32.mul (local.get $tx) (i32.const ${nOut}))))
                (if (i32.gt_s (local.get $cnt) (i32.const 0)) (then
                  ${
      vecs.map((v, q) => `(v128.store offset=${16 * q} (local.get $sc) ${v})`).join(" ")
    }
                  (memory.copy (local.get $dst) (local.get $sc) (i32.shl (local.get $cnt) (i32.const 2)))))))))`);
  }

  // weight gradient: Z = A dY Aᵀ from the nOut×nOut dY tile (weight-gradient schemes)
  const dyBody: string[] = [];
  const A = transpose(s.at); // P × nOut
  if (nOut === 2) {
    for (let a = 0; a < 2; a++) {
      const p =
        `(i32.add (local.get $sc) (i32.add (i32.mul (local.get $L4) (i32.const ${a})) (i32.shl (local.get $tx) (i32.const 3))))`;
      dyBody.push(set("va", `(v128.load ${p})`), set("vb", `(v128.load offset=16 ${p})`));
      dyBody.push(set(`e${a}_0`, sh(L("va"), L("vb"), [0, 2, 4, 6])));
      dyBody.push(set(`e${a}_1`, sh(L("va"), L("vb"), [1, 3, 5, 7])));
    }
    for (let i = 0; i < P; i++) {
      for (let b = 0; b < 2; b++) {
        dyBody.push(set(`s${i}_${b}`, lin(A[i], [L(`e0_${b}`), L(`e1_${b}`)])));
      }
    }
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        dyBody.push(
          `(v128.store (i32.add (local.get $dst) ${plane(P * i + j)}) ${
            lin(A[j], [L(`s${i}_0`), L(`s${i}_1`)])
          })`,
        );
      }
    }
  } else {
    // 4 dY rows of the 4 tiles (16 floats each), transposed to taps; then A along both axes
    for (let a = 0; a < 4; a++) {
      const p =
        `(i32.add (local.get $sc) (i32.add (i32.mul (local.get $L4) (i32.const ${a})) (i32.shl (local.get $tx) (i32.const 4))))`;
      for (let q = 0; q < 4; q++) dyBody.push(set(`l${q}`, `(v128.load offset=${16 * q} ${p})`));
      dyBody.push(
        set("va", sh(L("l0"), L("l1"), [0, 4, 1, 5])),
        set("vb", sh(L("l0"), L("l1"), [2, 6, 3, 7])),
        set("vc", sh(L("l2"), L("l3"), [0, 4, 1, 5])),
        set("vd", sh(L("l2"), L("l3"), [2, 6, 3, 7])),
        set(`e${a}_0`, sh(L("va"), L("vc"), [0, 1, 4, 5])),
        set(`e${a}_1`, sh(L("va"), L("vc"), [2, 3, 6, 7])),
        set(`e${a}_2`, sh(L("vb"), L("vd"), [0, 1, 4, 5])),
        set(`e${a}_3`, sh(L("vb"), L("vd"), [2, 3, 6, 7])),
      );
    }
    for (let b = 0; b < 4; b++) {
      const { pre, outs } = apply1d(A, [0, 1, 2, 3].map((a) => L(`e${a}_${b}`)));
      dyBody.push(...pre);
      for (let i = 0; i < P; i++) dyBody.push(set(`s${i}_${b}`, outs[i]));
    }
    for (let i = 0; i < P; i++) {
      const { pre, outs } = apply1d(A, [0, 1, 2, 3].map((b) => L(`s${i}_${b}`)));
      dyBody.push(...pre);
      for (let j = 0; j < P; j++) {
        dyBody.push(`(v128.store (i32.add (local.get $dst) ${plane(P * i + j)}) ${outs[j]})`);
      }
    }
  }
  const PP = P * P;

  return `
  ;; V (P²×cIn×ld: row stride ld, tile columns toff…toff+twp) of tile row ty of one image x (cIn×h×w).
  (func $in${N} (param $x i32) (param $cIn i32) (param $h i32) (param $w i32) (param $pad i32)
      (param $ty i32) (param $twp i32) (param $V i32) (param $ld i32) (param $toff i32) (param $sc i32)
    (local $c i32) (local $r i32) (local $y i32) (local $L4 i32) (local $u1 i32) (local $row i32)
    (local $tx i32) (local $dst i32) (local $xs i32) (local $Lf i32)
    ${
    v128Locals([
      "va",
      "vb",
      "vc",
      "vd",
      "l0",
      "l1",
      "l2",
      "l3",
      "l4",
      ...dInv,
      ...tLoc,
      ...Q_LOCALS,
    ])
  }
    (local.set $Lf (i32.and (i32.add (i32.mul (local.get $twp) (i32.const ${s.step})) (i32.const ${
    nIn + 7
  })) (i32.const -4)))
    (local.set $L4 (i32.shl (local.get $Lf) (i32.const 2)))
    (local.set $u1 (call $min (i32.add (local.get $pad) (local.get $w)) (local.get $Lf)))
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cIn) (local.get $ld)) (i32.const ${PAD})) (i32.const 2)))
    ;; zero once: rows outside the image and the margins (u < pad, u ≥ u1) are never written below
    (memory.fill (local.get $sc) (i32.const 0) (i32.mul (local.get $L4) (i32.const ${nIn})))
    (local.set $c (i32.const 0))
    (block $cd (loop $cl (br_if $cd (i32.ge_u (local.get $c) (local.get $cIn)))
      ;; the tile row's input rows, zero-padded: scratch[r][u] = x[c][step·ty − pad + r][u − pad]
      (local.set $r (i32.const 0))
      (block $rd (loop $rl (br_if $rd (i32.ge_u (local.get $r) (i32.const ${nIn})))
        (local.set $y (i32.add (i32.sub (i32.mul (local.get $ty) (i32.const ${s.step})) (local.get $pad)) (local.get $r)))
        (local.set $row (i32.add (i32.add (local.get $sc) (i32.mul (local.get $r) (local.get $L4)))
          (i32.shl (local.get $pad) (i32.const 2))))
        (if (i32.and (i32.ge_s (local.get $y) (i32.const 0)) (i32.lt_s (local.get $y) (local.get $h)))
          (then
            (memory.copy (local.get $row)
              (i32.shl (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (local.get $c) (local.get $h)) (local.get $y)) (local.get $w))) (i32.const 2))
              (i32.shl (i32.sub (local.get $u1) (local.get $pad)) (i32.const 2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1))) (br $rl)))
      (local.set $dst (i32.shl (i32.add (local.get $V) (i32.add (i32.mul (local.get $c) (local.get $ld)) (local.get $toff))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${inBody.join("\n          ")}
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $c (i32.add (local.get $c) (i32.const 1))) (br $cl))))

  ;; Output tile row ty of one image out (cOut×oh×ow) from M (P²×cOut×ld, columns toff…).
  (func $out${N} (param $M i32) (param $cOut i32) (param $ld i32) (param $toff i32) (param $out i32)
      (param $oh i32) (param $ow i32) (param $ty i32) (param $twp i32) (param $sc i32)
    (local $o i32) (local $tx i32) (local $src i32) (local $xs i32) (local $y i32) (local $row i32)
    (local $ow4 i32) (local $dst i32) (local $cnt i32)
    ${v128Locals(["va", "vb", "vc", "vd", ...mLoc, ...sLoc, ...yLoc, ...Q_LOCALS])}
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cOut) (local.get $ld)) (i32.const ${PAD})) (i32.const 2)))
    (local.set $ow4 (i32.shl (local.get $ow) (i32.const 2)))
    (local.set $y (i32.mul (local.get $ty) (i32.const ${nOut})))
    (local.set $o (i32.const 0))
    (block $od (loop $ol (br_if $od (i32.ge_u (local.get $o) (local.get $cOut)))
      (local.set $src (i32.shl (i32.add (local.get $M) (i32.add (i32.mul (local.get $o) (local.get $ld)) (local.get $toff))) (i32.const 2)))
      (local.set $row (i32.shl (i32.add (local.get $out) (i32.mul (i32.add (i32.mul (local.get $o) (local.get $oh)) (local.get $y)) (local.get $ow))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${outBody.join("\n          ")}
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1))) (br $ol))))
${WEIGHT_SCHEMES.includes(s.name) ? dyWat(N, P, nOut, dyBody) : ""}
  ;; Job kernel (see winogradWat).
  (func (export "${s.name}") (param $mode i32) (param $x i32) (param $u i32) (param $out i32)
      (param $ctr i32) (param $n i32) (param $cIn i32) (param $h i32) (param $w i32) (param $cOut i32)
      (param $pad i32) (param $oh i32) (param $ow i32) (param $th i32) (param $twp i32) (param $rows i32)
      (param $ws i32) (param $scratch i32)
    (local $G i32) (local $blk i32) (local $nblk i32) (local $g0 i32) (local $g1 i32) (local $g i32)
    (local $Tb i32) (local $V i32) (local $M i32) (local $sc i32) (local $k i32) (local $b i32)
    (local $ty i32) (local $first i32) (local $Mp i32) (local $tw i32) (local $ld i32)
    (local.set $tw (i32.div_u (i32.add (local.get $ow) (i32.const ${
    nOut - 1
  })) (i32.const ${nOut})))
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $cOut) (i32.const ${
    mr - 1
  })) (i32.const ${mr})) (i32.const ${mr})))
    (local.set $G (i32.mul (local.get $n) (local.get $th)))
    (local.set $nblk (i32.div_u (i32.add (local.get $G) (i32.sub (local.get $rows) (i32.const 1))) (local.get $rows)))
    (local.set $V (local.get $ws))
    (local.set $M (i32.add (local.get $V) (i32.mul (i32.add (i32.mul (local.get $cIn) (i32.add (i32.mul (local.get $rows) (local.get $twp)) (i32.const 4))) (i32.const ${PAD})) (i32.const ${PP}))))
    (local.set $sc (i32.shl (i32.add (local.get $M) (i32.mul (i32.add (i32.mul (local.get $cOut) (i32.add (i32.mul (local.get $rows) (local.get $twp)) (i32.const 4))) (i32.const ${PAD})) (i32.const ${PP}))) (i32.const 2)))
    (local.set $first (i32.const 1))
    (local.set $blk (i32.const 0))
    (block $bd (loop $bl
      (if (i32.eqz (local.get $mode))
        (then (local.set $blk (i32.atomic.rmw.add (i32.shl (local.get $ctr) (i32.const 2)) (i32.const 1)))))
      (br_if $bd (i32.ge_u (local.get $blk) (local.get $nblk)))
      (local.set $g0 (i32.mul (local.get $blk) (local.get $rows)))
      (local.set $g1 (call $min (i32.add (local.get $g0) (local.get $rows)) (local.get $G)))
      ;; the block's tiles, tw a row (the 4-tile vectors' spare lanes spill into the next row's
      ;; first tiles, written after them, or the 4 spare columns of the last row)
      (local.set $Tb (i32.mul (i32.sub (local.get $g1) (local.get $g0)) (local.get $tw)))
      (local.set $ld (i32.add (local.get $Tb) (i32.const 4)))
      (local.set $g (local.get $g0))
      (block $gd (loop $gl (br_if $gd (i32.ge_u (local.get $g) (local.get $g1)))
        (local.set $b (i32.div_u (local.get $g) (local.get $th)))
        (local.set $ty (i32.rem_u (local.get $g) (local.get $th)))
        (call $in${N} (i32.add (local.get $x) (i32.mul (local.get $b) (i32.mul (local.get $cIn) (i32.mul (local.get $h) (local.get $w)))))
          (local.get $cIn) (local.get $h) (local.get $w) (local.get $pad) (local.get $ty) (local.get $twp)
          (local.get $V) (local.get $ld) (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $tw)) (local.get $sc))
        ${
    WEIGHT_SCHEMES.includes(s.name)
      ? `(if (i32.eq (local.get $mode) (i32.const 2)) (then
          (call $dy${N} (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $cOut) (i32.mul (local.get $oh) (local.get $ow)))))
            (local.get $cOut) (local.get $oh) (local.get $ow) (local.get $ty) (local.get $twp)
            (local.get $M) (local.get $ld) (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $tw)) (local.get $sc))))`
      : ""
  }
        (local.set $g (i32.add (local.get $g) (i32.const 1))) (br $gl)))
      (local.set $k (i32.const 0))
      (block $kd (loop $kl (br_if $kd (i32.ge_u (local.get $k) (i32.const ${PP})))
        (if (i32.eqz (local.get $mode))
          (then
            ;; M[ξ] (cOut×Tb) = U[ξ] (cOut×cIn, pre-packed: Mp·cIn floats a plane) · V[ξ] (cIn×Tb)
            (call $gemm_p (local.get $cOut) (local.get $Tb) (local.get $cIn) (i32.const 0) (i32.const 0) (i32.const 0)
              (i32.add (local.get $V) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cIn) (local.get $ld)) (i32.const ${PAD})))) (local.get $ld) (i32.const 1)
              (i32.add (local.get $M) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cOut) (local.get $ld)) (i32.const ${PAD})))) (local.get $ld)
              (i32.const 0) (local.get $scratch)
              (i32.add (local.get $u) (i32.mul (local.get $k) (i32.mul (local.get $Mp) (local.get $cIn))))))
          (else
            ;; dU[ξ] (cOut×cIn) += Z[ξ] (cOut×Tb) · V[ξ]ᵀ (Tb×cIn)
            (call $gemm (local.get $cOut) (local.get $cIn) (local.get $Tb)
              (i32.add (local.get $M) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cOut) (local.get $ld)) (i32.const ${PAD})))) (local.get $ld) (i32.const 1)
              (i32.add (local.get $V) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cIn) (local.get $ld)) (i32.const ${PAD})))) (i32.const 1) (local.get $ld)
              (i32.add (local.get $u) (i32.mul (local.get $k) (i32.mul (local.get $cOut) (local.get $cIn)))) (local.get $cIn)
              (i32.eqz (local.get $first)) (local.get $scratch))))
        (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $kl)))
      (local.set $first (i32.const 0))
      (if (i32.eqz (local.get $mode)) (then
        (local.set $g (local.get $g0))
        (block $od (loop $ol (br_if $od (i32.ge_u (local.get $g) (local.get $g1)))
          (local.set $b (i32.div_u (local.get $g) (local.get $th)))
          (call $out${N} (local.get $M) (local.get $cOut) (local.get $ld)
            (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $tw))
            (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $cOut) (i32.mul (local.get $oh) (local.get $ow)))))
            (local.get $oh) (local.get $ow) (i32.rem_u (local.get $g) (local.get $th)) (local.get $twp) (local.get $sc))
          (local.set $g (i32.add (local.get $g) (i32.const 1))) (br $ol)))))
      (if (local.get $mode) (then (local.set $blk (i32.add (local.get $blk) (i32.const 1)))))
      (br $bl))))
`;
}

/** The dY transform of the weight gradient (nOut×nOut dY tiles, nOut = 2 or 4). */
function dyWat(N: string, P: number, nOut: number, body: string[]): string {
  const eLoc: string[] = [];
  for (let a = 0; a < nOut; a++) for (let b = 0; b < nOut; b++) eLoc.push(`e${a}_${b}`);
  const sLoc: string[] = [];
  for (let i = 0; i < P; i++) for (let b = 0; b < nOut; b++) sLoc.push(`s${i}_${b}`);
  const more = nOut === 2 ? [] : ["vc", "vd", "l0", "l1", "l2", "l3", ...Q_LOCALS];
  return `
  ;; Z (P²×cOut×ld, columns toff…) = A dY Aᵀ of tile row ty of one image dy (cOut×oh×ow).
  (func $dy${N} (param $dy i32) (param $cOut i32) (param $oh i32) (param $ow i32) (param $ty i32)
      (param $twp i32) (param $Z i32) (param $ld i32) (param $toff i32) (param $sc i32)
    (local $o i32) (local $a i32) (local $y i32) (local $L4 i32) (local $row i32) (local $tx i32)
    (local $dst i32) (local $xs i32)
    ${v128Locals(["va", "vb", ...eLoc, ...sLoc, ...more])}
    (local.set $L4 (i32.shl (local.get $twp) (i32.const ${nOut === 2 ? 3 : 4})))
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cOut) (local.get $ld)) (i32.const ${PAD})) (i32.const 2)))
    ;; zero once: rows past oh and the tails (ow … ${nOut}·twp) are never written below
    (memory.fill (local.get $sc) (i32.const 0) (i32.shl (local.get $L4) (i32.const ${
    nOut === 2 ? 1 : 2
  })))
    (local.set $o (i32.const 0))
    (block $od (loop $ol (br_if $od (i32.ge_u (local.get $o) (local.get $cOut)))
      ;; the ${nOut} dY rows of the tile row, zero-padded to ${nOut}·twp
      (local.set $a (i32.const 0))
      (block $ad (loop $al (br_if $ad (i32.ge_u (local.get $a) (i32.const ${nOut})))
        (local.set $y (i32.add (i32.shl (local.get $ty) (i32.const ${
    nOut === 2 ? 1 : 2
  })) (local.get $a)))
        (local.set $row (i32.add (local.get $sc) (i32.mul (local.get $a) (local.get $L4))))
        (if (i32.lt_s (local.get $y) (local.get $oh))
          (then
            (memory.copy (local.get $row)
              (i32.shl (i32.add (local.get $dy) (i32.mul (i32.add (i32.mul (local.get $o) (local.get $oh)) (local.get $y)) (local.get $ow))) (i32.const 2))
              (i32.shl (local.get $ow) (i32.const 2)))))
        (local.set $a (i32.add (local.get $a) (i32.const 1))) (br $al)))
      (local.set $dst (i32.shl (i32.add (local.get $Z) (i32.add (i32.mul (local.get $o) (local.get $ld)) (local.get $toff))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${body.join("\n          ")}
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1))) (br $ol))))
`;
}

/**
 * The functions of every scheme. Exported job kernels (one per scheme, `Scheme.name`):
 *   (mode, x, u, out, ctr, n, cIn, h, w, cOut, pad, oh, ow, th, twp, rows, ws, scratch)
 * mode 0: out (n×cOut×oh×ow) = the scheme's convolution of x (n×cIn×h×w) with padding `pad`
 * (input tile row ty starts at row step·ty − pad), u = U (P²×cOut×cIn); blocks of `rows` tile
 * rows (of n·th) are taken from the atomic counter at `ctr`; U's planes pre-packed for the GEMM
 * (`pack_planes`: Mp·cIn floats each, Mp = cOut rounded up to the GEMM's MR = `mr`).
 * mode 2 (`WEIGHT_SCHEMES`): u (P²×cOut×cIn) = Σ over the n images, in order, of
 * Z·Vᵀ, with out = dY (n×cOut×oh×ow).
 * `twp` = tiles per row rounded up to 4 (the transforms' loop); the GEMMs see only the
 * ceil(ow/nOut) tiles of a row; `ws` = this thread's workspace
 * (P²·((cIn+cOut)·(rows·twp + 4) + 2·PAD) + nIn·scratchRow + 32 floats).
 */
export function winogradWat(mr: number): string {
  return Object.values(SCHEMES).map((s) => schemeWat(s, mr)).join("\n");
}
