import { eltwiseWat } from "./eltwise_wat.ts";
import { kernelCall, kernelsWat } from "./gemm_kernel_wat.ts";
import { lanes, packARowMajor6, packBColMajor } from "./gemm_pack_wat.ts";
import {
  KERNEL_TRANSFORMS,
  kernelTransformsWat,
  WEIGHT_UNTRANSFORMS,
} from "./winograd_kernel_wat.ts";
import { winogradWat } from "./winograd_wat.ts";

/**
 * Generates the WebAssembly text of the SIMD GEMM (GotoBLAS structure): B is packed into
 * kc×NR column panels, A into MR×kc row panels, and an MR×NR register-tiled micro-kernel
 * (f32x4 accumulators, optional fused multiply-add from relaxed SIMD) runs over them.
 * `build_wasm.ts` assembles this text with wabt and writes `gemm_wasm.ts`.
 *
 * Exported function (all offsets and strides in float32 elements):
 *   gemm(M, N, K, a, ars, acs, b, brs, bcs, c, ldc, accumulate, scratch)
 * computes C = A·B (or C += A·B), A(i,p) at a + i·ars + p·acs, B(p,j) at b + p·brs + j·bcs;
 * `scratch` is the caller's workspace of {@link scratchFloats} floats (per thread).
 * @module
 */

/**
 * Exports a worker can be handed as a job (`Job.kernel` indexes this list): GEMM, convolution,
 * the per-channel kernels of `eltwise_wat.ts` (channel ranges) and its elementwise ones (element
 * ranges).
 */
export const JOB_KERNELS = [
  "gemm",
  "conv",
  "bn_fwd",
  "bn_fwd_relu",
  "bn_bwd",
  "bn_bwd_relu",
  "bn_fwd_prelu",
  "bn_bwd_prelu",
  "prelu",
  "prelu_bwd",
  "relu",
  "relu_bwd",
  "add",
  "add_chunks",
  "sgd",
  "pack_planes",
  "wino43",
  "wino_s2",
  "wino_s2dx",
  ...KERNEL_TRANSFORMS,
  ...WEIGHT_UNTRANSFORMS,
] as const;

/** Blocking parameters of one generated kernel. */
export interface GemmShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (multiple of 4). */
  nr: number;
  /** Largest depth of a packed block (K is cut into equal blocks no deeper than this). */
  kc: number;
  /** Rows of a packed A block (multiple of mr). */
  mc: number;
  /** Columns of a packed B block at depth kc (multiple of nr); shallower blocks get wider. */
  nc: number;
  /** Use f32x4.relaxed_madd (FMA where the CPU has it). */
  fma: boolean;
  /** Depth steps per micro-kernel loop iteration (default 4). */
  unroll?: number;
  /** Floats of im2col columns a convolution block aims for (default 32768: 128 KiB). */
  colBlock?: number;
  /** Fewest columns (output positions) per convolution block (default 128). */
  minCols?: number;
}

/** The shape the committed kernel was generated with. */
export const DEFAULT_SHAPE: GemmShape = { mr: 6, nr: 8, kc: 384, mc: 96, nc: 1536, fma: true };

/** Workspace floats one gemm call needs: packed A, packed B and an MR×NR edge tile. */
export function scratchFloats(s: GemmShape): number {
  return s.mc * s.kc + s.kc * s.nc + s.mr * s.nr + 16;
}

/**
 * The loops of im2col and col2im over one image's kernel taps (c, i, j) and output rows
 * y0 ≤ oy < y1: `$row` walks col (Kd × (y1−y0)·ow, byte address), `$x0 … $x1` is the ox range
 * whose input column ox·sw − pw + j lies inside the image (`clampX0` may narrow it further), `$iy`
 * the input row; `body` runs per output row. `head` opens the function up to its first two
 * params, `locals` follow the shared ones.
 */
function tapFunc(head: string, locals: string, clampX0: string, body: string): string {
  return `${head} (param $cIn i32) (param $h i32) (param $w i32)
      (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $ph i32) (param $pw i32)
      (param $y0 i32) (param $y1 i32) (param $ow i32)
    (local $c i32) (local $i i32) (local $j i32) (local $oy i32) (local $ox i32) (local $iy i32)
    (local $x0 i32) (local $x1 i32) (local $num i32) (local $row i32) (local $r i32) ${locals}
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $row (i32.shl (local.get $col) (i32.const 2)))
    (local.set $c (i32.const 0))
    (block $cd (loop $cl (br_if $cd (i32.ge_u (local.get $c) (local.get $cIn)))
    (local.set $i (i32.const 0))
    (block $id (loop $il (br_if $id (i32.ge_u (local.get $i) (local.get $kh)))
    (local.set $j (i32.const 0))
    (block $jd (loop $jl (br_if $jd (i32.ge_u (local.get $j) (local.get $kw)))
      ;; valid ox range: 0 <= ox*sw - pw + j < w
      (local.set $num (i32.sub (local.get $pw) (local.get $j)))
      (local.set $x0 (select (i32.div_s (i32.add (local.get $num) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw))
        (i32.const 0) (i32.gt_s (local.get $num) (i32.const 0))))
      (local.set $num (i32.add (i32.sub (local.get $w) (i32.const 1)) (i32.sub (local.get $pw) (local.get $j))))
      (local.set $x1 (select (i32.add (i32.div_s (local.get $num) (local.get $sw)) (i32.const 1)) (i32.const 0)
        (i32.ge_s (local.get $num) (i32.const 0))))
      (if (i32.gt_s (local.get $x1) (local.get $ow)) (then (local.set $x1 (local.get $ow))))
      ${clampX0}
      (local.set $oy (local.get $y0))
      (block $yd (loop $yl (br_if $yd (i32.ge_u (local.get $oy) (local.get $y1)))
        (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $ph)) (local.get $i)))
        ${body}
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yl)))
      (local.set $row (i32.add (local.get $row) (i32.shl (i32.mul (i32.sub (local.get $y1) (local.get $y0)) (local.get $ow)) (i32.const 2))))
    (local.set $j (i32.add (local.get $j) (i32.const 1))) (br $jl)))
    (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $il)))
    (local.set $c (i32.add (local.get $c) (i32.const 1))) (br $cl))))`;
}

/** The module text for shape `s`. */
export function gemmWat(s: GemmShape): string {
  const { mr, nr, kc: KC, mc: MC, nc: NC } = s;
  const COL_BLOCK = s.colBlock ?? 32768, MIN_COLS = s.minCols ?? 128;
  const nv = nr / 4;

  return `(module
  (import "env" "memory" (memory 1 65536 shared))

${kernelsWat(s)}

  ;; Pack B block (kc×nc, element (p,j) at b + p·brs + j·bcs, byte address/strides) into
  ;; NR-column panels, k-major, zero-padded.
  (func $packB (param $b i32) (param $brs i32) (param $bcs i32) (param $kc i32) (param $nc i32) (param $dst i32)
    (local $jp i32) (local $p i32) (local $jj i32) (local $j i32) (local $row i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $jp (i32.const 0))
    (block $jd (loop $jl
      (br_if $jd (i32.ge_u (local.get $jp) (local.get $nc)))
      (local.set $p (i32.const 0))
      ${packBColMajor(nr)}
      (block $pd (loop $pl
        (br_if $pd (i32.ge_u (local.get $p) (local.get $kc)))
        (local.set $row (i32.add (local.get $b) (i32.add (i32.mul (local.get $p) (local.get $brs))
          (i32.mul (local.get $jp) (local.get $bcs)))))
        (if (i32.and (i32.eq (local.get $bcs) (i32.const 4))
              (i32.le_u (i32.add (local.get $jp) (i32.const ${nr})) (local.get $nc)))
          (then
            ${
    Array.from({ length: nv }, (_, v) =>
      `(v128.store offset=${v * 16} (local.get $dst) (v128.load offset=${
        v * 16
      } (local.get $row)))`).join("\n            ")
  })
          (else
            (local.set $jj (i32.const 0))
            (block $kd (loop $kl
              (br_if $kd (i32.ge_u (local.get $jj) (i32.const ${nr})))
              (local.set $j (i32.add (local.get $jp) (local.get $jj)))
              (f32.store (i32.add (local.get $dst) (i32.shl (local.get $jj) (i32.const 2)))
                (if (result f32) (i32.lt_u (local.get $j) (local.get $nc))
                  (then (f32.load (i32.add (local.get $row) (i32.mul (local.get $jj) (local.get $bcs)))))
                  (else (f32.const 0))))
              (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
              (br $kl)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const ${nr * 4})))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pl)))
      (local.set $jp (i32.add (local.get $jp) (i32.const ${nr})))
      (br $jl))))

  ;; Pack A block (mc×kc, element (i,p) at a + i·ars + p·acs, bytes) into MR-row panels,
  ;; k-major, zero-padded.
  (func $packA (param $a i32) (param $ars i32) (param $acs i32) (param $kc i32) (param $mc i32) (param $dst i32)
    (local $ip i32) (local $p i32) (local $ii i32) (local $i i32) (local $col i32)
    (local $r0 i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $v4 v128)
    (local $v5 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $ip (i32.const 0))
    (block $id (loop $il
      (br_if $id (i32.ge_u (local.get $ip) (local.get $mc)))
      (local.set $p (i32.const 0))
      ${packARowMajor6(mr)}
      (block $pd (loop $pl
        (br_if $pd (i32.ge_u (local.get $p) (local.get $kc)))
        (local.set $col (i32.add (local.get $a) (i32.add (i32.mul (local.get $p) (local.get $acs))
          (i32.mul (local.get $ip) (local.get $ars)))))
        (local.set $ii (i32.const 0))
        (if (i32.and (i32.eq (local.get $ars) (i32.const 4))
              (i32.le_u (i32.add (local.get $ip) (i32.const ${mr})) (local.get $mc)))
          (then
            ${
    Array.from({ length: Math.floor(mr / 4) }, (_, v) =>
      `(v128.store offset=${v * 16} (local.get $dst) (v128.load offset=${
        v * 16
      } (local.get $col)))`).join("\n            ")
  }
            (local.set $ii (i32.const ${Math.floor(mr / 4) * 4}))))
        (block $kd (loop $kl
          (br_if $kd (i32.ge_u (local.get $ii) (i32.const ${mr})))
          (local.set $i (i32.add (local.get $ip) (local.get $ii)))
          (f32.store (i32.add (local.get $dst) (i32.shl (local.get $ii) (i32.const 2)))
            (if (result f32) (i32.lt_u (local.get $i) (local.get $mc))
              (then (f32.load (i32.add (local.get $col) (i32.mul (local.get $ii) (local.get $ars)))))
              (else (f32.const 0))))
          (local.set $ii (i32.add (local.get $ii) (i32.const 1)))
          (br $kl)))
        (local.set $dst (i32.add (local.get $dst) (i32.const ${mr * 4})))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pl)))
      (local.set $ip (i32.add (local.get $ip) (i32.const ${mr})))
      (br $il))))

  (func $min (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.lt_s (local.get $x) (local.get $y))))

  (func $gemm (export "gemm") (param $M i32) (param $N i32) (param $K i32)
      (param $a i32) (param $ars i32) (param $acs i32)
      (param $b i32) (param $brs i32) (param $bcs i32)
      (param $c i32) (param $ldc i32) (param $accumulate i32) (param $scratch i32)
    (call $gemm_p (local.get $M) (local.get $N) (local.get $K) (local.get $a) (local.get $ars)
      (local.get $acs) (local.get $b) (local.get $brs) (local.get $bcs) (local.get $c)
      (local.get $ldc) (local.get $accumulate) (local.get $scratch) (i32.const -1)))

  ;; Depth of the K blocks of a gemm of depth K: equal blocks no deeper than KC.
  (func $kblock (param $K i32) (result i32)
    (local $kcb i32)
    (local.set $kcb (i32.div_u (i32.add (local.get $K) (i32.const ${KC - 1})) (i32.const ${KC})))
    (i32.div_u (i32.add (local.get $K) (i32.sub (local.get $kcb) (i32.const 1))) (local.get $kcb)))

  ;; A (M×K, element (i,p) at a + i·ars + p·acs, element offsets) packed as $gemm_p reads it
  ;; pre-packed: per K block (depth kc, starting at pc) the packA panels of all M rows (padded to
  ;; Mp = a multiple of MR), at element offset dst + pc·Mp.
  (func $packA_full (param $a i32) (param $ars i32) (param $acs i32) (param $M i32) (param $K i32)
      (param $dst i32)
    (local $kcb i32) (local $pc i32) (local $Mp i32)
    (local.set $kcb (call $kblock (local.get $K)))
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $M) (i32.const ${
    mr - 1
  })) (i32.const ${mr})) (i32.const ${mr})))
    (local.set $pc (i32.const 0))
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $pc) (local.get $K)))
      (call $packA (i32.shl (i32.add (local.get $a) (i32.mul (local.get $pc) (local.get $acs))) (i32.const 2))
        (i32.shl (local.get $ars) (i32.const 2)) (i32.shl (local.get $acs) (i32.const 2))
        (call $min (local.get $kcb) (i32.sub (local.get $K) (local.get $pc))) (local.get $M)
        (i32.shl (i32.add (local.get $dst) (i32.mul (local.get $pc) (local.get $Mp))) (i32.const 2)))
      (local.set $pc (i32.add (local.get $pc) (local.get $kcb))) (br $l))))

  ;; Job kernel: matrices p0 ≤ p < p1 of a (M×K each, element (i,q) at a + p·M·K + i·ars + q·acs)
  ;; packed by $packA_full into dst (Mp·K floats each).
  (func (export "pack_planes") (param $a i32) (param $ars i32) (param $acs i32) (param $M i32)
      (param $K i32) (param $dst i32) (param $p0 i32) (param $p1 i32) (param $scratch i32)
    (local $p i32) (local $Mp i32)
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $M) (i32.const ${
    mr - 1
  })) (i32.const ${mr})) (i32.const ${mr})))
    (local.set $p (local.get $p0))
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $p) (local.get $p1)))
      (call $packA_full (i32.add (local.get $a) (i32.mul (local.get $p) (i32.mul (local.get $M) (local.get $K))))
        (local.get $ars) (local.get $acs) (local.get $M) (local.get $K)
        (i32.add (local.get $dst) (i32.mul (local.get $p) (i32.mul (local.get $Mp) (local.get $K)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $l))))

  ;; $gemm, with A either packed here (pa < 0) or pre-packed by $packA_full at element offset pa
  ;; (then a, ars and acs are unused).
  (func $gemm_p (param $M i32) (param $N i32) (param $K i32)
      (param $a i32) (param $ars i32) (param $acs i32)
      (param $b i32) (param $brs i32) (param $bcs i32)
      (param $c i32) (param $ldc i32) (param $accumulate i32) (param $scratch i32) (param $pa i32)
    (local $pA i32) (local $pB i32) (local $tmp i32) (local $pAb i32) (local $Mp i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
    (local $jr i32) (local $ir i32) (local $acc i32) (local $kcb i32) (local $ncb i32)
    (local $direct i32) (local $pbp i32) (local $bs i32) (local $rows i32)
    ;; to bytes
    (local.set $a (i32.shl (local.get $a) (i32.const 2)))
    (local.set $b (i32.shl (local.get $b) (i32.const 2)))
    (local.set $c (i32.shl (local.get $c) (i32.const 2)))
    (local.set $ars (i32.shl (local.get $ars) (i32.const 2)))
    (local.set $acs (i32.shl (local.get $acs) (i32.const 2)))
    (local.set $brs (i32.shl (local.get $brs) (i32.const 2)))
    (local.set $bcs (i32.shl (local.get $bcs) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $pA (i32.shl (local.get $scratch) (i32.const 2)))
    (local.set $pB (i32.add (local.get $pA) (i32.const ${MC * KC * 4})))
    (local.set $tmp (i32.add (local.get $pB) (i32.const ${KC * NC * 4})))
    (if (i32.eqz (local.get $K))
      (then
        (if (i32.eqz (local.get $accumulate)) (then
          (local.set $ic (i32.const 0))
          (block $zd (loop $zl
            (br_if $zd (i32.ge_u (local.get $ic) (local.get $M)))
            (memory.fill (i32.add (local.get $c) (i32.mul (local.get $ic) (local.get $ldc)))
              (i32.const 0) (i32.shl (local.get $N) (i32.const 2)))
            (local.set $ic (i32.add (local.get $ic) (i32.const 1)))
            (br $zl)))))
        (return)))
    ;; depth blocks of equal size ≤ KC (no thin tail block); B blocks fill the packed-B budget
    (local.set $kcb (call $kblock (local.get $K)))
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $M) (i32.const ${
    mr - 1
  })) (i32.const ${mr})) (i32.const ${mr})))
    (local.set $ncb (i32.mul (i32.div_u (i32.div_u (i32.const ${
    KC * NC
  }) (local.get $kcb)) (i32.const ${nr}))
      (i32.const ${nr})))
    (local.set $ncb (call $min (local.get $ncb) (i32.const ${4 * NC})))
    (local.set $jc (i32.const 0))
    (block $jcd (loop $jcl
      (br_if $jcd (i32.ge_u (local.get $jc) (local.get $N)))
      (local.set $nc (call $min (local.get $ncb) (i32.sub (local.get $N) (local.get $jc))))
      (local.set $pc (i32.const 0))
      (block $pcd (loop $pcl
        (br_if $pcd (i32.ge_u (local.get $pc) (local.get $K)))
        (local.set $kc (call $min (local.get $kcb) (i32.sub (local.get $K) (local.get $pc))))
        (local.set $acc (i32.or (local.get $accumulate) (i32.ne (local.get $pc) (i32.const 0))))
        ;; a row-major B used by one block of A rows is read in place (packing it would be a
        ;; full extra pass over B for no reuse); only a partial edge panel is packed
        (local.set $direct (i32.and (i32.eq (local.get $bcs) (i32.const 4))
          (i32.le_u (local.get $M) (i32.const ${MC}))))
        (if (i32.eqz (local.get $direct)) (then
        (call $packB
          (i32.add (local.get $b) (i32.add (i32.mul (local.get $pc) (local.get $brs)) (i32.mul (local.get $jc) (local.get $bcs))))
          (local.get $brs) (local.get $bcs) (local.get $kc) (local.get $nc) (local.get $pB))))
        (local.set $ic (i32.const 0))
        (block $icd (loop $icl
          (br_if $icd (i32.ge_u (local.get $ic) (local.get $M)))
          (local.set $mc (call $min (i32.const ${MC}) (i32.sub (local.get $M) (local.get $ic))))
          (if (i32.lt_s (local.get $pa) (i32.const 0))
            (then
              (call $packA
                (i32.add (local.get $a) (i32.add (i32.mul (local.get $ic) (local.get $ars)) (i32.mul (local.get $pc) (local.get $acs))))
                (local.get $ars) (local.get $acs) (local.get $kc) (local.get $mc) (local.get $pA))
              (local.set $pAb (local.get $pA)))
            (else (local.set $pAb (i32.shl (i32.add (local.get $pa) (i32.add (i32.mul (local.get $pc) (local.get $Mp))
              (i32.mul (local.get $ic) (local.get $kc)))) (i32.const 2)))))
          (local.set $jr (i32.const 0))
          (block $jrd (loop $jrl
            (br_if $jrd (i32.ge_u (local.get $jr) (local.get $nc)))
            (local.set $bs (i32.const ${nr * 4}))
            (local.set $pbp (i32.add (local.get $pB) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2))))
            (if (local.get $direct) (then
              (local.set $pbp (i32.add (local.get $b) (i32.add (i32.mul (local.get $pc) (local.get $brs))
                (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2)))))
              (if (i32.le_u (i32.add (local.get $jr) (i32.const ${nr})) (local.get $nc))
                (then (local.set $bs (local.get $brs)))
                (else
                  (call $packB (local.get $pbp) (local.get $brs) (local.get $bcs) (local.get $kc)
                    (i32.sub (local.get $nc) (local.get $jr)) (local.get $pB))
                  (local.set $pbp (local.get $pB))))))
            (local.set $ir (i32.const 0))
            (block $ird (loop $irl
              (br_if $ird (i32.ge_u (local.get $ir) (local.get $mc)))
              ;; the last panel of a ragged M takes the kernel for its rows
              (local.set $rows (call $min (i32.const ${mr}) (i32.sub (local.get $mc) (local.get $ir))))
              ${
    kernelCall(
      s,
      "(local.get $rows)",
      `(local.get $kc)
                (i32.add (local.get $pAb) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                (local.get $pbp)
                (i32.add (local.get $c) (i32.add
                  (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc))
                  (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2))))
                (local.get $ldc) (local.get $acc) (local.get $rows)
                (call $min (i32.const ${nr}) (i32.sub (local.get $nc) (local.get $jr)))
                (local.get $tmp) (local.get $bs)`,
    )
  }
              (local.set $ir (i32.add (local.get $ir) (i32.const ${mr})))
              (br $irl)))
            (local.set $jr (i32.add (local.get $jr) (i32.const ${nr})))
            (br $jrl)))
          (local.set $ic (i32.add (local.get $ic) (i32.const ${MC})))
          (br $icl)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kcb)))
        (br $pcl)))
      (local.set $jc (i32.add (local.get $jc) (local.get $ncb)))
      (br $jcl))))
  ;; ---- convolution helpers (element offsets; see ConvSpec) ----

${
    tapFunc(
      `;; Columns of x (one image, cIn×h×w at element offset $x) for output rows y0 ≤ oy < y1 into col
  ;; (Kd × (y1−y0)·ow), zero padding.
  (func $im2col (param $x i32) (param $col i32)`,
      "(local $src i32) (local $g i32)",
      "(if (i32.gt_s (local.get $x0) (local.get $x1)) (then (local.set $x0 (local.get $x1))))",
      `(local.set $r (i32.add (local.get $row) (i32.shl (i32.mul (i32.sub (local.get $oy) (local.get $y0)) (local.get $ow)) (i32.const 2))))
        (if (i32.or (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $h)))
              (i32.ge_s (local.get $x0) (local.get $x1)))
          (then (memory.fill (local.get $r) (i32.const 0) (i32.shl (local.get $ow) (i32.const 2))))
          (else
            (memory.fill (local.get $r) (i32.const 0) (i32.shl (local.get $x0) (i32.const 2)))
            (local.set $src (i32.add (local.get $x) (i32.shl
              (i32.add (i32.sub (i32.mul (i32.add (i32.mul (local.get $c) (local.get $h)) (local.get $iy)) (local.get $w))
                (local.get $pw)) (local.get $j)) (i32.const 2))))
            (if (i32.eq (local.get $sw) (i32.const 1))
              (then (memory.copy (i32.add (local.get $r) (i32.shl (local.get $x0) (i32.const 2)))
                (i32.add (local.get $src) (i32.shl (local.get $x0) (i32.const 2)))
                (i32.shl (i32.sub (local.get $x1) (local.get $x0)) (i32.const 2))))
              (else
                (local.set $ox (local.get $x0))
                ;; stride 2: 4 outputs from two loads (even lanes); the odd lane read past the
                ;; last output is input ox·2+7, inside the row while a 5th output follows
                (if (i32.eq (local.get $sw) (i32.const 2)) (then
                  (block $gd (loop $gl (br_if $gd (i32.ge_s (i32.add (local.get $ox) (i32.const 4)) (local.get $x1)))
                    (local.set $g (i32.add (local.get $src) (i32.shl (local.get $ox) (i32.const 3))))
                    (v128.store (i32.add (local.get $r) (i32.shl (local.get $ox) (i32.const 2)))
                      (i8x16.shuffle ${
        lanes(0, 2, 4, 6)
      } (v128.load (local.get $g)) (v128.load offset=16 (local.get $g))))
                    (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                    (br $gl)))))
                (block $xd (loop $xl (br_if $xd (i32.ge_s (local.get $ox) (local.get $x1)))
                  (f32.store (i32.add (local.get $r) (i32.shl (local.get $ox) (i32.const 2)))
                    (f32.load (i32.add (local.get $src) (i32.shl (i32.mul (local.get $ox) (local.get $sw)) (i32.const 2)))))
                  (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                  (br $xl)))))
            (memory.fill (i32.add (local.get $r) (i32.shl (local.get $x1) (i32.const 2))) (i32.const 0)
              (i32.shl (i32.sub (local.get $ow) (local.get $x1)) (i32.const 2)))))`,
    )
  }

  ${
    tapFunc(
      `;; dx image (cIn×h×w, zeroed by the caller) += scatter of col (Kd × (y1−y0)·ow), the columns of
  ;; output rows y0 ≤ oy < y1.
  (func $col2im (param $col i32) (param $x i32)`,
      "(local $dst i32) (local $a i32) (local $b i32) (local $cv v128)",
      "",
      `(if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h)))
          (then
            (local.set $r (i32.add (local.get $row) (i32.shl (i32.mul (i32.sub (local.get $oy) (local.get $y0)) (local.get $ow)) (i32.const 2))))
            (local.set $dst (i32.add (local.get $x) (i32.shl
              (i32.add (i32.sub (i32.mul (i32.add (i32.mul (local.get $c) (local.get $h)) (local.get $iy)) (local.get $w))
                (local.get $pw)) (local.get $j)) (i32.const 2))))
            (local.set $ox (local.get $x0))
            (if (i32.eq (local.get $sw) (i32.const 1))
              (then
                (block $vd (loop $vl (br_if $vd (i32.gt_s (i32.add (local.get $ox) (i32.const 4)) (local.get $x1)))
                  (local.set $a (i32.add (local.get $dst) (i32.shl (local.get $ox) (i32.const 2))))
                  (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a))
                    (v128.load (i32.add (local.get $r) (i32.shl (local.get $ox) (i32.const 2))))))
                  (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                  (br $vl)))))
            ;; stride 2: 4 columns into the even lanes of two dx vectors; the odd lanes get −0
            ;; (x + −0 = x for every x, −0 included), so every element sees the scalar path's adds
            (if (i32.eq (local.get $sw) (i32.const 2)) (then
              (block $sd (loop $sl (br_if $sd (i32.ge_s (i32.add (local.get $ox) (i32.const 4)) (local.get $x1)))
                (local.set $a (i32.add (local.get $dst) (i32.shl (local.get $ox) (i32.const 3))))
                (local.set $cv (v128.load (i32.add (local.get $r) (i32.shl (local.get $ox) (i32.const 2)))))
                (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a))
                  (i8x16.shuffle ${
        lanes(0, 4, 1, 4)
      } (local.get $cv) (v128.const f32x4 -0 -0 -0 -0))))
                (v128.store offset=16 (local.get $a) (f32x4.add (v128.load offset=16 (local.get $a))
                  (i8x16.shuffle ${
        lanes(2, 4, 3, 4)
      } (local.get $cv) (v128.const f32x4 -0 -0 -0 -0))))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $sl)))))
            (block $xd (loop $xl (br_if $xd (i32.ge_s (local.get $ox) (local.get $x1)))
              (local.set $a (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $ox) (local.get $sw)) (i32.const 2))))
              (f32.store (local.get $a) (f32.add (f32.load (local.get $a))
                (f32.load (i32.add (local.get $r) (i32.shl (local.get $ox) (i32.const 2))))))
              (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
              (br $xl)))))`,
    )
  }

  ;; Convolution over the n images, each thread taking the next unclaimed image from the
  ;; atomic counter at element offset $ctr (dynamic scheduling: a descheduled thread just takes
  ;; fewer images). mode 0 = forward (out = conv(x, w)), 1 = input gradient (dx = "x" from
  ;; dy = "out", w), 2 = weight gradient transposed (dwT (Kd×cOut) = Σ col·dyᵀ into "w", this
  ;; thread's partial sum, overwritten by its first image). Element offsets throughout. pa: the
  ;; GEMM's A (W in mode 0, Wᵀ in mode 1) pre-packed by $packA_full, or -1 (packed per call).
  ;; Unless direct (1×1, stride 1, no padding: the image is its own column matrix), an image is
  ;; done in blocks of output rows whose im2col columns fit ${COL_BLOCK} floats (at least
  ;; ${MIN_COLS} columns): the columns are written and consumed while in cache, instead of a
  ;; Kd×P matrix (12 MiB for a 32-channel 3×3 conv at 112×96) making a round trip to memory.
  (func (export "conv") (param $mode i32) (param $x i32) (param $wt i32) (param $out i32)
      (param $ctr i32) (param $n i32) (param $cIn i32) (param $h i32) (param $w i32) (param $cOut i32)
      (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $ph i32) (param $pw i32)
      (param $oh i32) (param $ow i32) (param $pa i32) (param $col i32) (param $scratch i32)
    (local $b i32) (local $Kd i32) (local $P i32) (local $direct i32) (local $xb i32) (local $ob i32)
    (local $first i32) (local $rows i32) (local $y0 i32) (local $y1 i32) (local $nb i32)
    (local.set $first (i32.const 1))
    (local.set $Kd (i32.mul (local.get $cIn) (i32.mul (local.get $kh) (local.get $kw))))
    (local.set $P (i32.mul (local.get $oh) (local.get $ow)))
    (local.set $direct (i32.and (i32.and (i32.eq (local.get $kh) (i32.const 1)) (i32.eq (local.get $kw) (i32.const 1)))
      (i32.and (i32.and (i32.eq (local.get $sh) (i32.const 1)) (i32.eq (local.get $sw) (i32.const 1)))
        (i32.and (i32.eqz (local.get $ph)) (i32.eqz (local.get $pw))))))
    (local.set $rows (call $convRows (local.get $Kd) (local.get $oh) (local.get $ow)))
    (if (local.get $direct) (then (local.set $rows (local.get $oh))))
    (block $bd (loop $bl
      (local.set $b (i32.atomic.rmw.add (i32.shl (local.get $ctr) (i32.const 2)) (i32.const 1)))
      (br_if $bd (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $xb (i32.add (local.get $x) (i32.mul (local.get $b) (i32.mul (local.get $cIn) (i32.mul (local.get $h) (local.get $w))))))
      (local.set $ob (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $cOut) (local.get $P)))))
      (if (i32.and (i32.eq (local.get $mode) (i32.const 1)) (i32.eqz (local.get $direct))) (then
        (memory.fill (i32.shl (local.get $xb) (i32.const 2)) (i32.const 0)
          (i32.shl (i32.mul (local.get $cIn) (i32.mul (local.get $h) (local.get $w))) (i32.const 2)))))
      (local.set $y0 (i32.const 0))
      (block $yd (loop $yl
        (br_if $yd (i32.ge_u (local.get $y0) (local.get $oh)))
        (local.set $y1 (call $min (i32.add (local.get $y0) (local.get $rows)) (local.get $oh)))
        (local.set $nb (i32.mul (i32.sub (local.get $y1) (local.get $y0)) (local.get $ow)))
        (if (i32.eq (local.get $mode) (i32.const 1))
          (then
            (if (local.get $direct)
              (then
                ;; dx_b (cIn×P) = Wᵀ (cIn×cOut) · dy_b (cOut×P)
                (call $gemm_p (local.get $Kd) (local.get $P) (local.get $cOut) (local.get $wt) (i32.const 1) (local.get $Kd)
                  (local.get $ob) (local.get $P) (i32.const 1) (local.get $xb) (local.get $P) (i32.const 0) (local.get $scratch)
                  (local.get $pa)))
              (else
                ;; col (Kd×nb) = Wᵀ (Kd×cOut) · dy_b[:, block] (cOut×nb), then scatter into dx_b
                (call $gemm_p (local.get $Kd) (local.get $nb) (local.get $cOut) (local.get $wt) (i32.const 1) (local.get $Kd)
                  (i32.add (local.get $ob) (i32.mul (local.get $y0) (local.get $ow))) (local.get $P) (i32.const 1)
                  (local.get $col) (local.get $nb) (i32.const 0) (local.get $scratch) (local.get $pa))
                (call $col2im (local.get $col) (local.get $xb) (local.get $cIn) (local.get $h) (local.get $w)
                  (local.get $kh) (local.get $kw) (local.get $sh) (local.get $sw) (local.get $ph) (local.get $pw)
                  (local.get $y0) (local.get $y1) (local.get $ow)))))
          (else
            (if (i32.eqz (local.get $direct)) (then
              (call $im2col (local.get $xb) (local.get $col) (local.get $cIn) (local.get $h) (local.get $w)
                (local.get $kh) (local.get $kw) (local.get $sh) (local.get $sw) (local.get $ph) (local.get $pw)
                (local.get $y0) (local.get $y1) (local.get $ow))))
            (if (i32.eqz (local.get $mode))
              (then
                ;; out_b[:, block] (cOut×nb) = W (cOut×Kd) · col (Kd×nb)
                (call $gemm_p (local.get $cOut) (local.get $nb) (local.get $Kd) (local.get $wt) (local.get $Kd) (i32.const 1)
                  (select (local.get $xb) (local.get $col) (local.get $direct)) (local.get $nb) (i32.const 1)
                  (i32.add (local.get $ob) (i32.mul (local.get $y0) (local.get $ow))) (local.get $P) (i32.const 0) (local.get $scratch)
                  (local.get $pa)))
              (else
                ;; dWᵀ (Kd×cOut) += col (Kd×nb) · dy_b[:, block]ᵀ (nb×cOut)
                (call $gemm (local.get $Kd) (local.get $cOut) (local.get $nb)
                  (select (local.get $xb) (local.get $col) (local.get $direct)) (local.get $nb) (i32.const 1)
                  (i32.add (local.get $ob) (i32.mul (local.get $y0) (local.get $ow))) (i32.const 1) (local.get $P)
                  (local.get $wt) (local.get $cOut) (i32.eqz (local.get $first)) (local.get $scratch))))))
        (local.set $first (i32.const 0))
        (local.set $y0 (local.get $y1))
        (br $yl)))
      (br $bl))))

  ;; Output rows per im2col block (see conv).
  (func $convRows (export "conv_rows") (param $Kd i32) (param $oh i32) (param $ow i32) (result i32)
    (local $r i32)
    (local.set $r (i32.div_u (i32.const ${COL_BLOCK}) (i32.mul (local.get $Kd) (local.get $ow))))
    (local.set $r (select (local.get $r)
      (i32.div_u (i32.add (local.get $ow) (i32.const ${MIN_COLS - 1})) (local.get $ow))
      (i32.gt_u (i32.mul (local.get $r) (local.get $ow)) (i32.const ${MIN_COLS - 1}))))
    (call $min (local.get $r) (local.get $oh)))

  ${eltwiseWat()}
  ${winogradWat(mr)}
${kernelTransformsWat()}
)`;
}
