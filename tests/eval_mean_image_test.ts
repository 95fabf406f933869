/** The realism meter's pixel check (eval/mean_image.ts) against hand-computed cases. */
import assert from "node:assert/strict";
import { decodeRaw, encodePng } from "../data/mod.ts";
import {
  FACE_CENTRE,
  MEAN_IMAGE_SIZE,
  meanImage,
  meanImageGap,
  meanImagesPng,
  pixelSummary,
} from "../eval/mod.ts";
import { temp } from "./_helpers.ts";

const S = MEAN_IMAGE_SIZE;

/** An S×S RGB PNG whose pixel (x, y, channel) is `f(x, y, c)`. */
async function writeImage(path: string, f: (x: number, y: number, c: number) => number) {
  const data = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) data[(y * S + x) * 3 + c] = f(x, y, c);
  }
  await Deno.writeFile(path, encodePng({ width: S, height: S, channels: 3, data }));
}

temp.test("mean image: per-pixel mean of files, resized to 112 when smaller; gap in levels", async (tmp) => {
  // left half 0, right half 200 / all 100: the mean is 50 on the left, 150 on the right
  await writeImage(`${tmp}/a.png`, (x) => (x < S / 2 ? 0 : 200));
  await writeImage(`${tmp}/b.png`, () => 100);
  const m = await meanImage([`${tmp}/a.png`, `${tmp}/b.png`]);
  assert.equal(m.length, 3 * S * S);
  assert.equal(m[0], 50);
  assert.equal(m[S - 1], 150);
  assert.equal(m[2 * S * S + 5 * S + 70], 150, "blue plane, row 5, column 70");
  // a small constant image is brought to 112×112 first
  const small = new Uint8Array(4 * 4 * 3).fill(80);
  await Deno.writeFile(
    `${tmp}/c.png`,
    encodePng({ width: 4, height: 4, channels: 3, data: small }),
  );
  const c = await meanImage([`${tmp}/c.png`]);
  assert.ok(c.every((v) => Math.abs(v - 80) < 1e-4));
  // |50 − 80| on the left half, |150 − 80| on the right: (30 + 70) / 2
  assert.ok(Math.abs(meanImageGap(m, c) - 50) < 1e-4);
  assert.equal(meanImageGap(m, m), 0);
  assert.throws(() => meanImageGap(m, new Float32Array(3)), /3 values/);
  await assert.rejects(meanImage([]), /no files/);
});

Deno.test("mean image: the PNG shows generated, real, 128 + 2 × difference (clipped), floor", () => {
  const gen = new Float32Array(3 * S * S).fill(100), real = new Float32Array(3 * S * S).fill(90);
  real[0] = 20; // red, pixel (0, 0): 128 + 2 × 80 clips at 255
  const png = decodeRaw(meanImagesPng(gen, real, new Float32Array(3 * S * S).fill(7)));
  assert.deepEqual([png.width, png.height, png.channels], [4 * S, S, 3]);
  const px = (x: number, y: number) =>
    Array.from(png.data.slice((y * 4 * S + x) * 3, (y * 4 * S + x) * 3 + 3));
  assert.deepEqual(px(5, 5), [100, 100, 100]);
  assert.deepEqual(px(S + 5, 5), [90, 90, 90]);
  assert.deepEqual(px(2 * S + 5, 5), [148, 148, 148]);
  assert.deepEqual(px(2 * S, 0), [255, 148, 148]);
  assert.deepEqual(px(3 * S + 1, 1), [7, 7, 7]);
  assert.equal(decodeRaw(meanImagesPng(gen, real)).width, 3 * S, "no floor: three panels");
});

temp.test("colour statistics: face-centre casts, their spread, fine colour and brightness detail, by hand", async (tmp) => {
  // a: (150, 100, 80) everywhere; b: (100, 100, 100). Chromaticity (r − g) / (mean level + 1):
  // a 50 / 111, b 0; (b − g): a −20 / 111, b 0
  await writeImage(`${tmp}/a.png`, (_x, _y, c) => [150, 100, 80][c]);
  await writeImage(`${tmp}/b.png`, () => 100);
  const { colour: two } = await pixelSummary([`${tmp}/a.png`, `${tmp}/b.png`]);
  const near = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) < 1e-6, `${what}: ${got}, expected ${want}`); // float32
  near(two.rg_mean, 25 / 111, "rg_mean");
  near(two.rg_sd, 25 / 111, "rg_sd");
  near(two.bg_mean, -10 / 111, "bg_mean");
  near(two.bg_sd, 10 / 111, "bg_sd");
  near(two.chroma_detail, 0, "flat colour has no detail");
  near(two.luma_detail, 0, "flat brightness has no detail");
  // red checkerboard over grey: r − g alternates 0 / 20, so the 4-neighbour Laplacian is ±80
  await writeImage(`${tmp}/c.png`, (x, y, c) => (c === 0 && (x + y) % 2 ? 120 : 100));
  const { colour: checker } = await pixelSummary([`${tmp}/c.png`]);
  near(checker.chroma_detail, 80, "chroma_detail");
  // its luminance alternates 100 / 100 + 0.299 × 20: the Laplacian is 4 × 5.98
  assert.ok(Math.abs(checker.luma_detail - 4 * 0.299 * 20) < 1e-4, `${checker.luma_detail}`);
  // a grey checkerboard 100 / 120: brightness detail 80, no colour detail
  await writeImage(`${tmp}/e.png`, (x, y) => ((x + y) % 2 ? 120 : 100));
  const { colour: grey } = await pixelSummary([`${tmp}/e.png`]);
  assert.ok(Math.abs(grey.luma_detail - 80) < 1e-4, `grey luma_detail ${grey.luma_detail}`);
  near(grey.chroma_detail, 0, "grey chroma_detail");
  near(checker.rg_sd, 0, "one image has no spread");
  // only the face centre counts: a red border outside it changes nothing
  await writeImage(`${tmp}/d.png`, (x, y, c) => {
    const inside = y >= FACE_CENTRE.top && y < FACE_CENTRE.bottom && x >= FACE_CENTRE.left &&
      x < FACE_CENTRE.right;
    return inside ? 100 : [255, 0, 0][c];
  });
  const { colour: border } = await pixelSummary([`${tmp}/d.png`]);
  near(border.rg_mean, 0, "border left out");
});
