/**
 * File-level pieces of the dataset format shared by the writer and the reader: manifest file
 * names, reading a manifest file (dropping an uncommitted torn tail), hashing, atomic writes.
 */
import {
  type DatasetHeader,
  type DatasetRecord,
  ManifestError,
  parseHeader,
  parseRecord,
  type Shard,
} from "./dataset_schema.ts";

/** Manifest of a single (unsharded) write. */
export const MANIFEST = "manifest.jsonl";
/** Folder (inside the dataset) for temp files; renamed into place when complete. */
export const TMP_DIR = ".tmp";

const SHARD_NAME = /^manifest\.shard-(\d+)-of-(\d+)\.jsonl$/;

/** `manifest.jsonl`, or `manifest.shard-<index>-of-<count>.jsonl` for a shard. */
export function manifestName(shard?: Shard): string {
  return shard ? `manifest.shard-${shard.index}-of-${shard.count}.jsonl` : MANIFEST;
}

/** The shard a manifest file name denotes: null for `manifest.jsonl`, undefined if not a manifest. */
export function shardOfName(name: string): Shard | null | undefined {
  if (name === MANIFEST) return null;
  const m = SHARD_NAME.exec(name);
  if (!m) return undefined;
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Names of the manifest files in `dir`, sorted (empty when there are none or no dir). */
export async function listManifests(dir: string): Promise<string[]> {
  try {
    const entries = await Array.fromAsync(Deno.readDir(dir));
    const manifests = entries.filter((e) => e.isFile && shardOfName(e.name) !== undefined);
    return manifests.map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** A parsed manifest file. */
export interface ManifestFile {
  name: string;
  header: DatasetHeader;
  records: DatasetRecord[];
  /** Byte length of the committed part (through the last newline). */
  committedBytes: number;
  /** True when bytes after the last newline were dropped (a write cut short by a kill). */
  torn: boolean;
}

/**
 * Read and validate a manifest file. A record is committed by its trailing newline, so bytes
 * after the last newline are an interrupted append and are ignored (`torn`). Everything else
 * must parse: errors read `manifest.jsonl:17: field "label": …`.
 */
export async function readManifest(dir: string, name: string): Promise<ManifestFile> {
  const bytes = await Deno.readFile(`${dir}/${name}`);
  const end = bytes.lastIndexOf(0x0a) + 1;
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  const lines = text.split("\n");
  lines.pop(); // after the last newline
  if (lines.length === 0) {
    throw new ManifestError(`${dir}/${name}:1: expected a header line, the file is empty`);
  }
  const expectShard = shardOfName(name);
  let header: DatasetHeader | undefined;
  const records: DatasetRecord[] = [];
  const seen = new Map<string, number>();
  lines.forEach((line, i) => {
    const where = `${dir}/${name}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ManifestError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (i === 0) {
      header = parseHeader(value, where);
      const got = header.shard;
      const want = expectShard ?? undefined;
      if (got?.index !== want?.index || got?.count !== want?.count) {
        throw new ManifestError(
          `${where}: field "shard": ${JSON.stringify(got ?? null)} ` +
            `does not match the file name ${JSON.stringify(want ?? null)}`,
        );
      }
      return;
    }
    const record = parseRecord(value, header!, where);
    const prev = seen.get(record.path);
    if (prev !== undefined) {
      throw new ManifestError(`${where}: field "path": "${record.path}" already on line ${prev}`);
    }
    seen.set(record.path, i + 1);
    records.push(record);
  });
  return { name, header: header!, records, committedBytes: end, torn: end < bytes.length };
}

/** Lowercase hex SHA-256 of `data` (text is hashed as UTF-8). */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Write `bytes` to `path` atomically: into `tmpDir` first, then rename, so readers and resumes
 * never see half a file. `tmpDir` must be on the same filesystem.
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  tmpDir: string,
  tmpPrefix: string,
): Promise<void> {
  const tmp = `${tmpDir}/${tmpPrefix}-${crypto.randomUUID()}.part`;
  try {
    try {
      await Deno.writeFile(tmp, bytes);
    } catch (e) {
      // Another shard's writer removes the (empty) temp folder when it closes.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(tmpDir, { recursive: true });
      await Deno.writeFile(tmp, bytes);
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
