/**
 * The learned shape: landmark mirroring, Delaunay triangulation, the piecewise-affine warp onto
 * the mean shape, the landmark PCA and its displacement fields on the mesh, each against a case
 * worked out by hand or a brute-force reference.
 */
import assert from "node:assert/strict";
import { Rng } from "../data/mod.ts";
import { faceShape } from "./_face_shape.ts";
import { canonicalMesh } from "../generator/build.ts";
import { buildBases, SHAPE_DIM } from "../generator/bases.ts";
import { buildGeometry } from "../generator/geometry.ts";
import { learnedShapeBasis } from "../generator/learned_shape.ts";
import { restToFrame } from "../generator/texture_taps.ts";
import {
  delaunay,
  fitShapeModel,
  IBUG_MIRROR,
  mirrorShape,
  ShapeWarp,
} from "../tasks/appearance_shape.ts";

Deno.test("shape: the iBUG mirror is an involution and mirroring twice gives the shape back", () => {
  for (let i = 0; i < 68; i++) assert.equal(IBUG_MIRROR[IBUG_MIRROR[i]], i);
  // fixed points: nose bridge, the middle of each lip line, the chin
  for (const i of [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]) assert.equal(IBUG_MIRROR[i], i);
  assert.equal(IBUG_MIRROR[36], 45); // outer eye corners swap
  const s = faceShape();
  s[0] += 3; // break the symmetry
  const back = mirrorShape(mirrorShape(s));
  for (let d = 0; d < 136; d++) assert.ok(Math.abs(back[d] - s[d]) < 1e-12);
  // the image-left jaw end lands where the image-right one was mirrored
  assert.ok(Math.abs(mirrorShape(s)[2 * 16] - (112 - s[0])) < 1e-12);
});

Deno.test("shape: Delaunay triangles tile the hull and have empty circumcircles", () => {
  const rng = Rng.fromSeed(4).split("delaunay");
  const pts: [number, number][] = Array.from({ length: 40 }, () => [
    rng.uniform() * 100,
    rng.uniform() * 100,
  ]);
  pts.push([0, 0], [100, 0], [0, 100], [100, 100]);
  const tris = delaunay(pts);
  const area = tris.reduce((s, t) => {
    const [a, b, c] = t.map((i) => pts[i]);
    return s + Math.abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2;
  }, 0);
  assert.ok(Math.abs(area - 100 * 100) < 1e-6, `area ${area}`);
  // Euler: a triangulation of n points with h on the hull has 2n − 2 − h triangles
  assert.equal(tris.length, 2 * pts.length - 2 - 4);
  for (const t of tris) {
    const [a, b, c] = t.map((i) => pts[i]);
    const d = 2 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
    const n = (p: number[]) => p[0] * p[0] + p[1] * p[1];
    const ux = (n(a) * (b[1] - c[1]) + n(b) * (c[1] - a[1]) + n(c) * (a[1] - b[1])) / d;
    const uy = (n(a) * (c[0] - b[0]) + n(b) * (a[0] - c[0]) + n(c) * (b[0] - a[0])) / d;
    const r2 = (a[0] - ux) ** 2 + (a[1] - uy) ** 2;
    pts.forEach((p, i) => {
      if (t.includes(i)) return;
      assert.ok((p[0] - ux) ** 2 + (p[1] - uy) ** 2 >= r2 - 1e-6, `point ${i} in a circumcircle`);
    });
  }
});

Deno.test("shape: the warp is the identity on the mean shape and affine inside the face", () => {
  const target = faceShape(), size = 56;
  const warp = new ShapeWarp(target, size);
  const k = size / 112;
  const centre = (j: number) => (j + 0.5 * (1 - 1 / k)) / k;
  const same = warp.sources(target);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const p = j * size + i;
      assert.ok(
        Math.abs(same[2 * p] - centre(i)) < 1e-9 && Math.abs(same[2 * p + 1] - centre(j)) < 1e-9,
      );
    }
  }
  // every landmark moved by (3, −2): pixels inside the landmarks' own triangles move by it too,
  // pixels far outside (the anchors' ring) stay put
  const moved = target.map((v, d) => v + (d % 2 === 0 ? 3 : -2));
  const src = warp.sources(moved);
  const at = (x: number, y: number) => {
    const p = Math.round(y * k - 0.5 * (1 - 1 / k)) * size + Math.round(x * k - 0.5 * (1 - 1 / k));
    return [src[2 * p] - same[2 * p], src[2 * p + 1] - same[2 * p + 1]];
  };
  const nose = at(56, 62);
  assert.ok(Math.abs(nose[0] - 3) < 1e-9 && Math.abs(nose[1] + 2) < 1e-9, `nose ${nose}`);
  // in the anchors' own triangle nothing moves; between the jaw and the frame's edge, part of it
  assert.deepEqual(at(1, 1), [0, 0]);
  const side = at(4, 56);
  assert.ok(side[0] > 0.1 && side[0] < 2.9, `side ${side}`);
});

Deno.test("shape: the landmark PCA finds known directions, with a symmetric mean", () => {
  const base = faceShape();
  // an even direction (face wider: x away from the middle) and an odd one (all points right)
  const wide = base.map((v, d) => (d % 2 === 0 ? (v - 56) / 40 : 0));
  const right = base.map((_, d) => (d % 2 === 0 ? 1 : 0));
  const rng = Rng.fromSeed(9).split("shapes");
  const shapes = Array.from({ length: 400 }, () => {
    const a = rng.normal() * 3, b = rng.normal() * 1;
    return base.map((v, d) => v + a * wide[d] + b * right[d]);
  });
  const m = fitShapeModel(shapes, 3);
  const mm = mirrorShape(m.mean);
  for (let d = 0; d < 136; d++) assert.ok(Math.abs(mm[d] - m.mean[d]) < 2e-4);
  const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
  // variance along each unit direction: a² |wide|² for the first, b² |right|² (the mirror
  // images move left as much as right, so the odd direction keeps its variance)
  const vWide = 9 * norm(wide) ** 2, vRight = 1 * norm(right) ** 2;
  assert.ok(Math.abs(m.variances[0] / vWide - 1) < 0.2, `${m.variances[0]} vs ${vWide}`);
  assert.ok(Math.abs(m.variances[1] / vRight - 1) < 0.2, `${m.variances[1]} vs ${vRight}`);
  assert.ok(m.variances[2] < 1e-3);
  const cos = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Array.from(a).reduce((s, v, i) => s + v * b[i], 0) / norm(a) / norm(b);
  assert.ok(Math.abs(cos(m.basis[0], wide)) > 0.999);
  assert.ok(Math.abs(cos(m.basis[1], right)) > 0.999);
});

Deno.test("shape: a landmark translation moves every vertex by the same amount; depth stays procedural", async () => {
  const geo = buildGeometry(await canonicalMesh(new URL("../generator/model/", import.meta.url)));
  const bases = buildBases(geo);
  const mean = [...faceShape()];
  // component 0: every landmark 2 px right and 1 px down in the frame
  const basis = [mean.map((_, d) => (d % 2 === 0 ? 2 : 1))];
  const B = learnedShapeBasis(geo, { mean, basis, variances: [1] }, bases.shape, 0.3);
  const nC = geo.nCtrl;
  assert.equal(B.length, SHAPE_DIM * nC * 3);
  const { A, B: b } = restToFrame(geo);
  const n2 = A * A + b * b;
  const dx = (A * 2 + b * 1) / n2, dy = (b * 2 - A * 1) / n2;
  for (let i = 0; i < nC; i += 7) {
    assert.ok(Math.abs(B[i * 3] - dx) < 1e-6 && Math.abs(B[i * 3 + 1] - dy) < 1e-6, `vertex ${i}`);
  }
  assert.ok(dx > 0 && dy < 0, "right in the frame is +x, down in the frame is −y");
  // rows past the landmark components carry the procedural depth alone, scaled
  for (let i = 0; i < nC; i += 11) {
    const r = (5 * nC + i) * 3;
    assert.equal(B[r], 0);
    assert.equal(B[r + 1], 0);
    assert.ok(Math.abs(B[r + 2] - 0.3 * bases.shape[r + 2]) < 1e-7);
  }
});

Deno.test("shape: the thin-plate spline moves a vertex on a landmark exactly as that landmark", async () => {
  const geo0 = buildGeometry(await canonicalMesh(new URL("../generator/model/", import.meta.url)));
  const { A, B, tx, ty } = restToFrame(geo0);
  const n2 = A * A + B * B;
  const mean = [...faceShape()];
  // 68 extra vertices on the mean landmarks (the frame → rest inverse), outside the 5-point fit
  const extra = Array.from({ length: 68 }, (_, j) => {
    const du = mean[2 * j] - tx, dv = mean[2 * j + 1] - ty;
    return [(A * du + B * dv) / n2, (B * du - A * dv) / n2, 0];
  }).flat();
  const nC = geo0.nCtrl + 68;
  const landmarkW = new Float32Array(5 * nC);
  for (let k = 0; k < 5; k++) {
    landmarkW.set(geo0.landmarkW.subarray(k * geo0.nCtrl, (k + 1) * geo0.nCtrl), k * nC);
  }
  const geo = { ...geo0, ctrl: Float32Array.from([...geo0.ctrl, ...extra]), nCtrl: nC, landmarkW };
  const rng = Rng.fromSeed(2).split("tps");
  const basis = [0, 1, 2].map(() => mean.map(() => rng.normal() * 2)); // far from affine
  const depth = new Float32Array(SHAPE_DIM * nC * 3);
  const out = learnedShapeBasis(geo, { mean, basis, variances: [1, 1, 1] }, depth, 0.3);
  for (let k = 0; k < 3; k++) {
    for (let j = 0; j < 68; j++) {
      const du = basis[k][2 * j], dv = basis[k][2 * j + 1];
      const o = (k * nC + geo0.nCtrl + j) * 3;
      assert.ok(Math.abs(out[o] - (A * du + B * dv) / n2) < 1e-4, `component ${k} landmark ${j} x`);
      assert.ok(
        Math.abs(out[o + 1] - (B * du - A * dv) / n2) < 1e-4,
        `component ${k} landmark ${j} y`,
      );
    }
  }
});
