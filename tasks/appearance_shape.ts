/**
 * The shape half of the appearance fit: each photo's 68 landmarks (iBUG order) in the texture
 * frame, their mean and principal components, and the piecewise-affine warp that brings a photo's
 * landmarks onto the mean shape. Warped so, the PCA's textures are shape-free (eyes, brows, lips
 * and jaw line land on the same texels in every photo) and stay sharp, and the shape model gives
 * the geometry back (generator/learned_shape.ts).
 */
import { eigSymmetric } from "../eval/mod.ts";
import {
  applySimilarity,
  ARCFACE_TEMPLATE,
  estimateSimilarity,
  type Similarity,
} from "../data/mod.ts";

type P2 = [number, number];

/** The similarity that takes 5 source `points` onto the ArcFace template scaled by `k`. */
export function similarityToTemplate(points: readonly P2[], k = 1): Similarity {
  return estimateSimilarity(points, ARCFACE_TEMPLATE.map(([x, y]) => [x * k, y * k] as const));
}

/** `points` mapped by `s`, flattened [x0, y0, x1, y1, …]. */
export function mapPoints(s: Similarity, points: readonly P2[]): Float64Array {
  return Float64Array.from(points.flatMap((p) => applySimilarity(s, p)));
}

/** iBUG 68: the index each landmark takes in the mirror image. */
export const IBUG_MIRROR: readonly number[] = (() => {
  const m = Array.from({ length: 68 }, (_, i) => i);
  const pairs: P2[] = [
    ...Array.from({ length: 8 }, (_, i) => [i, 16 - i] as P2), // jaw
    ...Array.from({ length: 5 }, (_, i) => [17 + i, 26 - i] as P2), // brows
    [31, 35],
    [32, 34], // nostrils
    [36, 45],
    [37, 44],
    [38, 43],
    [39, 42],
    [40, 47],
    [41, 46], // eyes
    [48, 54],
    [49, 53],
    [50, 52],
    [55, 59],
    [56, 58], // outer lips
    [60, 64],
    [61, 63],
    [65, 67], // inner lips
  ];
  for (const [i, j] of pairs) [m[i], m[j]] = [j, i];
  return m;
})();

/** The mirror image of a 68-point shape in the 112 frame (x → 112 − x, sides swapped). */
export function mirrorShape(s: ArrayLike<number>): Float64Array {
  const out = new Float64Array(136);
  for (let i = 0; i < 68; i++) {
    const j = IBUG_MIRROR[i];
    out[2 * j] = 112 - s[2 * i];
    out[2 * j + 1] = s[2 * i + 1];
  }
  return out;
}

/** A linear shape model: `mean` [136] and `basis` [L][136] (rows scaled by √variance). */
export interface ShapeModel {
  mean: number[];
  basis: number[][];
  variances: number[];
}

/**
 * PCA of 68-point shapes in the 112 frame, each with its mirror image (so the mean is symmetric
 * and every component even or odd under mirroring), keeping `L` components.
 */
export function fitShapeModel(shapes: readonly ArrayLike<number>[], L: number): ShapeModel {
  const all = shapes.flatMap((s) => [Float64Array.from(s), mirrorShape(s)]);
  const D = 136, n = all.length;
  const mean = new Float64Array(D);
  for (const s of all) for (let d = 0; d < D; d++) mean[d] += s[d] / n;
  // the mean is exactly symmetric: average it with its own mirror
  const mm = mirrorShape(mean);
  for (let d = 0; d < D; d++) mean[d] = (mean[d] + mm[d]) / 2;
  const cov = new Float64Array(D * D);
  for (const s of all) {
    for (let i = 0; i < D; i++) {
      const di = s[i] - mean[i];
      for (let j = 0; j <= i; j++) cov[i * D + j] += (di * (s[j] - mean[j])) / (n - 1);
    }
  }
  for (let i = 0; i < D; i++) for (let j = 0; j < i; j++) cov[j * D + i] = cov[i * D + j];
  const { values, vectors } = eigSymmetric(cov, D); // ascending
  const basis: number[][] = [], variances: number[] = [];
  for (let k = 0; k < L; k++) {
    const c = D - 1 - k, v = Math.max(0, values[c]);
    const row = Array.from({ length: D }, (_, i) => vectors[i * D + c] * Math.sqrt(v));
    // a deterministic sign: the largest entry positive
    const big = row.reduce((m, x, i) => (Math.abs(x) > Math.abs(row[m]) ? i : m), 0);
    basis.push(row[big] < 0 ? row.map((x) => -x) : row);
    variances.push(v);
  }
  // rounded: the model's header is JSON, and 1e-4 px is far below any landmark's precision
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    mean: [...mean].map(r),
    basis: basis.map((row) => row.map(r)),
    variances: variances.map(r),
  };
}

/** Delaunay triangulation (Bowyer–Watson) of `pts`: triangles as index triples. */
export function delaunay(pts: readonly P2[]): [number, number, number][] {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const r = 1000 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const P: P2[] = [...pts, [cx - r, cy - r], [cx + r, cy - r], [cx, cy + r]];
  const n = pts.length;
  let tris: [number, number, number][] = [[n, n + 1, n + 2]];
  const circumcontains = (t: [number, number, number], p: P2) => {
    const [a, b, c] = t.map((i) => P[i]);
    const ax = a[0] - p[0], ay = a[1] - p[1], bx = b[0] - p[0], by = b[1] - p[1];
    const qx = c[0] - p[0], qy = c[1] - p[1];
    const det = (ax * ax + ay * ay) * (bx * qy - qx * by) -
      (bx * bx + by * by) * (ax * qy - qx * ay) + (qx * qx + qy * qy) * (ax * by - bx * ay);
    const orient = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    return orient > 0 ? det > 0 : det < 0;
  };
  for (let i = 0; i < n; i++) {
    const bad = tris.filter((t) => circumcontains(t, P[i]));
    const edges = new Map<string, P2>();
    for (const t of bad) {
      for (const [u, v] of [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]]) {
        const key = u < v ? `${u},${v}` : `${v},${u}`;
        if (edges.has(key)) edges.delete(key);
        else edges.set(key, [u, v]);
      }
    }
    tris = tris.filter((t) => !bad.includes(t));
    for (const [u, v] of edges.values()) tris.push([u, v, i]);
  }
  return tris.filter((t) => t.every((i) => i < n));
}

/** Anchors around the frame (112 units), fixed by the warp: it changes nothing far outside. */
const ANCHORS: P2[] = (() => {
  const out: P2[] = [];
  for (const t of [-24, 28, 56, 84, 136]) out.push([t, -24], [t, 136]);
  for (const t of [28, 56, 84]) out.push([-24, t], [136, t]);
  return out;
})();

/**
 * The piecewise-affine warp onto a fixed `target` shape ([136], 112 frame) on a `size`² grid
 * (pixel j's centre at `(j + 0.5 (1 − 112/size)) · 112/size`, `alignByPoints`' convention):
 * for each pixel, its triangle and barycentric weights in the target, so that a photo's own
 * landmarks give where that pixel reads the photo.
 */
export class ShapeWarp {
  readonly tris: [number, number, number][];
  private readonly tri: Int32Array;
  private readonly bary: Float64Array;

  constructor(target: ArrayLike<number>, readonly size: number) {
    const pts: P2[] = [
      ...Array.from({ length: 68 }, (_, i) => [target[2 * i], target[2 * i + 1]] as P2),
      ...ANCHORS,
    ];
    this.tris = delaunay(pts);
    const k = size / 112;
    this.tri = new Int32Array(size * size).fill(-1);
    this.bary = new Float64Array(size * size * 3);
    for (let t = 0; t < this.tris.length; t++) {
      const [a, b, c] = this.tris[t].map((i) => pts[i]);
      const den = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
      for (let j = 0; j < size; j++) {
        const y = (j + 0.5 * (1 - 1 / k)) / k;
        for (let i = 0; i < size; i++) {
          const p = j * size + i;
          if (this.tri[p] >= 0) continue;
          const x = (i + 0.5 * (1 - 1 / k)) / k;
          const l1 = ((b[1] - c[1]) * (x - c[0]) + (c[0] - b[0]) * (y - c[1])) / den;
          const l2 = ((c[1] - a[1]) * (x - c[0]) + (a[0] - c[0]) * (y - c[1])) / den;
          const l3 = 1 - l1 - l2;
          if (l1 < -1e-9 || l2 < -1e-9 || l3 < -1e-9) continue;
          this.tri[p] = t;
          this.bary.set([l1, l2, l3], 3 * p);
        }
      }
    }
    if (this.tri.includes(-1)) throw new Error("ShapeWarp: the anchors must cover the frame");
  }

  /**
   * Where each pixel reads a photo whose landmarks are `own` ([136], 112 frame): [size², 2] in
   * 112 units.
   */
  sources(own: ArrayLike<number>): Float64Array {
    const at = (i: number, d: number) => (i < 68 ? own[2 * i + d] : ANCHORS[i - 68][d]);
    const out = new Float64Array(this.size * this.size * 2);
    for (let p = 0; p < this.size * this.size; p++) {
      const t = this.tris[this.tri[p]], w = this.bary.subarray(3 * p, 3 * p + 3);
      for (let d = 0; d < 2; d++) {
        out[2 * p + d] = w[0] * at(t[0], d) + w[1] * at(t[1], d) + w[2] * at(t[2], d);
      }
    }
    return out;
  }
}
