/**
 * Linear bases of the face model, evaluated on the control vertices: identity shape (80),
 * identity albedo fields (80, of which the first 12 drive named colour/hair parameters in the
 * graph), and expression blendshapes (32). Hand-designed, region-aware bases come first (face
 * width, jaw, nose, eyes, brows, lips, ...), then seeded random smooth fields (sums of Gaussian
 * bumps, mirrored so faces stay near-symmetric) that give every identity its own details.
 */
import { Rng } from "../data/rng.ts";
import { type Geometry, MESH, smooth } from "./geometry.ts";

/** Sizes of the identity and expression coefficient blocks. */
export const SHAPE_DIM = 80;
export const ALBEDO_DIM = 80;
export const IDENTITY_DIM = SHAPE_DIM + ALBEDO_DIM;
export const EXPRESSION_DIM = 32;
/** Albedo coefficients 0..NAMED_ALBEDO-1 are read by name in the graph (skin tone, hair, ...). */
export const NAMED_ALBEDO = 12;

type V3 = [number, number, number];
type Field = (p: V3, i: number) => V3;

/** The bases as dense row-major matrices [k, nCtrl*3]. */
export interface Bases {
  shape: Float32Array;
  expression: Float32Array;
  albedo: Float32Array;
}

const g2 = (p: V3, c: [number, number], s: number) =>
  Math.exp(-((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2) / (2 * s * s));
const g3 = (p: V3, c: V3, s: number) =>
  Math.exp(-((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2) / (2 * s * s));
const sgn = (x: number) => (x < 0 ? -1 : 1);
/** g2 around (±x, y) on the point's own side of the face. */
const side = (p: V3, x: number, y: number, s: number) => g2(p, [sgn(p[0]) * x, y], s);

/** Build the bases for a geometry (deterministic). */
export function buildBases(geo: Geometry): Bases {
  const n = geo.nCtrl, P = geo.ctrl;
  const nFace = 468;
  const earStart = nFace + 41 * 25, neckStart = earStart + 2 * 13 * 9;
  const pos = (i: number): V3 => [P[3 * i], P[3 * i + 1], P[3 * i + 2]];
  const mean = (ids: readonly number[]): V3 => {
    const s: V3 = [0, 0, 0];
    for (const i of ids) for (let d = 0; d < 3; d++) s[d] += P[3 * i + d] / ids.length;
    return s;
  };
  const eL = mean(MESH.eyeL), eR = mean(MESH.eyeR);
  const eye = (p: V3): V3 => (p[0] < 0 ? eL : eR);
  const bL = mean(MESH.browL), bR = mean(MESH.browR);
  const brow = (p: V3): V3 => (p[0] < 0 ? bL : bR);
  const mR = pos(MESH.mouthR);
  const mouthY = (P[3 * 13 + 1] + P[3 * 14 + 1]) / 2;
  const nose = pos(MESH.noseTip);
  const isFace = (i: number) => i < nFace;
  const isEar = (i: number) => i >= earStart && i < neckStart;
  const isNeck = (i: number) => i >= neckStart;
  const lowerFace = (
    p: V3,
    i: number,
  ) => (isFace(i)
    ? smooth(mouthY + 0.05, mouthY - 0.3, p[1]) * smooth(7.5, 4.5, Math.abs(p[0]))
    : 0);
  const lidUp = new Set<number>(MESH.lidUpper);

  // deno-fmt-ignore: one field per line, like a table
  const shapeFields: Field[] = [
    (p) => [0.045 * p[0], 0, 0], // head width
    (p) => [0, 0.035 * (p[1] - 2), 0], // face length
    (p, i) => [0, 0, isFace(i) ? 0.06 * (p[2] + 2) : 0], // face depth
    (p) => [0.09 * p[0] * smooth(-2, -7, p[1]), 0, 0], // jaw width
    (p, i) => [0, isFace(i) ? -0.45 * smooth(-5.5, -9, p[1]) * Math.exp(-p[0] * p[0] / 25) : 0, 0], // chin length
    (p, i) => [0, 0, isFace(i) ? 0.4 * smooth(-6, -9, p[1]) * Math.exp(-p[0] * p[0] / 12) : 0], // chin protrusion
    (p) => [0, -0.3 * g3(p, [0, -1, 6.5], 1.6), 0.1 * g3(p, [0, -1, 6.5], 1.6)], // nose length
    (p) => [0.28 * sgn(p[0]) * side(p, 1.3, -1.4, 0.9) * smooth(3, 5, p[2]), 0, 0], // nose width
    (p) => [0, 0, 0.45 * g3(p, [0, -0.6, 7], 1.5)], // nose projection
    (p) => [0, 0, 0.3 * g2(p, [0, 2.2], 1.2) * smooth(3, 5, p[2])], // nose bridge
    (p) => [0.22 * sgn(p[0]) * g2(p, [eye(p)[0], eye(p)[1]], 1.5), 0, 0], // eye spacing
    (p) => [0, 0.25 * g2(p, [eye(p)[0], eye(p)[1]], 1.8), 0], // eye height
    (p) => {
      const e = eye(p), w = 0.16 * g2(p, [e[0], e[1]], 0.9);
      return [w * (p[0] - e[0]), w * (p[1] - e[1]) * 1.6, 0];
    }, // eye size
    (p) => [0, 0.3 * g2(p, [brow(p)[0], brow(p)[1]], 1.4), 0], // brow height
    (p) => [0, 0, 0.3 * g2(p, [brow(p)[0], brow(p)[1] + 0.3], 1.5)], // brow ridge
    (p) => [0.22 * sgn(p[0]) * side(p, 5.2, 0.8, 1.5), 0, 0.15 * side(p, 5.2, 0.8, 1.5)], // cheekbones
    (p, i) => [0.1 * sgn(p[0]) * side(p, 4.5, -3, 2), 0, isFace(i) ? 0.3 * side(p, 4.5, -3, 2) : 0], // cheek fullness
    (p) => [0.25 * sgn(p[0]) * g2(p, [sgn(p[0]) * mR[0], mR[1]], 1.1), 0, 0], // mouth width
    (p) => [0, 0.16 * Math.tanh((p[1] - mouthY) / 0.4) * g2(p, [0, mouthY], 1.3), 0.08 * g2(p, [0, mouthY], 1.2)], // lip thickness
    (p) => [0, 0.28 * g2(p, [0, mouthY], 1.8), 0], // mouth height
    (p, i) => [0, 0, isFace(i) || p[2] > 0 ? -0.5 * smooth(4, 10, p[1]) : 0], // forehead slope
    (p) => [0.4 * sgn(p[0]) * side(p, 6.5, -3, 2.5), 0, 0], // roundness
    (p, i) => {
      if (!isEar(i)) return [0, 0, 0];
      const c: V3 = [sgn(p[0]) * 6.8, 0.6, -3.3];
      return [0.15 * (p[0] - c[0]), 0.15 * (p[1] - c[1]), 0.15 * (p[2] - c[2])];
    }, // ear size
    (p, i) => [isEar(i) ? 0.35 * sgn(p[0]) : 0, 0, 0], // ear protrusion
    (p) => [0, 0.5 * smooth(5, 12, p[1]), 0], // skull height
    (p, i) => [isNeck(i) ? 0.08 * p[0] : 0, 0, 0], // neck width
    (p) => [0.3 * sgn(p[0]) * side(p, 6.5, 4, 2), 0, 0], // temples
    (p) => [0, -0.18 * g2(p, [0, (nose[1] + mouthY) / 2], 0.9), 0], // philtrum
    (p) => [0, 0, -0.22 * g2(p, [eye(p)[0], eye(p)[1]], 1.2)], // sunken eyes
    (p) => [0, 0.12 * (p[0] / 7) * g2(p, [0, 1], 4), 0], // slight asymmetry
  ];
  const rng = Rng.fromSeed(0xface).split("bases");
  const faceVerts = Array.from({ length: nFace }, (_, i) => i);
  const randomField = (r: Rng, amp: number, sig: [number, number], mirrored: boolean): Field => {
    const bumps = Array.from({ length: 3 }, () => {
      const c = pos(r.choice(faceVerts));
      return {
        c,
        s: r.range(sig[0], sig[1]),
        d: [r.normal(), r.normal(), r.normal() * 0.7].map((v) => v * amp) as V3,
      };
    });
    return (p, i) => {
      if (isNeck(i)) return [0, 0, 0];
      const out: V3 = [0, 0, 0];
      for (const b of bumps) {
        const w = g3(p, b.c, b.s);
        const wm = mirrored ? g3(p, [-b.c[0], b.c[1], b.c[2]], b.s) : 0;
        out[0] += b.d[0] * (w - wm);
        out[1] += b.d[1] * (w + wm);
        out[2] += b.d[2] * (w + wm);
      }
      return out;
    };
  };
  while (shapeFields.length < SHAPE_DIM) {
    const k = shapeFields.length;
    shapeFields.push(
      randomField(rng.split("shape", k), 0.26 * Math.pow(0.985, k), [1.2, 3.2], k % 5 !== 0),
    );
  }

  const lidLow = new Map<number, number>();
  MESH.lidUpper.forEach((u, k) => lidLow.set(u, MESH.lidLower[k]));
  const blink = (side: number): Field => (p, i) => {
    if (!(p[0] * side > 0)) return [0, 0, 0];
    const e = eye(p);
    if (lidUp.has(i)) {
      const lo = pos(lidLow.get(i)!);
      return [0, 0.85 * (lo[1] - p[1]), 0];
    }
    // lids pull the skin just above them
    const above = smooth(e[1], e[1] + 0.6, p[1]) * g2(p, [e[0], e[1] + 0.5], 0.8);
    return isFace(i) ? [0, -0.25 * above, 0] : [0, 0, 0];
  };
  const corner = (p: V3) => g2(p, [sgn(p[0]) * mR[0], mR[1]], 1.0);
  // deno-fmt-ignore: one field per line, like a table
  const expressionFields: Field[] = [
    (p) => [0.25 * sgn(p[0]) * corner(p), 0.4 * corner(p) + 0.15 * side(p, 3.8, -2.2, 1.3), -0.1 * corner(p)], // smile
    (p, i) => [0, -0.9 * lowerFace(p, i), -0.3 * lowerFace(p, i)], // mouth open (jaw drop)
    (p) => [-0.12 * p[0] * g2(p, [0, mouthY], 1.3), 0, 0.3 * g2(p, [0, mouthY], 1.3)], // pucker
    (p) => [0, 0.35 * g2(p, [brow(p)[0], brow(p)[1]], 1.7), 0], // brows raise
    (p) => [-0.15 * sgn(p[0]) * side(p, 1.6, 4.0, 1.0), -0.22 * side(p, 1.6, 4.0, 1.1), 0], // frown
    blink(-1),
    blink(1),
    (p) => [0, 0.12 * g2(p, [eye(p)[0], eye(p)[1] - 0.6], 0.7) + 0.1 * side(p, 3.5, -1, 1.3), 0], // squint
    (p, i) => [0.15 * sgn(p[0]) * side(p, 3.6, -3.6, 1.5), 0, isFace(i) ? 0.3 * side(p, 3.6, -3.6, 1.5) : 0], // puff
    (p, i) => [0.35 * (isFace(i) ? smooth(-3.5, -7, p[1]) * smooth(7.5, 4.5, Math.abs(p[0])) : 0), 0, 0], // jaw sideways
    (p) => [0, -0.28 * corner(p), 0], // corners down
    (p) => [0, 0.14 * side(p, 1.2, 0, 0.9), 0], // nose wrinkle
    (p) => [0, 0.18 * g2(p, [0, mouthY + 0.4], 0.9), 0.05 * g2(p, [0, mouthY + 0.4], 0.9)], // upper lip raise
    (p) => [0, -0.18 * g2(p, [0, mouthY - 0.6], 0.9), 0], // lower lip depress
    (p) => [0.25 * g2(p, [0, mouthY], 1.6), 0, 0], // mouth sideways
    (p) => [0, 0.3 * (p[0] > 0 ? 1 : 0) * g2(p, [brow(p)[0], brow(p)[1]], 1.5), 0], // one brow
  ];
  while (expressionFields.length < EXPRESSION_DIM) {
    const k = expressionFields.length;
    expressionFields.push(randomField(rng.split("expr", k), 0.1, [0.8, 1.6], k % 2 === 0));
  }

  const colourField = (r: Rng, k: number): Field => {
    const f = randomField(r, 1, [1.5, 4], k % 3 !== 0);
    const tint = [r.normal(), r.normal(), r.normal()].map((v) => 0.12 * v + 1);
    const amp = 0.014 * Math.pow(0.98, k);
    return (p, i) => {
      if (!isFace(i) && !isEar(i)) return [0, 0, 0];
      const d = f(p, i);
      const v = (d[1] + d[2]) * amp; // a luminance-like scalar field, tinted
      return [v * tint[0], v * tint[1], v * tint[2]];
    };
  };
  const albedoFields: Field[] = Array.from(
    { length: ALBEDO_DIM },
    (_, k) => k < NAMED_ALBEDO ? () => [0, 0, 0] : colourField(rng.split("albedo", k), k),
  );

  const evalFields = (fs: Field[]) => {
    const out = new Float32Array(fs.length * n * 3);
    fs.forEach((f, k) => {
      for (let i = 0; i < n; i++) {
        const d = f(pos(i), i);
        out.set(d, (k * n + i) * 3);
      }
    });
    return out;
  };
  return {
    shape: evalFields(shapeFields),
    expression: evalFields(expressionFields),
    albedo: evalFields(albedoFields),
  };
}
