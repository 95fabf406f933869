/**
 * The ArcFace 112×112 template and the least-squares 2-D similarity that every 5-point fit in
 * the project uses (real photos onto the template in `align/`, the learned appearance's photos
 * in `tasks/`, the mesh's rest frame onto the texture frame in `generator/`): one definition, so
 * the generator's texture frame and a real photo's crop agree to the last bit.
 * @module
 */

/** A point `[x, y]` in pixels. */
export type Point = readonly [number, number];

/**
 * The ArcFace 112×112 template: image-left eye centre, image-right eye centre, nose tip,
 * image-left and image-right mouth corner (x, y in pixels), as insightface's `norm_crop` uses it.
 */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** A similarity `x' = a·x − b·y + tx`, `y' = b·x + a·y + ty`. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** The mean of `points` (summed in order, then divided). */
export function centroid(points: readonly Point[]): [number, number] {
  let x = 0, y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}

/**
 * The similarity minimising `Σ |S(src_i) − dst_i|²` (no reflection; Umeyama's closed form).
 * Throws when the source points are all equal.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) {
    throw new RangeError(
      `estimateSimilarity: ${src.length} source and ${dst.length} target points, expected ≥ 2 each`,
    );
  }
  const [msx, msy] = centroid(src), [mdx, mdy] = centroid(dst);
  let ss = 0, pa = 0, pb = 0;
  for (let i = 0; i < src.length; i++) {
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
