/**
 * How the learned model's appearance coefficients split between the person and the photo. The
 * PCA of photos learns their light and camera together with the person: its leading components
 * are exposure, side light, white balance (see `generator/README.md`). Left as identity, a
 * recogniser trained on the renders learns "lit from the left" as who someone is.
 */
import type { AppearanceModel } from "./appearance.ts";

/** Leading appearance components that are partly a photo's light and camera, not its person. */
export const PHOTO_LIGHT = 32;
/** Per-image share of the variance of a mirror-symmetric / antisymmetric leading component. */
const PHOTO_SHARE = { symmetric: 0.5, antisymmetric: 1 } as const;

/**
 * How much of each appearance component belongs to the identity and how much to the image. A
 * face is nearly symmetric, so a component odd under mirroring (the photos are in the data with
 * their mirror images, so each component is even or odd) is light or pose: wholly per image; an
 * even one keeps half its variance per identity. Each component's total variance is unchanged, so
 * the marginal distribution of renders (what the realism meter compares) is too.
 * Returns `identity[k]` (scale of the identity coefficient) and `image[j]` (scale of
 * illumination[27 + j] on component j < {@link PHOTO_LIGHT}).
 */
export function photoLightSplit(
  app: AppearanceModel,
): { identity: Float32Array; image: Float32Array } {
  const R = app.header.resolution, K = app.header.components, D = R * R * 3;
  const identity = new Float32Array(K).fill(1), image = new Float32Array(Math.min(PHOTO_LIGHT, K));
  for (let k = 0; k < image.length; k++) {
    // the sign of the component's product with its mirror image: even (+) or odd (−)
    let dot = 0;
    for (let y = 0; y < R; y++) {
      for (let x = 0; x < R; x++) {
        for (let ch = 0; ch < 3; ch++) {
          dot += app.basis[k * D + (y * R + x) * 3 + ch] *
            app.basis[k * D + (y * R + R - 1 - x) * 3 + ch];
        }
      }
    }
    const share = dot < 0 ? PHOTO_SHARE.antisymmetric : PHOTO_SHARE.symmetric;
    identity[k] = Math.sqrt(1 - share);
    image[k] = Math.sqrt(share);
  }
  return { identity, image };
}
