/**
 * `alignFace` end to end with the real models: generated faces at known places, no face, two
 * faces, and the known answer on a handful of LFW images (skipped without ../shared/data).
 */
import assert from "node:assert/strict";
import { ARCFACE_TEMPLATE, decodePhoto, FaceAligner } from "../align/mod.ts";
import { resizeBilinear } from "../align/pixels.ts";
import { canvas, faceTile } from "./_align_faces.ts";
import { hasSharedData, SHARED_DATA } from "./_helpers.ts";

// The known answers below hold on every EP; wasm is the one every platform has.
const aligner = await FaceAligner.create({ ep: "wasm" });

Deno.test("align: a generated face is found where it was pasted, and moves with it", async () => {
  const tile = faceTile(2, 0);
  const a = await aligner.align(canvas(224, 224, [{ image: tile, at: [56, 56] }]));
  const b = await aligner.align(canvas(224, 224, [{ image: tile, at: [30, 80] }]));
  assert.ok(a && b);
  assert.equal(a.faces, 1);
  assert.equal(a.framed, false);
  assert.ok(a.score > 0.9, `score ${a.score}`);
  assert.equal(a.landmarks68.length, 68);
  // The generator put the eyes on the template: ours land within a few pixels of it.
  for (const i of [0, 1]) {
    const d = Math.hypot(
      a.points5[i][0] - 56 - ARCFACE_TEMPLATE[i][0],
      a.points5[i][1] - 56 - ARCFACE_TEMPLATE[i][1],
    );
    assert.ok(d < 4, `eye ${i}: ${d.toFixed(2)} px from the template`);
  }
  // Shifting the photo by (−26, +24) shifts every point by the same (up to resampling).
  const moved = a.points5.map(([x, y], i) =>
    Math.hypot(b.points5[i][0] - (x - 26), b.points5[i][1] - (y + 24))
  );
  assert.ok(Math.max(...moved) < 1.5, `points moved by ${moved.map((m) => m.toFixed(2))}`);
  // The crop is the face again: close to the original tile.
  let mad = 0;
  for (let i = 0; i < tile.data.length; i++) mad += Math.abs(tile.data[i] - a.crop.data[i]);
  mad /= tile.data.length;
  assert.ok(mad < 15, `crop differs from the tile by ${mad.toFixed(1)} grey levels on average`);
  assert.deepEqual([a.crop.channels, a.crop.height, a.crop.width], [3, 112, 112]);
  const narrow = await aligner.align(canvas(224, 224, [{ image: tile, at: [56, 56] }]), {
    size: "112x96",
  });
  assert.deepEqual([narrow!.crop.height, narrow!.crop.width], [112, 96]);
  // 112×96 is the 112×112 crop without 8 columns each side.
  for (let y = 0; y < 112; y += 37) {
    for (let x = 0; x < 96; x += 19) {
      const d = Math.abs(narrow!.crop.data[(y * 96 + x) * 3] - a.crop.data[(y * 112 + x + 8) * 3]);
      assert.ok(d <= 1, `(${x}, ${y}): ${d}`);
    }
  }
});

Deno.test("align: a blank photo has no face; two faces give the one nearest the centre", async () => {
  assert.equal(await aligner.align(canvas(200, 200)), undefined);
  const left = faceTile(0, 0), right = faceTile(1, 0);
  const two = canvas(360, 200, [{ image: left, at: [10, 44] }, { image: right, at: [160, 44] }]);
  const dets = await aligner.detect(two);
  assert.equal(dets.length, 2);
  const f = await aligner.align(two);
  assert.ok(f);
  assert.equal(f.faces, 2);
  // The right face (centre x ≈ 216) is nearer the image centre (180) than the left one (66).
  assert.ok(f.box.x1 > 150, `picked box ${JSON.stringify(f.box)}`);
});

Deno.test("align: a tight crop the detector misses is found inside a grey frame", async () => {
  // Tile (0, 0) zoomed so that the face fills the photo: the detector alone finds nothing.
  const inset = 14, zoom = 200 / (112 - 2 * inset);
  const tight = resizeBilinear(faceTile(0, 0), 200, 200, {
    left: inset,
    top: inset,
    width: 112 - 2 * inset,
    height: 112 - 2 * inset,
  });
  assert.equal((await aligner.detect(tight)).length, 0);
  const f = await aligner.align(tight);
  assert.ok(f && f.framed);
  // Points come back in the photo's own pixels: the eyes near where the template put them.
  for (const i of [0, 1]) {
    const ex = (ARCFACE_TEMPLATE[i][0] - inset) * zoom,
      ey = (ARCFACE_TEMPLATE[i][1] - inset) * zoom;
    const d = Math.hypot(f.points5[i][0] - ex, f.points5[i][1] - ey);
    assert.ok(
      d < 12,
      `eye ${i}: ${d.toFixed(1)} px off (${(d / zoom).toFixed(1)} px at tile scale)`,
    );
  }
  assert.ok(f.box.x1 > -20 && f.box.x2 < 220, JSON.stringify(f.box));
});

Deno.test({
  name: "align: known answer: LFW View 1 points within 1.5 px of aligned112.csv",
  ignore: !hasSharedData("lfw-view1/aligned112.csv"),
  async fn() {
    const csv = new URL("lfw-view1/aligned112.csv", SHARED_DATA);
    const lines = (await Deno.readTextFile(csv)).trim().split("\n").slice(1);
    const picked = lines.filter((_, i) => i % 619 === 0); // 9 images across the alphabet
    let total = 0;
    for (const line of picked) {
      const f = line.split(",");
      const url = new URL(`lfw-view1/images/${f[0]}`, SHARED_DATA);
      const face = await aligner.align(decodePhoto(await Deno.readFile(url), f[0]));
      assert.ok(face, `${f[0]}: no face`);
      let e = 0;
      for (let k = 0; k < 5; k++) {
        e += Math.hypot(face.points5[k][0] - +f[7 + 2 * k], face.points5[k][1] - +f[8 + 2 * k]) / 5;
      }
      assert.ok(e < 3, `${f[0]}: ${e.toFixed(2)} px`);
      total += e / picked.length;
    }
    assert.ok(total <= 1.5, `mean ${total.toFixed(3)} px`);
  },
});

Deno.test({
  name: "align: release the models",
  sanitizeResources: false,
  async fn() {
    await aligner.dispose();
  },
});
