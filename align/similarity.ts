/**
 * The 5-point alignment's crops: the templates of both output sizes and the inverse map a warp
 * samples by. The template and the least-squares similarity (rotation, uniform scale,
 * translation; Umeyama's closed form, as insightface's `norm_crop` estimates it) are `data/`'s,
 * shared with the generator's texture frame.
 * @module
 */
import { ARCFACE_TEMPLATE, type Point, type Similarity } from "../data/face_template.ts";

export {
  applySimilarity,
  ARCFACE_TEMPLATE,
  estimateSimilarity,
  type Point,
  type Similarity,
} from "../data/face_template.ts";

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

/** The inverse map as 6 affine coefficients `[m00, m01, m02, m10, m11, m12]` (crop → source). */
export function inverseAffine(s: Similarity): number[] {
  const d = s.a * s.a + s.b * s.b;
  const ia = s.a / d, ib = -s.b / d;
  // inverse: x = ia·x' − ib·y' + itx, y = ib·x' + ia·y' + ity
  const itx = -(ia * s.tx - ib * s.ty);
  const ity = -(ib * s.tx + ia * s.ty);
  return [ia, -ib, itx, ib, ia, ity];
}
