/**
 * WebAssembly SIMD text of the memory-bound kernels that dominate outside GEMM: ReLU and its
 * gradient, same-shape add, axpy, PReLU and its gradient, and the per-channel pieces of batch
 * norm (sums with float64 accumulation, x·(y − mean[c]) dot products, per-channel affine maps).
 * Branch-free (f32x4 compare + bitselect), so data-dependent signs cost nothing; plain JS
 * versions of these loops mispredict branches at ~15 ns per element here.
 * All offsets are float32 element offsets; `n, c, hw` describe (n, c, hw) dense blocks.
 * @module
 */

const L = (x: string) => `(local.get $${x})`;
const at = (ptr: string, off = "$o") => `(i32.add (local.get $${ptr}) (local.get ${off}))`;
const bytes = (...names: string[]) =>
  names.map((n) => `(local.set $${n} (i32.shl (local.get $${n}) (i32.const 2)))`).join("\n    ");

/** A loop over n elements: vector body on 4 at a time, scalar body on the tail. `$o` = byte offset. */
function flat(name: string, params: string, vec: string, scal: string, extraParams = ""): string {
  const ptrs = params.split(" ").filter((p) => p.startsWith("$") && p !== "$n").map((p) =>
    p.slice(1)
  );
  return `(func (export "${name}") ${
    params.split(" ").map((p) => `(param ${p} i32)`).join(" ")
  } ${extraParams}
    (local $o i32) (local $end i32) (local $vend i32)
    ${bytes(...ptrs)}
    (local.set $end (i32.shl ${L("n")} (i32.const 2)))
    (local.set $vend (i32.and ${L("end")} (i32.const -16)))
    (local.set $o (i32.const 0))
    (block $vd (loop $vl (br_if $vd (i32.ge_u ${L("o")} ${L("vend")}))
      ${vec}
      (local.set $o (i32.add ${L("o")} (i32.const 16))) (br $vl)))
    (block $sd (loop $sl (br_if $sd (i32.ge_u ${L("o")} ${L("end")}))
      ${scal}
      (local.set $o (i32.add ${L("o")} (i32.const 4))) (br $sl))))`;
}

/**
 * A loop over the (n, c0 ≤ ch < c1, hw) blocks of an (n, c, hw) tensor (a channel range, so
 * threads can split the channels: each channel is still summed in the same order, so the bits
 * do not depend on the split): `pre` runs per (b, ch) with `$ch4` = ch·4 bytes, vector/scalar
 * bodies per element with `$o` = byte offset of the element, `post` after each block.
 */
function blocks(
  name: string,
  ptrs: string[],
  locals: string,
  pre: string,
  vec: string,
  scal: string,
  post: string,
  init = "",
  fin = "",
): string {
  return `(func (export "${name}") ${ptrs.map((p) => `(param $${p} i32)`).join(" ")}
      (param $n i32) (param $c i32) (param $hw i32) (param $c0 i32) (param $c1 i32)
    (local $b i32) (local $ch i32) (local $ch4 i32) (local $o i32) (local $base i32) (local $end i32)
    (local $vend i32) ${locals}
    ${bytes(...ptrs)}
    ${init}
    (local.set $b (i32.const 0))
    (block $bd (loop $bl (br_if $bd (i32.ge_u ${L("b")} ${L("n")}))
      (local.set $ch ${L("c0")})
      (block $cd (loop $cl (br_if $cd (i32.ge_u ${L("ch")} ${L("c1")}))
        (local.set $base (i32.shl (i32.mul (i32.add (i32.mul ${L("b")} ${L("c")}) ${L("ch")}) ${
    L("hw")
  }) (i32.const 2)))
        (local.set $ch4 (i32.shl ${L("ch")} (i32.const 2)))
        (local.set $end (i32.add ${L("base")} (i32.shl ${L("hw")} (i32.const 2))))
        (local.set $vend (i32.add ${L("base")} (i32.shl (i32.and ${
    L("hw")
  } (i32.const -4)) (i32.const 2))))
        ${pre}
        (local.set $o ${L("base")})
        (block $vd (loop $vl (br_if $vd (i32.ge_u ${L("o")} ${L("vend")}))
          ${vec}
          (local.set $o (i32.add ${L("o")} (i32.const 16))) (br $vl)))
        (block $sd (loop $sl (br_if $sd (i32.ge_u ${L("o")} ${L("end")}))
          ${scal}
          (local.set $o (i32.add ${L("o")} (i32.const 4))) (br $sl)))
        ${post}
        (local.set $ch (i32.add ${L("ch")} (i32.const 1))) (br $cl)))
      (local.set $b (i32.add ${L("b")} (i32.const 1))) (br $bl)))
    ${fin})`;
}

const hsum64 = (a: string, b: string) =>
  `(f64.add (f64.add (f64x2.extract_lane 0 (local.get ${a})) (f64x2.extract_lane 1 (local.get ${a})))
     (f64.add (f64x2.extract_lane 0 (local.get ${b})) (f64x2.extract_lane 1 (local.get ${b}))))`;
/** acc_lo/acc_hi += promote(v) (accumulators $lo$k, $hi$k) */
const acc64 = (v: string, k = "") =>
  `(local.set $lo${k} (f64x2.add (local.get $lo${k}) (f64x2.promote_low_f32x4 ${v})))
          (local.set $hi${k} (f64x2.add (local.get $hi${k}) (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v}))))`;

/** out[ch] += the channel's float64 sum ($s$k plus the lanes of $lo$k, $hi$k), rounded once. */
const addSum = (out: string, k = "") =>
  `(f32.store (i32.add ${L(out)} ${L("ch4")}) (f32.add (f32.load (i32.add ${L(out)} ${L("ch4")}))
          (f32.demote_f64 (f64.add ${L(`s${k}`)} ${hsum64(`$lo${k}`, `$hi${k}`)}))))`;
/** Zero out[c0 … c1) before the blocks add into it. */
const zeroChannels = (out: string) =>
  `(memory.fill (i32.add ${L(out)} (i32.shl ${L("c0")} (i32.const 2))) (i32.const 0)
        (i32.shl (i32.sub ${L("c1")} ${L("c0")}) (i32.const 2)))`;

/**
 * Momentum SGD on n elements, as the TS kernel (`js_kernels.ts` `sgd`) computes it, two elements
 * per float64 pair: g = grad + wd·param, v = momentum·mom + g, mom = v, param −= lr·v, in float64
 * from the float32 values, rounded when stored; lr, momentum, wd are float64 at `hp` (so the same
 * bits as the TS loop: the trainer's checkpoints and resumes depend on them).
 */
function sgdWat(): string {
  const half = (ptr: string) => `(f64x2.promote_low_f32x4 (v128.load64_zero ${at(ptr)}))`;
  const one = (ptr: string) => `(f64.promote_f32 (f32.load ${at(ptr)}))`;
  return `(func (export "sgd") (param $p i32) (param $g i32) (param $m i32) (param $n i32) (param $hp i32)
    (local $o i32) (local $end i32) (local $vend i32) (local $lr f64) (local $mo f64) (local $wd f64)
    (local $pv v128) (local $v v128) (local $ps f64) (local $vs f64)
    ${bytes("p", "g", "m", "hp")}
    (local.set $lr (f64.load ${L("hp")})) (local.set $mo (f64.load offset=8 ${L("hp")}))
    (local.set $wd (f64.load offset=16 ${L("hp")}))
    (local.set $end (i32.shl ${L("n")} (i32.const 2)))
    (local.set $vend (i32.and ${L("end")} (i32.const -8)))
    (local.set $o (i32.const 0))
    (block $vd (loop $vl (br_if $vd (i32.ge_u ${L("o")} ${L("vend")}))
      (local.set $pv ${half("p")})
      (local.set $v (f64x2.add (f64x2.mul (f64x2.splat ${L("mo")}) ${half("m")})
        (f64x2.add ${half("g")} (f64x2.mul (f64x2.splat ${L("wd")}) ${L("pv")}))))
      (v128.store64_lane 0 ${at("m")} (f32x4.demote_f64x2_zero ${L("v")}))
      (v128.store64_lane 0 ${at("p")} (f32x4.demote_f64x2_zero
        (f64x2.sub ${L("pv")} (f64x2.mul (f64x2.splat ${L("lr")}) ${L("v")}))))
      (local.set $o (i32.add ${L("o")} (i32.const 8))) (br $vl)))
    (if (i32.lt_u ${L("o")} ${L("end")}) (then
      (local.set $ps ${one("p")})
      (local.set $vs (f64.add (f64.mul ${L("mo")} ${one("m")})
        (f64.add ${one("g")} (f64.mul ${L("wd")} ${L("ps")}))))
      (f32.store ${at("m")} (f32.demote_f64 ${L("vs")}))
      (f32.store ${at("p")} (f32.demote_f64 (f64.sub ${L("ps")} (f64.mul ${L("lr")} ${
    L("vs")
  })))))))`;
}

const ZERO = "(v128.const i32x4 0 0 0 0)";
/** Splats of the per-channel values at pointers `names` ($<name>v, and the scalars $<name>s). */
const perChannel = (names: string[]) => ({
  locals: names.map((p) => `(local $${p}s f32) (local $${p}v v128)`).join(" "),
  pre: names.map((p) =>
    `(local.set $${p}s (f32.load (i32.add ${L(p)} ${L("ch4")})))
        (local.set $${p}v (f32x4.splat ${L(`${p}s`)}))`
  ).join("\n        "),
});
/**
 * dy gated by the ReLU of a fused batch norm + ReLU (`_relu` kernels): dy where
 * FA[ch]·x + FB[ch] > 0 (the forward's pre-activation, recomputed with the same float32 ops as
 * `ch_affine_relu`), else 0; plain dy otherwise. Vector and scalar forms.
 */
const gated = (relu: boolean, dy: string, x: string) =>
  relu
    ? [
      `(v128.and (v128.load ${at(dy)}) (f32x4.gt (f32x4.add (f32x4.mul (v128.load ${at(x)}) ${
        L("FAv")
      }) ${L("FBv")}) ${ZERO}))`,
      `(select (f32.load ${at(dy)}) (f32.const 0) (f32.gt (f32.add (f32.mul (f32.load ${at(x)}) ${
        L("FAs")
      }) ${L("FBs")}) (f32.const 0)))`,
    ]
    : [`(v128.load ${at(dy)})`, `(f32.load ${at(dy)})`];

/**
 * sum[ch] = Σ x and dot[ch] = Σ x·(y − mean[ch]) in one sweep: ch_sum and ch_dot's
 * accumulators, each in its own order, so the same bits as the two kernels; `relu`: x gated
 * by the fused ReLU of y (`gated`), i.e. the sums of the ReLU's input gradient.
 */
function chSumDot(relu: boolean): string {
  const pc = perChannel(relu ? ["FA", "FB"] : []);
  const [gv, gs] = gated(relu, "x", "y");
  return blocks(
    `ch_sum_dot${relu ? "_relu" : ""}`,
    ["x", "y", "mean", "sum", "dot", ...(relu ? ["FA", "FB"] : [])],
    `(local $lo v128) (local $hi v128) (local $s f64) (local $lo2 v128) (local $hi2 v128)
      (local $s2 f64) (local $mu f32) (local $mv v128) (local $v v128) (local $d f32) ${pc.locals}`,
    `(local.set $lo ${ZERO}) (local.set $hi ${ZERO}) (local.set $s (f64.const 0))
        (local.set $lo2 ${ZERO}) (local.set $hi2 ${ZERO}) (local.set $s2 (f64.const 0))
        (local.set $mu (f32.load (i32.add ${L("mean")} ${L("ch4")})))
        (local.set $mv (f32x4.splat ${L("mu")}))
        ${pc.pre}`,
    `(local.set $v ${gv})
          ${acc64(L("v"))}
          ${acc64(`(f32x4.mul ${L("v")} (f32x4.sub (v128.load ${at("y")}) ${L("mv")}))`, "2")}`,
    `(local.set $d ${gs})
          (local.set $s (f64.add ${L("s")} (f64.promote_f32 ${L("d")})))
          (local.set $s2 (f64.add ${L("s2")} (f64.promote_f32 (f32.mul ${L("d")}
            (f32.sub (f32.load ${at("y")}) ${L("mu")})))))`,
    `${addSum("sum")}
        ${addSum("dot", "2")}`,
    `${zeroChannels("sum")}
    ${zeroChannels("dot")}`,
  );
}

/** out = A[ch]·x + B[ch]; `relu`: max(that, 0) (batch norm + ReLU fused). */
function chAffine(relu: boolean): string {
  const pc = perChannel(["A", "B"]);
  const v = `(f32x4.add (f32x4.mul (v128.load ${at("x")}) ${L("Av")}) ${L("Bv")})`;
  const s = `(f32.add (f32.mul (f32.load ${at("x")}) ${L("As")}) ${L("Bs")})`;
  return blocks(
    `ch_affine${relu ? "_relu" : ""}`,
    ["x", "out", "A", "B"],
    pc.locals,
    pc.pre,
    `(v128.store ${at("out")} ${relu ? `(f32x4.max ${v} ${ZERO})` : v})`,
    `(f32.store ${at("out")} ${relu ? `(f32.max ${s} (f32.const 0))` : s})`,
    "",
  );
}

/** out = A[ch]·x + B[ch]·y + C[ch]; `relu`: x gated by the fused ReLU of y (`gated`). */
function chAffine2(relu: boolean): string {
  const pc = perChannel(["A", "B", "C", ...(relu ? ["FA", "FB"] : [])]);
  const [gv, gs] = gated(relu, "x", "y");
  return blocks(
    `ch_affine2${relu ? "_relu" : ""}`,
    ["x", "y", "out", "A", "B", "C", ...(relu ? ["FA", "FB"] : [])],
    pc.locals,
    pc.pre,
    `(v128.store ${at("out")} (f32x4.add (f32x4.add (f32x4.mul ${gv} ${L("Av")})
            (f32x4.mul (v128.load ${at("y")}) ${L("Bv")})) ${L("Cv")}))`,
    `(f32.store ${at("out")} (f32.add (f32.add (f32.mul ${gs} ${L("As")})
            (f32.mul (f32.load ${at("y")}) ${L("Bs")})) ${L("Cs")}))`,
    "",
  );
}

/** The functions (to be placed inside the module that imports the shared memory). */
export function eltwiseWat(): string {
  const zero = "(v128.const i32x4 0 0 0 0)";
  return [
    sgdWat(),
    flat(
      "relu",
      "$x $out $n",
      `(v128.store ${at("out")} (f32x4.max (v128.load ${at("x")}) ${zero}))`,
      `(f32.store ${at("out")} (f32.max (f32.load ${at("x")}) (f32.const 0)))`,
    ),
    flat(
      "relu_bwd",
      "$x $dy $dx $n",
      `(v128.store ${at("dx")} (v128.and (v128.load ${at("dy")}) (f32x4.gt (v128.load ${
        at("x")
      }) ${zero})))`,
      `(f32.store ${at("dx")} (select (f32.load ${at("dy")}) (f32.const 0) (f32.gt (f32.load ${
        at("x")
      }) (f32.const 0))))`,
    ),
    flat(
      "add",
      "$a $b $out $n",
      `(v128.store ${at("out")} (f32x4.add (v128.load ${at("a")}) (v128.load ${at("b")})))`,
      `(f32.store ${at("out")} (f32.add (f32.load ${at("a")}) (f32.load ${at("b")})))`,
    ),
    flat(
      "axpy",
      "$dst $src $n",
      `(v128.store ${at("dst")} (f32x4.add (v128.load ${at("dst")}) (f32x4.mul (v128.load ${
        at("src")
      }) (f32x4.splat (local.get $alpha)))))`,
      `(f32.store ${at("dst")} (f32.add (f32.load ${at("dst")}) (f32.mul (f32.load ${
        at("src")
      }) (local.get $alpha))))`,
      "(param $alpha f32)",
    ),
    blocks(
      "prelu",
      ["x", "alpha", "out"],
      "(local $a f32) (local $av v128) (local $v v128)",
      `(local.set $a (f32.load (i32.add ${L("alpha")} ${L("ch4")})))
        (local.set $av (f32x4.splat ${L("a")}))`,
      `(local.set $v (v128.load ${at("x")}))
          (v128.store ${at("out")} (v128.bitselect ${L("v")} (f32x4.mul ${L("v")} ${L("av")})
            (f32x4.gt ${L("v")} ${zero})))`,
      `(f32.store ${at("out")} (select (f32.load ${at("x")}) (f32.mul (f32.load ${at("x")}) ${
        L("a")
      }) (f32.gt (f32.load ${at("x")}) (f32.const 0))))`,
      "",
    ),
    blocks(
      "prelu_bwd",
      ["x", "alpha", "dy", "dx", "dalpha"],
      "(local $a f32) (local $av v128) (local $v v128) (local $g v128) (local $m v128) (local $lo v128) (local $hi v128) (local $s f64)",
      `(local.set $a (f32.load (i32.add ${L("alpha")} ${L("ch4")})))
        (local.set $av (f32x4.splat ${L("a")}))
        (local.set $lo ${zero}) (local.set $hi ${zero}) (local.set $s (f64.const 0))`,
      `(local.set $v (v128.load ${at("x")}))
          (local.set $g (v128.load ${at("dy")}))
          (local.set $m (f32x4.gt ${L("v")} ${zero}))
          (v128.store ${at("dx")} (v128.bitselect ${L("g")} (f32x4.mul ${L("g")} ${L("av")}) ${
        L("m")
      }))
          ${acc64(`(v128.andnot (f32x4.mul ${L("g")} ${L("v")}) ${L("m")})`)}`,
      `(if (f32.gt (f32.load ${at("x")}) (f32.const 0))
            (then (f32.store ${at("dx")} (f32.load ${at("dy")})))
            (else (f32.store ${at("dx")} (f32.mul (f32.load ${at("dy")}) ${L("a")}))
              (local.set $s (f64.add ${L("s")} (f64.promote_f32 (f32.mul (f32.load ${
        at("dy")
      }) (f32.load ${at("x")})))))))`,
      addSum("dalpha"),
      zeroChannels("dalpha"),
    ),
    // out[ch] = Σ x (over n and hw)
    blocks(
      "ch_sum",
      ["x", "out"],
      "(local $lo v128) (local $hi v128) (local $s f64)",
      `(local.set $lo ${zero}) (local.set $hi ${zero}) (local.set $s (f64.const 0))`,
      acc64(`(v128.load ${at("x")})`),
      `(local.set $s (f64.add ${L("s")} (f64.promote_f32 (f32.load ${at("x")}))))`,
      addSum("out"),
      zeroChannels("out"),
    ),
    // out[ch] = Σ x·(y − mean[ch])
    blocks(
      "ch_dot",
      ["x", "y", "mean", "out"],
      "(local $lo v128) (local $hi v128) (local $s f64) (local $mu f32) (local $mv v128)",
      `(local.set $lo ${zero}) (local.set $hi ${zero}) (local.set $s (f64.const 0))
        (local.set $mu (f32.load (i32.add ${L("mean")} ${L("ch4")})))
        (local.set $mv (f32x4.splat ${L("mu")}))`,
      acc64(`(f32x4.mul (v128.load ${at("x")}) (f32x4.sub (v128.load ${at("y")}) ${L("mv")}))`),
      `(local.set $s (f64.add ${L("s")} (f64.promote_f32 (f32.mul (f32.load ${at("x")})
            (f32.sub (f32.load ${at("y")}) ${L("mu")})))))`,
      addSum("out"),
      zeroChannels("out"),
    ),
    ...[false, true].flatMap((relu) => [chSumDot(relu), chAffine(relu), chAffine2(relu)]),
  ].join("\n\n  ");
}
