/**
 * Aligned views of unaligned folders for the tasks that read images (`evaluate --align`,
 * `reproduce --align`): each photo's crop is cached under the SHA-256 of its bytes, so a photo
 * is aligned once whatever folder or run it comes from, and a mirror folder of hard links (copies
 * where links fail) gives readers the usual `<dir>/<rel>` layout.
 * @module
 */
import {
  type Ep,
  type EpChoice,
  exists,
  formatDuration,
  resolveEp,
  sha256Hex,
  writeFileAtomic,
} from "../data/mod.ts";
import { alignAll } from "./align_pool.ts";
import { decodePhoto, encodeCrop } from "./photo.ts";
import { resizeBilinear, toRgb } from "./pixels.ts";
import { cropGeometry, type CropSize } from "./similarity.ts";
import { DETECT_THRESHOLD } from "./detect.ts";

/** Options of {@link alignCached}. */
export interface AlignCachedOptions {
  /** Folder the `files` are relative to. */
  inDir: string;
  /** Relative paths of the photos to align. */
  files: string[];
  /**
   * Cache root; crops live in `<cacheDir>/<size>/<hash>.jpg` (made on wasm) or
   * `<cacheDir>/<size>-<ep>/<hash>.jpg` (other EPs: native kernels round differently), views in
   * `views/` beside them.
   */
  cacheDir: string;
  size?: CropSize;
  workers?: number;
  /** Execution provider (default `auto`). */
  ep?: EpChoice;
  /** Intra-op threads per worker on `node` (default 1). */
  threads?: number;
  /**
   * What to do with a photo without a face: `centre` (default) writes the centre square resized
   * to the crop size, as the shared LFW crops did; `drop` leaves it out of the view.
   */
  noFace?: "centre" | "drop";
  progress?: boolean;
}

/** What {@link alignCached} did. */
export interface AlignCachedResult {
  /** The mirror folder: `<dir>/<rel>` is the crop of `<inDir>/<rel>`. */
  dir: string;
  /** The execution provider the crops were made on. */
  ep: Ep;
  /** Photos aligned now (the others came from the cache). */
  aligned: number;
  /** Photos without a face (centre crop or dropped). */
  noFace: string[];
  /** Photos that could not be decoded (left out of the view), with the decoder's error. */
  bad: { path: string; error: string }[];
}

/**
 * Link (or copy) the JPEG `from` to `to`, replacing `to`; a `to` named `.png` gets the pixels
 * re-encoded as PNG (readers check that names and bytes agree).
 */
async function place(from: string, to: string): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  await Deno.remove(to).catch(() => {});
  if (!/\.jpe?g$/i.test(to)) {
    await writeFileAtomic(to, encodeCrop(to, decodePhoto(await Deno.readFile(from), from)));
    return;
  }
  try {
    await Deno.link(from, to);
  } catch {
    await writeFileAtomic(to, await Deno.readFile(from));
  }
}

/** The centre square of `bytes`' photo, resized to the crop size (no-face fallback). */
function centreCrop(bytes: Uint8Array, file: string, size: CropSize) {
  const img = toRgb(decodePhoto(bytes, file));
  const { height, width } = cropGeometry(size);
  const side = Math.min(img.width, img.height * width / height);
  const h = side * height / width;
  return resizeBilinear(img, width, height, {
    left: Math.floor((img.width - side) / 2),
    top: Math.floor((img.height - h) / 2),
    width: Math.round(side),
    height: Math.round(h),
  });
}

/** Align `files` of `inDir` through the content-hash cache; see the module doc. */
export async function alignCached(options: AlignCachedOptions): Promise<AlignCachedResult> {
  const size = options.size ?? "112";
  const noFaceMode = options.noFace ?? "centre";
  const ep = await resolveEp(options.ep ?? "auto");
  const root = `${options.cacheDir.replace(/\/+$/, "")}/${size === "112" ? "112" : "112x96"}${
    ep === "wasm" ? "" : `-${ep}`
  }`;
  await Deno.mkdir(root, { recursive: true });
  const inDir = options.inDir.replace(/\/+$/, "");
  const files = [...new Set(options.files)].sort();
  const hashes = new Map<string, string>();
  for (const rel of files) hashes.set(rel, await sha256Hex(await Deno.readFile(`${inDir}/${rel}`)));
  // The view's name: the input folder's real path, the file list, the no-face policy.
  const viewKey = (await sha256Hex(
    JSON.stringify([await Deno.realPath(inDir), noFaceMode, files.map((f) => [f, hashes.get(f)])]),
  )).slice(0, 16);
  const dir = `${root}/views/${viewKey}`;

  const status = async (h: string) =>
    (await exists(`${root}/${h}.jpg`))
      ? "face"
      : (await exists(`${root}/${h}.noface`))
      ? "noface"
      : (await exists(`${root}/${h}.bad`))
      ? "bad"
      : undefined;
  const todo: string[] = [];
  const seen = new Set<string>();
  for (const rel of files) {
    const h = hashes.get(rel)!;
    if (!seen.has(h) && (await status(h)) === undefined) todo.push(rel);
    seen.add(h);
  }
  await alignAll(todo, {
    inDir,
    workers: options.workers,
    minScore: DETECT_THRESHOLD,
    size,
    ep,
    threads: options.threads,
    cropPath: (rel) => `${root}/${hashes.get(rel)}.jpg`,
    onResult: async (rel, { row, error }) => {
      const h = hashes.get(rel)!;
      if (row.status === "no_face") await writeFileAtomic(`${root}/${h}.noface`, "");
      if (row.status === "bad_image") await writeFileAtomic(`${root}/${h}.bad`, error ?? "");
    },
    progress: options.progress === false
      ? undefined
      : (done, rate) =>
        `align: ${done}/${todo.length} photos, ${rate.toFixed(1)} images/s, ` +
        `ETA ${formatDuration((todo.length - done) / rate)}`,
  });

  const result: AlignCachedResult = { dir, ep, aligned: todo.length, noFace: [], bad: [] };
  for (const rel of files) {
    const h = hashes.get(rel)!;
    const s = await status(h);
    if (s === "face") await place(`${root}/${h}.jpg`, `${dir}/${rel}`);
    else if (s === "noface") {
      result.noFace.push(rel);
      if (noFaceMode === "centre") {
        const fallback = `${root}/${h}.centre.jpg`;
        if (!(await exists(fallback))) {
          const crop = centreCrop(await Deno.readFile(`${inDir}/${rel}`), rel, size);
          await writeFileAtomic(fallback, encodeCrop(fallback, crop));
        }
        await place(fallback, `${dir}/${rel}`);
      }
    } else {
      result.bad.push({ path: rel, error: await Deno.readTextFile(`${root}/${h}.bad`) });
    }
  }
  return result;
}
