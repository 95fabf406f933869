/**
 * `align.csv`: one row per input image, in path order. The shared data's log columns
 * (`path,identity,score,x1,y1,x2,y2,l0x,l0y,…,l4x,l4y,status`: points in source pixels,
 * image-left eye, image-right eye, nose tip, image-left and image-right mouth corner), then the 68
 * landmarks `p0x,p0y,…,p67x,p67y` (iBUG order, source pixels). Rows without a face leave the
 * numeric fields empty.
 * @module
 */
import { describeIssue } from "../data/mod.ts";
import { z } from "./deps.ts";

/** What happened to an image. */
export const ALIGN_STATUSES = ["ok", "several_faces", "no_face", "bad_image"] as const;
export type AlignStatus = (typeof ALIGN_STATUSES)[number];

/** The CSV header, in order. */
export const ALIGN_CSV_COLUMNS: readonly string[] = [
  "path",
  "identity",
  "score",
  "x1",
  "y1",
  "x2",
  "y2",
  ...Array.from({ length: 5 }, (_, i) => [`l${i}x`, `l${i}y`]).flat(),
  "status",
  ...Array.from({ length: 68 }, (_, i) => [`p${i}x`, `p${i}y`]).flat(),
];

/** One row of `align.csv` (`null`s where no face was found), validated when it is read back. */
export const AlignRowSchema = z.object({
  /** Path relative to `--in`, `/`-separated. */
  path: z.string().min(1),
  /** The class folder (`<class>/<file>`), or `""` for a flat folder. */
  identity: z.string(),
  /** Detector score of the face. */
  score: z.number().min(0).max(1).nullable(),
  /** Detector box `[x1, y1, x2, y2]` in source pixels. */
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable(),
  /** The 5 alignment points in source pixels. */
  points5: z.array(z.tuple([z.number(), z.number()])).length(5).nullable(),
  status: z.enum(ALIGN_STATUSES),
  /** The 68 landmarks in source pixels. */
  landmarks68: z.array(z.tuple([z.number(), z.number()])).length(68).nullable(),
});
/** One row of `align.csv`. */
export type AlignRow = z.infer<typeof AlignRowSchema>;

function quote(field: string): string {
  return /[",\n\r]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** The CSV line of a row (no newline). Score with 4 decimals, coordinates with 2. */
export function formatAlignRow(row: AlignRow): string {
  const f2 = (v: number) => v.toFixed(2);
  const fields = [
    quote(row.path),
    quote(row.identity),
    row.score === null ? "" : row.score.toFixed(4),
    ...(row.box ? row.box.map(f2) : ["", "", "", ""]),
    ...(row.points5 ? row.points5.flat().map(f2) : Array(10).fill("")),
    row.status,
    ...(row.landmarks68 ? row.landmarks68.flat().map(f2) : Array(136).fill("")),
  ];
  return fields.join(",");
}

/** Split one CSV line (RFC 4180 quoting, no embedded newlines). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = "";
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      i++; // the comma
    } else {
      const j = line.indexOf(",", i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

/**
 * Parse `align.csv` text (or a journal of its rows without the header when `header` is false).
 * `file` names the source in errors. A last line without its newline (a killed append) is
 * dropped when `dropPartialLast` is set.
 */
export function parseAlignCsv(
  text: string,
  file: string,
  options: { header?: boolean; dropPartialLast?: boolean } = {},
): AlignRow[] {
  const { header = true, dropPartialLast = false } = options;
  let lines = text.split("\n");
  const last = lines.pop()!; // "" when the text ends with a newline
  if (last !== "" && !dropPartialLast) lines.push(last);
  lines = lines.map((l) => l.replace(/\r$/, ""));
  let start = 0;
  if (header) {
    const want = ALIGN_CSV_COLUMNS.join(",");
    if (lines[0] !== want) {
      throw new Error(
        `${file}:1: expected the header "${want.slice(0, 60)}…", got "${
          (lines[0] ?? "").slice(0, 60)
        }…"`,
      );
    }
    start = 1;
  }
  const rows: AlignRow[] = [];
  for (let n = start; n < lines.length; n++) {
    const where = `${file}:${n + 1}`;
    const f = splitCsvLine(lines[n]);
    if (f.length !== ALIGN_CSV_COLUMNS.length) {
      throw new Error(`${where}: ${f.length} fields, expected ${ALIGN_CSV_COLUMNS.length}`);
    }
    const num = (s: string, col: string) => {
      const v = Number(s);
      if (s === "" || !Number.isFinite(v)) {
        throw new Error(`${where}: column ${col}: expected a number, got "${s}"`);
      }
      return v;
    };
    const hasFace = f[2] !== "";
    const pts = (from: number, count: number, prefix: string) =>
      Array.from(
        { length: count },
        (_, i) =>
          [
            num(f[from + 2 * i], `${prefix}${i}x`),
            num(f[from + 2 * i + 1], `${prefix}${i}y`),
          ] as [number, number],
      );
    const parsed = AlignRowSchema.safeParse({
      path: f[0],
      identity: f[1],
      score: hasFace ? num(f[2], "score") : null,
      box: hasFace ? [3, 4, 5, 6].map((i) => num(f[i], ALIGN_CSV_COLUMNS[i])) : null,
      points5: hasFace ? pts(7, 5, "l") : null,
      status: f[17],
      landmarks68: hasFace ? pts(18, 68, "p") : null,
    });
    if (!parsed.success) throw new Error(`${where}: ${describeIssue(parsed.error)}`);
    rows.push(parsed.data);
  }
  return rows;
}
