/** One photo file in, its aligned crop file and its `align.csv` row out. */
import { ImageDecodeError, writeFileAtomic } from "../data/mod.ts";
import type { FaceAligner } from "./align_face.ts";
import type { AlignRow } from "./align_csv.ts";
import { decodePhoto, encodeCrop } from "./photo.ts";
import type { CropSize } from "./similarity.ts";

/**
 * Align `inDir/rel`, writing its crop to `cropPath` (atomically); the row says what happened
 * (decoder errors become `bad_image`).
 */
export async function alignFile(
  al: FaceAligner,
  cropSize: CropSize,
  inDir: string,
  cropPath: string,
  rel: string,
  identity: string,
): Promise<{ row: AlignRow; error?: string }> {
  const empty = { score: null, box: null, points5: null, landmarks68: null };
  let image;
  try {
    image = decodePhoto(await Deno.readFile(`${inDir}/${rel}`), rel);
  } catch (e) {
    if (e instanceof ImageDecodeError || e instanceof Deno.errors.NotFound) {
      return { row: { path: rel, identity, status: "bad_image", ...empty }, error: e.message };
    }
    throw e;
  }
  const face = await al.align(image, { size: cropSize });
  if (!face) return { row: { path: rel, identity, status: "no_face", ...empty } };
  await writeFileAtomic(cropPath, encodeCrop(cropPath, face.crop));
  const b = face.box;
  return {
    row: {
      path: rel,
      identity,
      score: face.score,
      box: [b.x1, b.y1, b.x2, b.y2],
      points5: face.points5,
      status: face.faces > 1 ? "several_faces" : "ok",
      landmarks68: face.landmarks68,
    },
  };
}
