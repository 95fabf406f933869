/**
 * Filling what the learned model's photos do not show. Its texture frame is a whole aligned
 * UTKFace crop, and those crops end inside an ArcFace crop (above 24 px, left of 8 and right of
 * 104): there the crop's edge pixels were continued, so the PCA learned vertical streaks. The
 * generator's head reads its texture there (the upper forehead and the top of the skull), and its
 * backdrop is another photo's frame, whose own face would show behind the head. Both are filled
 * from the rest of the frame by push–pull interpolation: linear for a fixed mask, so it applies to
 * the PCA mean and to each basis row once, at build time, and the fill of any coefficients is the
 * filled mean + coefficients · filled basis, exactly.
 */
import { type Geometry, IMAGE_SIZE, REGION, smooth } from "./geometry.ts";

/** Rows of the 112×112 frame above which (and columns outside which) the photos hold nothing. */
export const PHOTO_FRAME = { top: 24, left: 8, right: 104 } as const;
/**
 * `cover` grown by one pixel to its 4 neighbours: the face and the pixel around it, which the
 * plate fills as well. The frame's edge pixels count as grown too (beyond the frame counts as
 * covered), so the bottom row is filled; the other edges lie in the border anyway.
 */
function growOnePixel(cover: Uint8Array, n: number): Uint8Array {
  return cover.map((c, i) => {
    const x = i % n, y = (i - x) / n;
    if (c || x === 0 || y === 0 || x === n - 1 || y === n - 1) return 1;
    return cover[i - 1] | cover[i + 1] | cover[i - n] | cover[i + n];
  });
}

/** Pixels of the 112×112 frame the rest face (face region only) covers, frontal, holes closed. */
function faceCoverage(geo: Geometry, uv: Float32Array): Uint8Array {
  const n = IMAGE_SIZE, hit = new Uint8Array(n * n);
  for (let p = 0; p < geo.nPoints; p++) {
    if (geo.pointRegion[p] !== REGION.face) continue;
    const x = Math.floor(uv[2 * p]), y = Math.floor(uv[2 * p + 1]);
    if (x >= 0 && y >= 0 && x < n && y < n) hit[y * n + x] = 1;
  }
  // close pinholes between splatted points: dilate, then erode, by one pixel
  const grow = (src: Uint8Array, value: number) => {
    const out = new Uint8Array(src);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const xx = Math.min(n - 1, Math.max(0, x + dx)),
              yy = Math.min(n - 1, Math.max(0, y + dy));
            if (src[yy * n + xx] === value) out[y * n + x] = value;
          }
        }
      }
    }
    return out;
  };
  return grow(grow(hit, 1), 0);
}

/**
 * Which texels of an R×R texture frame are kept (1) or filled (0) from the kept ones: always the
 * border no photo covers ({@link PHOTO_FRAME}); with `face`, also the face and a pixel around
 * it (a backdrop then shows what surrounded the photo's face, not a
 * face, and the border's fill comes from the hair or background at the temples).
 */
export function keptTexels(
  R: number,
  face?: { geo: Geometry; uv: Float32Array },
): Float32Array {
  const n = IMAGE_SIZE;
  // the face and a pixel around it: what fills it comes from the photo's surroundings alone
  const near = face ? growOnePixel(faceCoverage(face.geo, face.uv), n) : new Uint8Array(n * n);
  const known = new Float32Array(R * R);
  for (let j = 0; j < R; j++) {
    for (let i = 0; i < R; i++) {
      const x = ((i + 0.5) * n) / R, y = ((j + 0.5) * n) / R;
      const inFace = near[Math.floor(y) * n + Math.floor(x)] > 0;
      const inPhoto = y >= PHOTO_FRAME.top && x >= PHOTO_FRAME.left && x <= PHOTO_FRAME.right;
      known[j * R + i] = inPhoto && !inFace ? 1 : 0;
    }
  }
  return known;
}

/** Bilinear 2× upsampling of an `m × m` plane to `n × n` (n ≤ 2m), edge-clamped. */
function upsample(src: Float32Array, m: number, n: number): Float32Array {
  const out = new Float32Array(n * n);
  const tap = (t: number) => {
    const s = Math.min(m - 1, Math.max(0, (t + 0.5) / 2 - 0.5));
    const i = Math.min(m - 2, Math.floor(s));
    return m === 1 ? [0, 0, 0] : [i, i + 1, s - i];
  };
  for (let y = 0; y < n; y++) {
    const [y0, y1, fy] = tap(y);
    for (let x = 0; x < n; x++) {
      const [x0, x1, fx] = tap(x);
      out[y * n + x] = (1 - fy) * ((1 - fx) * src[y0 * m + x0] + fx * src[y0 * m + x1]) +
        fy * ((1 - fx) * src[y1 * m + x0] + fx * src[y1 * m + x1]);
    }
  }
  return out;
}

/**
 * Push–pull fill of one R×R plane: texels with `known` 1 keep their value, the others get a
 * smooth interpolation of the known ones (Gortler et al. 1996). Linear in `plane`.
 */
export function pushPullFill(plane: Float32Array, known: Float32Array, R: number): Float32Array {
  if (R === 1) return Float32Array.from(plane, (v, i) => (known[i] ? v : 0));
  const m = Math.ceil(R / 2);
  const sum = new Float32Array(m * m), wsum = new Float32Array(m * m);
  for (let y = 0; y < R; y++) {
    for (let x = 0; x < R; x++) {
      const k = (y >> 1) * m + (x >> 1), w = known[y * R + x];
      sum[k] += w * plane[y * R + x];
      wsum[k] += w;
    }
  }
  const coarse = Float32Array.from(sum, (s, k) => (wsum[k] > 0 ? s / wsum[k] : 0));
  const coarseKnown = Float32Array.from(wsum, (w) => Math.min(1, w));
  const up = upsample(pushPullFill(coarse, coarseKnown, m), m, R);
  return Float32Array.from(plane, (v, i) => known[i] * v + (1 - known[i]) * up[i]);
}

/**
 * The plate of an HWC texture (or basis row) `tex` [R·R·3]: {@link pushPullFill} per channel.
 */
export function plateOf(tex: Float32Array, known: Float32Array, R: number): Float32Array {
  const out = new Float32Array(tex.length), plane = new Float32Array(R * R);
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < R * R; i++) plane[i] = tex[i * 3 + ch];
    const filled = pushPullFill(plane, known, R);
    for (let i = 0; i < R * R; i++) out[i * 3 + ch] = filled[i];
  }
  return out;
}

/** Width (px) over which the head's texture passes from the fill to the photo at its sides. */
export const PHOTO_RAMP = 10;

/**
 * Rows of the 112×112 frame between which the head, above the photos' reach, passes from hair
 * (the fill from the temples, at `hair` and above) to forehead (the photos' own forehead carried
 * upward, at `skin` and below). Real aligned faces show forehead skin up to row ≈ 10 on average:
 * on LFW View 1 (development set) the mean image's centre column is 85 / 113 / 138 / 152 / 156
 * (luminance) at rows 0 / 9 / 15 / 21 / 27; a ramp at 4–20 gives the renders 79 / 99 / 132 / 152 /
 * 159 there. `embedded-aam@7` filled everything above row 24 from the temples and ramped into the
 * photo over rows 24–34, so its renders wore a dark cap down to the brows (85–92 at rows 3–24).
 */
export const HAIRLINE = { hair: 4, skin: 20 } as const;

/**
 * Per texel of an R×R frame: how much of the head's texture is the photo (1 inside
 * {@link PHOTO_FRAME} farther than {@link PHOTO_RAMP} from its sides, 0 outside, smooth between
 * at the sides, so the hair beside the photos' reach has no hard edge; above the frame's top the
 * forehead continues the photo, see {@link HAIRLINE}).
 */
export function photoWeight(R: number): Float32Array {
  const w = new Float32Array(R * R);
  for (let j = 0; j < R; j++) {
    for (let i = 0; i < R; i++) {
      const x = ((i + 0.5) * IMAGE_SIZE) / R, y = ((j + 0.5) * IMAGE_SIZE) / R;
      w[j * R + i] = (y >= PHOTO_FRAME.top ? 1 : 0) *
        smooth(PHOTO_FRAME.left, PHOTO_FRAME.left + PHOTO_RAMP, x) *
        smooth(PHOTO_FRAME.right, PHOTO_FRAME.right - PHOTO_RAMP, x);
    }
  }
  return w;
}

/** Per texel of an R×R frame: the share of the forehead fill (1 − that of hair), {@link HAIRLINE}. */
export function foreheadWeight(R: number): Float32Array {
  const w = new Float32Array(R * R);
  for (let j = 0; j < R; j++) {
    const y = ((j + 0.5) * IMAGE_SIZE) / R;
    w.fill(smooth(HAIRLINE.hair, HAIRLINE.skin, y), j * R, (j + 1) * R);
  }
  return w;
}

/**
 * The learned model's two filled versions of the appearance PCA (mean and basis rows, HWC):
 * `head`, what the head's points read (the photos where they reach; above them the photos'
 * forehead carried upward, passing into the hair or background at the temples toward the top of
 * the skull), and `backdrop`, what another photo's frame shows behind the head (its face filled as
 * well). Also the texels each keeps, for masking the detail bank.
 */
export function filledAppearance(
  app: { mean: Float32Array; basis: Float32Array; header: { resolution: number } },
  geo: Geometry,
  uv: Float32Array,
): {
  head: { mean: Float32Array; basis: Float32Array; kept: Float32Array };
  backdrop: { mean: Float32Array; basis: Float32Array; kept: Float32Array };
} {
  const R = app.header.resolution, D = R * R * 3, K = app.basis.length / D;
  const photo = photoWeight(R), forehead = foreheadWeight(R);
  const inFrame = keptTexels(R), aroundFace = keptTexels(R, { geo, uv });
  const fill = (tex: Float32Array) => {
    const plate = plateOf(tex, aroundFace, R), upward = plateOf(tex, inFrame, R);
    const head = Float32Array.from(tex, (v, q) => {
      const t = Math.floor(q / 3), w = photo[t], a = forehead[t];
      return w * v + (1 - w) * (a * upward[q] + (1 - a) * plate[q]);
    });
    return { head, plate };
  };
  const m = fill(app.mean);
  const headBasis = new Float32Array(K * D), plateBasis = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    const f = fill(app.basis.subarray(k * D, (k + 1) * D));
    headBasis.set(f.head, k * D);
    plateBasis.set(f.plate, k * D);
  }
  return {
    head: { mean: m.head, basis: headBasis, kept: photo },
    backdrop: { mean: m.plate, basis: plateBasis, kept: aroundFace },
  };
}
