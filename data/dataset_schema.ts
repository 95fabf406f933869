/**
 * The dataset manifest format: one JSON object per line, a header first, then one record per
 * image. See `data/README.md` for the on-disk layout.
 */
import { z } from "./deps.ts";

/** Current manifest schema version; readers reject other versions. */
export const DATASET_SCHEMA_VERSION = 1;

/** Which shard of a sharded write a manifest file holds: `index` of `count`, 1-based. */
export const ShardSchema = z.object({
  /** 1-based shard number. */
  index: z.number().int().min(1),
  /** Number of shards. */
  count: z.number().int().min(1),
}).refine((s) => s.index <= s.count, { message: "shard index must be ≤ count" });

/** A shard of a sharded write: `index` of `count`, 1-based. */
export type Shard = z.infer<typeof ShardSchema>;

/** The first line of every manifest file: image size, layout, generator id, class count. */
export const DatasetHeaderSchema = z.object({
  /** Always `"header"`: the first line of a manifest. */
  kind: z.literal("header"),
  /** Manifest schema version (1). */
  schema_version: z.literal(DATASET_SCHEMA_VERSION),
  /** Size and channels every image must have (1 grey, 3 RGB). */
  image: z.object({
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
  }),
  /** `"class_dir"`: images live in `<class dir>/<file>`. */
  layout: z.literal("class_dir"),
  /** Generator id (e.g. `"embedded-3dmm@1"`), or null for real photographs. */
  generator: z.string().nullable(),
  /** Number of classes; every class index and label class is below it. */
  num_classes: z.number().int().positive(),
  /** Whether the images are generated or real photographs. */
  source: z.enum(["synthetic", "real"]),
  /** Whatever configuration produced the set (generator preset, mixup settings…). */
  config: z.unknown().optional(),
  /**
   * Set only in the header line of a shard's manifest file; never part of the dataset's
   * identity, and `openDataset` returns headers without it.
   */
  shard: ShardSchema.optional(),
});

/** Dataset header: image size, layout, generator id, class count. */
export type DatasetHeader = z.infer<typeof DatasetHeaderSchema>;

const IMAGE_PATH = /^[^/\\]+\/[^/\\]+\.(png|jpg|jpeg|pgm)$/i;

/** One image: where it is, its class, its soft label, where it came from, its hash. */
export const DatasetRecordSchema = z.object({
  /** Always `"image"`. */
  kind: z.literal("image"),
  /** Relative `<class dir>/<file>.png` (forward slashes, no `.`/`..` segments). */
  path: z.string().regex(IMAGE_PATH, 'expected "<class dir>/<file>.png|jpg|jpeg|pgm"')
    .refine((p) => !p.split("/").some((s) => s === "." || s === ".." || s.startsWith(".")), {
      message: "path segments may not be '.', '..' or hidden",
    }),
  /** The image's class index (its primary identity; its folder). */
  class: z.number().int().min(0),
  /** Soft label: `[class, weight]` pairs, weights in [0, 1] summing to 1 (Identity Mixup survives). */
  label: z.array(z.tuple([z.number().int().min(0), z.number().min(0).max(1)])).min(1)
    .superRefine((label, ctx) => {
      const sum = label.reduce((s, [, w]) => s + w, 0);
      if (Math.abs(sum - 1) > 1e-6) {
        ctx.addIssue({ code: "custom", message: `weights sum to ${round(sum)}, expected 1` });
      }
      const classes = new Set(label.map(([c]) => c));
      if (classes.size !== label.length) {
        ctx.addIssue({ code: "custom", message: "a class appears twice" });
      }
    }),
  /** For synthetic images: seed/identity/index/partner/phi/vary… whatever regenerates it. */
  latent: z.record(z.string(), z.unknown()).optional(),
  /** For real images: where the photograph came from (e.g. its path in the source set). */
  source: z.string().optional(),
  /** Lowercase hex SHA-256 of the image file's bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits"),
  /** Size of the image file in bytes (absent in manifests written before it was recorded). */
  bytes: z.number().int().min(0).optional(),
});

/** One image record of a manifest. */
export type DatasetRecord = z.infer<typeof DatasetRecordSchema>;

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Raised for manifests that fail the schema or disagree with the files; names file:line. */
export class ManifestError extends Error {
  override name = "ManifestError";
}

/** `field "label": weights sum to 0.7, expected 1` from a zod error. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue.path.length > 0 ? `field "${issue.path.join(".")}": ` : "";
  return `${field}${issue.message}`;
}

/**
 * `text`, the content of `file`, as JSON validated by `schema`. Errors name the file and, when
 * the schema refuses it, the field (`describeIssue`).
 */
export function parseJsonText<T>(text: string, file: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new Error(`${file}: ${describeIssue(r.error)}`);
  return r.data;
}

/** `file` as JSON validated by `schema` (see `parseJsonText`); null when it does not exist. */
export async function readJsonFile<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return parseJsonText(text, file, schema);
}

/** Parse and validate one header line; `where` is `file:line` for the error. */
export function parseHeader(value: unknown, where: string): DatasetHeader {
  const r = DatasetHeaderSchema.safeParse(value);
  if (!r.success) throw new ManifestError(`${where}: header: ${describeIssue(r.error)}`);
  return r.data;
}

/**
 * Parse one image record and check it against the header (class indices in range).
 * `where` is `file:line` for the error.
 */
export function parseRecord(value: unknown, header: DatasetHeader, where: string): DatasetRecord {
  const r = DatasetRecordSchema.safeParse(value);
  if (!r.success) throw new ManifestError(`${where}: ${describeIssue(r.error)}`);
  checkClasses(r.data, header, where);
  return r.data;
}

/** Class and label classes must lie in `[0, num_classes)`. */
export function checkClasses(
  record: Pick<DatasetRecord, "class" | "label">,
  header: DatasetHeader,
  where: string,
): void {
  const n = header.num_classes;
  if (record.class >= n) {
    throw new ManifestError(
      `${where}: field "class": ${record.class} out of range, expected < ${n}`,
    );
  }
  for (const [c] of record.label) {
    if (c >= n) {
      throw new ManifestError(`${where}: field "label": class ${c} out of range, expected < ${n}`);
    }
  }
}

/** The header without shard information: what identifies the dataset. */
export function datasetIdentity(header: DatasetHeader): DatasetHeader {
  const { shard: _shard, ...rest } = header;
  return rest;
}

/** JSON with object keys sorted, so equal headers compare equal as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/** True when two headers describe the same dataset (shard ignored). */
export function sameDataset(a: DatasetHeader, b: DatasetHeader): boolean {
  return canonicalJson(datasetIdentity(a)) === canonicalJson(datasetIdentity(b));
}

/** Canonical record order: by class, then by path (code-unit order, locale independent). */
export function compareRecords(a: DatasetRecord, b: DatasetRecord): number {
  if (a.class !== b.class) return a.class - b.class;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** One manifest line (no newline) with a fixed key order. */
export function recordLine(record: DatasetRecord): string {
  const { kind, path, class: cls, label, latent, source, sha256, bytes } = record;
  return JSON.stringify({ kind, path, class: cls, label, latent, source, sha256, bytes });
}
