/**
 * Reading datasets: a manifest dataset (one or several shard manifests, merged into one
 * canonical order), or a plain image folder (one sub-folder per class). Records are held in
 * memory (small JSON); images are read one at a time on request.
 */
import {
  compareRecords,
  type DatasetHeader,
  datasetIdentity,
  type DatasetRecord,
  ManifestError,
  recordLine,
  sameDataset,
} from "./dataset_schema.ts";
import { listManifests, readManifest, sha256Hex, shardOfName } from "./dataset_files.ts";
import {
  decodeRaw,
  ImageDecodeError,
  type ImageTensor,
  isImagePath,
  type RawImage,
  toTensor,
  type ToTensorOptions,
} from "./image.ts";
import { imageInfo } from "./image_info.ts";

/** Options of `Dataset.readImage`. */
export interface ReadImageOptions extends ToTensorOptions {
  /** Check the file's SHA-256 against the record first (manifest datasets only). */
  verifyHash?: boolean;
}

/** A dataset on disk, manifest-backed or a plain image folder. */
export interface Dataset {
  /** The folder, as given. */
  dir: string;
  /** `"manifest"` (our format) or `"folder"` (plain image folder, labels from folder names). */
  kind: "manifest" | "folder";
  /** Header (without shard information); synthesised for folders. */
  header: DatasetHeader;
  /** Number of images. */
  size: number;
  /** All records in canonical order (class, then path). A fresh array each call. */
  records(): DatasetRecord[];
  /** Class names by index: the class folder names. */
  classNames(): string[];
  /** The image file's bytes, exactly as stored. */
  readBytes(record: DatasetRecord): Promise<Uint8Array>;
  /** Decode to 8-bit HWC pixels, checked against the header's size. */
  readRaw(record: DatasetRecord, opts?: { verifyHash?: boolean }): Promise<RawImage>;
  /** Decode to a normalised RGB CHW float tensor (`toTensor` options), size-checked. */
  readImage(record: DatasetRecord, opts?: ReadImageOptions): Promise<ImageTensor>;
  /**
   * Check every image: present, hash matches (manifest datasets), size and channels match the
   * header. Throws on the first bad file, naming it.
   */
  verify(opts?: { onProgress?: (done: number, total: number) => void }): Promise<void>;
  /**
   * Fast check (one `stat` per image, no reads): every record's file exists and, where the
   * manifest records it, has the recorded size. Throws an `ImageDecodeError` saying how many
   * files are missing or changed and naming the first.
   */
  checkFiles(): Promise<void>;
}

/**
 * Where a manifest's header promises more than its records hold (an unfinished or cut `generate`),
 * in words, or undefined: fewer classes with images than `num_classes`, or fewer images than
 * `config.ids × config.per_id` of a balanced synthetic set.
 */
export function headerShortfall(ds: Dataset): string | undefined {
  if (ds.kind !== "manifest") return undefined;
  const h = ds.header;
  const records = ds.records();
  const classes = new Set(records.map((r) => r.class)).size;
  const cfg = (h.config ?? {}) as Record<string, unknown>;
  const balanced = cfg.long_tail === undefined || cfg.long_tail === "balanced";
  const want = typeof cfg.ids === "number" && typeof cfg.per_id === "number" && balanced
    ? cfg.ids * cfg.per_id
    : undefined;
  if (classes >= h.num_classes && (want === undefined || records.length >= want)) return undefined;
  const promised = want !== undefined ? `, ${want} images` : "";
  return `${ds.dir}: the header says ${h.num_classes} classes${promised}, ` +
    `the manifest holds ${classes} classes, ${records.length} images ` +
    "(an unfinished generate? rerun it with the same flags to complete the set)";
}

/**
 * Open a manifest dataset written by `DatasetWriter`: merges `manifest.jsonl` and any
 * `manifest.shard-K-of-N.jsonl` files (which must share one header and be complete), so a
 * sharded set reads exactly like a single-run set.
 *
 * @example
 * ```ts ignore
 * const ds = await openDataset("out/synthetic");
 * for (const r of ds.records()) console.log(r.path, r.label);
 * ```
 */
export async function openDataset(dir: string): Promise<Dataset> {
  const names = await listManifests(dir);
  if (names.length === 0) {
    throw new ManifestError(
      `${dir}: no manifest.jsonl (not a synface dataset; plain image folders open with openImageFolder)`,
    );
  }
  const files = await Array.fromAsync(names, (name) => readManifest(dir, name));
  const header = datasetIdentity(files[0].header);
  for (const f of files.slice(1)) {
    if (!sameDataset(f.header, header)) {
      throw new ManifestError(
        `${dir}/${f.name}: header differs from ${dir}/${files[0].name}: ` +
          "two different datasets in one folder",
      );
    }
  }
  checkShardsComplete(dir, names);

  const byPath = new Map<string, { record: DatasetRecord; file: string }>();
  for (const f of files) {
    for (const record of f.records) {
      const prev = byPath.get(record.path);
      if (prev === undefined) byPath.set(record.path, { record, file: f.name });
      else if (recordLine(prev.record) !== recordLine(record)) {
        throw new ManifestError(
          `${dir}/${f.name}: "${record.path}" is also in ${prev.file} with a different record`,
        );
      }
    }
  }
  const records = [...byPath.values()].map((v) => v.record).sort(compareRecords);
  return makeDataset(dir, "manifest", header, records, classNamesFromRecords(records, header));
}

function checkShardsComplete(dir: string, names: string[]): void {
  const counts = new Map<number, Set<number>>();
  for (const name of names) {
    const s = shardOfName(name);
    if (!s) continue;
    if (!counts.has(s.count)) counts.set(s.count, new Set());
    counts.get(s.count)!.add(s.index);
  }
  for (const [count, indices] of counts) {
    for (let k = 1; k <= count; k++) {
      if (!indices.has(k)) {
        throw new ManifestError(
          `${dir}: manifest.shard-${k}-of-${count}.jsonl is missing: the set was written in ${count} shards and shard ${k} has not started`,
        );
      }
    }
  }
}

function classNamesFromRecords(records: DatasetRecord[], header: DatasetHeader): string[] {
  const names = new Array<string>(header.num_classes).fill("");
  for (const r of records) {
    if (names[r.class] === "") names[r.class] = r.path.slice(0, r.path.indexOf("/"));
  }
  return names.map((n, i) => n === "" ? String(i) : n);
}

/** Options of `openImageFolder`. */
export interface ImageFolderOptions {
  /**
   * Require every image to have the first image's size when read (default true); turn off for
   * folders of mixed sizes (`header.image` is then the first image's size).
   */
  checkSize?: boolean;
}

/**
 * Open a plain image folder without manifest: each sub-folder is one class (sorted by name),
 * its `.png/.jpg/.jpeg/.pgm` files (sorted) are the images, labels are one-hot and `source` is
 * the relative path. Symlinked class folders and image files are followed (a dangling link is
 * an error naming it). Hidden entries, top-level files, other files and empty sub-folders are
 * skipped. `header.image` is the first image's size (read from its header bytes).
 */
export async function openImageFolder(
  dir: string,
  opts: ImageFolderOptions = {},
): Promise<Dataset> {
  const classes: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".")) continue;
    if ((await followEntry(dir, e)) === "dir") classes.push(e.name);
  }
  classes.sort(byCodeUnit);
  const records: DatasetRecord[] = [], kept: string[] = [];
  for (const name of classes) {
    const files: string[] = [];
    for await (const e of Deno.readDir(`${dir}/${name}`)) {
      if (e.name.startsWith(".") || !isImagePath(e.name)) continue;
      if ((await followEntry(`${dir}/${name}`, e)) === "file") files.push(e.name);
    }
    if (files.length === 0) continue;
    const cls = kept.length;
    kept.push(name);
    for (const file of files.sort(byCodeUnit)) {
      const path = `${name}/${file}`;
      records.push({
        kind: "image",
        path,
        class: cls,
        label: [[cls, 1]],
        source: path,
        sha256: "",
      });
    }
  }
  if (records.length === 0) {
    throw new ImageDecodeError(
      dir,
      "no images found: expected sub-folders (one per class) of .png/.jpg/.jpeg/.pgm files",
    );
  }
  const first = `${dir}/${records[0].path}`;
  const info = imageInfo(await readFileNamed(first), first);
  const header: DatasetHeader = {
    kind: "header",
    schema_version: 1,
    image: { height: info.height, width: info.width, channels: info.channels as 1 | 3 },
    layout: "class_dir",
    generator: null,
    num_classes: kept.length,
    source: "real",
  };
  return makeDataset(dir, "folder", header, records, kept, opts.checkSize ?? true);
}

/**
 * What a folder entry is, following symlinks (subsets are often made of links): "file", "dir"
 * or "other". A dangling link is an `ImageDecodeError` naming it, not an entry skipped in silence.
 */
async function followEntry(dir: string, e: Deno.DirEntry): Promise<"file" | "dir" | "other"> {
  if (!e.isSymlink) return e.isFile ? "file" : e.isDirectory ? "dir" : "other";
  try {
    const st = await Deno.stat(`${dir}/${e.name}`);
    return st.isFile ? "file" : st.isDirectory ? "dir" : "other";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      const target = await Deno.readLink(`${dir}/${e.name}`).catch(() => "?");
      throw new ImageDecodeError(`${dir}/${e.name}`, `broken symlink (to ${target})`);
    }
    throw err;
  }
}

/** `openDataset` when `dir` has a manifest, else `openImageFolder`. */
export async function openAnyDataset(dir: string): Promise<Dataset> {
  return (await listManifests(dir)).length > 0 ? openDataset(dir) : openImageFolder(dir);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function readFileNamed(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ImageDecodeError(path, "file not found (listed in the manifest)");
    }
    throw e;
  }
}

function makeDataset(
  dir: string,
  kind: "manifest" | "folder",
  header: DatasetHeader,
  records: DatasetRecord[],
  classNames: string[],
  checkSize = true,
): Dataset {
  const want = header.image;
  const checkHash = async (record: DatasetRecord, bytes: Uint8Array, file: string) => {
    if (kind !== "manifest") return;
    const got = await sha256Hex(bytes);
    if (got !== record.sha256) {
      throw new ImageDecodeError(
        file,
        `sha256 ${got} does not match the manifest's ${record.sha256}: the file changed or is corrupt`,
      );
    }
  };
  const checkShape = (h: number, w: number, c: number, file: string) => {
    if (checkSize && (h !== want.height || w !== want.width)) {
      throw new ImageDecodeError(
        file,
        `image is ${h}×${w}, expected ${want.height}×${want.width} (the dataset header)`,
      );
    }
    if (kind === "manifest" && c !== want.channels) {
      throw new ImageDecodeError(file, `image has ${c} channel(s), expected ${want.channels}`);
    }
  };
  const readBytes = (record: DatasetRecord) => readFileNamed(`${dir}/${record.path}`);
  const readRaw = async (record: DatasetRecord, opts: { verifyHash?: boolean } = {}) => {
    const file = `${dir}/${record.path}`;
    const bytes = await readFileNamed(file);
    if (opts.verifyHash) await checkHash(record, bytes, file);
    const raw = decodeRaw(bytes, file);
    checkShape(raw.height, raw.width, raw.channels, file);
    return raw;
  };
  return {
    dir,
    kind,
    header,
    size: records.length,
    records: () => records.slice(),
    classNames: () => classNames.slice(),
    readBytes,
    readRaw,
    readImage: async (record, opts = {}) => toTensor(await readRaw(record, opts), opts),
    verify: async (opts = {}) => {
      // A few reads in flight keep the disk busy without holding many images in memory.
      let done = 0;
      await eachRecord(records, dir, 8, async (record, file) => {
        const bytes = await readFileNamed(file);
        await checkHash(record, bytes, file);
        const info = imageInfo(bytes, file);
        checkShape(info.height, info.width, info.channels, file);
        if (kind === "folder") decodeRaw(bytes, file); // no hash: decoding is the check
        opts.onProgress?.(++done, records.length);
      });
    },
    checkFiles: async () => {
      const problems: string[] = [];
      await eachRecord(records, dir, 16, async (record, file) => {
        try {
          const st = await Deno.stat(file);
          if (!st.isFile) problems.push(`${file}: not a file`);
          else if (record.bytes !== undefined && st.size !== record.bytes) {
            problems.push(
              `${file}: ${st.size} bytes, the manifest says ${record.bytes} (changed or swapped)`,
            );
          }
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          problems.push(`${file}: file not found (listed in the manifest)`);
        }
      });
      if (problems.length) {
        problems.sort();
        throw new ImageDecodeError(
          dir,
          `${problems.length} of ${records.length} images missing or changed; ` +
            `first: ${problems[0]}`,
        );
      }
    },
  };
}

/** Runs `fn` on every record (and its file's path) with `inFlight` calls at a time. */
async function eachRecord(
  records: readonly DatasetRecord[],
  dir: string,
  inFlight: number,
  fn: (record: DatasetRecord, file: string) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const record = records[next++];
      await fn(record, `${dir}/${record.path}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}
