/**
 * The report of a reproduce run: `<out>/report/README.md` and `index.html` with every table
 * (both LFW protocols, mean ± std over folds), SVG bar charts, ROC curves, the figures the
 * stages made, exact configs, hardware, wall times, and the paper's numbers beside ours.
 *
 * Rendering is pure (`buildReportModel` in `report_model.ts` → `renderMarkdown` / `renderHtml`);
 * `writeReport` does the file work, atomically.
 */
import { formatDuration, writeJsonAtomic } from "../../data/mod.ts";
import { esc } from "../../eval/mod.ts";
import { generatorName, writeFileAtomic } from "./cache.ts";
import type { Preset } from "./plan_schema.ts";
import { trainSeeds } from "./presets.ts";
import {
  type Cell,
  type Hardware,
  type Protocol,
  PROTOCOLS,
  type RealismRow,
  type ReportExperiment,
  type ReportMeta,
  type ReportModel,
  type ReportTable,
} from "./report_model.ts";

/** `97.50 ± 1.20` (percent) or the missing text. */
export function fmtCell(cell: Cell, protocol: Protocol): string {
  if (cell.kind === "missing") return cell.text;
  const r = cell.results[protocol];
  if (!r) return "—";
  return `${(100 * r.accuracy).toFixed(2)} ± ${(100 * r.std).toFixed(2)}`;
}

const PAPER_NOTE = "Paper numbers: SynFace (Qiu et al., ICCV 2021), LFW accuracy %, from the " +
  "released checkpoints' names (`../shared/PAPER.md`); their generator is DiscoFaceGAN at " +
  "10K ids × 50 images, 112×96, LResNet50E-IR, 40 epochs. Ours: the embedded 3DMM-style " +
  "renderer at this preset's sizes, so compare trends, not values.";

function meaninglessBanner(p: Preset): string | null {
  return p.meaningless
    ? `**The \`${p.name}\` preset runs every stage at toy size: its numbers are meaningless** ` +
      "(it proves the pipeline works end to end, nothing more)."
    : null;
}

/** `97.25 / 97.80`: each seed's accuracy (%) in seed order, or the missing text. */
export function fmtSeeds(cell: Cell, protocol: Protocol): string {
  if (cell.kind === "missing") return cell.text;
  const v = cell.seeds.map((s) => s[protocol]);
  if (v.some((r) => r === undefined)) return "—";
  return v.map((r) => (100 * r!.accuracy).toFixed(2)).join(" / ");
}

/**
 * `+0.45 ± 0.30 (3/4)`: `cell` minus `reference` in accuracy points, seed by seed (seed k against
 * seed k: the same training seed and, with `--redraw-data`, the same draw of identities), as the
 * mean difference ± its standard error and how many seeds came out above; "—" where either cell
 * lacks a seed's result.
 */
export function fmtPaired(cell: Cell, reference: Cell, protocol: Protocol): string {
  if (cell.kind === "missing" || reference.kind === "missing") return "—";
  const a = cell.seeds.map((s) => s[protocol]?.accuracy);
  const b = reference.seeds.map((s) => s[protocol]?.accuracy);
  if (a.length !== b.length || a.length < 2 || [...a, ...b].some((v) => v === undefined)) {
    return "—";
  }
  const d = a.map((v, k) => 100 * (v! - b[k]!));
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1);
  const sign = mean >= 0 ? "+" : "−";
  const above = d.filter((v) => v > 0).length;
  return `${sign}${Math.abs(mean).toFixed(2)} ± ${Math.sqrt(variance / d.length).toFixed(2)} ` +
    `(${above}/${d.length})`;
}

/** What the paired table shows, said once above it. */
const PAIRED_NOTE = "Each row against the first, seed by seed (seed k against seed k): the mean " +
  "difference in accuracy points ± its standard error, and in how many seeds the row is above.";

/** The paired table's header and rows: every row after the first against the first. */
function pairedCells(t: ReportTable): [string[], string[][]] {
  const each = (f: (c: ReportTable["columns"][number], p: Protocol) => string) =>
    t.columns.flatMap((c) => PROTOCOLS.map((p) => f(c, p)));
  const first = t.rows[0];
  return [
    [`${t.rowHeader}, against "${first.label}"`, ...each((c, p) => `${c.label} (${p})`)],
    t.rows.slice(1).map((r) => [
      r.label,
      ...each((c, p) => fmtPaired(r.cells[c.key], first.cells[c.key], p)),
    ]),
  ];
}

/** Whether a table gets the paired table: several seeds and a row to compare with the first. */
const hasPaired = (t: ReportTable | undefined, p: Preset): t is ReportTable =>
  !!t && p.seeds > 1 && t.rows.length > 1;

/** A Markdown table of strings, pipes in cells escaped. */
function mdTable(head: readonly string[], rows: string[][]): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * An HTML table of strings (escaped); with `numbers`, a cell after the first column that does not
 * match it is greyed as missing.
 */
function htmlTable(head: readonly string[], rows: string[][], numbers?: RegExp): string {
  const td = (c: string, i: number) =>
    `<td${numbers && i > 0 && !numbers.test(c) ? ' class="missing"' : ""}>${esc(c)}</td>`;
  return [
    "<table><tr>" + head.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>",
    ...rows.map((r) => "<tr>" + r.map(td).join("") + "</tr>"),
    "</table>",
  ].join("\n");
}

/**
 * A result table's header and rows: a column per table column and protocol, and the paper's
 * number where there is one; `perSeed`: each seed's accuracy instead of the mean (no paper).
 */
function tableCells(t: ReportTable, perSeed: boolean): [string[], string[][]] {
  const fmt = perSeed ? fmtSeeds : fmtCell;
  const each = (f: (c: ReportTable["columns"][number], p: Protocol) => string) =>
    t.columns.flatMap((c) => PROTOCOLS.map((p) => f(c, p)));
  const head = [t.rowHeader, ...each((c, p) => `${c.label} (${p})`)];
  const rows = t.rows.map((r) => [r.label, ...each((c, p) => fmt(r.cells[c.key], p))]);
  if (!perSeed && t.rows.some((r) => r.paper !== undefined)) {
    head.push("paper, LFW");
    rows.forEach((cells, i) => cells.push(t.rows[i].paper?.toFixed(2) ?? "—"));
  }
  return [head, rows];
}

/** A result table in Markdown; `perSeed`: each seed's accuracy instead of the mean. */
export function markdownTable(t: ReportTable, perSeed = false): string {
  return mdTable(...tableCells(t, perSeed));
}

/** A result cell holding numbers (`97.50 ± 1.20`, `97.25 / 97.80`); anything else is missing. */
const ACCURACY_CELL = /^[\d.]+( ± [\d.]+| \/ [\d. /]+)?$/;

/** A paired cell holding numbers (`+0.45 ± 0.30 (3/4)`); anything else is missing. */
const PAIRED_CELL = /^[+−][\d.]+ ± [\d.]+ \(\d+\/\d+\)$/;

/** The Stages table's header and rows. */
function stageCells(m: ReportModel, dir: (d: string) => string): [string[], string[][]] {
  return [
    ["stage", "kind", "status", "wall", "folder", "config"],
    m.stages.map((s) => [
      s.label,
      s.kind,
      s.message ? `${s.status}: ${s.message}` : s.status,
      formatDuration(s.wallS),
      dir(s.dir),
      s.summary,
    ]),
  ];
}

/** The sentence saying what a cell's number and its ± are. */
function accuracyNote(p: Preset): string {
  return p.seeds > 1
    ? `mean ± std over ${p.seeds} training seeds (${seedList(p)}${
      p.redrawData ? ", each after the first on its own draw of the synthetic training set" : ""
    }; each seed's accuracy is its mean over folds, listed per seed below each table)`
    : "mean ± std over folds";
}

function seedList(p: Preset): string {
  return trainSeeds(p).join(", ");
}

/** What the Realism table shows and that it is a meter only. */
export const REALISM_NOTE = "The realism meter: Fréchet distance (`fd`) between the " +
  "L2-normalised features of the reference embedder `fr_feature.onnx` (trained on real faces) " +
  "on `n` images of each generator's synthetic test set and `n` real aligned crops of " +
  "`--lfw-images` (leaving out the images of `--lfw-pairs` when it is View 2), beside the same distance for the `--real` " +
  "photos (`fd_floor`; `fd_ratio` = fd / fd_floor, 1 = as real as real photos); " +
  "`identity_accuracy`: the reference's verification accuracy (%, synface protocol) on the " +
  "test set's generated pairs; `mean_image_gap`: the mean absolute difference (0–255 levels) " +
  "between the per-pixel mean images of the same generated and real crops (`gap_floor`: the " +
  "`--real` photos' against the same real crops; the stage's `mean_images.png` shows where); " +
  "`cast_sd`: how far the face's colour cast (r − g over its level, face centre) varies from " +
  "image to image, `chroma_detail`: its fine colour detail (mean |Laplacian| of r − g), and " +
  "`luma_detail`: its fine brightness detail (the same of the luminance), " +
  "each with the real crops' in brackets. " +
  "A meter only: never used for training or model choice.";

/** The Realism table's columns. */
const REALISM_COLUMNS = [
  "generator",
  "n",
  "fd",
  "fd_floor",
  "fd_ratio",
  "identity_accuracy",
  "mean_image_gap",
  "gap_floor",
  "cast_sd (real)",
  "chroma_detail (real)",
  "luma_detail (real)",
];

/** The Realism table's header and rows (numbers, or the generator and the missing text). */
export function realismTable(rows: RealismRow[]): [string[], string[][]] {
  const f = (x: number | undefined, digits: number, scale = 1) =>
    x === undefined ? "—" : (scale * x).toFixed(digits);
  const cells = ({ generator, result: r, missing }: RealismRow) =>
    r
      ? [
        generator,
        String(r.n),
        f(r.fd, 4),
        f(r.fd_floor, 4),
        f(r.fd_ratio, 2),
        f(r.identity_accuracy, 2, 100),
        f(r.mean_image_gap, 1),
        f(r.mean_image_gap_floor, 1),
        r.colour ? `${f(r.colour.generated.rg_sd, 3)} (${f(r.colour.real.rg_sd, 3)})` : "—",
        r.colour
          ? `${f(r.colour.generated.chroma_detail, 1)} (${f(r.colour.real.chroma_detail, 1)})`
          : "—",
        r.colour?.generated.luma_detail !== undefined
          ? `${f(r.colour.generated.luma_detail, 1)} (${f(r.colour.real.luma_detail, 1)})`
          : "—",
      ]
      : [generator, missing ?? "—", ...REALISM_COLUMNS.slice(2).map(() => "")];
  return [[...REALISM_COLUMNS], rows.map(cells)];
}

/** The report as Markdown (`report/README.md`). */
export function renderMarkdown(m: ReportModel): string {
  const out: string[] = [`# synface reproduce report: preset \`${m.preset.name}\``, ""];
  const banner = meaninglessBanner(m.preset);
  if (banner) out.push(banner, "");
  for (const p of introParagraphs(m)) out.push(p, "");
  for (const e of m.experiments) {
    out.push(`## ${e.title}`, "", e.about, "");
    if (e.table) out.push(markdownTable(e.table), "");
    if (e.table && m.preset.seeds > 1) {
      out.push(`Each seed (${seedList(m.preset)}):`, "", markdownTable(e.table, true), "");
    }
    if (hasPaired(e.table, m.preset)) {
      out.push(PAIRED_NOTE, "", mdTable(...pairedCells(e.table)), "");
    }
    for (const c of e.charts) out.push(`![${c.title}](${c.path})`, "");
    for (const f of e.figures) out.push(`![${f.title}](${f.path})`, "", `*${f.title}*`, "");
    if (e.figureMissing) out.push(`Figure: ${e.figureMissing}.`, "");
    if (e.figureTable) out.push(mdTable(...figureCells(e.figureTable)), "");
    out.push(`${stageTime(e, m.meta)}.`, "");
  }
  if (m.realism?.length) {
    out.push("## Realism", "", REALISM_NOTE, "", mdTable(...realismTable(m.realism)), "");
  }
  out.push(
    "## Stages",
    "",
    mdTable(...stageCells(m, (d) => `\`${d}\``)),
    "",
    "## Exact configs",
    "",
    "The preset (after command-line overrides):",
    "",
    "```json",
    JSON.stringify(m.preset, null, 2),
    "```",
    "",
    "Every stage's hashed key (config, inputs' fingerprints, code fingerprints) is in " +
      "[`configs.json`](configs.json) and in each stage folder's `done.json`.",
    "",
  );
  return out.join("\n");
}

/**
 * The paragraphs under the title, in Markdown (a paragraph's lines end in two spaces): the run,
 * what the numbers are, the paper's.
 */
function introParagraphs(m: ReportModel): string[] {
  const { meta } = m;
  const { cpu, cores, memoryGiB, os, deno } = meta.hardware;
  const jobs = (meta.jobs ?? 1) > 1
    ? `${meta.jobs} trainings side by side`
    : "one training at a time";
  const ep = meta.ep ? `ONNX EP \`${meta.ep}\`, ` : "";
  const val = meta.inputs.valPairs ? `\`${meta.inputs.valPairs}\`` : "the synthetic validation set";
  const gen = meta.generator;
  return [
    [
      `Command: \`${meta.command}\``,
      ...(gen ? [`Generator (every dataset and test set): ${generatorName(gen)}`] : []),
      `Wall time: ${formatDuration(meta.wallS)} (${meta.startedAt} → ${meta.finishedAt}); ` +
      `backend \`${meta.backend}\`, ${ep}${meta.workers} worker(s), ${jobs}`,
      `Hardware: ${cpu}, ${cores} cores, ${memoryGiB.toFixed(0)} GiB RAM, ${os}, Deno ${deno}`,
    ].join("  \n"),
    `Accuracy is LFW-style verification accuracy in %, ${accuracyNote(m.preset)}, under both ` +
    "protocols: `synface` (cosine, no flip, threshold from the other folds) and " +
    `\`insightface\` (flip fusion, squared L2). Model selection used ${val}, never the test pairs.`,
    PAPER_NOTE,
  ];
}

/** A figure's own table (columns and rows) as strings. */
function figureCells(t: NonNullable<ReportExperiment["figureTable"]>): [string[], string[][]] {
  return [t.columns, t.rows.map((r) => r.map(String))];
}

/** An experiment's stage count and summed stage time (which overlaps when trainings did). */
function stageTime(e: ReportExperiment, meta: ReportMeta): string {
  const overlap = (meta.jobs ?? 1) > 1 ? " (summed over stages; trainings ran side by side)" : "";
  return `Stages: ${e.stages}, stage time ${formatDuration(e.wallS)}${overlap}`;
}

/** The report as one self-contained HTML page (`report/index.html`). */
export function renderHtml(m: ReportModel): string {
  const name = esc(m.preset.name);
  const h: string[] = [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><title>synface reproduce: ${name}</title>`,
    "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}" +
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;" +
    "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}" +
    ".missing{color:#999}.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em}" +
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}img{max-width:100%}" +
    "figure{margin:1em 0}</style></head><body>",
    `<h1>synface reproduce report: preset <code>${name}</code></h1>`,
  ];
  const banner = meaninglessBanner(m.preset);
  if (banner) h.push(`<p class="banner">${mdInline(banner)}</p>`);
  for (const p of introParagraphs(m)) h.push(`<p>${mdInline(p).replaceAll("  \n", "<br>")}</p>`);
  for (const e of m.experiments) {
    h.push(`<h2 id="${esc(e.name)}">${esc(e.title)}</h2>`, `<p>${esc(e.about)}</p>`);
    if (e.table) h.push(htmlTable(...tableCells(e.table, false), ACCURACY_CELL));
    if (e.table && m.preset.seeds > 1) {
      h.push(
        `<p>Each seed (${esc(seedList(m.preset))}):</p>`,
        htmlTable(...tableCells(e.table, true), ACCURACY_CELL),
      );
    }
    if (hasPaired(e.table, m.preset)) {
      h.push(`<p>${esc(PAIRED_NOTE)}</p>`, htmlTable(...pairedCells(e.table), PAIRED_CELL));
    }
    for (const c of e.charts) h.push(`<figure>${c.svg}</figure>`);
    for (const f of e.figures) {
      const [src, title] = [esc(f.path), esc(f.title)];
      h.push(`<figure><img src="${src}" alt="${title}"><figcaption>${title}</figcaption></figure>`);
    }
    if (e.figureMissing) h.push(`<p class="missing">Figure: ${esc(e.figureMissing)}.</p>`);
    if (e.figureTable) h.push(htmlTable(...figureCells(e.figureTable)));
    h.push(`<p>${esc(stageTime(e, m.meta))}.</p>`);
  }
  if (m.realism?.length) {
    h.push(
      `<h2 id="realism">Realism</h2>`,
      `<p>${mdInline(REALISM_NOTE)}</p>`,
      htmlTable(...realismTable(m.realism), /^[\d.]*$/),
    );
  }
  const keys = m.stages.map(({ label, dir, key }) => ({ label, dir, key }));
  h.push(
    "<h2>Stages</h2>",
    htmlTable(...stageCells(m, (d) => d)),
    "<h2>Exact configs</h2><details><summary>preset</summary><pre>" +
      esc(JSON.stringify(m.preset, null, 2)) + "</pre></details>",
    "<details><summary>every stage's hashed key</summary><pre>" +
      esc(JSON.stringify(keys, null, 2)) + "</pre></details>",
    "</body></html>",
  );
  return h.join("\n") + "\n";
}

/** `**bold**` and `` `code` `` of the report's Markdown text to HTML (the rest escaped). */
function mdInline(s: string): string {
  return esc(s).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/`(.+?)`/g, "<code>$1</code>");
}

// ---------------------------------------------------------------------------------------------
// Files

/** Facts about this machine. */
export async function hardwareInfo(): Promise<Hardware> {
  const info = await Deno.readTextFile("/proc/cpuinfo").catch(() => ""); // "" when not Linux
  const cpu = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? "unknown CPU";
  let memoryGiB = 0;
  try {
    memoryGiB = Deno.systemMemoryInfo().total / 2 ** 30;
  } catch { /* not permitted */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryGiB,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
  };
}

/**
 * Write the report under `<out>/report/`: README.md, index.html, charts, copied figures and
 * configs.json. Each file is written atomically.
 */
export async function writeReport(out: string, model: ReportModel): Promise<string> {
  const dir = `${out}/report`;
  for (const e of model.experiments) {
    for (const c of e.charts) await writeFileAtomic(`${dir}/${c.path}`, c.svg);
    for (const f of e.figures) {
      await writeFileAtomic(`${dir}/${f.path}`, await Deno.readFile(`${out}/${f.source}`));
    }
  }
  const { preset, meta, stages } = model;
  await writeJsonAtomic(`${dir}/configs.json`, { preset, meta, stages });
  await writeFileAtomic(`${dir}/README.md`, renderMarkdown(model));
  await writeFileAtomic(`${dir}/index.html`, renderHtml(model));
  return dir;
}
