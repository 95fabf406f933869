/** `align/`'s pure parts against hand-computed answers: similarity, sampling, NMS, windows, CSV. */
import assert from "node:assert/strict";
import {
  ALIGN_CSV_COLUMNS,
  type AlignRow,
  applySimilarity,
  ARCFACE_TEMPLATE,
  cropGeometry,
  estimateSimilarity,
  fivePoints,
  parseAlignCsv,
} from "../align/mod.ts";
import { ARCFACE_TEMPLATE as GENERATOR_TEMPLATE } from "../generator/geometry.ts";
import { formatAlignRow } from "../align/align_csv.ts";
import { decodeDetections, nearestCentre } from "../align/detect.ts";
import { landmarkWindow } from "../align/landmarks.ts";
import { resizeBilinear, toGrey, warpAffineBilinear } from "../align/pixels.ts";
import { inverseAffine } from "../align/similarity.ts";
import { decodeRaw, encodeJpeg } from "../data/mod.ts";

Deno.test("align: the template is the generator's (one definition, data/face_template.ts)", () => {
  assert.equal(ARCFACE_TEMPLATE, GENERATOR_TEMPLATE);
  const g96 = cropGeometry("112x96");
  assert.deepEqual([g96.height, g96.width], [112, 96]);
  assert.deepEqual(g96.template[0], [38.2946 - 8, 51.6963]);
});

Deno.test("align: the least-squares similarity recovers a known one exactly", () => {
  // 30° rotation, scale 0.5, shift (7, -3): S(p) = 0.5·R(30°)·p + t.
  const a = 0.5 * Math.cos(Math.PI / 6), b = 0.5 * Math.sin(Math.PI / 6);
  const src = ARCFACE_TEMPLATE.map(([x, y]) => [x * 2 + 5, y * 2 - 11] as const);
  const dst = src.map(([x, y]) => [a * x - b * y + 7, b * x + a * y - 3] as const);
  const s = estimateSimilarity(src, dst);
  assert.ok(Math.abs(s.a - a) < 1e-12 && Math.abs(s.b - b) < 1e-12, JSON.stringify(s));
  assert.ok(Math.abs(s.tx - 7) < 1e-9 && Math.abs(s.ty + 3) < 1e-9);
  // The inverse map takes the target back to the source.
  const m = inverseAffine(s);
  const [x, y] = applySimilarity(s, [10, 20]);
  assert.ok(Math.abs(m[0] * x + m[1] * y + m[2] - 10) < 1e-9);
  assert.ok(Math.abs(m[3] * x + m[4] * y + m[5] - 20) < 1e-9);
  assert.throws(() => estimateSimilarity([[1, 1], [1, 1]], [[0, 0], [1, 1]]), /coincide/);
});

Deno.test("align: least squares, not interpolation, when the points disagree", () => {
  // Two pairs whose best similarity is the identity scaled by 1 with no rotation: the mean
  // of a ±1 stretch along x on symmetric points.
  const src = [[-1, 0], [1, 0], [0, -1], [0, 1]] as const;
  const dst = [[-2, 0], [2, 0], [0, -1], [0, 1]] as const;
  const s = estimateSimilarity(src, dst);
  // a = Σ(sx·dx + sy·dy)/Σ|s|² = (2 + 2 + 1 + 1)/4 = 1.5
  assert.ok(Math.abs(s.a - 1.5) < 1e-12 && Math.abs(s.b) < 1e-12);
});

Deno.test("align: bilinear resize with half-pixel centres, as cv.resize", () => {
  // 1×2 → 1×4: source x = (i + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamp, 1/4, 3/4, clamp.
  const src = { channels: 1, height: 1, width: 2, data: new Uint8Array([0, 200]) };
  assert.deepEqual([...resizeBilinear(src, 4, 1).data], [0, 50, 150, 200]);
  // 4×4 → 2×2 samples at 0.5, 2.5: averages of 2×2 neighbourhoods, no wider filter.
  const s4 = {
    channels: 1,
    height: 4,
    width: 4,
    data: Uint8Array.from({ length: 16 }, (_, i) => i * 10),
  };
  assert.deepEqual([...resizeBilinear(s4, 2, 2).data], [25, 45, 105, 125]);
  // Grey = 0.299 R + 0.587 G + 0.114 B.
  const rgb = { channels: 3, height: 1, width: 1, data: new Uint8Array([100, 200, 50]) };
  assert.equal(toGrey(rgb).data[0], Math.round(29.9 + 117.4 + 5.7));
});

Deno.test("align: affine warp samples bilinearly and fills outside with black", () => {
  const src = { channels: 1, height: 2, width: 2, data: new Uint8Array([0, 100, 200, 255]) };
  // Output (0,0) ← source (0.5, 0.5); output (1,0) ← (1.5, 0.5): half outside → blends with 0.
  const out = warpAffineBilinear(src, [1, 0, 0.5, 0, 1, 0.5], 2, 1);
  assert.equal(out.data[0], Math.round((0 + 100 + 200 + 255) / 4));
  assert.equal(out.data[1], Math.round((100 + 0 + 255 + 0) / 4));
});

Deno.test("align: detections are thresholded, the best box of a cluster kept, boxes scaled", () => {
  // Three priors: two overlapping faces (0.9 and 0.7), one far away (0.8), one below threshold.
  const scores = new Float32Array([0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.5, 0.5]);
  // Box 1 overlaps the best (box 0): suppressed even though its bottom edge is higher.
  const boxes = new Float32Array(
    [[0.1, 0.1, 0.3, 0.4], [0.11, 0.1, 0.31, 0.38], [0.6, 0.5, 0.8, 0.9], [0.4, 0.4, 0.5, 0.5]]
      .flat(),
  );
  const d = decodeDetections(scores, boxes, 200, 100);
  assert.equal(d.length, 2);
  assert.ok(Math.abs(d[0].score - 0.9) < 1e-6 && Math.abs(d[1].score - 0.8) < 1e-6);
  const box = [d[0].x1, d[0].y1, d[0].x2, d[0].y2].map((v) => +v.toFixed(3));
  assert.deepEqual(box, [20, 10, 60, 40]);
  // Nearest the centre (100, 50): box 2's centre (140, 70) beats box 1's (40, 25).
  assert.equal(nearestCentre(d, 200, 100), 1);
  assert.equal(nearestCentre([], 200, 100), -1);
});

Deno.test("align: the landmark window is the box's height-square, clipped and truncated", () => {
  const w = landmarkWindow({ x1: 90.4, y1: 57.2, x2: 166, y2: 187.2, score: 1 }, 250, 250);
  // side 130 about centre (128.2, 122.2): 63.2..193.2 → 63..193 both ways.
  const side = { w: 130, h: 130, width: 130, height: 130 };
  assert.deepEqual(w, { x1: 63, y1: 57, left: 63, top: 57, ...side });
  // A box sticking out of the image is clipped first (faceplugin's scaleResult).
  const e = landmarkWindow({ x1: -10, y1: 0, x2: 40, y2: 60, score: 1 }, 100, 100);
  assert.deepEqual([e.x1, e.y1, e.w, e.h], [0, 0, 45, 60]);
});

Deno.test("align: five points from 68: eye means, nose tip, mouth corners", () => {
  const pts = Array.from({ length: 68 }, (_, i) => [i, 100 + i] as [number, number]);
  const five = [[38.5, 138.5], [44.5, 144.5], [30, 130], [48, 148], [54, 154]];
  assert.deepEqual(fivePoints(pts), five);
});

Deno.test("align: align.csv rows round-trip and bad rows are named", () => {
  const face: AlignRow = {
    path: "A_B/A_B_0001.jpg",
    identity: "A_B",
    score: 0.99987,
    box: [1.234, 2, 3, 4],
    points5: Array.from({ length: 5 }, (_, i) => [i, i + 0.5] as [number, number]),
    status: "several_faces",
    landmarks68: Array.from({ length: 68 }, (_, i) => [i * 1.5, i] as [number, number]),
  };
  const none: AlignRow = {
    path: "odd, name.jpg",
    identity: "",
    score: null,
    box: null,
    points5: null,
    status: "no_face",
    landmarks68: null,
  };
  const text = [ALIGN_CSV_COLUMNS.join(","), formatAlignRow(face), formatAlignRow(none)].join("\n");
  assert.equal(ALIGN_CSV_COLUMNS.length, 18 + 136);
  assert.equal(
    ALIGN_CSV_COLUMNS.slice(0, 18).join(","),
    "path,identity,score,x1,y1,x2,y2,l0x,l0y,l1x,l1y,l2x,l2y,l3x,l3y,l4x,l4y,status",
  );
  const [a, b] = parseAlignCsv(text + "\n", "align.csv");
  assert.equal(a.score, 0.9999);
  assert.deepEqual(a.box, [1.23, 2, 3, 4]);
  assert.deepEqual(a.landmarks68![67], [100.5, 67]);
  assert.deepEqual(b, none);
  assert.throws(
    () => parseAlignCsv(text.replace("several_faces", "maybe"), "x.csv"),
    /x\.csv:2: field "status"/,
  );
  assert.throws(() => parseAlignCsv("path,identity\n", "y.csv"), /y\.csv:1: expected the header/);
  // A journal killed mid-line: the partial last line is dropped, not an error.
  const journal = formatAlignRow(face) + "\n" + formatAlignRow(none).slice(0, 20);
  assert.equal(parseAlignCsv(journal, "j", { header: false, dropPartialLast: true }).length, 1);
});

Deno.test("data: JPEG encoder round-trips through the decoder", () => {
  const w = 21, h = 13;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      data[p] = x * 12;
      data[p + 1] = y * 19;
      data[p + 2] = 128 + Math.round(60 * Math.sin(x / 3));
    }
  }
  const bytes = encodeJpeg({ channels: 3, height: h, width: w, data }, 95);
  const back = decodeRaw(bytes, "x.jpg");
  assert.deepEqual([back.channels, back.height, back.width], [3, h, w]);
  let se = 0;
  for (let i = 0; i < data.length; i++) se += (back.data[i] - data[i]) ** 2;
  const psnr = 10 * Math.log10((255 * 255) / (se / data.length));
  assert.ok(psnr > 38, `PSNR ${psnr.toFixed(1)} dB at quality 95`);
  // Lower quality: smaller file, lower fidelity.
  assert.ok(encodeJpeg({ channels: 3, height: h, width: w, data }, 30).length < bytes.length);
  assert.throws(() => encodeJpeg({ channels: 3, height: h, width: w, data }, 0), /quality/);
});
