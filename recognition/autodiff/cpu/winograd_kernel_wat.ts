/**
 * WebAssembly SIMD text of the fast convolutions' kernel transforms (U = G g Gᵀ) and weight-gradient
 * untransforms (dW = Gᵀ dU G) for every scheme of `winograd_wat.ts`, in float64 pairs.
 * @module
 */
import { L, type Scheme, SCHEMES, set, v128Locals, WEIGHT_SCHEMES } from "./winograd_wat.ts";

/** Job kernels of {@link kernelTransformsWat}: the kernel transform of every scheme. */
export const KERNEL_TRANSFORMS = ["wino43_ktr", "wino_s2_ktr", "wino_s2dx_ktr"] as const;
/** Job kernels of {@link kernelTransformsWat}: the weight-gradient untransforms. */
export const WEIGHT_UNTRANSFORMS = ["wino43_kun", "wino_s2_kun"] as const;

/** A float64 pair constant. */
const f64c = (v: number) => `(v128.const f64x2 ${v} ${v})`;
/** ((a₀·b₀ + a₁·b₁) + …) in float64 pairs, every term in order (zero coefficients included). */
function dot64(terms: [string, string][], fromZero = false): string {
  let out = fromZero ? f64c(0) : "";
  for (const [a, b] of terms) {
    const t = `(f64x2.mul ${a} ${b})`;
    out = out ? `(f64x2.add ${out} ${t})` : t;
  }
  return out;
}

/**
 * The kernel transforms in float64 SIMD, two kernels per vector (`winograd.ts` has the same
 * arithmetic in TS: `transformKernel`, `untransformWeightGrad`; every product is summed in the
 * same order, so the bits are the same).
 * `<scheme>_ktr(w, rows, cols, transpose, rotate, out, o0, o1, scratch)`: U (P²×rows×cols) =
 * G g Gᵀ for the kernels o0 ≤ o < o1 (o = r·cols + c; the kernel is w[r][c], or w[c][r] with
 * `transpose`, rotated by 180° with `rotate`).
 * `<scheme>_kun(du, plane, dw, o0, o1, scratch)`: dW[o] (3×3) = Gᵀ dU[·][o] G for o0 ≤ o < o1,
 * dU being P²×plane (weight-gradient schemes).
 */
export function kernelTransformsWat(): string {
  const schemes = Object.values(SCHEMES) as Scheme[];
  const ktr = schemes.map((s) => {
    const P = s.g.length, G = s.g;
    const loc: string[] = [];
    for (let k = 0; k < 9; k++) loc.push(`k${k}`);
    for (let i = 0; i < P; i++) for (let b = 0; b < 3; b++) loc.push(`t${i}_${b}`);
    for (let q = 0; q < P * P; q++) loc.push(`u${q}`);
    const body: string[] = [];
    for (let k = 0; k < 9; k++) {
      const tap = (p: string) =>
        `(f64.promote_f32 (f32.load (i32.add ${L(p)} (select (i32.const ${
          4 * (8 - k)
        }) (i32.const ${4 * k}) ${L("rot")}))))`;
      body.push(set(`k${k}`, `(f64x2.replace_lane 1 (f64x2.splat ${tap("p0")}) ${tap("p1")})`));
    }
    for (let i = 0; i < P; i++) {
      for (let b = 0; b < 3; b++) {
        const terms = [0, 1, 2].map((a) => [f64c(G[i][a]), L(`k${3 * a + b}`)] as [string, string]);
        body.push(set(`t${i}_${b}`, dot64(terms)));
      }
    }
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        const terms = [0, 1, 2].map((a) => [L(`t${i}_${a}`), f64c(G[j][a])] as [string, string]);
        body.push(set(`u${P * i + j}`, `(f32x4.demote_f64x2_zero ${dot64(terms)})`));
      }
    }
    // results go to a block of KTR_BLOCK kernels in the scratch (plane q at q·64 bytes), then
    // 64 bytes per plane to U: stored one kernel pair at a time, the P² planes (4 KiB multiples
    // apart) would all fall into one L1 cache set
    const one = Array.from(
      { length: P * P },
      (_, q) => `(f32.store offset=${64 * q} ${L("dst")} (f32x4.extract_lane 0 ${L(`u${q}`)}))`,
    );
    const two = Array.from(
      { length: P * P },
      (_, q) => `(v128.store64_lane offset=${64 * q} 0 ${L("dst")} ${L(`u${q}`)})`,
    );
    const plane = (q: number) => `(i32.add ${L("ob4")} (i32.mul ${L("plane4")} (i32.const ${q})))`;
    const full = Array.from(
      { length: P * P },
      (_, q) =>
        [0, 1, 2, 3].map((v) =>
          `(v128.store offset=${16 * v} ${plane(q)} (v128.load offset=${64 * q + 16 * v} ${
            L("sc")
          }))`
        ).join(" "),
    );
    const part = Array.from(
      { length: P * P },
      (_, q) => `(memory.copy ${plane(q)} (i32.add ${L("sc")} (i32.const ${64 * q})) ${L("nb4")})`,
    );
    return `
  (func (export "${s.name}_ktr") (param $w i32) (param $rows i32) (param $cols i32) (param $tr i32)
      (param $rot i32) (param $out i32) (param $o0 i32) (param $o1 i32) (param $scratch i32)
    (local $o i32) (local $p0 i32) (local $p1 i32) (local $plane4 i32) (local $dst i32) (local $last i32)
    (local $ob i32) (local $oe i32) (local $sc i32) (local $ob4 i32) (local $nb4 i32)
    ${v128Locals(loc)}
    (local.set $plane4 (i32.shl (i32.mul ${L("rows")} ${L("cols")}) (i32.const 2)))
    (local.set $sc (i32.shl ${L("scratch")} (i32.const 2)))
    (local.set $ob ${L("o0")})
    (block $bd (loop $bl (br_if $bd (i32.ge_u ${L("ob")} ${L("o1")}))
      (local.set $oe (call $min (i32.add ${L("ob")} (i32.const 16)) ${L("o1")}))
      (local.set $o ${L("ob")})
      (block $d (loop $l (br_if $d (i32.ge_u ${L("o")} ${L("oe")}))
        ;; taps of kernels o and o + 1 (o again when it is the last)
        (local.set $last (i32.ge_u (i32.add ${L("o")} (i32.const 1)) ${L("oe")}))
        (local.set $p0 (call $wino_kaddr ${L("w")} ${L("rows")} ${L("cols")} ${L("tr")} ${L("o")}))
        (local.set $p1 (select ${L("p0")}
          (call $wino_kaddr ${L("w")} ${L("rows")} ${L("cols")} ${L("tr")} (i32.add ${
      L("o")
    } (i32.const 1)))
          ${L("last")}))
        ${body.join("\n        ")}
        (local.set $dst (i32.add ${L("sc")} (i32.shl (i32.sub ${L("o")} ${L("ob")}) (i32.const 2))))
        (if ${L("last")} (then ${one.join(" ")}) (else ${two.join(" ")}))
        (local.set $o (i32.add ${L("o")} (i32.const 2))) (br $l)))
      (local.set $ob4 (i32.shl (i32.add ${L("out")} ${L("ob")}) (i32.const 2)))
      (local.set $nb4 (i32.shl (i32.sub ${L("oe")} ${L("ob")}) (i32.const 2)))
      (if (i32.eq ${L("nb4")} (i32.const 64)) (then ${full.join("\n        ")})
        (else ${part.join("\n        ")}))
      (local.set $ob ${L("oe")}) (br $bl))))`;
  });
  const kun = schemes.filter((s) => WEIGHT_SCHEMES.includes(s.name)).map((s) => {
    const P = s.g.length, G = s.g;
    const loc: string[] = [];
    for (let q = 0; q < P * P; q++) loc.push(`s${q}`);
    for (let a = 0; a < 3; a++) for (let j = 0; j < P; j++) loc.push(`t${a}_${j}`);
    loc.push("v");
    const body: string[] = [];
    for (let q = 0; q < P * P; q++) {
      const p = `(i32.shl (i32.add ${L("du")} (i32.add (i32.mul ${L("plane")} (i32.const ${q})) ${
        L("o")
      })) (i32.const 2))`;
      body.push(set(
        `s${q}`,
        `(f64x2.promote_low_f32x4 (if (result v128) ${L("last")} (then (v128.load32_zero ${p}))
          (else (v128.load64_zero ${p}))))`,
      ));
    }
    for (let a = 0; a < 3; a++) {
      for (let j = 0; j < P; j++) {
        const terms = Array.from(
          { length: P },
          (_, i) => [f64c(G[i][a]), L(`s${i * P + j}`)] as [string, string],
        );
        body.push(set(`t${a}_${j}`, dot64(terms, true)));
      }
    }
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const terms = Array.from(
          { length: P },
          (_, j) => [L(`t${a}_${j}`), f64c(G[j][b])] as [string, string],
        );
        const off = 4 * (3 * a + b);
        body.push(set("v", `(f32x4.demote_f64x2_zero ${dot64(terms, true)})`));
        body.push(`(f32.store offset=${off} ${L("dst")} (f32x4.extract_lane 0 ${L("v")}))`);
        body.push(`(if (i32.eqz ${L("last")}) (then
        (f32.store offset=${off + 36} ${L("dst")} (f32x4.extract_lane 1 ${L("v")}))))`);
      }
    }
    return `
  (func (export "${s.name}_kun") (param $du i32) (param $plane i32) (param $dw i32) (param $o0 i32)
      (param $o1 i32) (param $scratch i32)
    (local $o i32) (local $dst i32) (local $last i32)
    ${v128Locals(loc)}
    (local.set $o ${L("o0")})
    (block $d (loop $l (br_if $d (i32.ge_u ${L("o")} ${L("o1")}))
      (local.set $last (i32.ge_u (i32.add ${L("o")} (i32.const 1)) ${L("o1")}))
      (local.set $dst (i32.shl (i32.add ${L("dw")} (i32.mul ${
      L("o")
    } (i32.const 9))) (i32.const 2)))
      ${body.join("\n      ")}
      (local.set $o (i32.add ${L("o")} (i32.const 2))) (br $l))))`;
  });
  return `
  ;; Byte address of kernel o = r·cols + c of w: w[r][c], or w[c][r] when transposed (3×3 each).
  (func $wino_kaddr (param $w i32) (param $rows i32) (param $cols i32) (param $tr i32) (param $o i32)
      (result i32)
    (local $r i32) (local $c i32)
    (local.set $r (i32.div_u ${L("o")} ${L("cols")}))
    (local.set $c (i32.sub ${L("o")} (i32.mul ${L("r")} ${L("cols")})))
    (i32.shl (i32.add ${L("w")} (i32.mul (i32.const 9)
      (select (i32.add (i32.mul ${L("c")} ${L("rows")}) ${L("r")}) ${L("o")} ${
    L("tr")
  }))) (i32.const 2)))
${ktr.join("\n")}
${kun.join("\n")}`;
}
