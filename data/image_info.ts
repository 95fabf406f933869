/**
 * What an image file is, from its first bytes: the format (magic bytes), size and channels
 * without decoding pixels (so dataset writers check every image against the header cheaply),
 * and the error every decoder raises.
 * @module
 */
/** Raised for unreadable or malformed images; the message names the file and what was expected. */
export class ImageDecodeError extends Error {
  /** `file` names the image; `detail` says what was wrong and what was expected. */
  constructor(public readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "ImageDecodeError";
  }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

/** The image format recognised from magic bytes, or undefined. */
export function sniffFormat(bytes: Uint8Array): "png" | "jpeg" | "pgm" | undefined {
  if (startsWith(bytes, PNG_MAGIC)) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "jpeg";
  if (bytes[0] === 0x50 && bytes[1] === 0x35) return "pgm";
  return undefined;
}

/** Size and channel count an image decodes to (alpha dropped, palette expanded, as `decodeRaw`). */
export interface ImageInfo {
  /** Container format from the magic bytes. */
  format: "png" | "jpeg" | "pgm";
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Channels `decodeRaw` returns: 1 (grey) or 3 (RGB). */
  channels: number;
}

/**
 * Read format, size and channels from PNG IHDR, JPEG SOF or PGM header bytes. `file` names the
 * image in errors.
 *
 * @example
 * ```ts
 * import { encodePng, imageInfo } from "./mod.ts";
 * const png = encodePng({ channels: 3, height: 2, width: 5, data: new Uint8Array(30) });
 * console.assert(imageInfo(png).width === 5);
 * ```
 */
export function imageInfo(bytes: Uint8Array, file = "<bytes>"): ImageInfo {
  const format = sniffFormat(bytes);
  if (format === "png") return pngInfo(bytes, file);
  if (format === "jpeg") return jpegInfo(bytes, file);
  if (format === "pgm") return pgmInfo(bytes, file);
  throw new ImageDecodeError(file, "not a PNG, JPEG or binary PGM (P5) image: wrong magic bytes");
}

function pngInfo(bytes: Uint8Array, file: string): ImageInfo {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4) + depth + colour type.
  if (bytes.length < 26) throw new ImageDecodeError(file, "truncated PNG: no IHDR chunk");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
    throw new ImageDecodeError(file, "corrupt PNG: first chunk is not IHDR");
  }
  const colourType = bytes[25];
  const channels = colourType === 0 || colourType === 4 ? 1 : 3;
  return { format: "png", width: view.getUint32(16), height: view.getUint32(20), channels };
}

function jpegInfo(bytes: Uint8Array, file: string): ImageInfo {
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) {
      throw new ImageDecodeError(file, `corrupt JPEG: expected a marker at byte ${pos}`);
    }
    const marker = bytes[pos + 1];
    if (marker === 0xff) { // fill byte
      pos++;
      continue;
    }
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 10 > bytes.length) break;
      const height = (bytes[pos + 5] << 8) | bytes[pos + 6];
      const width = (bytes[pos + 7] << 8) | bytes[pos + 8];
      const components = bytes[pos + 9];
      return { format: "jpeg", height, width, channels: components === 1 ? 1 : 3 };
    }
    pos += 2 + length;
  }
  throw new ImageDecodeError(file, "truncated JPEG: no frame header (SOF) found");
}

function pgmInfo(bytes: Uint8Array, file: string): ImageInfo {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, Math.min(bytes.length, 512)));
  const fields = head.slice(2).replace(/#[^\n]*/g, " ").trim().split(/\s+/).slice(0, 2);
  const [width, height] = fields.map(Number);
  if (!(width > 0 && height > 0)) {
    throw new ImageDecodeError(file, "malformed PGM header: expected width and height");
  }
  return { format: "pgm", width, height, channels: 1 };
}
