/**
 * PNG encoder: Paeth-filtered rows deflated by the runtime's zlib (`node:zlib`, native in Deno).
 * Compared with fast-png's encoder (unfiltered rows, JS deflate) on 112×112 faces it is ~2×
 * faster and the files are ~40% smaller; decoding stays with fast-png.
 */
import { deflateSync } from "node:zlib";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COLOUR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 }; // grey, grey+α, RGB, RGBA

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Filter every row: the first with Sub (type 1, nothing above), the rest with Paeth (type 4):
 * each byte minus its predictor, mod 256. Sub on row 0 equals Paeth there; the split only
 * keeps the inner loop free of branches on the row and column position.
 */
function filterRows(data: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * (stride + 1));
  out[0] = 1;
  for (let i = 0; i < stride; i++) out[1 + i] = (data[i] - (i >= bpp ? data[i - bpp] : 0)) & 0xff;
  for (let y = 1; y < height; y++) {
    const row = y * stride;
    const prev = row - stride;
    const dst = y * (stride + 1) + 1;
    out[dst - 1] = 4;
    for (let i = 0; i < bpp; i++) out[dst + i] = (data[row + i] - data[prev + i]) & 0xff; // a = c = 0
    for (let i = bpp; i < stride; i++) {
      const a = data[row + i - bpp], b = data[prev + i], c = data[prev + i - bpp];
      const pa = b > c ? b - c : c - b; // |p − a| with p = a + b − c
      const pb = a > c ? a - c : c - a; // |p − b|
      const pc = a + b - 2 * c > 0 ? a + b - 2 * c : 2 * c - a - b; // |p − c|
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      out[dst + i] = (data[row + i] - pred) & 0xff;
    }
  }
  return out;
}

/** Options of `encodePngBytes`. */
export interface PngEncodeOptions {
  /** zlib level 0–9 (default 6: smaller files at about the same speed as 1 after filtering). */
  level?: number;
}

/** Encode 8-bit interleaved pixels (1–4 channels: grey, grey+α, RGB, RGBA) as a PNG file. */
export function encodePngBytes(
  image: { channels: number; height: number; width: number; data: Uint8Array },
  options: PngEncodeOptions = {},
): Uint8Array {
  const { channels, height, width, data } = image;
  const colourType = COLOUR_TYPE[channels];
  if (colourType === undefined) {
    throw new RangeError(`encodePng: ${channels} channels, expected 1–4`);
  }
  if (!(width > 0 && height > 0) || data.length !== width * height * channels) {
    throw new RangeError(
      `encodePng: ${data.length} bytes for ${height}×${width}×${channels}, ` +
        `expected ${width * height * channels}`,
    );
  }
  const idat = deflateSync(filterRows(data, height, width * channels, channels), {
    level: options.level ?? 6,
  });
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, colourType, 0, 0, 0], 8); // depth 8, deflate, adaptive filtering, no interlace
  const chunks: [string, Uint8Array][] = [
    ["IHDR", ihdr],
    ["IDAT", new Uint8Array(idat.buffer, idat.byteOffset, idat.byteLength)],
    ["IEND", new Uint8Array(0)],
  ];
  const size = 8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(SIGNATURE);
  let pos = 8;
  for (const [type, body] of chunks) {
    view.setUint32(pos, body.length);
    const typed = out.subarray(pos + 4, pos + 8 + body.length);
    for (let i = 0; i < 4; i++) typed[i] = type.charCodeAt(i);
    typed.set(body, 4);
    view.setUint32(pos + 8 + body.length, crc32(typed));
    pos += 12 + body.length;
  }
  return out;
}
