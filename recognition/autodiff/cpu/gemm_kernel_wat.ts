/**
 * WebAssembly SIMD text of the GEMM's register-tiled micro-kernels (`gemm_wat.ts`): the MR×NR
 * tile, and one kernel per partial row count 1 … MR−1 for the last panel of an M that is not a
 * multiple of MR (with M = 32, 64 or 128 output channels, the full tile would spend its FMAs on
 * up to 4 zero-padded rows: GEMM throughput 30–34 against 36–40 GFLOP/s at multiples of 6).
 * Every kernel sums each C element over the depth in the same order, so the bits do not depend
 * on which kernel computed it.
 * @module
 */
import type { GemmShape } from "./gemm_wat.ts";

/** Name of the kernel for `rows` rows of the tile (`$kernel` for all MR of them). */
export function kernelName(s: GemmShape, rows: number): string {
  return rows === s.mr ? "$kernel" : `$kernel_r${rows}`;
}

/**
 * A `rows`×NR tile of C from a packed A panel pa (kc×MR: rows ≥ `rows` are read past) and B rows
 * of NR floats at pb, pb + bs, pb + 2·bs, … (a packed panel: bs = NR·4; B itself when
 * row-major: its row stride). ldc and bs in bytes; $mr ≤ rows and $nr ≤ NR say how much of the
 * tile is stored (a partial tile goes through the scratch tile at $tmp).
 */
function kernelWat(s: GemmShape, rows: number): string {
  const { mr, nr } = s;
  const nv = nr / 4;
  const acc = (r: number, v: number) => `$c${r}_${v}`;
  const accLocals: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < nv; v++) accLocals.push(`(local ${acc(r, v)} v128)`);
  }
  const bLocals = Array.from({ length: nv }, (_, v) => `(local $b${v} v128)`).join(" ");
  const madd = (a: string, b: string, c: string) =>
    s.fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add ${c} (f32x4.mul ${a} ${b}))`;

  /** One depth step reading the panels at byte offset `u` steps ahead. */
  const kStep = (u: number): string[] => {
    const out: string[] = [];
    for (let v = 0; v < nv; v++) {
      out.push(`(local.set $b${v} (v128.load offset=${v * 16} (local.get $pb)))`);
    }
    out.push(`(local.set $pb (i32.add (local.get $pb) (local.get $bs)))`);
    for (let r = 0; r < rows; r++) {
      out.push(`(local.set $a (v128.load32_splat offset=${u * mr * 4 + r * 4} (local.get $pa)))`);
      for (let v = 0; v < nv; v++) {
        out.push(
          `(local.set ${acc(r, v)} ${
            madd("(local.get $a)", `(local.get $b${v})`, `(local.get ${acc(r, v)})`)
          })`,
        );
      }
    }
    return out;
  };
  const unroll = s.unroll ?? 4;
  const fullStore: string[] = [];
  const tmpStore: string[] = [];
  for (let r = 0; r < rows; r++) {
    fullStore.push(
      `(local.set $dst (i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const ${r}))))`,
    );
    for (let v = 0; v < nv; v++) {
      fullStore.push(
        `(v128.store offset=${
          v * 16
        } (local.get $dst) (if (result v128) (local.get $acc) (then (f32x4.add (v128.load offset=${
          v * 16
        } (local.get $dst)) (local.get ${acc(r, v)}))) (else (local.get ${acc(r, v)}))))`,
      );
      tmpStore.push(
        `(v128.store offset=${(r * nr + v * 4) * 4} (local.get $tmp) (local.get ${acc(r, v)}))`,
      );
    }
  }
  return `
  (func ${kernelName(s, rows)} (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32)
      (param $ldc i32) (param $acc i32) (param $mr i32) (param $nr i32) (param $tmp i32) (param $bs i32)
    (local $a v128) ${bLocals}
    ${accLocals.join(" ")}
    (local $dst i32) (local $r i32) (local $j i32) (local $v f32)
    ;; depth loop unrolled ${unroll}×, then single steps
    (block $done2 (loop $lp2
      (br_if $done2 (i32.lt_u (local.get $kc) (i32.const ${unroll})))
      ${Array.from({ length: unroll }, (_, u) => kStep(u).join("\n      ")).join("\n      ")}
      (local.set $pa (i32.add (local.get $pa) (i32.const ${unroll * mr * 4})))
      (local.set $kc (i32.sub (local.get $kc) (i32.const ${unroll})))
      (br $lp2)))
    (block $done (loop $lp
      (br_if $done (i32.eqz (local.get $kc)))
      ${kStep(0).join("\n      ")}
      (local.set $pa (i32.add (local.get $pa) (i32.const ${mr * 4})))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br $lp)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const ${rows})) (i32.eq (local.get $nr) (i32.const ${nr})))
      (then
        ${fullStore.join("\n        ")})
      (else
        ${tmpStore.join("\n        ")}
        (local.set $r (i32.const 0))
        (block $rd (loop $rl
          (br_if $rd (i32.ge_u (local.get $r) (local.get $mr)))
          (local.set $j (i32.const 0))
          (block $jd (loop $jl
            (br_if $jd (i32.ge_u (local.get $j) (local.get $nr)))
            (local.set $dst (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc)))
              (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v (f32.load (i32.add (local.get $tmp)
              (i32.shl (i32.add (i32.mul (local.get $r) (i32.const ${nr})) (local.get $j)) (i32.const 2)))))
            (if (local.get $acc) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $dst))))))
            (f32.store (local.get $dst) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jl)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $rl))))))`;
}

/** The micro-kernels: `$kernel` (MR rows) and `$kernel_r1` … `$kernel_r{MR−1}`. */
export function kernelsWat(s: GemmShape): string {
  return Array.from({ length: s.mr }, (_, i) => kernelWat(s, i + 1)).join("\n");
}

/**
 * A call of the kernel for `rows` rows (a wasm i32 expression, 1 … MR) with the argument text
 * `args` (all ten parameters, $mr included).
 */
export function kernelCall(s: GemmShape, rows: string, args: string): string {
  let out = `(call ${kernelName(s, s.mr)} ${args})`;
  for (let r = s.mr - 1; r >= 1; r--) {
    out = `(if (i32.eq ${rows} (i32.const ${r})) (then (call ${kernelName(s, r)} ${args}))
              (else ${out}))`;
  }
  return out;
}
