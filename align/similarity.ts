/**
 * The 5-point alignment: the least-squares similarity (rotation, uniform scale, translation)
 * that takes the face's 5 points onto the ArcFace template (Umeyama's closed form, as insightface's
 * `norm_crop` estimates it), and the templates for both output sizes.
 * @module
 */

/** A point `[x, y]` in pixels. */
export type Point = readonly [number, number];

/**
 * The ArcFace 112×112 template: image-left eye centre, image-right eye centre, nose tip,
 * image-left and image-right mouth corner (x, y in pixels). The same values as the generator's
 * `ARCFACE_TEMPLATE` (a test keeps them equal; `align/` does not import `generator/`).
 */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** Output sizes of an aligned crop. */
export type CropSize = "112" | "112x96";

/** Crop `[height, width]` and template of each output size (112×96 drops 8 px each side). */
export function cropGeometry(size: CropSize): { height: number; width: number; template: Point[] } {
  if (size === "112") return { height: 112, width: 112, template: ARCFACE_TEMPLATE.slice() };
  return {
    height: 112,
    width: 96,
    template: ARCFACE_TEMPLATE.map(([x, y]) => [x - 8, y] as const),
  };
}

/** A similarity `x' = a·x − b·y + tx`, `y' = b·x + a·y + ty`. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * The similarity minimising `Σ |S(src_i) − dst_i|²` (no reflection). Throws when the source
 * points are all equal.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) {
    throw new RangeError(
      `estimateSimilarity: ${src.length} source and ${dst.length} target points, expected ≥ 2 each`,
    );
  }
  const n = src.length;
  let msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i][0] / n;
    msy += src[i][1] / n;
    mdx += dst[i][0] / n;
    mdy += dst[i][1] / n;
  }
  let ss = 0, pa = 0, pb = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - msx, sy = src[i][1] - msy;
    const dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
    ss += sx * sx + sy * sy;
    pa += sx * dx + sy * dy;
    pb += sx * dy - sy * dx;
  }
  if (!(ss > 0)) throw new RangeError("estimateSimilarity: the source points coincide");
  const a = pa / ss;
  const b = pb / ss;
  return { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) };
}

/** Apply a similarity to a point. */
export function applySimilarity(s: Similarity, [x, y]: Point): [number, number] {
  return [s.a * x - s.b * y + s.tx, s.b * x + s.a * y + s.ty];
}

/** The inverse map as 6 affine coefficients `[m00, m01, m02, m10, m11, m12]` (crop → source). */
export function inverseAffine(s: Similarity): number[] {
  const d = s.a * s.a + s.b * s.b;
  const ia = s.a / d, ib = -s.b / d;
  // inverse: x = ia·x' − ib·y' + itx, y = ib·x' + ia·y' + ity
  const itx = -(ia * s.tx - ib * s.ty);
  const ity = -(ib * s.tx + ia * s.ty);
  return [ia, -ib, itx, ib, ia, ity];
}
