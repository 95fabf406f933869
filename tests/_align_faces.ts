/**
 * Face photos for the align tests without ../shared/data: generated faces cut from
 * `fixtures/procedural_preview.png` (8×8 tiles of 112×112 on the ArcFace template, 2-px borders),
 * pasted on grey canvases at known places. The sheet is the procedural generator's preview, frozen
 * here so these tests do not move when the embedded generator changes.
 */
import { decodeRaw, type RawImage } from "../data/mod.ts";

const SHEET = decodeRaw(
  await Deno.readFile(new URL("./fixtures/procedural_preview.png", import.meta.url)),
  "preview.png",
);

/** Tile `(row, col)` of the preview sheet: one generated face, 112×112 RGB. */
export function faceTile(row: number, col: number): RawImage {
  const data = new Uint8Array(112 * 112 * 3);
  for (let y = 0; y < 112; y++) {
    const src = ((2 + row * 114 + y) * SHEET.width + 2 + col * 114) * 3;
    data.set(SHEET.data.subarray(src, src + 112 * 3), y * 112 * 3);
  }
  return { channels: 3, height: 112, width: 112, data };
}

/** A `width × height` grey (128) canvas with each image pasted at its `[x, y]`. */
export function canvas(
  width: number,
  height: number,
  pastes: { image: RawImage; at: [number, number] }[] = [],
): RawImage {
  const data = new Uint8Array(width * height * 3).fill(128);
  for (const { image, at: [ox, oy] } of pastes) {
    for (let y = 0; y < image.height; y++) {
      const src = y * image.width * 3;
      data.set(image.data.subarray(src, src + image.width * 3), ((oy + y) * width + ox) * 3);
    }
  }
  return { channels: 3, height, width, data };
}
