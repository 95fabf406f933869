/**
 * WebAssembly SIMD text of the Winograd F(2×2, 3×3) convolution (3×3, stride 1): 4×4 input
 * tiles are transformed (V = Bᵀ d B), multiplied channel-wise by the transformed kernel
 * (U = G g Gᵀ) as 16 GEMMs (one per tile position ξ: C_out×C_in times C_in×tiles, the module's
 * `$gemm`), and transformed back to 2×2 outputs (Y = Aᵀ M A): 16 multiplies per 4 outputs and
 * input channel instead of 36. The weight gradient is the adjoint: dU[ξ] = Σ_tiles Z[ξ]·V[ξ]ᵀ
 * with Z = A dY Aᵀ, then dW = Gᵀ dU G (done by the caller, as is U).
 * Transforms run on 4 horizontally adjacent tiles at once (one per f32x4 lane), on zero-padded
 * copies of the 4 input rows a tile row needs, so the inner loops have no bounds checks.
 * Work is cut into blocks of tile rows (several images' rows when the images are small); each
 * block's output is written by exactly one thread, in an order that depends only on the shapes,
 * so the bits do not depend on the thread count.
 * @module
 */

/** i8x16.shuffle byte indices selecting f32 lanes (0–3 first operand, 4–7 second). */
function lanes(...ls: number[]): string {
  return ls.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(" ");
}
const L = (x: string) => `(local.get $${x})`;
const add = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const set = (x: string, v: string) => `(local.set $${x} ${v})`;
const v128Locals = (names: string[]) => names.map((n) => `(local $${n} v128)`).join(" ");
/**
 * Floats between the 16 planes of V, M and Z beyond their cIn·Tb (cOut·Tb): plane sizes are often
 * multiples of 4 KiB, which would put the 16 stores of a transform into one L1 cache set.
 */
export const WINO_PAD = 16;
const PAD = WINO_PAD;
const grid = (p: string) => Array.from({ length: 16 }, (_, k) => `${p}${k >> 2}${k & 3}`);

/**
 * The functions (placed inside the GEMM module: they call its `$gemm` and `$min`).
 * Exported job kernel:
 *   wino(mode, x, u, out, ctr, n, cIn, h, w, cOut, pad, oh, ow, th, twp, rows, ws, scratch)
 * mode 0: out (n×cOut×oh×ow) = conv3×3(x (n×cIn×h×w), padding pad), u = U (16×cOut×cIn); blocks of
 * `rows` tile rows (of n·th) are taken from the atomic counter at `ctr`.
 * mode 2: u (16×cOut×cIn) = Σ over the n images, in order, of Z·Vᵀ, with out = dY (n×cOut×oh×ow).
 * `twp` = tiles per row rounded up to 4; `ws` = this thread's workspace
 * (16·((cIn+cOut)·rows·twp + 2·PAD) + 4·(2·twp+2) + 16 floats).
 */
export function winogradWat(): string {
  const t = grid("t"), m = grid("m");
  // Input transform of one row r of 4 tiles: d0..d3 = the 4 taps, lanes = tiles.
  const inRow = (r: number) => {
    const p =
      `(i32.add (local.get $sc) (i32.add (i32.mul (local.get $L4) (i32.const ${r})) (i32.shl (local.get $tx) (i32.const 3))))`;
    return [
      set("va", `(v128.load ${p})`),
      set("vb", `(v128.load offset=16 ${p})`),
      set("vc", `(v128.load offset=8 ${p})`),
      set("vd", `(v128.load offset=24 ${p})`),
      set("d0", `(i8x16.shuffle ${lanes(0, 2, 4, 6)} ${L("va")} ${L("vb")})`),
      set("d1", `(i8x16.shuffle ${lanes(1, 3, 5, 7)} ${L("va")} ${L("vb")})`),
      set("d2", `(i8x16.shuffle ${lanes(0, 2, 4, 6)} ${L("vc")} ${L("vd")})`),
      set("d3", `(i8x16.shuffle ${lanes(1, 3, 5, 7)} ${L("vc")} ${L("vd")})`),
      // (d B)[r][·]: B columns (1,0,−1,0), (0,1,1,0), (0,−1,1,0), (0,1,0,−1)
      set(`t${r}0`, sub(L("d0"), L("d2"))),
      set(`t${r}1`, add(L("d1"), L("d2"))),
      set(`t${r}2`, sub(L("d2"), L("d1"))),
      set(`t${r}3`, sub(L("d1"), L("d3"))),
    ].join("\n          ");
  };
  // V[ξ = 4i + j] for the 4 tiles, stored at $dst + ξ·(cIn·Tb) floats.
  const inStore = () => {
    const out: string[] = [];
    for (let j = 0; j < 4; j++) {
      const col = [
        sub(L(`t0${j}`), L(`t2${j}`)),
        add(L(`t1${j}`), L(`t2${j}`)),
        sub(L(`t2${j}`), L(`t1${j}`)),
        sub(L(`t1${j}`), L(`t3${j}`)),
      ];
      for (let i = 0; i < 4; i++) {
        out.push(
          `(v128.store (i32.add (local.get $dst) (i32.mul (local.get $xs) (i32.const ${
            4 * i + j
          }))) ${col[i]})`,
        );
      }
    }
    return out.join("\n          ");
  };
  const loadM = () =>
    m.map((name, k) =>
      set(
        name,
        `(v128.load (i32.add (local.get $src) (i32.mul (local.get $xs) (i32.const ${k}))))`,
      )
    ).join("\n          ");
  // Aᵀ rows (1,1,1,0), (0,1,−1,−1): s_i0, s_i1 along j, then y_0b, y_1b along i.
  const outTransform = () => {
    const o: string[] = [];
    for (let i = 0; i < 4; i++) {
      o.push(set(`s${i}0`, add(add(L(`m${i}0`), L(`m${i}1`)), L(`m${i}2`))));
      o.push(set(`s${i}1`, sub(sub(L(`m${i}1`), L(`m${i}2`)), L(`m${i}3`))));
    }
    for (let b = 0; b < 2; b++) {
      o.push(set(`y0${b}`, add(add(L(`s0${b}`), L(`s1${b}`)), L(`s2${b}`))));
      o.push(set(`y1${b}`, sub(sub(L(`s1${b}`), L(`s2${b}`)), L(`s3${b}`))));
    }
    return o.join("\n          ");
  };
  // Store output row a (2 outputs of each of the 4 tiles, interleaved) at $row + 2·tx.
  const outStore = (a: number) => `
          (if (i32.lt_u (i32.add (local.get $y) (i32.const ${a})) (local.get $oh)) (then
            (local.set $dst (i32.add (local.get $row) (i32.add (i32.mul (local.get $ow4) (i32.const ${a}))
              (i32.shl (local.get $tx) (i32.const 3)))))
            (local.set $lo (i8x16.shuffle ${lanes(0, 4, 1, 5)} ${L(`y${a}0`)} ${L(`y${a}1`)}))
            (local.set $hi (i8x16.shuffle ${lanes(2, 6, 3, 7)} ${L(`y${a}0`)} ${L(`y${a}1`)}))
            (if (i32.le_s (i32.add (i32.shl (local.get $tx) (i32.const 1)) (i32.const 8)) (local.get $ow))
              (then (v128.store (local.get $dst) (local.get $lo))
                (v128.store offset=16 (local.get $dst) (local.get $hi)))
              (else
                ;; a ragged right edge: only the ow − 2·tx outputs inside the row
                (local.set $cnt (i32.sub (local.get $ow) (i32.shl (local.get $tx) (i32.const 1))))
                (if (i32.gt_s (local.get $cnt) (i32.const 0)) (then
                  (v128.store (local.get $sc) (local.get $lo))
                  (v128.store offset=16 (local.get $sc) (local.get $hi))
                  (memory.copy (local.get $dst) (local.get $sc) (i32.shl (local.get $cnt) (i32.const 2)))))))))`;
  // dY tile rows a = 0, 1 → Z = A m Aᵀ, A rows (1,0), (1,1), (1,−1), (0,−1).
  const dyTransform = () => {
    const o: string[] = [];
    for (let a = 0; a < 2; a++) {
      const p =
        `(i32.add (local.get $sc) (i32.add (i32.mul (local.get $L4) (i32.const ${a})) (i32.shl (local.get $tx) (i32.const 3))))`;
      o.push(set("va", `(v128.load ${p})`), set("vb", `(v128.load offset=16 ${p})`));
      o.push(set(`s${a}0`, `(i8x16.shuffle ${lanes(0, 2, 4, 6)} ${L("va")} ${L("vb")})`));
      o.push(set(`s${a}1`, `(i8x16.shuffle ${lanes(1, 3, 5, 7)} ${L("va")} ${L("vb")})`));
    }
    // q_ib = (A m)[i][b]
    const q = (i: number, b: number) =>
      [L(`s0${b}`), add(L(`s0${b}`), L(`s1${b}`)), sub(L(`s0${b}`), L(`s1${b}`)), null][i];
    for (let i = 0; i < 4; i++) {
      for (let b = 0; b < 2; b++) {
        const v = q(i, b) ?? `(f32x4.neg ${L(`s1${b}`)})`;
        o.push(set(`y${i}${b}`, v));
      }
    }
    for (let i = 0; i < 4; i++) {
      const z = [
        L(`y${i}0`),
        add(L(`y${i}0`), L(`y${i}1`)),
        sub(L(`y${i}0`), L(`y${i}1`)),
        `(f32x4.neg ${L(`y${i}1`)})`,
      ];
      for (let j = 0; j < 4; j++) {
        o.push(
          `(v128.store (i32.add (local.get $dst) (i32.mul (local.get $xs) (i32.const ${
            4 * i + j
          }))) ${z[j]})`,
        );
      }
    }
    return o.join("\n          ");
  };
  const yLocals = Array.from({ length: 8 }, (_, k) => `y${k >> 1}${k & 1}`);
  const sLocals = Array.from({ length: 8 }, (_, k) => `s${k >> 1}${k & 1}`);

  return `
  ;; V (16×cIn×Tb, tile columns toff…toff+twp) of tile row ty of one image x (cIn×h×w).
  (func $winoIn (param $x i32) (param $cIn i32) (param $h i32) (param $w i32) (param $pad i32)
      (param $ty i32) (param $twp i32) (param $V i32) (param $Tb i32) (param $toff i32) (param $sc i32)
    (local $c i32) (local $r i32) (local $y i32) (local $L4 i32) (local $u1 i32) (local $row i32)
    (local $tx i32) (local $dst i32) (local $xs i32)
    ${v128Locals(["va", "vb", "vc", "vd", "d0", "d1", "d2", "d3", ...t])}
    (local.set $L4 (i32.shl (i32.add (i32.shl (local.get $twp) (i32.const 1)) (i32.const 2)) (i32.const 2)))
    (local.set $u1 (call $min (i32.add (local.get $pad) (local.get $w))
      (i32.add (i32.shl (local.get $twp) (i32.const 1)) (i32.const 2))))
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cIn) (local.get $Tb)) (i32.const ${PAD})) (i32.const 2)))
    (local.set $c (i32.const 0))
    (block $cd (loop $cl (br_if $cd (i32.ge_u (local.get $c) (local.get $cIn)))
      ;; the 4 input rows of the tile row, zero-padded: scratch[r][u] = x[c][2ty − pad + r][u − pad]
      (local.set $r (i32.const 0))
      (block $rd (loop $rl (br_if $rd (i32.ge_u (local.get $r) (i32.const 4)))
        (local.set $y (i32.add (i32.sub (i32.shl (local.get $ty) (i32.const 1)) (local.get $pad)) (local.get $r)))
        (local.set $row (i32.add (local.get $sc) (i32.mul (local.get $r) (local.get $L4))))
        (if (i32.or (i32.lt_s (local.get $y) (i32.const 0)) (i32.ge_s (local.get $y) (local.get $h)))
          (then (memory.fill (local.get $row) (i32.const 0) (local.get $L4)))
          (else
            (memory.fill (local.get $row) (i32.const 0) (i32.shl (local.get $pad) (i32.const 2)))
            (memory.copy (i32.add (local.get $row) (i32.shl (local.get $pad) (i32.const 2)))
              (i32.shl (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (local.get $c) (local.get $h)) (local.get $y)) (local.get $w))) (i32.const 2))
              (i32.shl (i32.sub (local.get $u1) (local.get $pad)) (i32.const 2)))
            (memory.fill (i32.add (local.get $row) (i32.shl (local.get $u1) (i32.const 2))) (i32.const 0)
              (i32.sub (local.get $L4) (i32.shl (local.get $u1) (i32.const 2))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1))) (br $rl)))
      (local.set $dst (i32.shl (i32.add (local.get $V) (i32.add (i32.mul (local.get $c) (local.get $Tb)) (local.get $toff))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${inRow(0)}
          ${inRow(1)}
          ${inRow(2)}
          ${inRow(3)}
          ${inStore()}
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $c (i32.add (local.get $c) (i32.const 1))) (br $cl))))

  ;; Output tile row ty of one image out (cOut×oh×ow) from M (16×cOut×Tb, columns toff…).
  (func $winoOut (param $M i32) (param $cOut i32) (param $Tb i32) (param $toff i32) (param $out i32)
      (param $oh i32) (param $ow i32) (param $ty i32) (param $twp i32) (param $sc i32)
    (local $o i32) (local $tx i32) (local $src i32) (local $xs i32) (local $y i32) (local $row i32)
    (local $ow4 i32) (local $dst i32) (local $cnt i32)
    ${v128Locals([...m, ...sLocals, "y00", "y01", "y10", "y11", "lo", "hi"])}
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cOut) (local.get $Tb)) (i32.const ${PAD})) (i32.const 2)))
    (local.set $ow4 (i32.shl (local.get $ow) (i32.const 2)))
    (local.set $y (i32.shl (local.get $ty) (i32.const 1)))
    (local.set $o (i32.const 0))
    (block $od (loop $ol (br_if $od (i32.ge_u (local.get $o) (local.get $cOut)))
      (local.set $src (i32.shl (i32.add (local.get $M) (i32.add (i32.mul (local.get $o) (local.get $Tb)) (local.get $toff))) (i32.const 2)))
      (local.set $row (i32.shl (i32.add (local.get $out) (i32.mul (i32.add (i32.mul (local.get $o) (local.get $oh)) (local.get $y)) (local.get $ow))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${loadM()}
          ${outTransform()}
          ${outStore(0)}
          ${outStore(1)}
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1))) (br $ol))))

  ;; Z (16×cOut×Tb, columns toff…) = A dY Aᵀ of tile row ty of one image dy (cOut×oh×ow).
  (func $winoDy (param $dy i32) (param $cOut i32) (param $oh i32) (param $ow i32) (param $ty i32)
      (param $twp i32) (param $Z i32) (param $Tb i32) (param $toff i32) (param $sc i32)
    (local $o i32) (local $a i32) (local $y i32) (local $L4 i32) (local $row i32) (local $tx i32)
    (local $dst i32) (local $xs i32)
    ${v128Locals(["va", "vb", ...sLocals, ...yLocals])}
    (local.set $L4 (i32.shl (local.get $twp) (i32.const 3)))
    (local.set $xs (i32.shl (i32.add (i32.mul (local.get $cOut) (local.get $Tb)) (i32.const ${PAD})) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $od (loop $ol (br_if $od (i32.ge_u (local.get $o) (local.get $cOut)))
      ;; the 2 dY rows of the tile row, zero-padded to 2·twp
      (local.set $a (i32.const 0))
      (block $ad (loop $al (br_if $ad (i32.ge_u (local.get $a) (i32.const 2)))
        (local.set $y (i32.add (i32.shl (local.get $ty) (i32.const 1)) (local.get $a)))
        (local.set $row (i32.add (local.get $sc) (i32.mul (local.get $a) (local.get $L4))))
        (if (i32.ge_s (local.get $y) (local.get $oh))
          (then (memory.fill (local.get $row) (i32.const 0) (local.get $L4)))
          (else
            (memory.copy (local.get $row)
              (i32.shl (i32.add (local.get $dy) (i32.mul (i32.add (i32.mul (local.get $o) (local.get $oh)) (local.get $y)) (local.get $ow))) (i32.const 2))
              (i32.shl (local.get $ow) (i32.const 2)))
            (memory.fill (i32.add (local.get $row) (i32.shl (local.get $ow) (i32.const 2))) (i32.const 0)
              (i32.sub (local.get $L4) (i32.shl (local.get $ow) (i32.const 2))))))
        (local.set $a (i32.add (local.get $a) (i32.const 1))) (br $al)))
      (local.set $dst (i32.shl (i32.add (local.get $Z) (i32.add (i32.mul (local.get $o) (local.get $Tb)) (local.get $toff))) (i32.const 2)))
      (local.set $tx (i32.const 0))
      (block $xd (loop $xl (br_if $xd (i32.ge_u (local.get $tx) (local.get $twp)))
          ${dyTransform()}
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 4))) (br $xl)))
      (local.set $o (i32.add (local.get $o) (i32.const 1))) (br $ol))))

  (func (export "wino") (param $mode i32) (param $x i32) (param $u i32) (param $out i32)
      (param $ctr i32) (param $n i32) (param $cIn i32) (param $h i32) (param $w i32) (param $cOut i32)
      (param $pad i32) (param $oh i32) (param $ow i32) (param $th i32) (param $twp i32) (param $rows i32)
      (param $ws i32) (param $scratch i32)
    (local $G i32) (local $blk i32) (local $nblk i32) (local $g0 i32) (local $g1 i32) (local $g i32)
    (local $Tb i32) (local $V i32) (local $M i32) (local $sc i32) (local $k i32) (local $b i32)
    (local $ty i32) (local $first i32)
    (local.set $G (i32.mul (local.get $n) (local.get $th)))
    (local.set $nblk (i32.div_u (i32.add (local.get $G) (i32.sub (local.get $rows) (i32.const 1))) (local.get $rows)))
    (local.set $V (local.get $ws))
    (local.set $M (i32.add (local.get $V) (i32.shl (i32.add (i32.mul (local.get $cIn) (i32.mul (local.get $rows) (local.get $twp))) (i32.const ${PAD})) (i32.const 4))))
    (local.set $sc (i32.shl (i32.add (local.get $M) (i32.shl (i32.add (i32.mul (local.get $cOut) (i32.mul (local.get $rows) (local.get $twp))) (i32.const ${PAD})) (i32.const 4))) (i32.const 2)))
    (local.set $first (i32.const 1))
    (local.set $blk (i32.const 0))
    (block $bd (loop $bl
      (if (i32.eqz (local.get $mode))
        (then (local.set $blk (i32.atomic.rmw.add (i32.shl (local.get $ctr) (i32.const 2)) (i32.const 1)))))
      (br_if $bd (i32.ge_u (local.get $blk) (local.get $nblk)))
      (local.set $g0 (i32.mul (local.get $blk) (local.get $rows)))
      (local.set $g1 (call $min (i32.add (local.get $g0) (local.get $rows)) (local.get $G)))
      (local.set $Tb (i32.mul (i32.sub (local.get $g1) (local.get $g0)) (local.get $twp)))
      (local.set $g (local.get $g0))
      (block $gd (loop $gl (br_if $gd (i32.ge_u (local.get $g) (local.get $g1)))
        (local.set $b (i32.div_u (local.get $g) (local.get $th)))
        (local.set $ty (i32.rem_u (local.get $g) (local.get $th)))
        (call $winoIn (i32.add (local.get $x) (i32.mul (local.get $b) (i32.mul (local.get $cIn) (i32.mul (local.get $h) (local.get $w)))))
          (local.get $cIn) (local.get $h) (local.get $w) (local.get $pad) (local.get $ty) (local.get $twp)
          (local.get $V) (local.get $Tb) (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $twp)) (local.get $sc))
        (if (i32.eq (local.get $mode) (i32.const 2)) (then
          (call $winoDy (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $cOut) (i32.mul (local.get $oh) (local.get $ow)))))
            (local.get $cOut) (local.get $oh) (local.get $ow) (local.get $ty) (local.get $twp)
            (local.get $M) (local.get $Tb) (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $twp)) (local.get $sc))))
        (local.set $g (i32.add (local.get $g) (i32.const 1))) (br $gl)))
      (local.set $k (i32.const 0))
      (block $kd (loop $kl (br_if $kd (i32.ge_u (local.get $k) (i32.const 16)))
        (if (i32.eqz (local.get $mode))
          (then
            ;; M[ξ] (cOut×Tb) = U[ξ] (cOut×cIn) · V[ξ] (cIn×Tb)
            (call $gemm (local.get $cOut) (local.get $Tb) (local.get $cIn)
              (i32.add (local.get $u) (i32.mul (local.get $k) (i32.mul (local.get $cOut) (local.get $cIn)))) (local.get $cIn) (i32.const 1)
              (i32.add (local.get $V) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cIn) (local.get $Tb)) (i32.const ${PAD})))) (local.get $Tb) (i32.const 1)
              (i32.add (local.get $M) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cOut) (local.get $Tb)) (i32.const ${PAD})))) (local.get $Tb)
              (i32.const 0) (local.get $scratch)))
          (else
            ;; dU[ξ] (cOut×cIn) += Z[ξ] (cOut×Tb) · V[ξ]ᵀ (Tb×cIn)
            (call $gemm (local.get $cOut) (local.get $cIn) (local.get $Tb)
              (i32.add (local.get $M) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cOut) (local.get $Tb)) (i32.const ${PAD})))) (local.get $Tb) (i32.const 1)
              (i32.add (local.get $V) (i32.mul (local.get $k) (i32.add (i32.mul (local.get $cIn) (local.get $Tb)) (i32.const ${PAD})))) (i32.const 1) (local.get $Tb)
              (i32.add (local.get $u) (i32.mul (local.get $k) (i32.mul (local.get $cOut) (local.get $cIn)))) (local.get $cIn)
              (i32.eqz (local.get $first)) (local.get $scratch))))
        (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $kl)))
      (local.set $first (i32.const 0))
      (if (i32.eqz (local.get $mode)) (then
        (local.set $g (local.get $g0))
        (block $od (loop $ol (br_if $od (i32.ge_u (local.get $g) (local.get $g1)))
          (local.set $b (i32.div_u (local.get $g) (local.get $th)))
          (call $winoOut (local.get $M) (local.get $cOut) (local.get $Tb)
            (i32.mul (i32.sub (local.get $g) (local.get $g0)) (local.get $twp))
            (i32.add (local.get $out) (i32.mul (local.get $b) (i32.mul (local.get $cOut) (i32.mul (local.get $oh) (local.get $ow)))))
            (local.get $oh) (local.get $ow) (i32.rem_u (local.get $g) (local.get $th)) (local.get $twp) (local.get $sc))
          (local.set $g (i32.add (local.get $g) (i32.const 1))) (br $ol)))))
      (if (local.get $mode) (then (local.set $blk (i32.add (local.get $blk) (i32.const 1)))))
      (br $bl))))
`;
}
