/**
 * The embedded generator as an ONNX graph: a 3DMM-style face (shape + albedo identity bases,
 * expression blendshapes) posed, aligned to the ArcFace 112×112 template by a closed-form
 * similarity fit of 5 mesh landmarks, lit with 2nd-order spherical harmonics, and rendered by
 * z-buffered bilinear point splatting (ScatterElements max for depth, ScatterND add for colour),
 * a 3×3 reconstruction filter for anti-aliasing, over a smooth random background.
 *
 * Inputs (all N(0,1) priors): identity [B,160], expression [B,32], pose [B,3],
 * illumination [B,27] (learned: [B,27 + 32], see {@link photoLightSplit}), noise [B,32].
 * Outputs: image [B,3,112,112] in [-1,1] (RGB, NCHW) and landmarks [B,5,2] (pixels, where the 5
 * alignment points landed).
 */
import { GraphBuilder } from "../data/onnx/mod.ts";
import {
  ALBEDO_DIM,
  type Bases,
  EXPRESSION_DIM,
  IDENTITY_DIM,
  NAMED_ALBEDO,
  SHAPE_DIM,
} from "./bases.ts";
import type { AppearanceModel } from "./appearance.ts";
import { ARCFACE_TEMPLATE, ATTR, type Geometry, IMAGE_SIZE } from "./geometry.ts";
import { bilinearMatrix, textureTaps } from "./texture_taps.ts";
import { filledAppearance } from "./backdrop.ts";
import { graphOps, lcgUniform } from "./graph_ops.ts";
import { learnedShapeBasis } from "./learned_shape.ts";
import { hairColour, hairProjection, hairSoft, LEARNED_HAIR, withHair } from "./hair.ts";
import { PHOTO_LIGHT, photoLightSplit } from "./photo_light.ts";
import { blur3, sharpenLuma, splatPoints } from "./splat.ts";

export { hairProjection, LEARNED_HAIR } from "./hair.ts";
export { PHOTO_LIGHT, photoLightSplit } from "./photo_light.ts";

/** Latent block sizes of the procedural embedded model, in input order. */
export const LATENT_BLOCKS = [
  { name: "identity", size: IDENTITY_DIM },
  { name: "expression", size: EXPRESSION_DIM },
  { name: "pose", size: 3 },
  { name: "illumination", size: 27 },
  { name: "noise", size: 32 },
] as const;

/** Output image size: the ArcFace template's frame. */
export { IMAGE_SIZE };

/**
 * Latent blocks of the model built with `appearance` (a model, or its number of components K;
 * absent = procedural): learned, identity = 80 shape + K appearance and illumination = 27 SH +
 * {@link PHOTO_LIGHT} per-image appearance coefficients.
 */
export function latentBlocks(
  appearance?: AppearanceModel | number,
): { name: (typeof LATENT_BLOCKS)[number]["name"]; size: number }[] {
  const K = typeof appearance === "number" ? appearance : appearance?.header.components;
  return LATENT_BLOCKS.map((b) => {
    if (K === undefined) return { name: b.name, size: b.size };
    if (b.name === "identity") return { name: b.name, size: SHAPE_DIM + K };
    if (b.name === "illumination") return { name: b.name, size: SH_DIM + PHOTO_LIGHT };
    return { name: b.name, size: b.size };
  });
}

/** SH illumination coefficients (9 × RGB). */
const SH_DIM = 27;

/**
 * Gains on the learned model's shape fields and expression weights: at full strength they
 * stretched its photo texture into caricatures (measured: generator/EXPERIMENTS.md, "Geometry
 * strength"). With a landmark shape model in `appearance.bin` (`embedded-aam@12`) the frontal
 * shape is the photos' own at full strength (learned_shape.ts) and this gain scales only the
 * fields' depth. The procedural model keeps full strength.
 */
export const LEARNED_GEOMETRY = { shape: 0.3, expression: 0.5 } as const;

/**
 * Unsharp-mask amount on the learned model's brightness (splat.ts `sharpenLuma`): brings the
 * face centre's fine brightness detail from 7.4 to about LFW View 1's 9.7 (the realism meter's
 * `luma_detail`; generator/EXPERIMENTS.md, "Sharpness").
 */
const LEARNED_SHARPEN = 1.2;

/** Background coefficients of the learned model: noise[0:27] drive the top 27 components. */
const BG_COMPONENTS = 27;

/** Expression weights (their order in `bases.ts`) that act only when positive. */
const JAW_DROP = 1, BLINKS = [5, 6];
/**
 * Darkness inside the lips per unit of jaw-drop weight (after its gains): full at 0.25, a jaw
 * about 0.7 σ of its prior open; a closed jaw shows the texture's own lips.
 */
const MOUTH_DARK_GAIN = 4;

/**
 * Build the ONNX model bytes. With `appearance`, the learned model: the identity block's last K
 * coefficients draw a texture from the PCA of real photos, sampled by every dense point at its
 * rest frontal projection and lit by SH shading relative to the default light; the background is
 * the same PCA driven by noise[0:27]; where the photos hold nothing (above the forehead) and behind
 * the head, both read the PCA filled from the photos' surroundings (backdrop.ts). Without it, the
 * procedural albedo of region masks.
 */
export function buildFaceGraph(
  geo: Geometry,
  bases: Bases,
  appearance?: AppearanceModel,
): Uint8Array {
  const H = IMAGE_SIZE, W = IMAGE_SIZE, HW = H * W;
  const nC = geo.nCtrl, N = geo.nPoints;
  const g = new GraphBuilder("synface_face", 18);
  const o = graphOps(g);
  const { c, op, mul, add, sub, div, slice, col, reshape, concat, clip, lerp, sigmoid } = o;

  const learned = appearance !== undefined;
  const idDim = learned ? SHAPE_DIM + appearance.header.components : IDENTITY_DIM;
  const identity = g.input("identity", "float32", ["batch", idDim]);
  const expression = g.input("expression", "float32", ["batch", EXPRESSION_DIM]);
  const pose = g.input("pose", "float32", ["batch", 3]);
  const illumination = g.input("illumination", "float32", [
    "batch",
    learned ? SH_DIM + PHOTO_LIGHT : SH_DIM,
  ]);
  const noise = g.input("noise", "float32", ["batch", 32]);

  // ---- geometry: V = mean + shape·α + expression·β (+ hair volume along rest normals)
  const idShape = slice(identity, 0, SHAPE_DIM, 1), idAlb = slice(identity, SHAPE_DIM, idDim, 1);
  // procedural: 12 named colour/hair parameters + 68 smooth albedo fields; learned: K PCA coefficients
  const albNamed = learned ? "" : slice(idAlb, 0, NAMED_ALBEDO, 1);
  const albField = learned ? "" : slice(idAlb, NAMED_ALBEDO, ALBEDO_DIM, 1);
  const reluMask = Array.from(
    { length: EXPRESSION_DIM },
    (_, k) => (k === JAW_DROP || BLINKS.includes(k) ? 1 : 0),
  );
  const exprGain = learned ? LEARNED_GEOMETRY.expression : 1;
  const e0 = mul(
    expression,
    c(Array.from({ length: EXPRESSION_DIM }, (_, k) => (k < 16 ? 0.7 : 0.6) * exprGain)),
  );
  const e1 = add(e0, mul(c(reluMask), sub(op("Relu", [e0]), e0)));
  const coef = concat([idShape, e1], 1);
  const basis = new Float32Array((SHAPE_DIM + EXPRESSION_DIM) * nC * 3);
  const shapeModel = appearance?.header.shape;
  basis.set(
    shapeModel
      ? learnedShapeBasis(geo, shapeModel, bases.shape, LEARNED_GEOMETRY.shape)
      : learned
      ? bases.shape.map((v) => v * LEARNED_GEOMETRY.shape)
      : bases.shape,
    0,
  );
  basis.set(bases.expression, bases.shape.length);
  const V = add(
    g.initializer("mean_shape", geo.ctrl, [1, nC * 3]),
    op("MatMul", [
      coef,
      g.initializer("shape_expr_basis", basis, [SHAPE_DIM + EXPRESSION_DIM, nC * 3]),
    ]),
  );
  const V3a = reshape(V, [-1, nC, 3]);
  const named = (k: number) => col(albNamed, k); // [B,1]
  // hair parameters [B,1] (line, volume, tone, warmth): procedural, named identity parameters
  // 5, 6, 3, 4; learned, projections of the appearance coefficients (LEARNED_HAIR)
  const hairProj = learned
    ? op("MatMul", [
      idAlb,
      g.initializer(
        "hair_projection",
        hairProjection(appearance.header.components),
        [appearance.header.components, 4],
      ),
    ])
    : "";
  const hairParam = (k: 0 | 1 | 2 | 3) => learned ? col(hairProj, k) : named([5, 6, 3, 4][k]);
  // cm on the hair coordinate
  const hairline = add(c(learned ? LEARNED_HAIR.hairline : 7.3), mul(c(0.9), hairParam(0)));
  const hairVolume = () => op("Softplus", [add(c(-0.6), mul(c(0.6), hairParam(1)))]);
  const V3 = add(
    V3a,
    mul(
      op("Unsqueeze", [
        mul(
          hairSoft(
            o,
            g.initializer("ctrl_hair_cand", geo.ctrlHairCand, [1, nC]),
            g.initializer("ctrl_hair_coord", geo.ctrlHairCoord, [1, nC]),
            hairline,
          ),
          hairVolume(),
        ),
        g.ints([2]),
      ]),
      g.initializer("ctrl_normal", geo.ctrlNormal, [1, nC, 3]),
    ),
  );

  // ---- pose: R = Rz(roll)·Rx(pitch)·Ry(yaw); yaw ±45°, pitch ±25°, roll ±20°
  const yaw = clip(mul(col(pose, 0), c(0.35)), -0.785, 0.785);
  const pitch = clip(mul(col(pose, 1), c(0.14)), -0.44, 0.44);
  const roll = clip(mul(col(pose, 2), c(0.1)), -0.35, 0.35);
  const zero = mul(yaw, c(0));
  const one = add(zero, c(1));
  const mat = (els: string[]) => reshape(concat(els, 1), [-1, 3, 3]);
  const [cy, sy, cp, sp, cr, sr] = [yaw, pitch, roll].flatMap((
    a,
  ) => [op("Cos", [a]), op("Sin", [a])]);
  const Ry = mat([cy, zero, sy, zero, one, zero, op("Neg", [sy]), zero, cy]);
  const Rx = mat([one, zero, zero, zero, cp, op("Neg", [sp]), zero, sp, cp]);
  const Rz = mat([cr, op("Neg", [sr]), zero, sr, cr, zero, zero, zero, one]);
  const R = op("MatMul", [op("MatMul", [Rz, Rx]), Ry]);
  const Vr = op("MatMul", [V3, op("Transpose", [R], { perm: [0, 2, 1] })]); // [B,nC,3]

  // ---- vertex normals: face normals scattered (added) onto their 3 corners. Laid out
  // [3, vertices, B] so each Gather copies a contiguous block of B floats (fast on wasm).
  const T = geo.tris.length / 3;
  const VrT = op("Transpose", [Vr], { perm: [2, 1, 0] }); // [3,nC,B]
  const cornerOf = (k: number) => g.ints(Array.from({ length: T }, (_, t) => geo.tris[3 * t + k]));
  const [ta, tb, tc] = [0, 1, 2].map((k) => op("Gather", [VrT, cornerOf(k)], { axis: 1 })); // [3,T,B]
  const e1v = sub(tb, ta), e2v = sub(tc, ta);
  const comp = (x: string, i: number) => slice(x, i, i + 1, 0);
  const [ax, ay, az] = [0, 1, 2].map((i) => comp(e1v, i));
  const [bx, by, bz] = [0, 1, 2].map((i) => comp(e2v, i));
  const fn = concat([
    sub(mul(ay, bz), mul(az, by)),
    sub(mul(az, bx), mul(ax, bz)),
    sub(mul(ax, by), mul(ay, bx)),
  ], 0); // [3,T,B]
  const corners = new BigInt64Array(3 * 3 * T);
  for (let k = 0; k < 3; k++) {
    for (let t = 0; t < T; t++) corners[k * T + t] = BigInt(geo.tris[3 * t + k]);
  }
  for (let ch = 1; ch < 3; ch++) corners.copyWithin(ch * 3 * T, 0, 3 * T);
  const fnRep = concat([fn, fn, fn], 1); // [3,3T,B], corner k block
  const cornerIdx = op("Expand", [
    g.initializer("corner_idx", corners, [3, 3 * T, 1]),
    op("Shape", [fnRep]),
  ]);
  const vnSum = op(
    "ScatterElements",
    [op("Expand", [c(0), op("Shape", [VrT])]), cornerIdx, fnRep],
    { axis: 1, reduction: "add" },
  );
  const vnT = div(
    vnSum,
    op("Sqrt", [add(op("ReduceSum", [mul(vnSum, vnSum), g.ints([0])], { keepdims: 1 }), c(1e-12))]),
  );
  const vn = op("Transpose", [vnT], { perm: [2, 1, 0] }); // [B,nC,3]

  // ---- alignment: least-squares similarity of the 5 landmarks onto the ArcFace template
  const L = op("MatMul", [g.initializer("landmark_w", geo.landmarkW, [5, nC]), Vr]); // [B,5,3]
  const sx = reshape(slice(L, 0, 1, 2), [-1, 5]);
  const syy = op("Neg", [reshape(slice(L, 1, 2, 2), [-1, 5])]); // image y points down
  const dst = ARCFACE_TEMPLATE;
  const mdx = dst.reduce((s, p) => s + p[0], 0) / 5, mdy = dst.reduce((s, p) => s + p[1], 0) / 5;
  const dxC = c(dst.map((p) => p[0] - mdx), [1, 5]), dyC = c(dst.map((p) => p[1] - mdy), [1, 5]);
  const mean5 = (x: string) => op("ReduceMean", [x, g.ints([1])], { keepdims: 1 });
  const msx = mean5(sx), msy = mean5(syy);
  const cx = sub(sx, msx), cy2 = sub(syy, msy);
  const sum5 = (x: string) => op("ReduceSum", [x, g.ints([1])], { keepdims: 1 });
  const den = sum5(add(mul(cx, cx), mul(cy2, cy2)));
  const A = div(sum5(add(mul(cx, dxC), mul(cy2, dyC))), den); // [B,1]
  const Bc = div(sum5(sub(mul(cx, dyC), mul(cy2, dxC))), den);
  const tx = sub(c(mdx), sub(mul(A, msx), mul(Bc, msy)));
  const ty = sub(c(mdy), add(mul(Bc, msx), mul(A, msy)));
  const scale = op("Sqrt", [add(mul(A, A), mul(Bc, Bc))]);
  // [x y z 1] · M, with u = A·x + B·y + tx, v = B·x − A·y + ty, depth = scale·z
  const M = reshape(
    concat([A, Bc, zero, Bc, op("Neg", [A]), zero, zero, zero, scale, tx, ty, zero], 1),
    [-1, 4, 3],
  );
  const Mr = slice(M, 0, 3, 1), Mt = slice(M, 3, 4, 1);
  const screen = add(op("MatMul", [Vr, Mr]), Mt); // [B,nC,3]
  const landmarks = add(op("MatMul", [L, Mr]), Mt);
  g.output(slice(landmarks, 0, 2, 2), "landmarks", "float32", ["batch", 5, 2]);

  const nx = col(vn, 0), ny = col(vn, 1), nz = col(vn, 2); // [B,nC,1]
  const shB = concat([
    op("Expand", [c(1), op("Shape", [nx])]),
    ny,
    nz,
    nx,
    mul(nx, ny),
    mul(ny, nz),
    sub(mul(c(1.5), mul(nz, nz)), c(0.5)),
    mul(nx, nz),
    mul(c(0.5), sub(mul(nx, nx), mul(ny, ny))),
  ], 2); // [B,nC,9]
  const base = [0.66, 0.16, 0.36, 0.04, 0, 0, -0.05, 0, 0];
  const shScale = [0.1, 0.25, 0.15, 0.28, 0.08, 0.08, 0.08, 0.08, 0.08];
  const shBase = new Float32Array(27), shS = new Float32Array(27);
  for (let k = 0; k < 9; k++) {
    for (let ch = 0; ch < 3; ch++) {
      shBase[3 * k + ch] = base[k] * (k === 0 ? [1.02, 1, 0.97][ch] : 1);
      shS[3 * k + ch] = shScale[k];
    }
  }
  // light colour varies less than its direction: pull each coefficient's RGB toward its mean
  const illum = reshape(learned ? slice(illumination, 0, SH_DIM, 1) : illumination, [-1, 9, 3]);
  const illumMean = op("ReduceMean", [illum, g.ints([2])], { keepdims: 1 });
  const illumC = add(illumMean, mul(c(0.12), sub(illum, illumMean)));
  const shL = add(c(Array.from(shBase), [1, 9, 3]), mul(illumC, c(Array.from(shS), [1, 9, 3])));
  const irrV = op("Relu", [add(op("MatMul", [shB, shL]), c(0.04))]); // [B,nC,3]
  /** Σ_k w[p,k]·src[idx[p,k]] per dense point p: `taps` fixed rows of `src` mixed per point. */
  const mixRows = (src: string, name: string, taps: number, idxs: Int32Array, ws: Float32Array) => {
    let mix = "";
    for (let k = 0; k < taps; k++) {
      const idx = new BigInt64Array(N), w = new Float32Array(N);
      for (let p = 0; p < N; p++) {
        idx[p] = BigInt(idxs[taps * p + k]);
        w[p] = ws[taps * p + k];
      }
      const term = mul(
        op("Gather", [src, g.initializer(`${name}_idx${k}`, idx, [N])], { axis: 0 }),
        g.initializer(`${name}_w${k}`, w, [N, 1]),
      );
      mix = k === 0 ? term : add(mix, term);
    }
    return mix;
  };
  // ---- interpolation to the dense points: each is a fixed barycentric mix of 3 control vertices
  const toDense = (ctrlAttr: string) => mixRows(ctrlAttr, "point", 3, geo.pointIdx, geo.pointW);
  // ---- a static per-point attribute [N,1,1], one initializer each (slicing a shared one costs a
  // copy per run when not folded), made where first used
  const attrIds = new Map<string, string>();
  const at = (name: (typeof ATTR)[number]) => {
    if (!attrIds.has(name)) {
      const k = ATTR.indexOf(name), K = ATTR.length;
      const v = Float32Array.from({ length: N }, (_, p) => geo.attrs[p * K + k]);
      attrIds.set(name, g.initializer(`point_${name}`, v, [N, 1, 1]));
    }
    return attrIds.get(name)!;
  };

  const proceduralSurface = () => {
    // ---- per control vertex: screen position, SH irradiance (Gouraud), albedo field
    const albV = reshape(
      op("MatMul", [
        albField,
        g.initializer("albedo_basis", bases.albedo.slice(NAMED_ALBEDO * nC * 3), [
          ALBEDO_DIM - NAMED_ALBEDO,
          nC * 3,
        ]),
      ]),
      [-1, nC, 3],
    );
    // a soft Blinn-Phong sheen from the dominant light direction (the SH first-order terms)
    const l1 = op("ReduceMean", [slice(shL, 1, 4, 1), g.ints([2])], { keepdims: 0 }); // [B,3]: y,z,x
    const lDir = op("Gather", [l1, g.ints([2, 0, 1])], { axis: 1 }); // x,y,z
    const lLen = op("Sqrt", [
      add(op("ReduceSum", [mul(lDir, lDir), g.ints([1])], { keepdims: 1 }), c(1e-6)),
    ]);
    const half = add(div(lDir, lLen), c([0, 0, 1], [1, 3]));
    const halfN = op("Unsqueeze", [
      div(
        half,
        op("Sqrt", [
          add(op("ReduceSum", [mul(half, half), g.ints([1])], { keepdims: 1 }), c(1e-6)),
        ]),
      ),
      g.ints([1]),
    ]); // [B,1,3]
    const nh = op("Relu", [op("ReduceSum", [mul(vn, halfN), g.ints([2])], { keepdims: 1 })]); // [B,nC,1]
    const specV = mul(op("Pow", [nh, c(12)]), op("Unsqueeze", [mul(lLen, c(0.22)), g.ints([1])]));

    // ---- interpolate to the dense points. Point tensors are laid out [N, channels, B]: Gathers
    // along axis 0 copy contiguous blocks, and every broadcast runs over contiguous spans (ORT's
    // fast paths; [B,N,3] broadcasts and last-axis gathers were 10-100× slower on wasm).
    const ctrlAttr = reshape(
      op("Transpose", [concat([screen, irrV, albV, specV], 2)], { perm: [1, 2, 0] }),
      [nC, -1],
    ); // [nC,9·B]
    const dense = toDense(ctrlAttr);
    const dn = reshape(dense, [N, 10, -1]); // [N,10,B]
    const u = slice(dn, 0, 1, 1), v = slice(dn, 1, 2, 1), d = slice(dn, 2, 3, 1); // [N,1,B]
    const irr = slice(dn, 3, 6, 1), pAlbField = slice(dn, 6, 9, 1), spec = slice(dn, 9, 10, 1);

    // ---- albedo composition from named identity parameters and static region masks
    const rgb = (v: [number, number, number]) => c(v, [1, 3, 1]);
    const namedT = op("Unsqueeze", [op("Transpose", [albNamed], { perm: [1, 0] }), g.ints([0])]); // [1,12,B]
    const nb = (k: number) => slice(namedT, k, k + 1, 1); // [1,1,B]
    const skinTone = add(
      add(
        mul(rgb([0.8, 0.6, 0.5]), op("Exp", [mul(nb(0), rgb([0.3, 0.34, 0.38]))])),
        mul(nb(1), rgb([0.035, -0.015, -0.02])),
      ),
      mul(nb(2), rgb([0.015, 0.01, -0.025])),
    ); // [1,3,B]
    let alb = add(mul(skinTone, add(c(1), mul(c(0.03), at("skinDetail")))), pAlbField);
    const cheekRed = add(c(0.05), mul(c(0.03), nb(11)));
    alb = add(alb, mul(mul(at("cheek"), cheekRed), rgb([1, -0.4, -0.3])));
    const lipCol = mul(
      skinTone,
      add(rgb([0.95, 0.66, 0.68]), mul(nb(8), rgb([0.04, -0.04, -0.02]))),
    );
    alb = lerp(alb, lipCol, mul(at("lip"), c(0.85)));
    const hairColC = hairColour(o, () => nb(3), () => nb(4), 1);
    const beardDen = clip(sub(mul(nb(10), c(0.55)), c(0.25)), 0, 0.75);
    alb = lerp(alb, mul(hairColC, c(0.9)), mul(at("beard"), beardDen));
    const browDen = clip(add(c(0.7), mul(c(0.2), nb(9))), 0.15, 1);
    alb = lerp(alb, mul(hairColC, c(0.75)), mul(at("brow"), browDen));
    const hairlineT = reshape(hairline, [1, 1, -1]);
    const hairW = hairSoft(o, at("hairCand"), at("hairCoord"), hairlineT); // [N,1,B]
    alb = withHair(o, alb, hairColC, hairW, () => at("hairDetail"));
    alb = lerp(alb, rgb([0.78, 0.74, 0.7]), mul(at("sclera"), c(0.9)));
    const irisCol = lerp(
      rgb([0.22, 0.12, 0.07]),
      rgb([0.3, 0.42, 0.48]),
      sigmoid(sub(mul(nb(7), c(2)), c(2.4))),
    );
    alb = lerp(alb, irisCol, at("iris"));
    alb = lerp(alb, rgb([0.03, 0.03, 0.03]), at("pupil"));
    alb = lerp(alb, rgb([0.06, 0.05, 0.05]), mul(at("lash"), c(0.85)));
    alb = lerp(alb, rgb([0.22, 0.07, 0.07]), at("mouth"));
    // no sheen on hair and inside the mouth
    const colour = add(mul(alb, irr), mul(spec, mul(sub(c(1), hairW), sub(c(1), at("mouth"))))); // [N,3,B]
    return { u, v, d, colour };
  };

  // ---- where each dense point reads the texture, and the appearance PCA with what the photos do
  // not show filled (backdrop.ts): learned model only, each built once
  let tapsCache: ReturnType<typeof textureTaps> | undefined;
  const texTaps = () => tapsCache ??= textureTaps(geo, appearance!.header.resolution);
  let filledCache: ReturnType<typeof filledAppearance> | undefined;
  const filled = () => filledCache ??= filledAppearance(appearance!, geo, texTaps().uv);

  // ---- detail bank: the residual (luminance, what K components miss) of the photo whose
  // leading coefficients are nearest to `z`'s, added to the texture `tex` [B, R·R·3]
  const detailIds = new Map<string, string>();
  const withDetail = (tex: string, z: string, kept: { name: string; texels: Float32Array }) => {
    const app = appearance!, bank = app.detail;
    if (!bank) return tex;
    const R = app.header.resolution, M = app.header.details!, KEYS = app.header.detailKeys!;
    const T = R * R;
    if (KEYS > BG_COMPONENTS) {
      throw new RangeError(
        `detail bank: ${KEYS} keys, at most ${BG_COMPONENTS} (the background's)`,
      );
    }
    const init = (name: string, data: Float32Array | Int8Array, dims: number[]) => {
      if (!detailIds.has(name)) detailIds.set(name, g.initializer(name, data, dims));
      return detailIds.get(name)!;
    };
    const keysT = new Float32Array(KEYS * M), halfNorm = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < KEYS; k++) {
        const v = bank.keys[m * KEYS + k];
        keysT[k * M + m] = v;
        halfNorm[m] -= 0.5 * v * v;
      }
    }
    // argmax of z·key − |key|²/2 = the nearest key (ties: the first, on every EP)
    const score = add(
      op("MatMul", [slice(z, 0, KEYS, 1), init("detail_keys", keysT, [KEYS, M])]),
      init("detail_half_norm", halfNorm, [1, M]),
    );
    const pick = op("ArgMax", [score], { axis: 1, keepdims: 0 }); // [B] int64
    const res = mul(
      op("Cast", [op("Gather", [init("detail_residual", bank.residual, [M, T]), pick], {
        axis: 0,
      })], { to: 1 }),
      reshape(op("Gather", [init("detail_scale", bank.scale, [M]), pick], { axis: 0 }), [-1, 1]),
    ); // [B, T]
    const keptRes = mul(res, g.initializer(kept.name, kept.texels, [1, T]));
    return reshape(add(reshape(tex, [-1, T, 3]), reshape(keptRes, [-1, T, 1])), [-1, T * 3]);
  };

  // ---- learned appearance: texture = mean + coefficients·basis in the template frame, sampled by
  // each dense point at its rest frontal projection (4 bilinear taps), times SH shading relative
  // to the default light at the rest normal (the photos already carry their light).
  const learnedSurface = () => {
    const app = appearance!;
    const R = app.header.resolution, Kc = app.header.components, D = R * R * 3;
    const irr0 = new Float32Array(nC * 3);
    for (let i = 0; i < nC; i++) {
      const [x, y, z] = [0, 1, 2].map((k) => geo.ctrlNormal[3 * i + k]);
      const b = [1, y, z, x, x * y, y * z, 1.5 * z * z - 0.5, x * z, 0.5 * (x * x - y * y)];
      for (let ch = 0; ch < 3; ch++) {
        let e = 0.04;
        for (let k = 0; k < 9; k++) e += b[k] * shBase[3 * k + ch];
        irr0[3 * i + ch] = Math.max(e, 0.05);
      }
    }
    // damped (×0.7) and bounded: a photo's own shading is already in its texture
    const shade = clip(
      add(c(0.3), mul(c(0.7), div(irrV, g.initializer("irr_rest", irr0, [1, nC, 3])))),
      0.45,
      1.6,
    );
    const ctrlAttr = reshape(
      op("Transpose", [concat([screen, shade], 2)], { perm: [1, 2, 0] }),
      [nC, -1],
    ); // [nC,6·B]
    const dn = reshape(toDense(ctrlAttr), [N, 6, -1]); // [N,6,B]
    const u = slice(dn, 0, 1, 1), v = slice(dn, 1, 2, 1), d = slice(dn, 2, 3, 1);
    const pShade = slice(dn, 3, 6, 1);
    // this image's coefficients: the identity's share plus the photo's own light and camera
    const split = photoLightSplit(app), J = split.image.length;
    const toComponents = new Float32Array(J * Kc);
    for (let j = 0; j < J; j++) toComponents[j * Kc + j] = split.image[j];
    const coef = add(
      mul(idAlb, g.initializer("app_identity_share", split.identity, [1, Kc])),
      op("MatMul", [
        slice(illumination, SH_DIM, SH_DIM + J, 1),
        g.initializer("app_photo_light", toComponents, [J, Kc]),
      ]),
    );
    // the fine detail stays the identity's: keyed by its own coefficients
    const tex = withDetail(
      add(
        g.initializer("app_mean", filled().head.mean, [1, D]),
        op("MatMul", [coef, g.initializer("app_basis", filled().head.basis, [Kc, D])]),
      ),
      idAlb,
      { name: "detail_kept_head", texels: filled().head.kept },
    ); // [B,R·R·3]
    const texT = reshape(
      op("Transpose", [reshape(tex, [-1, R * R, 3])], { perm: [1, 2, 0] }),
      [R * R, -1],
    ); // [R·R,3·B]
    const taps = texTaps();
    let alb = reshape(mixRows(texT, "tex", 4, taps.idx, taps.w), [N, 3, -1]);
    // inside the inner lip contour: dark as far as the jaw drops
    const mouth = mul(
      at("mouth"),
      reshape(clip(mul(col(e1, JAW_DROP), c(MOUTH_DARK_GAIN)), 0, 1), [1, 1, -1]),
    );
    const perImage = (x: string) => reshape(x, [1, 1, -1]); // [B,1] → [1,1,B]
    alb = withHair(
      o,
      alb,
      hairColour(
        o,
        () => perImage(hairParam(2)),
        () => perImage(hairParam(3)),
        LEARNED_HAIR.brightness,
        true,
      ),
      hairSoft(o, at("hairCand"), at("hairCoord"), perImage(hairline)),
      () => at("hairDetail"),
    );
    alb = lerp(alb, c([0.2, 0.07, 0.07], [1, 3, 1]), mouth);
    return { u, v, d, colour: mul(alb, pShade) };
  };

  const { u, v, d, colour } = learned ? learnedSurface() : proceduralSurface();

  const { fg, alpha } = splatPoints(o, { u, v, d, colour }, identity, N, H, W, learned);

  const proceduralBackground = () => {
    // ---- background: a smooth 3×3 colour field per image from noise[0:27]
    const nz27 = slice(noise, 0, 27, 1);
    const bgMean = reshape(
      op("ReduceMean", [reshape(nz27, [-1, 3, 9]), g.ints([2])], { keepdims: 1 }),
      [-1, 3, 1, 1],
    );
    const bgGrid = add(
      add(c(0.5), mul(c(0.22), bgMean)),
      mul(c(0.06), reshape(nz27, [-1, 3, 3, 3])),
    );
    // bilinear upsampling 3→H as two MatMuls (Resize is slow on wasm)
    const up = new Float32Array(H * 3);
    for (let y = 0; y < H; y++) {
      const t = (y / (H - 1)) * 2, i = Math.min(1, Math.floor(t)), f = t - i;
      up[y * 3 + i] = 1 - f;
      up[y * 3 + i + 1] = f;
    }
    const upT = new Float32Array(3 * W);
    for (let y = 0; y < W; y++) for (let k = 0; k < 3; k++) upT[k * W + y] = up[y * 3 + k];
    const bg = clip(
      op("MatMul", [op("MatMul", [c(Array.from(up), [H, 3]), bgGrid]), c(Array.from(upT), [3, W])]),
      0.02,
      0.98,
    );
    return bg;
  };
  // ---- learned background: the same PCA driven by noise[0:27] (a different photo's backdrop per
  // image, so a background never tells identities apart), upsampled R → H by two MatMuls
  const learnedBackground = () => {
    const app = appearance!;
    const R = app.header.resolution, D = R * R * 3;
    const bgZ = slice(noise, 0, BG_COMPONENTS, 1);
    const bgTex = withDetail(
      add(
        g.initializer("app_bg_mean", filled().backdrop.mean, [1, D]),
        op("MatMul", [
          bgZ,
          g.initializer(
            "app_bg_basis",
            filled().backdrop.basis.slice(0, BG_COMPONENTS * D),
            [BG_COMPONENTS, D],
          ),
        ]),
      ),
      bgZ,
      { name: "detail_kept_backdrop", texels: filled().backdrop.kept },
    );
    const planes = op("Transpose", [reshape(bgTex, [-1, R, R, 3])], { perm: [0, 3, 1, 2] });
    const upH = c(Array.from(bilinearMatrix(H, R)), [H, R]);
    const upW = bilinearMatrix(W, R), upWT = new Float32Array(R * W);
    for (let x = 0; x < W; x++) for (let k = 0; k < R; k++) upWT[k * W + x] = upW[x * R + k];
    return clip(op("MatMul", [op("MatMul", [upH, planes]), c(Array.from(upWT), [R, W])]), 0, 1);
  };

  const bg = learned ? learnedBackground() : proceduralBackground();
  let img = add(mul(fg, alpha), mul(bg, sub(c(1), alpha)));
  if (learned) img = sharpenLuma(o, img, LEARNED_SHARPEN);

  // ---- camera: optional blur, colour gain, contrast, fixed sensor noise
  const nb4 = (k: number) => reshape(col(noise, k), [-1, 1, 1, 1]);
  const tBlur = mul(sigmoid(sub(nb4(27), c(0.8))), c(0.9));
  img = add(img, mul(tBlur, sub(blur3(o, img, 3), img)));
  const gain = add(c(1), mul(c(0.05), reshape(slice(noise, 28, 31, 1), [-1, 3, 1, 1])));
  img = mul(img, gain);
  img = add(mul(sub(img, c(0.5)), add(c(1), mul(c(0.08), nb4(31)))), c(0.5));
  const sensorRnd = lcgUniform(12345);
  const sensor = Float32Array.from({ length: 3 * HW }, () => sensorRnd() * 0.02);
  img = add(img, g.initializer("sensor_noise", sensor, [1, 3, H, W]));
  const out = sub(mul(clip(img, 0, 1), c(2)), c(1));
  g.output(out, "image", "float32", ["batch", 3, H, W]);
  return g.toBytes();
}
