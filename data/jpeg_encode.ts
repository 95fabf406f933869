/**
 * A baseline JPEG encoder (4:4:4, the JPEG standard's Annex K quantisation and Huffman tables,
 * IJG quality scaling). jpeg-js's encoder rebuilds ~130K table entries on every call (~20 ms per
 * 112×112 crop); here the tables are built once per quality, and a crop takes about 1 ms.
 * @module
 */

// deno-fmt-ignore
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
  20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
  59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];
// deno-fmt-ignore
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
  56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104,
  113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
// deno-fmt-ignore
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99,
  99, 47, 66, 99, 99, 99, 99, 99, 99, ...Array(32).fill(99),
];
const DC_LUMA_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
// deno-fmt-ignore
const AC_LUMA_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];
const AC_CHROMA_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
// deno-fmt-ignore
const AC_CHROMA_VALUES = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
  0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
  0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
  0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
  0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
  0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
  0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];

/** Huffman code (and its length) of each symbol, from the counts per code length. */
function huffmanTable(bits: number[], values: number[]): { code: Int32Array; len: Int32Array } {
  const code = new Int32Array(256), len = new Int32Array(256);
  let c = 0, k = 0;
  for (let l = 1; l <= 16; l++) {
    for (let i = 0; i < bits[l - 1]; i++) {
      code[values[k]] = c++;
      len[values[k++]] = l;
    }
    c <<= 1;
  }
  return { code, len };
}
const HT = {
  dcY: huffmanTable(DC_LUMA_BITS, DC_VALUES),
  dcC: huffmanTable(DC_CHROMA_BITS, DC_VALUES),
  acY: huffmanTable(AC_LUMA_BITS, AC_LUMA_VALUES),
  acC: huffmanTable(AC_CHROMA_BITS, AC_CHROMA_VALUES),
};

/** `COS[x·8 + u] = C(u)/2 · cos((2x + 1)uπ/16)`: the orthonormal 8-point DCT-II matrix. */
const COS = new Float64Array(64);
for (let x = 0; x < 8; x++) {
  for (let u = 0; u < 8; u++) {
    COS[x * 8 + u] = (u === 0 ? Math.SQRT1_2 : 1) / 2 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  }
}

/** Quantisation tables (natural order) for an IJG quality. */
function quantTables(quality: number): [Int32Array, Int32Array] {
  const sf = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  const scale = (t: number[]) =>
    Int32Array.from(t, (v) => Math.min(255, Math.max(1, Math.floor((v * sf + 50) / 100))));
  return [scale(LUMA_Q), scale(CHROMA_Q)];
}

class BitWriter {
  buf = new Uint8Array(4096);
  n = 0;
  private acc = 0;
  private bits = 0;
  byte(b: number): void {
    if (this.n === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.n++] = b;
  }
  word(w: number): void {
    this.byte(w >> 8);
    this.byte(w & 255);
  }
  put(code: number, len: number): void {
    this.acc = (this.acc << len) | (code & ((1 << len) - 1));
    this.bits += len;
    while (this.bits >= 8) {
      const b = (this.acc >> (this.bits - 8)) & 255;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.bits -= 8;
    }
    this.acc &= (1 << this.bits) - 1;
  }
  flush(): void {
    if (this.bits > 0) this.put((1 << (8 - this.bits)) - 1, 8 - this.bits);
  }
}

function bitLength(v: number): number {
  let a = v < 0 ? -v : v, n = 0;
  while (a) {
    n++;
    a >>= 1;
  }
  return n;
}

/**
 * Encode 8-bit interleaved RGB (or grey, `channels` 1) pixels as a baseline JPEG, 4:4:4, IJG
 * `quality` 1–100.
 */
export function encodeJpegBytes(
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  quality: number,
): Uint8Array {
  const [qY, qC] = quantTables(quality);
  const w = new BitWriter();
  w.word(0xffd8);
  // APP0 JFIF 1.1, no thumbnail.
  w.word(0xffe0);
  w.word(16);
  for (const b of [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]) w.byte(b);
  // DQT: both tables, zigzag order.
  w.word(0xffdb);
  w.word(132);
  for (const [id, q] of [[0, qY], [1, qC]] as const) {
    w.byte(id);
    for (let i = 0; i < 64; i++) w.byte(q[ZIGZAG[i]]);
  }
  // SOF0: 8-bit, 3 components, no subsampling.
  w.word(0xffc0);
  w.word(17);
  w.byte(8);
  w.word(height);
  w.word(width);
  w.byte(3);
  for (const [id, t] of [[1, 0], [2, 1], [3, 1]]) {
    w.byte(id);
    w.byte(0x11);
    w.byte(t);
  }
  // DHT: the four standard tables.
  w.word(0xffc4);
  w.word(2 + 4 * 17 + DC_VALUES.length * 2 + AC_LUMA_VALUES.length + AC_CHROMA_VALUES.length);
  for (
    const [cls, bits, vals] of [
      [0x00, DC_LUMA_BITS, DC_VALUES],
      [0x10, AC_LUMA_BITS, AC_LUMA_VALUES],
      [0x01, DC_CHROMA_BITS, DC_VALUES],
      [0x11, AC_CHROMA_BITS, AC_CHROMA_VALUES],
    ] as const
  ) {
    w.byte(cls);
    for (const b of bits) w.byte(b);
    for (const v of vals) w.byte(v);
  }
  // SOS
  w.word(0xffda);
  w.word(12);
  w.byte(3);
  for (const [id, t] of [[1, 0x00], [2, 0x11], [3, 0x11]]) {
    w.byte(id);
    w.byte(t);
  }
  w.byte(0);
  w.byte(63);
  w.byte(0);

  const block = new Float64Array(192); // Y, Cb, Cr samples of one 8×8 block, level-shifted
  const tmp = new Float64Array(64), coef = new Int32Array(64);
  const dc = [0, 0, 0];
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let y = 0; y < 8; y++) {
        const sy = Math.min(by + y, height - 1);
        for (let x = 0; x < 8; x++) {
          const p = (sy * width + Math.min(bx + x, width - 1)) * channels;
          const r = data[p], g = data[p + (channels === 3 ? 1 : 0)];
          const b = data[p + (channels === 3 ? 2 : 0)];
          const i = y * 8 + x;
          block[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
          block[64 + i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
          block[128 + i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
        }
      }
      for (let c = 0; c < 3; c++) {
        const q = c === 0 ? qY : qC;
        const off = c * 64;
        // Rows then columns of the separable DCT.
        for (let y = 0; y < 8; y++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let x = 0; x < 8; x++) s += block[off + y * 8 + x] * COS[x * 8 + u];
            tmp[y * 8 + u] = s;
          }
        }
        for (let u = 0; u < 8; u++) {
          for (let v = 0; v < 8; v++) {
            let s = 0;
            for (let y = 0; y < 8; y++) s += tmp[y * 8 + u] * COS[y * 8 + v];
            coef[v * 8 + u] = Math.round(s / q[v * 8 + u]);
          }
        }
        const dcT = c === 0 ? HT.dcY : HT.dcC, acT = c === 0 ? HT.acY : HT.acC;
        const diff = coef[0] - dc[c];
        dc[c] = coef[0];
        const nb = bitLength(diff);
        w.put(dcT.code[nb], dcT.len[nb]);
        if (nb) w.put(diff < 0 ? diff - 1 : diff, nb);
        let run = 0;
        for (let k = 1; k < 64; k++) {
          const v = coef[ZIGZAG[k]];
          if (v === 0) {
            run++;
            continue;
          }
          while (run > 15) {
            w.put(acT.code[0xf0], acT.len[0xf0]);
            run -= 16;
          }
          const n = bitLength(v);
          const sym = (run << 4) | n;
          w.put(acT.code[sym], acT.len[sym]);
          w.put(v < 0 ? v - 1 : v, n);
          run = 0;
        }
        if (run > 0) w.put(acT.code[0], acT.len[0]);
      }
    }
  }
  w.flush();
  w.word(0xffd9);
  return w.buf.slice(0, w.n);
}
