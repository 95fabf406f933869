/** Finding pair images on disk and bringing them to the embedder's input size. */
import {
  centerCrop,
  IMAGE_EXTENSIONS,
  type ImageTensor,
  isImagePath,
  readImage,
  resize,
} from "../data/mod.ts";
import { PairsFormatError, pathEscape } from "./pairs.ts";

/** Where each image reference of a pair list lives, and which are missing. */
export interface ResolvedImages {
  /** Reference (`Name/Name_0001` or CSV path) → file path. */
  paths: Map<string, string>;
  /** References with no file, in first-seen order. */
  missing: string[];
  /** The extension found for extension-less (LFW) references, e.g. `jpg`. */
  extension?: string;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Resolve image references under `imagesDir`. LFW references carry no extension: the first one
 * found decides it (`jpg`, `png`, `jpeg`, `pgm`, tried in that order), and the others are tried
 * per image when that one is absent.
 *
 * Every reference must stay inside `imagesDir`: an absolute one or one with a `..` segment, or one
 * whose folder resolves (after symlinks) outside `realPath(imagesDir)`, is a `PairsFormatError`
 * named by `where(ref)` (e.g. the pairs file and line). The image file itself may be a symlink
 * (subsets made of links).
 */
export function resolveImages(
  refs: Iterable<string>,
  imagesDir: string,
  where: (ref: string) => string = (ref) => ref,
): ResolvedImages {
  const dir = imagesDir.replace(/\/+$/, "");
  let root: string | undefined;
  const realFolders = new Map<string, string>(); // one realPath per folder, not per image
  const inside = (ref: string, path: string) => {
    root ??= Deno.realPathSync(dir);
    const parent = path.slice(0, path.lastIndexOf("/"));
    let folder = realFolders.get(parent);
    if (folder === undefined) realFolders.set(parent, folder = Deno.realPathSync(parent));
    if (folder !== root && !folder.startsWith(root + "/")) {
      const name = path.slice(path.lastIndexOf("/") + 1);
      throw new PairsFormatError(
        `${where(ref)}: resolves to ${folder}/${name}, outside the images folder ${root}`,
      );
    }
  };
  const paths = new Map<string, string>();
  const missing: string[] = [];
  const seenMissing = new Set<string>();
  let extension: string | undefined;
  const order = ["jpg", "png", "jpeg", "pgm"].filter((e) => IMAGE_EXTENSIONS.includes(e));
  for (const ref of refs) {
    if (paths.has(ref) || seenMissing.has(ref)) continue;
    const why = pathEscape(ref);
    if (why) {
      throw new PairsFormatError(`${where(ref)}: "${ref}" ${why}; images must stay inside ${dir}`);
    }
    if (isImagePath(ref)) {
      const p = `${dir}/${ref}`;
      if (exists(p)) {
        inside(ref, p);
        paths.set(ref, p);
      } else {
        missing.push(ref);
        seenMissing.add(ref);
      }
      continue;
    }
    const tries = extension ? [extension, ...order.filter((e) => e !== extension)] : order;
    const hit = tries.find((e) => exists(`${dir}/${ref}.${e}`));
    if (hit) {
      inside(ref, `${dir}/${ref}.${hit}`);
      extension ??= hit;
      paths.set(ref, `${dir}/${ref}.${hit}`);
    } else {
      missing.push(ref);
      seenMissing.add(ref);
    }
  }
  return { paths, missing, extension };
}

/**
 * How images reach the embedder's input size:
 * - `auto` (default): same size → as is; 250×250 (funneled LFW) → centre crop 150×150 (or
 *   150×⌊150·W/H⌉ for other aspect ratios) then resize; 112×112 → 112×96 by a centre crop (the
 *   SphereFace/CosFace size); same aspect ratio → resize; anything else is an error.
 * - `none`: the image must already be the input size.
 * - `[h, w]`: centre crop `h × w`, then resize to the input size.
 *
 * The 250×250 crop is a rough, unaligned face box (faces in deep-funneled LFW are centred and
 * ~150 px across); expect a few points below 5-point-aligned crops.
 */
export type CropMode = "auto" | "none" | [number, number];

/** Bring `image` (from `file`, for messages) to `height × width` following `crop`. */
export function preprocessImage(
  image: ImageTensor,
  height: number,
  width: number,
  crop: CropMode = "auto",
  file = "<image>",
): ImageTensor {
  if (image.height === height && image.width === width) return image;
  if (Array.isArray(crop)) {
    const [ch, cw] = crop;
    if (ch > image.height || cw > image.width) {
      throw new RangeError(
        `${file}: crop ${ch}×${cw} is larger than the image (${image.height}×${image.width})`,
      );
    }
    const c = centerCrop(image, ch, cw);
    return c.height === height && c.width === width ? c : resize(c, height, width);
  }
  const wrong =
    `${file}: image is ${image.height}×${image.width} but the model takes ${height}×${width}`;
  if (crop === "none") {
    throw new RangeError(`${wrong}; use --crop auto or --crop HxW to crop and resize`);
  }
  if (image.height === 250 && image.width === 250) {
    const cw = Math.round((150 * width) / height);
    return resize(centerCrop(image, 150, Math.min(cw, 250)), height, width);
  }
  if (image.height === height && image.width > width) return centerCrop(image, height, width);
  if (image.height * width === image.width * height) return resize(image, height, width);
  throw new RangeError(`${wrong}; use --crop HxW to say which centre crop to take`);
}

/** Read an image file and bring it to `height × width`. */
export async function loadImage(
  path: string,
  height: number,
  width: number,
  crop: CropMode = "auto",
): Promise<ImageTensor> {
  return preprocessImage(await readImage(path), height, width, crop, path);
}

/** The identity of an image reference: its folder (`Name/Name_0001` → `Name`). */
export function identityOf(ref: string): string {
  const slash = ref.lastIndexOf("/");
  return slash >= 0 ? ref.slice(0, slash) : ref;
}
