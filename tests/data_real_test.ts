/** Decoding and folder-reading the real datasets in ../shared/data (skipped when absent). */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SHARED_DATA, sharedMissing } from "./_helpers.ts";
import {
  decodeRaw,
  ImageDecodeError,
  imageInfo,
  openAnyDataset,
  openImageFolder,
  readImage,
} from "../data/mod.ts";

const dataDir = (sub: string) => fileURLToPath(new URL(sub, SHARED_DATA)).replace(/\/$/, "");

function stats(data: Uint8Array) {
  let sum = 0, sq = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / data.length;
  return { mean, std: Math.sqrt(sq / data.length - mean * mean) };
}

Deno.test({
  name: "real: LFW aligned112 JPEGs decode to 112×112 RGB with sane pixels",
  ignore: sharedMissing("lfw-view1/aligned112"),
}, async () => {
  const dir = dataDir("lfw-view1/aligned112");
  for (const name of ["AJ_Cook/AJ_Cook_0001.jpg", "Aaron_Guiel/Aaron_Guiel_0001.jpg"]) {
    const file = `${dir}/${name}`;
    const bytes = await Deno.readFile(file);
    const raw = decodeRaw(bytes, file);
    assert.deepEqual([raw.height, raw.width, raw.channels], [112, 112, 3]);
    assert.deepEqual(imageInfo(bytes, file), {
      format: "jpeg",
      height: 112,
      width: 112,
      channels: 3,
    });
    const { mean, std } = stats(raw.data);
    assert.ok(mean > 40 && mean < 215, `${name}: mean ${mean}`);
    assert.ok(std > 20, `${name}: std ${std}`); // a face, not a flat field
    const t = await readImage(file);
    assert.equal(t.data.length, 3 * 112 * 112);
    assert.ok(t.data.every((v) => v >= -1 && v <= 1));
    // Truncated real JPEG: an error naming the file, not a half image.
    assert.throws(() => decodeRaw(bytes.subarray(0, bytes.length >> 1), file), (e: unknown) => {
      assert.ok(e instanceof ImageDecodeError);
      assert.equal(e.file, file);
      return true;
    });
  }
});

Deno.test({
  name: "real: ORL PGMs decode to 92×112 grey, replicated to RGB",
  ignore: sharedMissing("orl"),
}, async () => {
  const file = `${dataDir("orl")}/s1/1.pgm`;
  const raw = decodeRaw(await Deno.readFile(file), file);
  assert.deepEqual([raw.height, raw.width, raw.channels], [112, 92, 1]);
  const { mean, std } = stats(raw.data);
  assert.ok(mean > 40 && mean < 215 && std > 20, `mean ${mean} std ${std}`);
  const t = await readImage(file);
  assert.equal(t.channels, 3);
  const plane = 112 * 92;
  assert.deepEqual(t.data.subarray(0, plane), t.data.subarray(2 * plane));
});

Deno.test(
  { name: "real: ORL opens as an image folder", ignore: sharedMissing("orl") },
  async () => {
    const orl = await openAnyDataset(dataDir("orl"));
    assert.equal(orl.kind, "folder");
    assert.equal(orl.header.num_classes, 40);
    assert.equal(orl.size, 400);
    assert.deepEqual(orl.header.image, { height: 112, width: 92, channels: 1 });
    assert.deepEqual(orl.classNames().slice(0, 3), ["s1", "s10", "s11"]); // sorted by name
    const r = orl.records()[0];
    assert.deepEqual([r.path, r.class, r.label, r.source], ["s1/1.pgm", 0, [[0, 1]], "s1/1.pgm"]);
    assert.equal((await orl.readImage(r)).channels, 3);
  },
);

Deno.test({
  name: "real: LFW and CelebA open as image folders",
  ignore: sharedMissing("lfw-view1/aligned112", "celeba-aligned"),
}, async () => {
  const lfw = await openImageFolder(dataDir("lfw-view1/aligned112"));
  assert.equal(lfw.header.num_classes, 3095);
  assert.equal(lfw.size, 4992);
  assert.deepEqual(lfw.header.image, { height: 112, width: 112, channels: 3 });
  const last = lfw.records().at(-1)!;
  assert.equal(last.class, 3094);
  assert.equal((await lfw.readImage(last)).height, 112);
  const celeba = await openImageFolder(dataDir("celeba-aligned"));
  assert.equal(celeba.header.num_classes, 299);
  assert.ok(celeba.size > 6000 && celeba.size < 6600, `${celeba.size}`);
});
