import assert from "node:assert/strict";
import {
  decodeImage,
  decodeRaw,
  encodePng,
  ImageDecodeError,
  imageInfo,
  isImagePath,
  type RawImage,
  readImage,
  Rng,
  toRaw,
  toTensor,
} from "../data/mod.ts";
import { decodePngRaw, encodePngRaw } from "../data/deps.ts";
import { temp } from "./_helpers.ts";

function randomRaw(channels: number, height: number, width: number, seed = 1): RawImage {
  const rng = Rng.fromSeed(seed);
  const data = new Uint8Array(channels * height * width).map(() => rng.int(256));
  return { channels, height, width, data };
}

/** A small image from its pixel values (HWC). */
function image(channels: number, height: number, width: number, pixels: number[]): RawImage {
  return { channels, height, width, data: new Uint8Array(pixels) };
}

/** A tiny binary PGM with a comment in its header. */
function pgm(width: number, height: number, pixels: number[], maxval = 255): Uint8Array {
  const head = new TextEncoder().encode(`P5\n# made by hand\n${width} ${height}\n${maxval}\n`);
  const out = new Uint8Array(head.length + pixels.length);
  out.set(head);
  out.set(pixels, head.length);
  return out;
}

Deno.test("png: encode → decode is exact (RGB and grey, odd sizes)", () => {
  for (const [c, h, w] of [[3, 7, 5], [1, 3, 11], [3, 1, 1]]) {
    const raw = randomRaw(c, h, w, c * 100 + h);
    const png = encodePng(raw);
    assert.deepEqual(decodeRaw(png, "x.png"), raw);
    assert.deepEqual(imageInfo(png), { format: "png", height: h, width: w, channels: c });
  }
});

Deno.test("png encoder: all colour types, CRCs valid (fast-png decodes with checkCrc)", () => {
  for (const channels of [1, 2, 3, 4]) {
    const raw = randomRaw(channels, 9, 13, channels);
    const png = decodePngRaw(encodePng(raw), { checkCrc: true });
    assert.deepEqual([png.channels, png.height, png.width, png.depth], [channels, 9, 13, 8]);
    assert.deepEqual(new Uint8Array(png.data as Uint8Array), raw.data);
  }
  // Incompressible noise, large enough for several deflate blocks.
  const noise = randomRaw(3, 96, 80, 9);
  assert.deepEqual(decodeRaw(encodePng(noise, { level: 1 })), noise);
  // A smooth ramp compresses to a small fraction of its raw size (rows are filtered).
  const ramp = { channels: 3, height: 112, width: 112, data: new Uint8Array(112 * 112 * 3) };
  ramp.data.forEach((_, i) => (ramp.data[i] = (Math.floor(i / 3) % 112) + Math.floor(i / 336)));
  assert.ok(encodePng(ramp).length < ramp.data.length / 20, `${encodePng(ramp).length} B`);
  assert.deepEqual(decodeRaw(encodePng(ramp)), ramp);
  assert.throws(() => encodePng({ ...noise, channels: 5 }), /5 channels, expected 1–4/);
  assert.throws(() => encodePng({ ...noise, height: 95 }), /for 95×80×3, expected 22800/);
});

Deno.test("png decoder: 1/2/4-bit grey, 4-bit palette, 16-bit RGB and grey+alpha", () => {
  // A PNG of `channels` × `depth`-bit samples (packed below 8 bits), straight from fast-png.
  const png = (
    w: number,
    h: number,
    channels: number,
    depth: number,
    data: number[],
    palette?: number[][],
  ) =>
    encodePngRaw({
      width: w,
      height: h,
      channels,
      depth: depth as 8,
      data: depth === 16 ? Uint16Array.from(data) : Uint8Array.from(data),
      ...(palette ? { palette } : {}),
    } as never);
  // 8 pixels at 1 bit: 1011 0000 → 255, 0, 255, 255, 0, 0, 0, 0 (second row 0100 0001).
  const g1 = png(8, 2, 1, 1, [0b10110000, 0b01000001]);
  assert.deepEqual(
    [...decodeRaw(g1).data],
    [255, 0, 255, 255, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255],
  );
  // 3 pixels at 2 bits: 00 01 10 (+ padding) → 0, 85, 170; at 4 bits 0x1 0x2 0xf → 17, 34, 255.
  assert.deepEqual([...decodeRaw(png(3, 1, 1, 2, [0b00011000])).data], [0, 85, 170]);
  assert.deepEqual([...decodeRaw(png(3, 1, 1, 4, [0x12, 0xf0])).data], [17, 34, 255]);
  const p4 = png(3, 1, 1, 4, [0x21, 0x00], [[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
  assert.deepEqual(decodeRaw(p4), image(3, 1, 3, [0, 0, 255, 0, 255, 0, 255, 0, 0]));
  const rgb16 = png(2, 1, 3, 16, [0, 65535, 257 * 100, 128, 129 * 257, 65000]);
  assert.deepEqual([...decodeRaw(rgb16).data], [0, 255, 100, 0, 129, 253]);
  const ga16 = png(1, 1, 2, 16, [257 * 7, 0]);
  assert.deepEqual(decodeRaw(ga16), image(1, 1, 1, [7]));
});

Deno.test("jpeg: a one-component (grey) JPEG decodes to 1 channel, like imageInfo says", () => {
  // cjpeg -grayscale -quality 100 of the 4×2 PGM [0 64 128 255; 32 96 160 224]; djpeg gives
  // those bytes back exactly.
  const b64 =
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" +
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAACAAQBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/E" +
    "ABsQAAMAAwEBAAAAAAAAAAAAAAIDBAEFBgkH/9oACAEBAAA/AGH8Eqqua81/jsPOUv0ETaLK2x6VzNVK2pmm" +
    "55J0snhJCToNKEKNxBlhLSoMlkVhgf/Z";
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  assert.deepEqual(imageInfo(bytes), { format: "jpeg", height: 2, width: 4, channels: 1 });
  const raw = decodeRaw(bytes, "grey.jpg");
  assert.deepEqual([raw.channels, raw.height, raw.width], [1, 2, 4]);
  const want = [0, 64, 128, 255, 32, 96, 160, 224];
  raw.data.forEach((v, i) =>
    assert.ok(Math.abs(v - want[i]) <= 2, `pixel ${i}: ${v} vs ${want[i]}`)
  );
});

Deno.test("extensions: only the last path segment counts; no prototype names", () => {
  const png = encodePng(randomRaw(1, 2, 2));
  assert.equal(decodeRaw(png, "/tmp/dir.with.dots/file").width, 2); // no extension: no check
  assert.throws(() => decodeRaw(png, "a/x.constructor"), /unknown image extension "\.constructor"/);
  assert.ok(isImagePath("a/B.JPG") && isImagePath("x.pgm"));
  assert.ok(
    !isImagePath("a/x.constructor") && !isImagePath("dir.png/file") && !isImagePath(".png"),
  );
});

Deno.test("png: alpha is dropped, colour kept", () => {
  const rgba = new Uint8Array([10, 20, 30, 255, 40, 50, 60, 0]);
  const png = encodePngRaw({ width: 2, height: 1, data: rgba, channels: 4, depth: 8 });
  const raw = decodeRaw(png, "a.png");
  assert.deepEqual(raw, image(3, 1, 2, [10, 20, 30, 40, 50, 60]));
  assert.equal(imageInfo(png).channels, 3);
});

Deno.test("tensor: toTensor/toRaw are inverse, (x − 127.5)/127.5, grey → RGB", () => {
  const raw = randomRaw(3, 4, 6);
  assert.deepEqual(toRaw(toTensor(raw)), raw);
  const t = toTensor(image(1, 1, 3, [0, 255, 51]));
  assert.equal(t.channels, 3);
  const want = [-1, 1, (51 - 127.5) / 127.5].map(Math.fround);
  for (let c = 0; c < 3; c++) assert.deepEqual([...t.data.subarray(3 * c, 3 * c + 3)], want);
  const grey = toTensor(image(1, 1, 1, [255]), { rgb: false });
  assert.equal(grey.channels, 1);
  // CHW: channel planes are contiguous.
  const hw = toTensor(image(3, 1, 2, [0, 1, 2, 3, 4, 5]), { mean: 0, std: 1 });
  assert.deepEqual([...hw.data], [0, 3, 1, 4, 2, 5]);
});

Deno.test("pgm: header with comment, maxval scaling, grey → RGB", () => {
  const bytes = pgm(3, 2, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(decodeRaw(bytes, "f.pgm"), image(1, 2, 3, [0, 1, 2, 3, 4, 5]));
  assert.deepEqual(imageInfo(bytes), { format: "pgm", height: 2, width: 3, channels: 1 });
  assert.deepEqual([...decodeRaw(pgm(2, 1, [0, 15], 15), "g.pgm").data], [0, 255]);
  const t = decodeImage(bytes, "f.pgm");
  assert.equal(t.channels, 3);
  assert.deepEqual(t.data.subarray(0, 6), t.data.subarray(12, 18));
});

temp.test("errors name the file: corrupt, truncated, wrong magic, unknown extension", async (dir) => {
  const png = encodePng(randomRaw(3, 16, 16));
  const corrupt = png.slice();
  corrupt.fill(0x55, 40, 80); // inside the compressed IDAT data
  const cases: [string, Uint8Array, RegExp][] = [
    ["bad.png", corrupt, /^bad\.png: corrupt or truncated PNG/],
    ["cut.png", png.subarray(0, png.length >> 1), /^cut\.png: corrupt or truncated PNG/],
    ["text.png", new TextEncoder().encode("hello"), /^text\.png: .*wrong magic bytes/],
    ["img.gif", png, /^img\.gif: unknown image extension "\.gif"/],
    ["photo.jpg", png, /^photo\.jpg: extension "\.jpg" but the bytes are PNG/],
    ["cut.pgm", pgm(3, 2, [1, 2, 3]), /^cut\.pgm: truncated PGM: expected 6 pixel bytes/],
    ["hdr.pgm", new TextEncoder().encode("P5\n12 x\n"), /^hdr\.pgm: malformed PGM header/],
    [
      "cut.jpg",
      new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1]),
      /^cut\.jpg: corrupt or truncated JPEG/,
    ],
  ];
  for (const [name, bytes, re] of cases) {
    assert.throws(() => decodeRaw(bytes, name), (e: unknown) => {
      assert.ok(e instanceof ImageDecodeError, `${name}: ${e}`);
      assert.equal(e.file, name);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(() => imageInfo(new Uint8Array(4), "z.png"), /z\.png: .*wrong magic/);
  assert.throws(() => imageInfo(png.subarray(0, 20), "t.png"), /t\.png: truncated PNG/);
  // Files on disk: the path is in the message.
  await Deno.writeFile(`${dir}/cut.png`, png.subarray(0, 100));
  await assert.rejects(
    readImage(`${dir}/cut.png`),
    new RegExp(`ImageDecodeError: ${dir}/cut\\.png: corrupt or truncated`),
  );
  await assert.rejects(
    readImage(`${dir}/none.png`),
    new RegExp(`ImageDecodeError: ${dir}/none\\.png: file not found`),
  );
});
