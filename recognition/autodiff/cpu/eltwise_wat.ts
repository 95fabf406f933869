/**
 * WebAssembly SIMD text of the memory-bound kernels that dominate outside GEMM: ReLU and its
 * gradient, same-shape add, axpy, PReLU and its gradient, and training batch norm (with a fused
 * ReLU or PReLU, or none) forward and backward, each one kernel that sweeps a channel at a time (float64
 * sums, then the per-channel arithmetic, then the affine map, the later sweeps from cache).
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

/** A sweep over the (n, hw) blocks of a channel: `pre` per block, vector and scalar bodies, `post`. */
interface Sweep {
  pre: string;
  vec: string;
  scal: string;
  post: string;
}
const SUM_LOCALS =
  `(local $lo v128) (local $hi v128) (local $s f64) (local $lo2 v128) (local $hi2 v128)
      (local $s2 f64) (local $mu f32) (local $mv v128) (local $v v128) (local $d f32)`;
const resetSums = (k = "") =>
  `(local.set $lo${k} ${ZERO}) (local.set $hi${k} ${ZERO}) (local.set $s${k} (f64.const 0))`;

/**
 * sum[ch] += Σ x (with `sum`) and dot[ch] += Σ x·(y − mean[ch]) (with `dot`) in one sweep, per
 * (b, ch) block in float64 (two f64x2 accumulators and a scalar tail), added to the float32 result
 * once per block; the two sums have their own accumulators, so doing both in one sweep gives each
 * the bits it has alone. `relu`: x gated by the fused ReLU of y (`gated`), i.e. the sums of the
 * ReLU's input gradient.
 */
function sumDot(x: string, y: string, sum: string | null, dot: string | null, relu = false): Sweep {
  const [gv, gs] = gated(relu, x, y);
  return {
    pre: `${sum ? resetSums() : ""} ${dot ? resetSums("2") : ""}
        (local.set $mu (f32.load (i32.add ${L("mean")} ${L("ch4")})))
        (local.set $mv (f32x4.splat ${L("mu")}))`,
    vec: `(local.set $v ${gv})
          ${sum ? acc64(L("v")) : ""}
          ${
      dot ? acc64(`(f32x4.mul ${L("v")} (f32x4.sub (v128.load ${at(y)}) ${L("mv")}))`, "2") : ""
    }`,
    scal: `(local.set $d ${gs})
          ${sum ? `(local.set $s (f64.add ${L("s")} (f64.promote_f32 ${L("d")})))` : ""}
          ${
      dot
        ? `(local.set $s2 (f64.add ${L("s2")} (f64.promote_f32 (f32.mul ${L("d")}
            (f32.sub (f32.load ${at(y)}) ${L("mu")})))))`
        : ""
    }`,
    post: `${sum ? addSum(sum) : ""} ${dot ? addSum(dot, "2") : ""}`,
  };
}

/**
 * A job kernel over channels c0 ≤ ch < c1 that makes several sweeps over each channel in turn
 * (so the later ones read it from cache), with `between[i]` (per channel) after sweep i;
 * `chanPre` starts each channel. Each channel's arithmetic does not depend on the split.
 */
function channelSweeps(
  name: string,
  ptrs: string[],
  locals: string,
  chanPre: string,
  sweeps: [Sweep, string][],
): string {
  const loops = sweeps.map(([w, between], i) => `
      (local.set $b (i32.const 0))
      (block $bd${i} (loop $bl${i} (br_if $bd${i} (i32.ge_u ${L("b")} ${L("n")}))
        (local.set $base (i32.shl (i32.mul (i32.add (i32.mul ${L("b")} ${L("c")}) ${L("ch")}) ${
    L("hw")
  }) (i32.const 2)))
        (local.set $end (i32.add ${L("base")} (i32.shl ${L("hw")} (i32.const 2))))
        (local.set $vend (i32.add ${L("base")} (i32.shl (i32.and ${
    L("hw")
  } (i32.const -4)) (i32.const 2))))
        ${w.pre}
        (local.set $o ${L("base")})
        (block $vd${i} (loop $vl${i} (br_if $vd${i} (i32.ge_u ${L("o")} ${L("vend")}))
          ${w.vec}
          (local.set $o (i32.add ${L("o")} (i32.const 16))) (br $vl${i})))
        (block $sd${i} (loop $sl${i} (br_if $sd${i} (i32.ge_u ${L("o")} ${L("end")}))
          ${w.scal}
          (local.set $o (i32.add ${L("o")} (i32.const 4))) (br $sl${i})))
        ${w.post}
        (local.set $b (i32.add ${L("b")} (i32.const 1))) (br $bl${i})))
      ${between}`);
  return `(func (export "${name}") ${ptrs.map((p) => `(param $${p} i32)`).join(" ")}
      (param $n i32) (param $c i32) (param $hw i32) (param $c0 i32) (param $c1 i32)
    (local $b i32) (local $ch i32) (local $ch4 i32) (local $o i32) (local $base i32) (local $end i32)
    (local $vend i32) (local $cnt f64) ${locals}
    ${bytes(...ptrs)}
    (local.set $cnt (f64.convert_i32_u (i32.mul ${L("n")} ${L("hw")})))
    (local.set $ch ${L("c0")})
    (block $cd (loop $cl (br_if $cd (i32.ge_u ${L("ch")} ${L("c1")}))
      (local.set $ch4 (i32.shl ${L("ch")} (i32.const 2)))
      ${chanPre}
      ${loops.join("")}
      (local.set $ch (i32.add ${L("ch")} (i32.const 1))) (br $cl))))`;
}

/** The activation fused into a batch-norm kernel, and its kernels' name suffix. */
type Act = "none" | "relu" | "prelu";
const SUFFIX: Record<Act, string> = { none: "", relu: "_relu", prelu: "_prelu" };

const PRELU_GRAD_LOCALS = `(local $xv v128) (local $z v128) (local $m v128) (local $g v128)
    (local $xs f32) (local $zs f32) (local $ds f32) (local $lo3 v128) (local $hi3 v128) (local $s3 f64)`;
/**
 * The fused PReLU's input gradient at element $o, as `prelu_bwd` computes it: z = FA·x + FB (the
 * forward's affine map, the same float32 ops), $g / $d = z > 0 ? dy : dy·alpha (vector / scalar);
 * with `dalpha`, Σ_{z ≤ 0} dy·z into the accumulators $lo3, $hi3, $s3 as `prelu_bwd` sums it.
 * $xv / $xs hold x.
 */
const preluGrad = (dalpha: boolean) => ({
  vec: `(local.set $xv (v128.load ${at("x")}))
          (local.set $z (f32x4.add (f32x4.mul ${L("xv")} ${L("FAv")}) ${L("FBv")}))
          (local.set $m (f32x4.gt ${L("z")} ${ZERO}))
          (local.set $g (v128.load ${at("dy")}))
          ${dalpha ? acc64(`(v128.andnot (f32x4.mul ${L("g")} ${L("z")}) ${L("m")})`, "3") : ""}
          (local.set $g (v128.bitselect ${L("g")} (f32x4.mul ${L("g")} ${L("alphav")}) ${L("m")}))`,
  scal: `(local.set $xs (f32.load ${at("x")}))
          (local.set $zs (f32.add (f32.mul ${L("xs")} ${L("FAs")}) ${L("FBs")}))
          (local.set $ds (f32.load ${at("dy")}))
          (if (f32.gt ${L("zs")} (f32.const 0))
            (then (local.set $d ${L("ds")}))
            (else (local.set $d (f32.mul ${L("ds")} ${L("alphas")}))
              ${
    dalpha
      ? `(local.set $s3 (f64.add ${L("s3")} (f64.promote_f32 (f32.mul ${L("ds")} ${L("zs")}))))`
      : ""
  }))`,
});

/**
 * `sumDot("dy", "x", "dbeta", "dgamma")` of the fused PReLU's input gradient (`preluGrad`), and
 * dalpha[ch] += Σ_{z ≤ 0} dy·z per (b, ch) block: the bits of `prelu_bwd` then `sumDot`.
 */
function sumDotPrelu(): Sweep {
  const p = preluGrad(true);
  return {
    pre: `${resetSums()} ${resetSums("2")} ${resetSums("3")}
        (local.set $mu (f32.load (i32.add ${L("mean")} ${L("ch4")})))
        (local.set $mv (f32x4.splat ${L("mu")}))`,
    vec: `${p.vec}
          ${acc64(L("g"))}
          ${acc64(`(f32x4.mul ${L("g")} (f32x4.sub ${L("xv")} ${L("mv")}))`, "2")}`,
    scal: `${p.scal}
          (local.set $s (f64.add ${L("s")} (f64.promote_f32 ${L("d")})))
          (local.set $s2 (f64.add ${L("s2")} (f64.promote_f32 (f32.mul ${L("d")}
            (f32.sub ${L("xs")} ${L("mu")})))))`,
    post: `${addSum("dbeta")} ${addSum("dgamma", "2")} ${addSum("dalpha", "3")}`,
  };
}

/** Per-channel f32 at `ptr` promoted to f64; its store of an f64 rounded. */
const ld = (ptr: string) => `(f64.promote_f32 (f32.load (i32.add ${L(ptr)} ${L("ch4")})))`;
const st = (ptr: string, v: string) =>
  `(f32.store (i32.add ${L(ptr)} ${L("ch4")}) (f32.demote_f64 ${v}))`;
const zeroAt = (...ptrs: string[]) =>
  ptrs.map((p) => `(f32.store (i32.add ${L(p)} ${L("ch4")}) (f32.const 0))`).join(" ");
/** $<name>s = the f64 value rounded to f32, $<name>v its splat. */
const setSplat = (name: string, v: string) =>
  `(local.set $${name}s (f32.demote_f64 ${v})) (local.set $${name}v (f32x4.splat ${
    L(`${name}s`)
  }))`;
const f64s = (...names: string[]) => names.map((n) => `(local $${n} f64)`).join(" ");

/**
 * Training batch norm per channel, `CpuBackend.batchNormTrain`'s arithmetic (the same float32 and
 * float64 operations in the same order as its former TS loop and kernels, so the same bits):
 * mean = Σx / cnt; Σ x·(x − mean); the running statistics (momentum and eps as float64 at `hp`);
 * inv = 1/√(var + eps); out = A·x + B with A = γ·inv, B = β − mean·A (`relu`: max(that, 0)).
 * Three sweeps over the channel, the last two from cache.
 */
function bnForward(act: Act): string {
  const f = (k: number) => `(f64.load offset=${8 * k} ${L("hp")})`; // eps, momentum
  const v = `(f32x4.add (f32x4.mul (v128.load ${at("x")}) ${L("Av")}) ${L("Bv")})`;
  const sv = `(f32.add (f32.mul (f32.load ${at("x")}) ${L("As")}) ${L("Bs")})`;
  // PReLU as the `prelu` kernel computes it, on the affine map's value
  const out = {
    none: [v, sv],
    relu: [`(f32x4.max ${v} ${ZERO})`, `(f32.max ${sv} (f32.const 0))`],
    prelu: [
      `(v128.bitselect ${L("z")} (f32x4.mul ${L("z")} ${L("alphav")}) (f32x4.gt ${
        L("z")
      } ${ZERO}))`,
      `(select ${L("zs")} (f32.mul ${L("zs")} ${L("alphas")}) (f32.gt ${L("zs")} (f32.const 0)))`,
    ],
  }[act];
  const pr = act === "prelu";
  return channelSweeps(
    `bn_fwd${SUFFIX[act]}`,
    ["x", "out", "mean", "inv", "gamma", "beta", "rm", "rv", "hp", ...(pr ? ["alpha"] : [])],
    `${SUM_LOCALS} ${perChannel(["A", "B", "alpha"]).locals} ${f64s("ss")}
    (local $z v128) (local $zs f32)`,
    `${zeroAt("mean", "inv")} ${pr ? perChannel(["alpha"]).pre : ""}`,
    [
      [sumDot("x", "x", "mean", null), st("mean", `(f64.div ${ld("mean")} ${L("cnt")})`)],
      [
        sumDot("x", "x", null, "inv"),
        `
      (local.set $ss (f64.max ${ld("inv")} (f64.const 0)))
      ${
          st(
            "rm",
            `(f64.add (f64.mul (f64.sub (f64.const 1) ${f(1)}) ${ld("rm")}) (f64.mul ${f(1)} ${
              ld("mean")
            }))`,
          )
        }
      ${
          st(
            "rv",
            `(f64.add (f64.mul (f64.sub (f64.const 1) ${f(1)}) ${ld("rv")}) (f64.mul ${f(1)}
        (f64.div ${L("ss")} (select (f64.sub ${L("cnt")} (f64.const 1)) ${L("cnt")} (f64.gt ${
              L("cnt")
            } (f64.const 1))))))`,
          )
        }
      ${
          st(
            "inv",
            `(f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div ${L("ss")} ${L("cnt")}) ${f(0)})))`,
          )
        }
      ${setSplat("A", `(f64.mul ${ld("gamma")} ${ld("inv")})`)}
      ${
          setSplat(
            "B",
            `(f64.sub ${ld("beta")} (f64.mul ${ld("mean")} (f64.promote_f32 ${L("As")})))`,
          )
        }`,
      ],
      [{
        pre: "",
        vec: `${pr ? `(local.set $z ${v})` : ""} (v128.store ${at("out")} ${out[0]})`,
        scal: `${pr ? `(local.set $zs ${sv})` : ""} (f32.store ${at("out")} ${out[1]})`,
        post: "",
      }, ""],
    ],
  );
}

/**
 * Training batch-norm gradients per channel, `CpuBackend.batchNormBackward`'s arithmetic (the
 * same bits as its former TS loop and kernels): dβ = Σdy, Σdy·(x − mean); dγ = that·inv;
 * dx = A·dy + B·x + C with A = γ·inv, B = −A·mdyx, C = −A·mdy + A·mean·mdyx. `relu`: dy gated by
 * the fused ReLU (`gated`; its affine map FA, FB per channel). Two sweeps, the second from cache.
 */
function bnBackward(act: Act): string {
  const relu = act === "relu", pr = act === "prelu";
  const [gv, gs] = pr ? [L("g"), L("d")] : gated(relu, "dy", "x");
  const neg = (v: string) => `(f64.neg ${v})`;
  const fused = act === "none" ? [] : ["FA", "FB", ...(pr ? ["alpha"] : [])];
  return channelSweeps(
    `bn_bwd${SUFFIX[act]}`,
    [
      "dy",
      "x",
      "dx",
      "mean",
      "inv",
      "gamma",
      "dbeta",
      "dgamma",
      ...fused,
      ...(pr ? ["dalpha"] : []),
    ],
    `${SUM_LOCALS} ${perChannel(["A", "B", "C", "FA", "FB", "alpha"]).locals}
    ${f64s("kk", "mdy", "mdyx")} ${PRELU_GRAD_LOCALS}`,
    `${zeroAt("dbeta", "dgamma", ...(pr ? ["dalpha"] : []))} ${perChannel(fused).pre}`,
    [
      [
        pr ? sumDotPrelu() : sumDot("dy", "x", "dbeta", "dgamma", relu),
        `
      (local.set $kk (f64.mul ${ld("gamma")} ${ld("inv")}))
      (local.set $mdy (f64.div ${ld("dbeta")} ${L("cnt")}))
      (local.set $mdyx (f64.div (f64.mul (f64.mul ${ld("dgamma")} ${ld("inv")}) ${ld("inv")}) ${
          L("cnt")
        }))
      ${setSplat("A", L("kk"))}
      ${setSplat("B", `(f64.mul ${neg(L("kk"))} ${L("mdyx")})`)}
      ${
          setSplat(
            "C",
            `(f64.add (f64.mul ${neg(L("kk"))} ${L("mdy")}) (f64.mul (f64.mul ${L("kk")} ${
              ld("mean")
            }) ${L("mdyx")}))`,
          )
        }
      ${st("dgamma", `(f64.mul ${ld("dgamma")} ${ld("inv")})`)}`,
      ],
      [{
        pre: "",
        vec: `${pr ? preluGrad(false).vec : ""}
          (v128.store ${at("dx")} (f32x4.add (f32x4.add (f32x4.mul ${gv} ${L("Av")})
            (f32x4.mul (v128.load ${at("x")}) ${L("Bv")})) ${L("Cv")}))`,
        scal: `${pr ? preluGrad(false).scal : ""}
          (f32.store ${at("dx")} (f32.add (f32.add (f32.mul ${gs} ${L("As")})
            (f32.mul (f32.load ${at("x")}) ${L("Bs")})) ${L("Cs")}))`,
        post: "",
      }, ""],
    ],
  );
}

/** See `EltwiseKernels.add_chunks` (strides in elements). */
const ADD_CHUNKS =
  `(func (export "add_chunks") (param $p i32) (param $n i32) (param $k i32) (param $st i32)
    (local $o i32) (local $end i32) (local $vend i32) (local $q i32) (local $qe i32) (local $v v128)
    (local $f f32)
    ${bytes("p", "st")}
    (local.set $end (i32.add ${L("p")} (i32.shl ${L("n")} (i32.const 2))))
    (local.set $vend (i32.add ${L("p")} (i32.and (i32.shl ${
    L("n")
  } (i32.const 2)) (i32.const -16))))
    (local.set $qe (i32.mul ${L("st")} ${L("k")}))
    (local.set $o ${L("p")})
    (block $vd (loop $vl (br_if $vd (i32.ge_u ${L("o")} ${L("vend")}))
      (local.set $v (v128.load ${L("o")}))
      (local.set $q ${L("st")})
      (block $kd (loop $kl (br_if $kd (i32.ge_u ${L("q")} ${L("qe")}))
        (local.set $v (f32x4.add ${L("v")} (v128.load (i32.add ${L("o")} ${L("q")}))))
        (local.set $q (i32.add ${L("q")} ${L("st")})) (br $kl)))
      (v128.store ${L("o")} ${L("v")})
      (local.set $o (i32.add ${L("o")} (i32.const 16))) (br $vl)))
    (block $sd (loop $sl (br_if $sd (i32.ge_u ${L("o")} ${L("end")}))
      (local.set $f (f32.load ${L("o")}))
      (local.set $q ${L("st")})
      (block $ks (loop $kt (br_if $ks (i32.ge_u ${L("q")} ${L("qe")}))
        (local.set $f (f32.add ${L("f")} (f32.load (i32.add ${L("o")} ${L("q")}))))
        (local.set $q (i32.add ${L("q")} ${L("st")})) (br $kt)))
      (f32.store ${L("o")} ${L("f")})
      (local.set $o (i32.add ${L("o")} (i32.const 4))) (br $sl))))`;

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
    ...(["none", "relu", "prelu"] as const).flatMap((act) => [bnForward(act), bnBackward(act)]),
    ADD_CHUNKS,
  ].join("\n\n  ");
}
