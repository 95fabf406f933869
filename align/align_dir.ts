/**
 * Align every photo of a folder (`<class>/<file>` or flat) into a mirror folder: crops under the
 * same relative paths, `align.csv` (see `align_csv.ts`) and `align_summary.json`. Resumable: each
 * row is appended to a journal as soon as its crop is written, so a killed run continues where it
 * stopped; the final files are written atomically, rows in path order, so a resumed run and one
 * uninterrupted run leave the same files. `--shard i/n` runs write their own
 * `align.shard-i-of-n.csv`; whichever finishes last merges them into `align.csv`.
 * @module
 */
import {
  type Ep,
  type EpChoice,
  EPS,
  exists,
  formatDuration,
  listImages,
  resolveEp,
  writeFileAtomic,
  writeJsonAtomic,
} from "../data/mod.ts";
import { FACEPLUGIN, z } from "./deps.ts";
import {
  ALIGN_CSV_COLUMNS,
  ALIGN_STATUSES,
  type AlignRow,
  type AlignStatus,
  formatAlignRow,
  parseAlignCsv,
} from "./align_csv.ts";
import { alignAll } from "./align_pool.ts";
import { DETECT_THRESHOLD } from "./detect.ts";
import { cropName } from "./photo.ts";
import type { CropSize } from "./similarity.ts";

/** Options of {@link alignDirectory}. */
export interface AlignDirectoryOptions {
  inDir: string;
  outDir: string;
  size?: CropSize;
  workers?: number;
  /** Execution provider (default `auto`); recorded in `align.json` and `align_summary.json`. */
  ep?: EpChoice;
  /** Intra-op threads per worker on `node` (default 1). */
  threads?: number;
  /** 1-based shard `index` of `count`: files whose sorted position ≡ index−1 (mod count). */
  shard?: { index: number; count: number };
  minScore?: number;
  /** Progress lines on stderr (default true). */
  progress?: boolean;
}

/** What a run did. */
export interface AlignSummary {
  /** The execution provider the models ran on. */
  ep: Ep;
  /** Images in this run's share (shard) of the input. */
  total: number;
  /** Rows found done from an earlier run. */
  skipped: number;
  counts: Record<AlignStatus, number>;
  noFace: string[];
  bad: { path: string; error: string }[];
  seconds: number;
}

/** Settings stored in `align.json`; a rerun with other settings into the same folder is refused. */
export const AlignSettingsSchema = z.object({
  models: z.string(),
  size: z.enum(["112", "112x96"]),
  minScore: z.number(),
  /** Folders written before the EP was recorded were all made on wasm. */
  ep: z.enum(EPS).default("wasm"),
});
/** Parsed `align.json`. */
export type AlignSettings = z.infer<typeof AlignSettingsSchema>;

const SummaryFileSchema = z.object({
  bad: z.array(z.object({ path: z.string(), error: z.string() })),
}).passthrough();

/** Raised for a bad `--in`/`--out` or settings that clash with the folder's `align.json`. */
export class AlignUsageError extends Error {
  override name = "AlignUsageError";
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The `bad` list of a summary file; none when it is absent or not one. */
async function badOf(path: string): Promise<{ path: string; error: string }[]> {
  const text = await readText(path);
  const s = text === undefined ? undefined : SummaryFileSchema.safeParse(JSON.parse(text));
  return s?.success ? s.data.bad : [];
}

/** Align a folder of photos; see the module doc. */
export async function alignDirectory(options: AlignDirectoryOptions): Promise<AlignSummary> {
  const t0 = performance.now();
  const inDir = options.inDir.replace(/\/+$/, "") || "/";
  const outDir = options.outDir.replace(/\/+$/, "") || "/";
  const size = options.size ?? "112";
  const minScore = options.minScore ?? DETECT_THRESHOLD;
  const progress = options.progress ?? true;
  if (!(await Deno.stat(inDir).then((s) => s.isDirectory, () => false))) {
    throw new AlignUsageError(`--in ${inDir}: not a folder`);
  }
  await Deno.mkdir(outDir, { recursive: true });
  if ((await Deno.realPath(inDir)) === (await Deno.realPath(outDir))) {
    throw new AlignUsageError(`--out ${outDir}: must differ from --in`);
  }

  // Settings: the same folder always holds crops of one kind, made on one EP (native kernels
  // round differently from wasm).
  const ep = await resolveEp(options.ep ?? "auto");
  const settings: AlignSettings = { models: FACEPLUGIN, size, minScore, ep };
  const settingsPath = `${outDir}/align.json`;
  const prevText = await readText(settingsPath);
  if (prevText !== undefined) {
    const prev = AlignSettingsSchema.safeParse(JSON.parse(prevText));
    if (!prev.success) throw new AlignUsageError(`${settingsPath}: not an align settings file`);
    if (JSON.stringify(prev.data) !== JSON.stringify(settings)) {
      throw new AlignUsageError(
        `${outDir} holds crops made with ${JSON.stringify(prev.data)}, this run asks for ${
          JSON.stringify(settings)
        }: use another --out`,
      );
    }
  } else await writeJsonAtomic(settingsPath, settings);

  const all = await listImages(inDir, outDir);
  const shard = options.shard;
  const mine = shard ? all.filter((_, i) => i % shard.count === shard.index - 1) : all;
  const mineSet = new Set(mine);
  const tag = shard ? `.shard-${shard.index}-of-${shard.count}` : "";
  const journal = `${outDir}/align${tag}.journal.csv`;

  // What earlier runs finished: the merged CSV, this share's CSV, and the journal.
  const done = new Map<string, AlignRow>();
  const prevBad = new Map<string, string>();
  for (const f of new Set([`${outDir}/align.csv`, `${outDir}/align${tag}.csv`])) {
    const text = await readText(f);
    if (text !== undefined) {
      for (const r of parseAlignCsv(text, f)) if (mineSet.has(r.path)) done.set(r.path, r);
    }
  }
  for (const b of await badOf(`${outDir}/align_summary${tag}.json`)) prevBad.set(b.path, b.error);
  const journalText = await readText(journal);
  if (journalText !== undefined) {
    for (const line of journalText.split("\n").filter((l) => l.startsWith("#bad\t"))) {
      const [, path, error] = line.split("\t");
      prevBad.set(path, error);
    }
    const rowsText = journalText.split("\n").filter((l) => !l.startsWith("#bad\t")).join("\n");
    for (const r of parseAlignCsv(rowsText, journal, { header: false, dropPartialLast: true })) {
      if (mineSet.has(r.path)) done.set(r.path, r);
    }
  }
  // A row counts as done only with its crop on disk.
  for (const [path, r] of [...done]) {
    if (r.status === "ok" || r.status === "several_faces") {
      if (!(await exists(`${outDir}/${cropName(path)}`))) done.delete(path);
    }
  }

  const todo = mine.filter((p) => !done.has(p));
  const rows = new Map(done);
  const bad = new Map<string, string>();
  for (const [p, r] of done) {
    if (r.status === "bad_image") bad.set(p, prevBad.get(p) ?? "(reported by an earlier run)");
  }
  if (todo.length) {
    const jf = await Deno.open(journal, { append: true, create: true });
    const enc = new TextEncoder();
    try {
      await alignAll(todo, {
        inDir,
        workers: options.workers,
        minScore,
        size,
        ep,
        threads: options.threads,
        cropPath: (rel) => `${outDir}/${cropName(rel)}`,
        identity: (rel) => rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : "",
        onResult: async (rel, { row, error }) => {
          rows.set(rel, row);
          let line = formatAlignRow(row) + "\n";
          if (error !== undefined) {
            bad.set(rel, error);
            if (progress) console.error(`align: bad_image ${error}`);
            line = `#bad\t${rel}\t${error.replaceAll(/[\t\n]/g, " ")}\n` + line;
          }
          await jf.write(enc.encode(line));
        },
        progress: progress
          ? (finished, rate) =>
            `align: ${done.size + finished}/${mine.length} (${finished} this run), ` +
            `${rate.toFixed(1)} images/s, ETA ${formatDuration((todo.length - finished) / rate)}`
          : undefined,
      });
    } finally {
      jf.close();
    }
  }

  const ordered = mine.map((p) => rows.get(p)!);
  const seconds = (performance.now() - t0) / 1000;
  const badRows = ordered.filter((r) => r.status === "bad_image").map((r) => ({
    path: r.path,
    error: bad.get(r.path) ?? "",
  }));
  const stable = await writeResults(outDir, tag, ep, ordered, badRows);
  await Deno.remove(journal).catch(() => {});
  if (shard) await mergeShards(outDir, all, shard.count, ep);
  return { ...stable, skipped: done.size, seconds };
}

/**
 * Write `align_summary<tag>.json` (what a rerun reproduces: no times) and `align<tag>.csv` of
 * `rows`, both in path order; returns the summary written.
 */
async function writeResults(
  outDir: string,
  tag: string,
  ep: Ep,
  rows: AlignRow[],
  bad: AlignSummary["bad"],
): Promise<Omit<AlignSummary, "skipped" | "seconds">> {
  const counts = Object.fromEntries(ALIGN_STATUSES.map((s) => [s, 0])) as Record<
    AlignStatus,
    number
  >;
  const sorted = rows.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const r of sorted) counts[r.status]++;
  const noFace = sorted.filter((r) => r.status === "no_face").map((r) => r.path);
  const summary = { ep, total: rows.length, counts, noFace, bad };
  await writeJsonAtomic(`${outDir}/align_summary${tag}.json`, summary);
  const csv = [ALIGN_CSV_COLUMNS.join(","), ...sorted.map(formatAlignRow)].join("\n") + "\n";
  await writeFileAtomic(`${outDir}/align${tag}.csv`, csv);
  return summary;
}

/** When every shard's CSV is there, write `align.csv` and `align_summary.json` from them. */
async function mergeShards(
  outDir: string,
  all: string[],
  count: number,
  ep: Ep,
): Promise<void> {
  const rows: AlignRow[] = [];
  const bad: { path: string; error: string }[] = [];
  for (let i = 1; i <= count; i++) {
    const f = `${outDir}/align.shard-${i}-of-${count}.csv`;
    const text = await readText(f);
    if (text === undefined) return;
    rows.push(...parseAlignCsv(text, f));
    bad.push(...await badOf(`${outDir}/align_summary.shard-${i}-of-${count}.json`));
  }
  const have = new Set(rows.map((r) => r.path));
  if (!all.every((p) => have.has(p))) return;
  bad.sort((a, b) => (a.path < b.path ? -1 : 1));
  await writeResults(outDir, "", ep, rows, bad);
}
