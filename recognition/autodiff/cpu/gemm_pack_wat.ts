/**
 * WebAssembly SIMD text of the GEMM's packing fast paths (`gemm_wat.ts`): a row-major A and a
 * column-major B transposed into panels with shuffles.
 * @module
 */

/** i8x16.shuffle byte indices selecting f32 lanes (0–3 first operand, 4–7 second). */
export function lanes(...ls: number[]): string {
  return ls.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(" ");
}

/**
 * Fast path of packA for a row-major A (acs = 4 bytes) and a full 6-row panel: 4 depths at a
 * time, six v128 row loads transposed with shuffles into the k-major panel layout.
 */
export function packARowMajor6(mr: number): string {
  if (mr !== 6) return "";
  const ld = (r: number) =>
    `(local.set $v${r} (v128.load (i32.add (local.get $r0) (i32.mul (local.get $ars) (i32.const ${r})))))`;
  const sh = (a: string, b: string, l: number[]) =>
    `(i8x16.shuffle ${lanes(...l)} (local.get ${a}) (local.get ${b}))`;
  return `(if (i32.and (i32.eq (local.get $acs) (i32.const 4))
              (i32.le_u (i32.add (local.get $ip) (i32.const 6)) (local.get $mc)))
        (then
          (block $qd (loop $ql
            (br_if $qd (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $kc)))
            (local.set $r0 (i32.add (local.get $a) (i32.add (i32.shl (local.get $p) (i32.const 2))
              (i32.mul (local.get $ip) (local.get $ars)))))
            ${[0, 1, 2, 3, 4, 5].map(ld).join("\n            ")}
            (local.set $t0 ${sh("$v0", "$v1", [0, 4, 1, 5])})
            (local.set $t1 ${sh("$v0", "$v1", [2, 6, 3, 7])})
            (local.set $t2 ${sh("$v2", "$v3", [0, 4, 1, 5])})
            (local.set $t3 ${sh("$v2", "$v3", [2, 6, 3, 7])})
            (v128.store offset=0 (local.get $dst) ${sh("$t0", "$t2", [0, 1, 4, 5])})
            (v128.store offset=24 (local.get $dst) ${sh("$t0", "$t2", [2, 3, 6, 7])})
            (v128.store offset=48 (local.get $dst) ${sh("$t1", "$t3", [0, 1, 4, 5])})
            (v128.store offset=72 (local.get $dst) ${sh("$t1", "$t3", [2, 3, 6, 7])})
            (local.set $t0 ${sh("$v4", "$v5", [0, 4, 1, 5])})
            (local.set $t1 ${sh("$v4", "$v5", [2, 6, 3, 7])})
            (v128.store64_lane offset=16 0 (local.get $dst) (local.get $t0))
            (v128.store64_lane offset=40 1 (local.get $dst) (local.get $t0))
            (v128.store64_lane offset=64 0 (local.get $dst) (local.get $t1))
            (v128.store64_lane offset=88 1 (local.get $dst) (local.get $t1))
            (local.set $dst (i32.add (local.get $dst) (i32.const 96)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ql)))))`;
}

/**
 * Fast path of packB for a column-major B (brs = 4 bytes: a transposed operand, as in the weight
 * gradients) and a full panel: 4 depths at a time, each group of 4 columns loaded as 4 vectors
 * along the depth and transposed with shuffles into 4 panel rows.
 */
export function packBColMajor(nr: number): string {
  if (nr % 4 !== 0) return "";
  const sh = (a: string, b: string, l: number[]) =>
    `(i8x16.shuffle ${lanes(...l)} (local.get ${a}) (local.get ${b}))`;
  const group = (g: number) => {
    const ld = (c: number) =>
      `(local.set $c${c} (v128.load (i32.add (local.get $row) (i32.mul (local.get $bcs) (i32.const ${
        4 * g + c
      })))))`;
    return `${[0, 1, 2, 3].map(ld).join("\n            ")}
            (local.set $t0 ${sh("$c0", "$c1", [0, 4, 1, 5])})
            (local.set $t1 ${sh("$c0", "$c1", [2, 6, 3, 7])})
            (local.set $t2 ${sh("$c2", "$c3", [0, 4, 1, 5])})
            (local.set $t3 ${sh("$c2", "$c3", [2, 6, 3, 7])})
            (v128.store offset=${16 * g} (local.get $dst) ${sh("$t0", "$t2", [0, 1, 4, 5])})
            (v128.store offset=${16 * g + nr * 4} (local.get $dst) ${
      sh("$t0", "$t2", [2, 3, 6, 7])
    })
            (v128.store offset=${16 * g + nr * 8} (local.get $dst) ${
      sh("$t1", "$t3", [0, 1, 4, 5])
    })
            (v128.store offset=${16 * g + nr * 12} (local.get $dst) ${
      sh("$t1", "$t3", [2, 3, 6, 7])
    })`;
  };
  return `(if (i32.and (i32.eq (local.get $brs) (i32.const 4))
              (i32.le_u (i32.add (local.get $jp) (i32.const ${nr})) (local.get $nc)))
        (then
          (block $qd (loop $ql
            (br_if $qd (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $kc)))
            (local.set $row (i32.add (local.get $b) (i32.add (i32.shl (local.get $p) (i32.const 2))
              (i32.mul (local.get $jp) (local.get $bcs)))))
            ${Array.from({ length: nr / 4 }, (_, g) => group(g)).join("\n            ")}
            (local.set $dst (i32.add (local.get $dst) (i32.const ${nr * 16})))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ql)))))`;
}
