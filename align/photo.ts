/** Reading photos as they come: the decoder follows the bytes, not the file name. */
import {
  decodeRaw,
  encodeJpeg,
  encodePng,
  ImageDecodeError,
  type RawImage,
  sniffFormat,
} from "../data/mod.ts";

/**
 * Decode PNG, JPEG or PGM bytes whatever the file is named (a PNG named `.jpg` is common in
 * scraped sets). Throws `ImageDecodeError` naming `file` and the decoder's complaint.
 */
export function decodePhoto(bytes: Uint8Array, file: string): RawImage {
  const format = sniffFormat(bytes);
  if (format === undefined) return decodeRaw(bytes, file); // the decoder's own "wrong magic" error
  const ext = format === "jpeg" ? "jpg" : format;
  try {
    return decodeRaw(bytes, `x.${ext}`);
  } catch (e) {
    if (e instanceof ImageDecodeError) {
      throw new ImageDecodeError(file, e.message.slice(e.file.length + 2));
    }
    throw e;
  }
}

/** The bytes of a crop file: PNG when `path` ends in `.png`, else JPEG (quality 95). */
export function encodeCrop(path: string, crop: RawImage): Uint8Array {
  return path.toLowerCase().endsWith(".png") ? encodePng(crop) : encodeJpeg(crop);
}

/**
 * The relative path the crop of input `rel` is written to: the same name (JPEG in, JPEG out;
 * PNG in, PNG out), except that a `.pgm` input's crop is `<name>.png`.
 */
export function cropName(rel: string): string {
  return /\.pgm$/i.test(rel) ? `${rel}.png` : rel;
}
