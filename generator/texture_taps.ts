/**
 * Sampling tables of the learned model's texture frame: where each dense mesh point reads its
 * texel (the rest mesh's frontal projection on the ArcFace template) and the bilinear upsampling
 * from the texture resolution to the image. Plain arrays, baked into the graph as constants.
 */
import { estimateSimilarity } from "../data/face_template.ts";
import { ARCFACE_TEMPLATE, type Geometry, IMAGE_SIZE } from "./geometry.ts";

/** Bilinear weights from `n` output pixel centres to `m` texel centres: [n, m] row-major. */
export function bilinearMatrix(n: number, m: number): Float32Array {
  const out = new Float32Array(n * m);
  for (let y = 0; y < n; y++) {
    const t = Math.min(m - 1, Math.max(0, ((y + 0.5) * m) / n - 0.5));
    const i = Math.min(m - 2, Math.floor(t)), f = t - i;
    out[y * m + i] += 1 - f;
    out[y * m + i + 1] += f;
  }
  return out;
}

/**
 * The similarity from the rest mesh's frontal plane (cm, y up) to the texture frame (112 px, y
 * down) that the graph's 5-point fit gives the mean face at zero pose:
 * u = A x + B y + tx, v = B x − A y + ty.
 */
export function restToFrame(geo: Geometry): { A: number; B: number; tx: number; ty: number } {
  const nC = geo.nCtrl;
  const L = Array.from({ length: 5 }, (_, k) => {
    let x = 0, y = 0;
    for (let i = 0; i < nC; i++) {
      const w = geo.landmarkW[k * nC + i];
      if (w) {
        x += w * geo.ctrl[3 * i];
        y += w * geo.ctrl[3 * i + 1];
      }
    }
    return [x, -y] as const;
  });
  // mesh y is up: fit [x, −y] onto the template, so u = a x + b y + tx, v = b x − a y + ty
  const { a, b, tx, ty } = estimateSimilarity(L, ARCFACE_TEMPLATE);
  return { A: a, B: b, tx, ty };
}

/**
 * Where each dense point's texel lies in the texture frame: the rest mesh's frontal projection
 * by the same 5-point similarity the graph fits (the mean face at zero pose lands on it).
 * Returns 4 texel indices and bilinear weights per point.
 */
export function textureTaps(
  geo: Geometry,
  resolution: number,
): { idx: Int32Array; w: Float32Array; uv: Float32Array } {
  const { A, B, tx, ty } = restToFrame(geo);
  const N = geo.nPoints, R = resolution;
  const idx = new Int32Array(4 * N), w = new Float32Array(4 * N), uv = new Float32Array(2 * N);
  for (let p = 0; p < N; p++) {
    const x = geo.pointPos[3 * p], y = geo.pointPos[3 * p + 1];
    const u = A * x + B * y + tx, v = B * x - A * y + ty;
    uv[2 * p] = u;
    uv[2 * p + 1] = v;
    const tu = Math.min(R - 1, Math.max(0, (u * R) / IMAGE_SIZE - 0.5));
    const tv = Math.min(R - 1, Math.max(0, (v * R) / IMAGE_SIZE - 0.5));
    const i = Math.min(R - 2, Math.floor(tu)), j = Math.min(R - 2, Math.floor(tv));
    const fu = tu - i, fv = tv - j;
    const taps = [
      [j, i, (1 - fu) * (1 - fv)],
      [j, i + 1, fu * (1 - fv)],
      [j + 1, i, (1 - fu) * fv],
      [j + 1, i + 1, fu * fv],
    ];
    taps.forEach(([r, c, ww], k) => {
      idx[4 * p + k] = r * R + c;
      w[4 * p + k] = ww;
    });
  }
  return { idx, w, uv };
}
