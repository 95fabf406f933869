/**
 * The generator's static geometry, built once at model-build time: MediaPipe's canonical face
 * mesh plus proxies for what an aligned crop shows besides the face (skull/hair, ears, neck),
 * sampled into a dense point set for splatting. Every dense point is a fixed barycentric
 * combination of 3 control vertices, so the graph deforms the ~1.4K control vertices and
 * interpolates the ~40K points with one Gather.
 */
import { Rng } from "../data/rng.ts";
import type { CanonicalMesh } from "./mesh_extract.ts";
import { ARCFACE_TEMPLATE, centroid, estimateSimilarity } from "../data/face_template.ts";

/** The ArcFace 112×112 template (eye centres, nose tip, mouth corners; x, y in pixels). */
export { ARCFACE_TEMPLATE };

/** Landmark vertex sets of the canonical mesh (MediaPipe indices; "L" = image left). */
export const MESH = {
  eyeL: [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
  eyeR: [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
  // deno-fmt-ignore
  lipsOuter: [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
  ],
  // deno-fmt-ignore
  lipsInner: [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
  ],
  browL: [70, 63, 105, 66, 107, 55, 65, 52, 53, 46],
  browR: [300, 293, 334, 296, 336, 285, 295, 282, 283, 276],
  noseTip: 1,
  mouthL: 61,
  mouthR: 291,
  /** Upper/lower lid vertices (for blinks), image-left eye then the other. */
  lidUpper: [246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398],
  lidLower: [7, 163, 144, 145, 153, 154, 155, 249, 390, 373, 374, 380, 381, 382],
} as const;

/** Side of the aligned image frame the template is given in (ArcFace: 112×112). */
export const IMAGE_SIZE = 112;

/** Per-point region codes. */
export const REGION = { face: 0, skull: 1, ear: 2, neck: 3 } as const;

/** Static per-point attribute channels (columns of `Geometry.attrs`). */
export const ATTR = [
  "sclera", // inside an eye contour
  "iris",
  "pupil",
  "mouth", // inside the inner lip contour
  "lip",
  "brow",
  "beard", // jaw, chin and upper-lip area
  "cheek",
  "hairCand", // may carry hair (skull, upper forehead)
  "hairCoord", // compared with the identity's hairline
  "skinDetail", // fixed fine noise, skin
  "hairDetail", // fixed strand noise
  "neck",
  "lash", // upper lid line
] as const;

/** The static geometry. */
export interface Geometry {
  /** Control vertices at rest (cm; x right, y up, z toward the viewer), 3 per vertex. */
  ctrl: Float32Array;
  /** Rest normals of the control vertices. */
  ctrlNormal: Float32Array;
  /** Control triangles (for normals), 3 indices each. */
  tris: Int32Array;
  /** Hair candidacy and hair coordinate of each control vertex (for hair volume). */
  ctrlHairCand: Float32Array;
  ctrlHairCoord: Float32Array;
  /** Dense points: 3 control indices and 3 weights each. */
  pointIdx: Int32Array;
  pointW: Float32Array;
  /** Static attributes, `ATTR.length` per point. */
  attrs: Float32Array;
  /** Dense point rest positions (for building, tests). */
  pointPos: Float32Array;
  /** Dense point regions ({@link REGION} codes). */
  pointRegion: Uint8Array;
  /** Weights [5][ctrlCount] mapping control vertices to the 5 alignment landmarks. */
  landmarkW: Float32Array;
  nCtrl: number;
  nPoints: number;
}

type V3 = [number, number, number];

function inPoly(x: number, y: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polyDist(x: number, y: number, poly: [number, number][]): number {
  let best = Infinity;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [ax, ay] = poly[j], [bx, by] = poly[i];
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2)) : 0;
    best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
  }
  return best;
}

/** Smoothstep of x from a (0) to b (1). */
export const smooth = (a: number, b: number, x: number) => {
  const t = Math.max(0, Math.min(1, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
};

/** The 5 alignment points of a frontal mesh (x, y in cm). */
export function landmarks5(P: ArrayLike<number>): [number, number][] {
  const mean = (ids: readonly number[]) =>
    [0, 1].map((d) => ids.reduce((s, i) => s + P[3 * i + d], 0) / ids.length) as [number, number];
  return [MESH.eyeL, MESH.eyeR, [MESH.noseTip], [MESH.mouthL], [MESH.mouthR]].map((ids) =>
    mean(ids)
  );
}

/**
 * Nudge the mean face so its 5 alignment points are exactly similar to the ArcFace template
 * (the canonical mesh's mouth sits ~3 px high for it): each landmark's offset spreads to nearby
 * vertices with normalised Gaussian weights.
 */
function conformToTemplate(P: number[], nFace: number): void {
  for (let iter = 0; iter < 4; iter++) {
    const src = landmarks5(P);
    // template (image y down) → mesh frame (y up) by the least-squares similarity
    const dst = ARCFACE_TEMPLATE.map(([x, y]) => [x, -y] as const);
    // the similarity template → mesh, applied about the centroids
    const { a, b } = estimateSimilarity(dst, src);
    const ms = centroid(src), md = centroid(dst);
    const off = dst.map(([x, y], k) => [
      a * (x - md[0]) - b * (y - md[1]) + ms[0] - src[k][0],
      b * (x - md[0]) + a * (y - md[1]) + ms[1] - src[k][1],
    ]);
    const centres = src;
    const disp = new Float64Array(nFace * 2);
    for (let i = 0; i < nFace; i++) {
      let wsum = 0;
      const ws = centres.map(([cx, cy]) =>
        Math.exp(-((P[3 * i] - cx) ** 2 + (P[3 * i + 1] - cy) ** 2) / (2 * 1.6 * 1.6))
      );
      for (const w of ws) wsum += w;
      const fall = Math.min(1, wsum); // far from every landmark: no change
      for (let k = 0; k < 5; k++) {
        disp[2 * i] += (ws[k] / Math.max(wsum, 1e-9)) * fall * off[k][0];
        disp[2 * i + 1] += (ws[k] / Math.max(wsum, 1e-9)) * fall * off[k][1];
      }
    }
    for (let i = 0; i < nFace; i++) {
      P[3 * i] += disp[2 * i];
      P[3 * i + 1] += disp[2 * i + 1];
    }
  }
}

/** The (unnormalised, area-weighted) normal of triangle a b c: (b − a) × (c − a). */
function triangleNormal(a: V3, b: V3, c: V3): V3 {
  const e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
    e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
  return [
    e1[1] * e2[2] - e1[2] * e2[1],
    e1[2] * e2[0] - e1[0] * e2[2],
    e1[0] * e2[1] - e1[1] * e2[0],
  ];
}

/** Build the geometry from the canonical mesh; `density` = points per cm² on the face. */
export function buildGeometry(mesh: CanonicalMesh, density = 22): Geometry {
  // The canonical mesh is ~10 % wider (relative to the eyes) than typical aligned faces.
  const P = mesh.positions.map((v, i) => (i % 3 === 0 ? v * 0.92 : v));
  conformToTemplate(P, P.length / 3);
  const nFace = P.length / 3;
  const ctrl: number[] = [...P];
  const tris: number[] = [...mesh.triangles];
  const triRegion: number[] = Array(mesh.triangles.length / 3).fill(REGION.face);
  const vp = (i: number): V3 => [ctrl[3 * i], ctrl[3 * i + 1], ctrl[3 * i + 2]];

  const poly = (ids: readonly number[]) =>
    ids.map((i) => [P[3 * i], P[3 * i + 1]] as [number, number]);

  // Frontal depth raster of the face mesh (0.1 cm cells): which skull/neck points it hides.
  const GX0 = -10, GY0 = -12, GS = 0.1, GW = 200, GH = 230;
  const faceZ = new Float32Array(GW * GH).fill(-Infinity);
  for (let t = 0; t < mesh.triangles.length; t += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => vp(mesh.triangles[t + k]));
    const minX = Math.floor((Math.min(a[0], b[0], c[0]) - GX0) / GS);
    const maxX = Math.ceil((Math.max(a[0], b[0], c[0]) - GX0) / GS);
    const minY = Math.floor((Math.min(a[1], b[1], c[1]) - GY0) / GS);
    const maxY = Math.ceil((Math.max(a[1], b[1], c[1]) - GY0) / GS);
    const den = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
    if (Math.abs(den) < 1e-9) continue;
    for (let gy = minY; gy <= maxY; gy++) {
      for (let gx = minX; gx <= maxX; gx++) {
        const x = GX0 + gx * GS, y = GY0 + gy * GS;
        const l1 = ((b[1] - c[1]) * (x - c[0]) + (c[0] - b[0]) * (y - c[1])) / den;
        const l2 = ((c[1] - a[1]) * (x - c[0]) + (a[0] - c[0]) * (y - c[1])) / den;
        const l3 = 1 - l1 - l2;
        if (l1 < -1e-6 || l2 < -1e-6 || l3 < -1e-6) continue;
        const z = l1 * a[2] + l2 * b[2] + l3 * c[2];
        const k = gy * GW + gx;
        if (gx >= 0 && gy >= 0 && gx < GW && gy < GH && z > faceZ[k]) faceZ[k] = z;
      }
    }
  }
  const faceDepth = (x: number, y: number) => {
    const gx = Math.round((x - GX0) / GS), gy = Math.round((y - GY0) / GS);
    if (gx < 0 || gy < 0 || gx >= GW || gy >= GH) return -Infinity;
    return faceZ[gy * GW + gx];
  };
  // deno-fmt-ignore
  const outline = poly([
    356, 389, 251, 284, 332, 297, 338, 10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172,
    136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454,
  ]);

  // Ellipsoid / cylinder proxies as lat-long grids of control vertices.
  function addGrid(region: number, nu: number, nv: number, at: (u: number, v: number) => V3): void {
    const base = ctrl.length / 3;
    for (let j = 0; j <= nv; j++) for (let i = 0; i <= nu; i++) ctrl.push(...at(i / nu, j / nv));
    for (let j = 0; j < nv; j++) {
      for (let i = 0; i < nu; i++) {
        const a = base + j * (nu + 1) + i;
        const b = a + 1, c = a + nu + 1, d = c + 1;
        tris.push(a, c, b, b, c, d);
        triRegion.push(region, region);
      }
    }
  }
  // Skull: ellipsoid through the forehead top (10) and the mesh's side edges (234/454).
  const SC: V3 = [0, 1.8, -2.6], SR: V3 = [7.15, 10.2, 9.3];
  const ell = (c: V3, r: V3, u: number, v: number): V3 => {
    const th = Math.PI * (1 - v), ph = 2 * Math.PI * u; // v=0 bottom, u=0 front
    return [
      c[0] + r[0] * Math.sin(th) * Math.sin(ph),
      c[1] - r[1] * Math.cos(th),
      c[2] + r[2] * Math.sin(th) * Math.cos(ph),
    ];
  };
  addGrid(REGION.skull, 40, 24, (u, v) => ell(SC, SR, u, 0.08 + 0.92 * v));
  for (const s of [-1, 1]) {
    addGrid(REGION.ear, 12, 8, (u, v) => ell([s * 6.8, 0.6, -3.3], [1.0, 3.0, 1.6], u, v));
  }
  addGrid(REGION.neck, 24, 6, (u, v) => {
    const ph = 2 * Math.PI * u;
    return [4.9 * Math.sin(ph), -17 + 12 * v, -2.8 + 4.6 * Math.cos(ph)];
  });
  const nCtrl = ctrl.length / 3;

  // Rest normals (area-weighted) of control vertices.
  const ctrlNormal = new Float32Array(nCtrl * 3);
  for (let t = 0; t < tris.length; t += 3) {
    const n = triangleNormal(vp(tris[t]), vp(tris[t + 1]), vp(tris[t + 2]));
    for (let k = 0; k < 3; k++) for (let d = 0; d < 3; d++) ctrlNormal[3 * tris[t + k] + d] += n[d];
  }
  for (let i = 0; i < nCtrl; i++) {
    const n = Math.hypot(ctrlNormal[3 * i], ctrlNormal[3 * i + 1], ctrlNormal[3 * i + 2]) || 1;
    for (let d = 0; d < 3; d++) ctrlNormal[3 * i + d] /= n;
  }
  // Face mesh winding decides the sign; make the nose tip's normal point to +z.
  if (ctrlNormal[3 * MESH.noseTip + 2] < 0) {
    for (let t = 0; t < mesh.triangles.length; t += 3) {
      [tris[t + 1], tris[t + 2]] = [tris[t + 2], tris[t + 1]];
    }
    for (let i = 0; i < nFace * 3; i++) ctrlNormal[i] = -ctrlNormal[i];
  }
  for (let i = nFace; i < nCtrl; i++) {
    // proxies: outward from their centres is what we want; flip if the grid winding disagrees
    const p = vp(i);
    const c = p[1] < -5 ? [0, p[1], -2.8] : SC;
    const out = (p[0] - c[0]) * ctrlNormal[3 * i] + (p[1] - c[1]) * ctrlNormal[3 * i + 1] +
      (p[2] - c[2]) * ctrlNormal[3 * i + 2];
    if (out < 0) { for (let d = 0; d < 3; d++) ctrlNormal[3 * i + d] = -ctrlNormal[3 * i + d]; }
  }
  // Keep triangle winding consistent with outward normals for the graph's normal computation.
  for (let t = mesh.triangles.length; t < tris.length; t += 3) {
    const n = triangleNormal(vp(tris[t]), vp(tris[t + 1]), vp(tris[t + 2]));
    const vn = ctrlNormal.subarray(3 * tris[t], 3 * tris[t] + 3);
    if (n[0] * vn[0] + n[1] * vn[1] + n[2] * vn[2] < 0) {
      [tris[t + 1], tris[t + 2]] = [tris[t + 2], tris[t + 1]];
    }
  }

  const hairCoordOf = (p: V3) => {
    const side = smooth(3.2, 6.6, Math.abs(p[0]));
    const back = smooth(0, -5, p[2]);
    return p[1] + 5.8 * Math.max(side, back);
  };
  const hairCandOf = (p: V3, region: number) =>
    region === REGION.skull ? 1 : region === REGION.face ? smooth(4.8, 7.0, p[1]) : 0;
  const ctrlHairCand = new Float32Array(nCtrl), ctrlHairCoord = new Float32Array(nCtrl);
  for (let i = 0; i < nCtrl; i++) {
    const p = vp(i);
    const region = i < nFace ? REGION.face : p[1] < -5.5 ? REGION.neck : REGION.skull;
    ctrlHairCand[i] = hairCandOf(p, region);
    ctrlHairCoord[i] = hairCoordOf(p);
  }
  // ears and neck never carry hair
  const earStart = nFace + 41 * 25;
  for (let i = earStart; i < nCtrl; i++) ctrlHairCand[i] = 0;

  // Dense sampling: n² sub-triangle centroids per triangle, n from area × density.
  const rng = Rng.fromSeed(0x5eed).split("geometry");
  const eyeL = poly(MESH.eyeL), eyeR = poly(MESH.eyeR);
  const lipsO = poly(MESH.lipsOuter), lipsI = poly(MESH.lipsInner);
  const browL = poly(MESH.browL), browR = poly(MESH.browR);
  const centre = (pl: [number, number][]) =>
    [0, 1].map((d) => pl.reduce((s, p) => s + p[d], 0) / pl.length);
  const eyeCL = centre(eyeL), eyeCR = centre(eyeR);
  const lidOpen = (ids: number[]) => ids.map((i) => [P[3 * i], P[3 * i + 1]] as [number, number]);
  const openPoly = (pl: [number, number][]) => [...pl, ...pl.slice().reverse()]; // polyline as a degenerate polygon
  const lidL = openPoly(lidOpen([33, 246, 161, 160, 159, 158, 157, 173, 133]));
  const lidR = openPoly(lidOpen([263, 466, 388, 387, 386, 385, 384, 398, 362]));
  const pIdx: number[] = [], pW: number[] = [], pPos: number[] = [], attrs: number[] = [];
  const pRegion: number[] = [];
  for (let t = 0; t < tris.length; t += 3) {
    const region = triRegion[t / 3];
    const [a, b, c] = [0, 1, 2].map((k) => vp(tris[t + k]));
    const area = 0.5 * Math.hypot(...triangleNormal(a, b, c));
    const dens = region === REGION.face ? density : density * 0.6;
    const n = Math.max(1, Math.ceil(Math.sqrt(area * dens)));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n - i; j++) {
        for (const up of [true, false]) {
          if (!up && j === n - i - 1) continue;
          const l1 = up ? (i + 1 / 3) / n : (i + 2 / 3) / n;
          const l2 = up ? (j + 1 / 3) / n : (j + 2 / 3) / n;
          const w: V3 = [1 - l1 - l2, l1, l2];
          const p: V3 = [0, 1, 2].map((d) => w[0] * a[d] + w[1] * b[d] + w[2] * c[d]) as V3;
          if (region !== REGION.face) {
            // drop what the face always hides or would poke through, the back, and what no crop shows
            const fz = faceDepth(p[0], p[1]);
            const inside = fz > -Infinity && inPoly(p[0], p[1], outline);
            if (inside && (p[2] > fz - 0.25 || polyDist(p[0], p[1], outline) > 1.2)) continue;
            const nz = (p[2] - (region === REGION.neck ? -2.8 : SC[2])) /
              (region === REGION.neck ? 4.6 : SR[2]);
            if (nz < -0.55 || p[1] > 15 || Math.abs(p[0]) > 11.5) continue;
          }
          pIdx.push(tris[t], tris[t + 1], tris[t + 2]);
          pW.push(...w);
          pPos.push(...p);
          pRegion.push(region);
          const [x, y] = p;
          const inEye = region === REGION.face && (inPoly(x, y, eyeL) || inPoly(x, y, eyeR));
          const ec = x < 0 ? eyeCL : eyeCR;
          const dEye = Math.hypot(x - ec[0], (y - ec[1]) * 1.1);
          const inMouth = region === REGION.face && inPoly(x, y, lipsI);
          const inLip = region === REGION.face && !inMouth && inPoly(x, y, lipsO);
          const lipSoft = inLip
            ? smooth(0, 0.12, Math.min(polyDist(x, y, lipsO), polyDist(x, y, lipsI) + 0.1))
            : 0;
          const inBrow = region === REGION.face && (inPoly(x, y, browL) || inPoly(x, y, browR));
          const browSoft = inBrow
            ? smooth(0, 0.25, Math.min(polyDist(x, y, browL), polyDist(x, y, browR)))
            : 0;
          const beard = region === REGION.face
            ? Math.max(
              smooth(-1.5, -4.5, y) * smooth(7.2, 5.2, Math.abs(x)),
              smooth(-2.7, -3.4, y) * smooth(-5.2, -4.4, y) * smooth(3.6, 2.0, Math.abs(x)),
            ) *
              (inLip || inMouth ? 0 : 1) * smooth(0.1, 0.35, polyDist(x, y, lipsO))
            : region === REGION.neck
            ? 0.6 * smooth(-8, -6, y)
            : 0;
          const cheek = region === REGION.face
            ? Math.exp(-(((Math.abs(x) - 4.3) ** 2) + ((y + 1.2) ** 2)) / 2.5)
            : 0;
          attrs.push(
            inEye ? 1 : 0,
            inEye ? smooth(0.6, 0.48, dEye) : 0,
            inEye ? smooth(0.25, 0.17, dEye) : 0,
            inMouth ? 1 : 0,
            lipSoft,
            browSoft,
            beard,
            cheek,
            hairCandOf(p, region === REGION.ear ? REGION.ear : region),
            hairCoordOf(p),
            rng.normal(),
            rng.normal(),
            region === REGION.neck ? 1 : 0,
            region === REGION.face
              ? smooth(0.16, 0.06, Math.min(polyDist(x, y, lidL), polyDist(x, y, lidR))) *
                (y > (x < 0 ? eyeCL : eyeCR)[1] - 0.1 ? 1 : 0)
              : 0,
          );
        }
      }
    }
  }

  // Alignment landmarks: eye centres = contour means, nose tip, mouth corners.
  const landmarkW = new Float32Array(5 * nCtrl);
  for (const i of MESH.eyeL) landmarkW[0 * nCtrl + i] = 1 / MESH.eyeL.length;
  for (const i of MESH.eyeR) landmarkW[1 * nCtrl + i] = 1 / MESH.eyeR.length;
  landmarkW[2 * nCtrl + MESH.noseTip] = 1;
  landmarkW[3 * nCtrl + MESH.mouthL] = 1;
  landmarkW[4 * nCtrl + MESH.mouthR] = 1;

  return {
    ctrl: new Float32Array(ctrl),
    ctrlNormal,
    tris: new Int32Array(tris),
    ctrlHairCand,
    ctrlHairCoord,
    pointIdx: new Int32Array(pIdx),
    pointW: new Float32Array(pW),
    attrs: new Float32Array(attrs),
    pointPos: new Float32Array(pPos),
    pointRegion: Uint8Array.from(pRegion),
    landmarkW,
    nCtrl,
    nPoints: pW.length / 3,
  };
}
