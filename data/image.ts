/**
 * Image codecs and pixel transforms. Images are float tensors in CHW layout, RGB,
 * normalised with `(x/255 − 0.5)/0.5` unless stated otherwise.
 */
import { decodePngRaw, jpeg } from "./deps.ts";
import { encodePngBytes, type PngEncodeOptions } from "./png_encode.ts";
import { encodeJpegBytes } from "./jpeg_encode.ts";
import { ImageDecodeError, imageInfo, sniffFormat } from "./image_info.ts";

export { ImageDecodeError, sniffFormat } from "./image_info.ts";

export type { PngEncodeOptions } from "./png_encode.ts";

/** A float image in CHW layout. */
export interface ImageTensor {
  /** Channel count: 1 (grey) or 3 (RGB). */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** `channels × height × width` values, channel-major. */
  data: Float32Array;
}

/** An 8-bit image in HWC (interleaved) layout, as codecs produce it. */
export interface RawImage {
  /** Channel count: 1 (grey) or 3 (RGB). */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** `height × width × channels` bytes, interleaved. */
  data: Uint8Array;
}

const EXTENSIONS: Record<string, "png" | "jpeg" | "pgm"> = {
  png: "png",
  jpg: "jpeg",
  jpeg: "jpeg",
  pgm: "pgm",
};

/** Image file extensions the readers accept. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.keys(EXTENSIONS);

/** True when `path` ends with an extension the decoders know. */
export function isImagePath(path: string): boolean {
  const ext = extensionOf(path);
  return ext !== undefined && Object.hasOwn(EXTENSIONS, ext);
}

/** Lower-case extension of the last path segment, or undefined when it has none. */
function extensionOf(path: string): string | undefined {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : undefined;
}

/** A file without an extension whose first bytes are PNG, JPEG or PGM magic. */
async function isExtensionlessImage(dir: string, name: string): Promise<boolean> {
  if (name.lastIndexOf(".") > 0) return false;
  const f = await Deno.open(`${dir}/${name}`);
  try {
    const head = new Uint8Array(8);
    const n = await f.read(head);
    return n !== null && sniffFormat(head.subarray(0, n)) !== undefined;
  } finally {
    f.close();
  }
}

/**
 * Relative paths of the images under `dir` (recursively, sorted), skipping `skipDir`: files with
 * an image extension, and files without an extension whose bytes are an image.
 */
export async function listImages(dir: string, skipDir?: string): Promise<string[]> {
  const out: string[] = [];
  const skip = skipDir ? await Deno.realPath(skipDir).catch(() => undefined) : undefined;
  async function walk(abs: string, rel: string): Promise<void> {
    if (skip && (await Deno.realPath(abs)) === skip) return;
    for await (const e of Deno.readDir(abs)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(`${abs}/${e.name}`, r);
      else if (e.isFile && (isImagePath(e.name) || await isExtensionlessImage(abs, e.name))) {
        out.push(r);
      }
    }
  }
  await walk(dir, "");
  return out.sort();
}

/**
 * Decode PNG, JPEG or binary PGM (P5) bytes to 8-bit HWC pixels. `file` is only used in
 * error messages. The extension, when present, must agree with the magic bytes.
 */
export function decodeRaw(bytes: Uint8Array, file = "<bytes>"): RawImage {
  const format = sniffFormat(bytes), ext = extensionOf(file);
  const known = ext !== undefined && Object.hasOwn(EXTENSIONS, ext);
  if (ext !== undefined && !known) {
    throw new ImageDecodeError(
      file,
      `unknown image extension ".${ext}", expected .png, .jpg, .jpeg or .pgm`,
    );
  }
  if (format === undefined) {
    throw new ImageDecodeError(file, "not a PNG, JPEG or binary PGM (P5) image: wrong magic bytes");
  }
  if (known && EXTENSIONS[ext] !== format) {
    throw new ImageDecodeError(
      file,
      `extension ".${ext}" but the bytes are ${format.toUpperCase()}`,
    );
  }
  try {
    if (format === "png") return decodePng(bytes);
    if (format === "jpeg") return decodeJpeg(bytes, file);
    return decodePgm(bytes, file);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(
      file,
      `corrupt or truncated ${format.toUpperCase()}: ${(e as Error).message}`,
    );
  }
}

function decodePng(bytes: Uint8Array): RawImage {
  const png = decodePngRaw(bytes);
  const { width, height } = png;
  const n = width * height;
  const samples = unpackSamples(png.data, png.depth, width * png.channels, height, !png.palette);
  if (png.palette) {
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const c = png.palette[samples[i]];
      if (c === undefined) throw new Error(`palette index ${samples[i]} out of range`);
      out[3 * i] = c[0];
      out[3 * i + 1] = c[1];
      out[3 * i + 2] = c[2];
    }
    return { channels: 3, height, width, data: out };
  }
  const channels = png.channels;
  if (channels === 2 || channels === 4) {
    // Drop alpha: faces are composited by the generator, never transparent.
    const keep = channels - 1;
    const out = new Uint8Array(n * keep);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < keep; c++) out[keep * i + c] = samples[channels * i + c];
    }
    return { channels: keep, height, width, data: out };
  }
  return { channels, height, width, data: samples };
}

/**
 * PNG samples as one byte each: 16-bit rounded to 8, 1/2/4-bit rows (packed, byte-aligned per
 * row) unpacked, and for grey (`scale`) stretched to 0–255; palette indices stay indices.
 */
function unpackSamples(
  data: ArrayLike<number>,
  depth: number,
  perRow: number,
  height: number,
  scale: boolean,
): Uint8Array {
  if (depth === 8) return new Uint8Array(data as Uint8Array);
  const out = new Uint8Array(perRow * height);
  if (depth === 16) {
    for (let i = 0; i < out.length; i++) out[i] = Math.round(data[i] / 257);
    return out;
  }
  if (depth !== 1 && depth !== 2 && depth !== 4) throw new Error(`bit depth ${depth}`);
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const max = (1 << depth) - 1;
  const factor = scale ? 255 / max : 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < perRow; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * perRow + x] = Math.round(v * factor);
    }
  }
  return out;
}

function decodeJpeg(bytes: Uint8Array, file: string): RawImage {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  const { width, height } = img;
  const channels = img.data.length / (width * height);
  if (channels !== 3) throw new Error(`unexpected ${channels} channels`);
  // jpeg-js expands one-component (grey) JPEGs to RGB; keep them grey like PGM and grey PNG.
  if (imageInfo(bytes, file).channels === 1) {
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = img.data[3 * i];
    return { channels: 1, height, width, data: grey };
  }
  return { channels, height, width, data: img.data };
}

function decodePgm(bytes: Uint8Array, file: string): RawImage {
  // Header: "P5" whitespace width whitespace height whitespace maxval single-whitespace data;
  // comments run from '#' to end of line.
  let pos = 2;
  const fields: number[] = [];
  while (fields.length < 3) {
    while (pos < bytes.length) {
      const c = bytes[pos];
      if (c === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
      } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else break;
    }
    let value = "";
    while (pos < bytes.length && bytes[pos] >= 0x30 && bytes[pos] <= 0x39) {
      value += String.fromCharCode(bytes[pos++]);
    }
    if (value === "") {
      throw new ImageDecodeError(file, "malformed PGM header: expected width, height and maxval");
    }
    fields.push(Number(value));
  }
  pos++; // the single whitespace byte after maxval
  const [width, height, maxval] = fields;
  if (maxval < 1 || maxval > 255) {
    throw new ImageDecodeError(file, `PGM maxval ${maxval}, expected 1..255 (8-bit)`);
  }
  const size = width * height;
  if (bytes.length - pos < size) {
    throw new ImageDecodeError(
      file,
      `truncated PGM: expected ${size} pixel bytes for ${width}×${height}, ` +
        `got ${bytes.length - pos}`,
    );
  }
  const data = bytes.slice(pos, pos + size);
  if (maxval !== 255) {
    for (let i = 0; i < size; i++) data[i] = Math.round((data[i] * 255) / maxval);
  }
  return { channels: 1, height, width, data };
}

/**
 * Encode 8-bit HWC pixels (1–4 channels) as PNG: Paeth-filtered, zlib level 6 by default
 * (see `png_encode.ts`). Lossless: `decodeRaw(encodePng(raw))` gives `raw` back (for 1 or 3
 * channels; alpha is dropped on decode).
 */
export function encodePng(image: RawImage, options: PngEncodeOptions = {}): Uint8Array {
  return encodePngBytes(image, options);
}

/**
 * Encode 8-bit HWC pixels (grey or RGB) as a baseline 4:4:4 JPEG (`quality` 1–100, IJG scale,
 * default 95; see `jpeg_encode.ts`). Grey is stored as three equal channels.
 */
export function encodeJpeg(image: RawImage, quality = 95): Uint8Array {
  if (!(quality >= 1 && quality <= 100)) {
    throw new RangeError(`encodeJpeg: quality ${quality}, expected 1..100`);
  }
  if (image.channels !== 1 && image.channels !== 3) {
    throw new RangeError(`encodeJpeg: ${image.channels} channels, expected 1 or 3`);
  }
  return encodeJpegBytes(image.data, image.width, image.height, image.channels, quality);
}

/** Options for converting raw pixels to a float tensor. */
export interface ToTensorOptions {
  /** Replicate grey to three channels (default true). */
  rgb?: boolean;
  /** Subtracted from 0–255 values (default 127.5). */
  mean?: number;
  /** Divides after the mean (default 127.5), so the default is `(x/255 − 0.5)/0.5`. */
  std?: number;
}

/** 8-bit HWC pixels → normalised float CHW tensor. */
export function toTensor(raw: RawImage, options: ToTensorOptions = {}): ImageTensor {
  const { rgb = true, mean = 127.5, std = 127.5 } = options;
  const channels = rgb ? 3 : raw.channels;
  if (!rgb && raw.channels !== 1 && raw.channels !== 3) {
    throw new Error(`toTensor: ${raw.channels} channels, expected 1 or 3`);
  }
  const plane = raw.height * raw.width;
  const data = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const src = raw.channels === 1 ? 0 : c;
    for (let i = 0; i < plane; i++) {
      data[c * plane + i] = (raw.data[i * raw.channels + src] - mean) / std;
    }
  }
  return { channels, height: raw.height, width: raw.width, data };
}

/** Float CHW tensor → 8-bit HWC pixels (inverse of `toTensor`, rounded and clamped). */
export function toRaw(image: ImageTensor, options: { mean?: number; std?: number } = {}): RawImage {
  const { mean = 127.5, std = 127.5 } = options;
  const plane = image.height * image.width;
  const data = new Uint8Array(plane * image.channels);
  for (let c = 0; c < image.channels; c++) {
    for (let i = 0; i < plane; i++) {
      const v = Math.round(image.data[c * plane + i] * std + mean);
      data[i * image.channels + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { channels: image.channels, height: image.height, width: image.width, data };
}

/** Decode bytes straight to a normalised RGB CHW tensor. */
export function decodeImage(
  bytes: Uint8Array,
  file = "<bytes>",
  options: ToTensorOptions = {},
): ImageTensor {
  return toTensor(decodeRaw(bytes, file), options);
}

/** Read and decode an image file to 8-bit pixels (a missing file is an `ImageDecodeError`). */
export async function readRawImage(path: string | URL): Promise<RawImage> {
  const name = String(path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ImageDecodeError(name, "file not found");
    throw e;
  }
  return decodeRaw(bytes, name);
}

/** Read and decode an image file to a normalised RGB CHW tensor. */
export async function readImage(
  path: string | URL,
  options: ToTensorOptions = {},
): Promise<ImageTensor> {
  return toTensor(await readRawImage(path), options);
}
