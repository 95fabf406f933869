import assert from "node:assert/strict";
import {
  centerCrop,
  contactSheet,
  crop,
  flipHorizontal,
  type ImageTensor,
  resize,
} from "../data/mod.ts";

/** A CHW image from row-major planes. */
function img(planes: number[][][]): ImageTensor {
  const height = planes[0].length;
  const width = planes[0][0].length;
  return { channels: planes.length, height, width, data: new Float32Array(planes.flat(2)) };
}

function planes(t: ImageTensor): number[][][] {
  const out: number[][][] = [];
  for (let c = 0; c < t.channels; c++) {
    const rows: number[][] = [];
    for (let y = 0; y < t.height; y++) {
      const at = (c * t.height + y) * t.width;
      rows.push([...t.data.subarray(at, at + t.width)]);
    }
    out.push(rows);
  }
  return out;
}

function assertClose(got: number[][][], want: number[][][], tol = 1e-6) {
  assert.equal(got.flat(2).length, want.flat(2).length);
  got.flat(2).forEach((v, i) => assert.ok(Math.abs(v - want.flat(2)[i]) <= tol, `${i}: ${v}`));
}

const ramp4 = img([[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]]);

Deno.test("resize: 4×4 → 2×2 is the 2×2 block average (area)", () => {
  assertClose(planes(resize(ramp4, 2, 2)), [[[2.5, 4.5], [10.5, 12.5]]]);
});

Deno.test("resize: 3 → 2 area weights overlap fractionally", () => {
  // Output pixel 0 covers input [0, 1.5): (2·v0 + v1)/3; pixel 1: (v1 + 2·v2)/3.
  assertClose(planes(resize(img([[[3, 6, 12]]]), 1, 2)), [[[4, 10]]]);
});

Deno.test("resize: 2×2 → 4×4 bilinear (half-pixel centres, edges clamped)", () => {
  // v(r, c) = 2r + c; along each axis [0, 1] → [0, 0.25, 0.75, 1] (PyTorch align_corners=False).
  const up = resize(img([[[0, 1], [2, 3]], [[10, 10], [10, 10]]]), 4, 4);
  const a = [0, 0.25, 0.75, 1];
  assertClose(planes(up), [a.map((y) => a.map((x) => 2 * y + x)), a.map(() => a.map(() => 10))]);
});

Deno.test("resize: same size is the identity; mixed up/down axes", () => {
  assert.deepEqual(resize(ramp4, 4, 4).data, ramp4.data);
  // Rows 4 → 2 (area), columns 4 → 8 (bilinear): row means of pairs, then interpolated.
  const out = planes(resize(ramp4, 2, 8));
  assertClose([[out[0][0].slice(0, 3)]], [[[2, 2.25, 2.75]]]);
  assertClose([[out[0][1].slice(-2)]], [[[12.75, 13]]]);
});

Deno.test("crop, centerCrop, flipHorizontal on hand cases", () => {
  assert.deepEqual(planes(crop(ramp4, 1, 2, 2, 2)), [[[6, 7], [10, 11]]]);
  assert.deepEqual(planes(centerCrop(ramp4, 2, 2)), [[[5, 6], [9, 10]]]);
  // Odd margin: offsets round down.
  assert.deepEqual(planes(centerCrop(ramp4, 1, 3)), [[[4, 5, 6]]]);
  assert.throws(() => crop(ramp4, 3, 0, 2, 2), /window 2×2 at \(3, 0\) exceeds image 4×4/);
  const two = img([[[1, 2, 3]], [[4, 5, 6]]]);
  assert.deepEqual(planes(flipHorizontal(two)), [[[3, 2, 1]], [[6, 5, 4]]]);
  assert.deepEqual(flipHorizontal(flipHorizontal(ramp4)), ramp4);
  assert.deepEqual([...ramp4.data.subarray(0, 2)], [0, 1]); // inputs untouched
});

Deno.test("contactSheet: row-major grid with gaps and background", () => {
  const tiles = [1, 2, 3].map((v) => img([[[v, v], [v, v]]]));
  const sheet = contactSheet(tiles, 2, { gap: 1, background: -1 });
  assert.equal(sheet.height, 2 * 2 + 3 * 1);
  assert.equal(sheet.width, 2 * 2 + 3 * 1);
  const B = -1;
  assert.deepEqual(planes(sheet), [[
    [B, B, B, B, B, B, B],
    [B, 1, 1, B, 2, 2, B],
    [B, 1, 1, B, 2, 2, B],
    [B, B, B, B, B, B, B],
    [B, 3, 3, B, B, B, B],
    [B, 3, 3, B, B, B, B],
    [B, B, B, B, B, B, B],
  ]]);
  assert.throws(() => contactSheet([tiles[0], ramp4], 2), /image 1 is 1×4×4, expected 1×2×2/);
  assert.throws(() => contactSheet([], 2), /no images/);
  assert.throws(() => contactSheet(tiles, 0), /0 columns/);
  assert.throws(() => resize(ramp4, 0, 2), /target 0×2, expected positive integers/);
});
