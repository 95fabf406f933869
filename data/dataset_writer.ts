/**
 * Writing a dataset: images are written atomically (temp file + rename), then one manifest line
 * is appended; the newline commits the record. Re-opening resumes: `has()` reports what is
 * committed, a torn last line is dropped, an image file without a manifest line is rewritten.
 */
import {
  canonicalJson,
  checkClasses,
  type DatasetHeader,
  DatasetHeaderSchema,
  datasetIdentity,
  type DatasetRecord,
  describeIssue,
  ManifestError,
  parseRecord,
  recordLine,
  sameDataset,
  type Shard,
  ShardSchema,
} from "./dataset_schema.ts";
import {
  listManifests,
  manifestName,
  readManifest,
  sha256Hex,
  TMP_DIR,
  writeAtomic,
} from "./dataset_files.ts";
import { imageInfo } from "./image_info.ts";

/** Options of `DatasetWriter.open`. */
export interface DatasetWriterOptions {
  /**
   * Write shard `index` of `count` (1-based) into its own manifest file, so several processes
   * may fill the same folder at once. Which records belong to which shard is the caller's
   * choice; the reader merges the shards into one canonical order.
   */
  shard?: Shard;
}

/** A record as the caller gives it: the writer adds `kind`, `sha256` and `bytes`. */
export type DatasetRecordInput = Omit<DatasetRecord, "kind" | "sha256" | "bytes">;

/**
 * Writes images and their manifest records into a dataset folder.
 *
 * @example
 * ```ts
 * import { DatasetWriter, encodePng } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const w = await DatasetWriter.open(dir, {
 *   kind: "header", schema_version: 1, image: { height: 2, width: 2, channels: 3 },
 *   layout: "class_dir", generator: null, num_classes: 1, source: "real",
 * });
 * const png = encodePng({ channels: 3, height: 2, width: 2, data: new Uint8Array(12) });
 * if (!w.has("0/a.png")) await w.write({ path: "0/a.png", class: 0, label: [[0, 1]] }, png);
 * await w.close();
 * ```
 */
export class DatasetWriter {
  readonly #dir: string;
  readonly #header: DatasetHeader;
  readonly #tmpPrefix: string;
  readonly #manifest: string;
  readonly #done: Set<string>;
  readonly #inFlight = new Set<string>();
  readonly #madeDirs = new Set<string>();
  #file: Deno.FsFile | undefined;
  #appends: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    dir: string,
    header: DatasetHeader,
    manifest: string,
    tmpPrefix: string,
    done: Set<string>,
    file: Deno.FsFile,
  ) {
    this.#dir = dir;
    this.#header = header;
    this.#manifest = manifest;
    this.#tmpPrefix = tmpPrefix;
    this.#done = done;
    this.#file = file;
  }

  /**
   * Open `dir` for writing (created if missing). When it already holds this dataset (same
   * header, any shard), resume; when it holds a different one, or files that are not a
   * dataset, throw without touching anything.
   */
  static async open(
    dir: string,
    header: DatasetHeader,
    opts: DatasetWriterOptions = {},
  ): Promise<DatasetWriter> {
    const shard = opts.shard === undefined ? undefined : ShardSchema.parse(opts.shard);
    const parsed = DatasetHeaderSchema.safeParse(header);
    if (!parsed.success) {
      throw new ManifestError(`DatasetWriter.open(${dir}): header: ${describeIssue(parsed.error)}`);
    }
    const identity = datasetIdentity(parsed.data);
    const ownName = manifestName(shard);

    // Check everything already there before writing a byte. A concurrent shard may create its
    // manifest (always before any image) while we look, hence the second listing.
    let names = await listManifests(dir);
    if (names.length === 0) {
      const entries = await listEntries(dir);
      names = await listManifests(dir);
      const other = entries.find((e) => e !== TMP_DIR);
      if (names.length === 0 && other !== undefined) {
        throw new ManifestError(
          `${dir}: not empty and has no manifest.jsonl (found "${other}"); refusing to write a dataset into it`,
        );
      }
    }
    const done = new Set<string>();
    let ownExists = false;
    for (const name of names) {
      const m = await readManifest(dir, name);
      if (!sameDataset(m.header, identity)) {
        throw new ManifestError(
          `${dir}/${name}: holds a different dataset (${headerDiff(m.header, identity)}); ` +
            `refusing to write into it`,
        );
      }
      for (const r of m.records) done.add(r.path);
      if (name === ownName) ownExists = true;
    }

    const tmpDir = `${dir}/${TMP_DIR}`;
    await Deno.mkdir(tmpDir, { recursive: true });
    const tmpPrefix = ownName.replace(/\.jsonl$/, "");
    const path = `${dir}/${ownName}`;
    if (!ownExists) {
      const line = JSON.stringify(shard ? { ...identity, shard } : identity) + "\n";
      await writeAtomic(path, new TextEncoder().encode(line), tmpDir, tmpPrefix);
    }
    // One writer per manifest file: an advisory lock, released by the OS if the process dies.
    const file = await Deno.open(path, { append: true });
    if (!(await file.tryLock(true))) {
      file.close();
      throw new ManifestError(
        `${path}: another writer has this manifest open (two processes writing the same shard?)`,
      );
    }
    try {
      // Under the lock: drop a torn tail left by a killed writer, and its stale temp files.
      const own = await readManifest(dir, ownName);
      if (own.torn) await Deno.truncate(path, own.committedBytes);
      await removeStaleTemps(tmpDir, tmpPrefix);
    } catch (e) {
      file.close();
      throw e;
    }
    return new DatasetWriter(dir, identity, path, tmpPrefix, done, file);
  }

  /** The dataset header (without shard). */
  get header(): DatasetHeader {
    return this.#header;
  }

  /** Number of records committed in the folder (all shards, as of open) plus written since. */
  get size(): number {
    return this.#done.size;
  }

  /** True when `path` is committed (by any shard as of open, or by this writer). */
  has(path: string): boolean {
    return this.#done.has(path);
  }

  /**
   * Write one image: the bytes atomically at `record.path`, then its manifest line. Checks the
   * record against the schema and the header (classes in range, image size and channels).
   * Concurrent calls are fine; manifest lines are appended one at a time.
   */
  async write(record: DatasetRecordInput, bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error(`${this.#manifest}: writer is closed`);
    const where = `${this.#dir}/${record.path}`;
    if (this.#done.has(record.path) || this.#inFlight.has(record.path)) {
      throw new ManifestError(`${where}: already in the dataset (check has() before writing)`);
    }
    this.#inFlight.add(record.path);
    try {
      const sha256 = await sha256Hex(bytes);
      const full = parseRecord(
        { kind: "image", ...record, sha256, bytes: bytes.length },
        this.#header,
        `${this.#manifest} (record ${record.path})`,
      );
      checkClasses(full, this.#header, where);
      const info = imageInfo(bytes, where);
      const want = this.#header.image;
      if (info.height !== want.height || info.width !== want.width) {
        throw new ManifestError(
          `${where}: image is ${info.height}×${info.width}, the header says ${want.height}×${want.width}`,
        );
      }
      if (info.channels !== want.channels) {
        throw new ManifestError(
          `${where}: image has ${info.channels} channel(s), the header says ${want.channels}`,
        );
      }
      const ext = full.path.slice(full.path.lastIndexOf(".") + 1).toLowerCase();
      if ((ext === "jpg" ? "jpeg" : ext) !== info.format) {
        throw new ManifestError(`${where}: extension ".${ext}" but the bytes are ${info.format}`);
      }
      const classDir = `${this.#dir}/${full.path.slice(0, full.path.indexOf("/"))}`;
      if (!this.#madeDirs.has(classDir)) {
        await Deno.mkdir(classDir, { recursive: true });
        this.#madeDirs.add(classDir);
      }
      await writeAtomic(
        `${this.#dir}/${full.path}`,
        bytes,
        `${this.#dir}/${TMP_DIR}`,
        this.#tmpPrefix,
      );
      await this.#append(recordLine(full));
      this.#done.add(full.path);
    } finally {
      this.#inFlight.delete(record.path);
    }
  }

  #append(line: string): Promise<void> {
    const bytes = new TextEncoder().encode(line + "\n");
    const next = this.#appends.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#file!.write(bytes.subarray(off));
    });
    // Keep the chain alive after a failure; the failing write still rejects to its caller.
    this.#appends = next.catch(() => {});
    return next;
  }

  /** Wait for pending appends, flush the manifest to disk and close it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#appends;
    const file = this.#file!;
    this.#file = undefined;
    try {
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.remove(`${this.#dir}/${TMP_DIR}`).catch(() => {}); // only if empty
  }
}

/** Which top-level header fields differ, for the "different dataset" error. */
function headerDiff(a: DatasetHeader, b: DatasetHeader): string {
  const ai = datasetIdentity(a) as unknown as Record<string, unknown>;
  const bi = datasetIdentity(b) as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ai), ...Object.keys(bi)])].sort();
  const diffs = keys.filter((k) => canonicalJson(ai[k]) !== canonicalJson(bi[k]));
  const text = (v: unknown) => canonicalJson(v) ?? "absent";
  return diffs.map((k) => `field "${k}": on disk ${text(ai[k])}, given ${text(bi[k])}`).join("; ");
}

async function listEntries(dir: string): Promise<string[]> {
  try {
    return await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function removeStaleTemps(tmpDir: string, prefix: string): Promise<void> {
  // Only this shard's temps: another shard may be writing right now, and one that closes
  // removes the (then empty) temp folder, so a folder gone meanwhile has nothing stale in it.
  for (const name of await listEntries(tmpDir)) {
    if (name.startsWith(prefix + "-")) await Deno.remove(`${tmpDir}/${name}`).catch(() => {});
  }
}
