/**
 * The report of a reproduce run: `<out>/report/README.md` and `index.html` with every table
 * (both LFW protocols, mean ± std over folds), SVG bar charts, ROC curves, the figures the
 * stages made, exact configs, hardware, wall times, and the paper's numbers beside ours.
 *
 * Rendering is pure (`buildReportModel` → `renderMarkdown` / `renderHtml`); `writeReport` does
 * the file work, atomically.
 */
import { z } from "./deps.ts";
import { type ResolvedPlan, type Stage, writeFileAtomic } from "./cache.ts";
import { barChartSvg, type BarSeries, esc, lineChartSvg, type LineSeries } from "./charts.ts";
import type { Experiment, Preset } from "./plan_schema.ts";
import { trainSeeds } from "./presets.ts";
import { finished, fmtSeconds, type RunInputs, type StageOutcome, summary } from "./run.ts";

/** The two protocols, always both, always labelled. */
export const PROTOCOLS = ["synface", "insightface"] as const;
/** A verification protocol. */
export type Protocol = (typeof PROTOCOLS)[number];

const RocSchema = z.union([
  z.object({ far: z.array(z.number()), tar: z.array(z.number()) }),
  z.object({ fpr: z.array(z.number()), tpr: z.array(z.number()) }),
]);

/** What we read from an eval's `results.json` (eval's format; other fields are kept aside). */
export const ProtocolResultSchema = z.looseObject({
  accuracy: z.number().min(0).max(1),
  std: z.number().min(0),
  threshold: z.number().optional(),
  auc: z.number().optional(),
  "tar_at_far_1e-3": z.number().nullable().optional(),
  roc: RocSchema.optional(),
});
/** One protocol's result. */
export type ProtocolResult = z.infer<typeof ProtocolResultSchema>;

/** An eval's `results.json`: one entry per protocol. */
export const EvalResultsSchema = z.looseObject({
  synface: ProtocolResultSchema.optional(),
  insightface: ProtocolResultSchema.optional(),
});
/** Parsed `results.json`. */
export type EvalResults = z.infer<typeof EvalResultsSchema>;

/** What the report reads from a realism stage's `realism.json` (other fields kept aside). */
export const RealismJsonSchema = z.looseObject({
  generator: z.string().optional(),
  n: z.number().int().positive(),
  fd: z.number(),
  fd_floor: z.number().optional(),
  fd_ratio: z.number().optional(),
  identity_accuracy: z.number().min(0).max(1).optional(),
});
/** Parsed `realism.json`. */
export type RealismJson = z.infer<typeof RealismJsonSchema>;

/** One row of the report's Realism table: a generator's meter, or why there is none. */
export interface RealismRow {
  generator: string;
  /** The stage's folder, relative to `--out`. */
  dir: string;
  result?: RealismJson;
  /** Why there is no result (e.g. "needs --lfw-images"). */
  missing?: string;
}

/** `realism.json` of a realism stage folder, validated; null when absent. */
export async function readRealism(dir: string): Promise<RealismJson | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/realism.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const r = RealismJsonSchema.safeParse(JSON.parse(text));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${dir}/realism.json: field "${i.path.join(".")}": ${i.message}`);
  }
  return r.data;
}

/** A figure a stage made (`result.figures` of its `done.json`), relative to its folder. */
export interface StageFigure {
  title: string;
  file: string;
}

/**
 * A table cell: results of both protocols (over the cell's training seeds, see
 * `aggregateSeeds`) and each seed's own, or why there is none.
 */
export type Cell =
  | { kind: "value"; results: EvalResults; seeds: EvalResults[] }
  | { kind: "missing"; text: string };

/** A table ready to render. */
export interface ReportTable {
  rowHeader: string;
  columns: { key: string; label: string }[];
  rows: { label: string; cells: Record<string, Cell>; paper?: number }[];
}

/** One experiment's part of the report. */
export interface ReportExperiment {
  name: string;
  title: string;
  about: string;
  table?: ReportTable;
  /** Report-relative paths of SVG charts (bar chart, ROC). */
  charts: { title: string; path: string; svg: string }[];
  /** Report-relative paths of figures copied from stages (PNG/SVG). */
  figures: { title: string; path: string; source: string }[];
  /** Why the figure is missing, when it is. */
  figureMissing?: string;
  /** A small table the figure's stage computed (`result.table`), e.g. Fig. 2's spreads. */
  figureTable?: { columns: string[]; rows: (string | number)[][] };
  /** Sum of the wall time of its stages (shared stages counted in each experiment). */
  wallS: number;
  stages: number;
}

/** Facts about the machine. */
export interface Hardware {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  deno: string;
}

/** Facts about the invocation. */
export interface ReportMeta {
  command: string;
  out: string;
  startedAt: string;
  finishedAt: string;
  wallS: number;
  backend: string;
  /** Execution provider of the ONNX models (generator, embedders); absent in older reports. */
  ep?: string;
  workers: number;
  /** Trainings that ran side by side (absent: 1). */
  jobs?: number;
  inputs: RunInputs;
  hardware: Hardware;
}

/** Everything the renderers need. */
export interface ReportModel {
  preset: Preset;
  meta: ReportMeta;
  experiments: ReportExperiment[];
  /** The realism meter of each generator the plan used (absent in older reports). */
  realism?: RealismRow[];
  stages: {
    label: string;
    uses: string[];
    kind: string;
    dir: string;
    status: string;
    wallS: number;
    message?: string;
    summary: string;
    key: unknown;
  }[];
}

/** Reads a finished eval's results (null when absent or malformed). */
export type ResultReader = (stage: Stage) => Promise<EvalResults | null>;

/** `results.json` of an eval stage folder, validated; null when absent. */
export async function readEvalResults(dir: string): Promise<EvalResults | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/results.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const r = EvalResultsSchema.safeParse(JSON.parse(text));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${dir}/results.json: field "${i.path.join(".")}": ${i.message}`);
  }
  // eval writes the fold-averaged ROC beside results.json as roc_<protocol>.csv.
  for (const p of PROTOCOLS) {
    const res = r.data[p];
    if (!res || res.roc) continue;
    try {
      const lines = (await Deno.readTextFile(`${dir}/roc_${p}.csv`)).trim().split("\n").slice(1);
      const pts = lines.map((l) => l.split(",").map(Number)).filter((v) => v.length >= 3);
      res.roc = { fpr: pts.map((v) => v[1]), tpr: pts.map((v) => v[2]) };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return r.data;
}

/** Short text for a cell without a result. */
export function missingText(o: StageOutcome | undefined): string {
  if (!o) return "not run";
  if (o.status === "needs-input") {
    const flags = o.stage.needs.map((n) => n.startsWith("--lfw-pairs") ? "--lfw" : n);
    return `needs ${
      flags.sort((a, b) => (a === "--real" ? -1 : b === "--real" ? 1 : 0)).join(", ")
    }`;
  }
  const m = o.message ?? o.status;
  if (o.status === "needs-module" || m.startsWith("needs ")) {
    return m.split(":")[0].replace("needs --lfw-pairs/--lfw-images", "needs --lfw");
  }
  if (o.status === "blocked") return `blocked (${m.split(":")[0]})`;
  if (o.status === "failed") return "failed";
  return o.status;
}

/** Assemble the report model from a finished (or partly finished) run. */
export async function buildReportModel(
  resolved: ResolvedPlan,
  outcomes: StageOutcome[],
  meta: ReportMeta,
  read: ResultReader,
  readMeter: (stage: Stage) => Promise<RealismJson | null> = (s) =>
    readRealism(`${meta.out}/${s.dir}`),
): Promise<ReportModel> {
  const byHash = new Map(outcomes.map((o) => [o.stage.hash, o]));
  const results = new Map<string, EvalResults | null>();
  for (const o of outcomes) {
    if (o.stage.kind === "eval" && finished(o)) results.set(o.stage.hash, await read(o.stage));
  }
  const experiments: ReportExperiment[] = [];
  for (const exp of resolved.plan.experiments) {
    const refs = resolved.refs[exp.name];
    const stageHashes = new Set(Object.values(refs));
    const mine = outcomes.filter((o) => stageHashes.has(o.stage.hash));
    const re: ReportExperiment = {
      name: exp.name,
      title: exp.title,
      about: exp.about,
      charts: [],
      figures: [],
      wallS: mine.reduce((s, o) => s + o.wallS, 0),
      stages: mine.length,
    };
    if (exp.table) re.table = tableOf(exp, refs, byHash, results);
    if (re.table && exp.chart) {
      const svg = barChart(exp, re.table, exp.chart.columns, exp.chart.protocol);
      if (svg) re.charts.push({ title: `${exp.name} bar chart`, path: `${exp.name}.svg`, svg });
    }
    if (re.table) {
      const roc = rocChart(exp, re.table);
      if (roc) re.charts.push({ title: `${exp.name} ROC`, path: `${exp.name}-roc.svg`, svg: roc });
    }
    if (exp.figure) {
      const o = byHash.get(refs[exp.figure]);
      const figs = o && finished(o) ? figuresOf(o.result) : [];
      if (o && finished(o)) {
        for (const [i, f] of figs.entries()) {
          const ext = f.file.slice(f.file.lastIndexOf("."));
          re.figures.push({
            title: f.title,
            path: `figures/${exp.name}-${i + 1}${ext}`,
            source: `${o.stage.dir}/${f.file}`,
          });
        }
      }
      const tbl = (o?.result as { table?: ReportExperiment["figureTable"] } | undefined)?.table;
      if (o && finished(o) && tbl && Array.isArray(tbl.columns) && Array.isArray(tbl.rows)) {
        re.figureTable = tbl;
      }
      if (re.figures.length === 0) {
        re.figureMissing = o && finished(o) ? "no figure files" : missingText(o);
      }
    }
    experiments.push(re);
  }
  const realism: RealismRow[] = [];
  for (const o of outcomes) {
    if (o.stage.node.kind !== "realism") continue;
    const row: RealismRow = { generator: o.stage.node.config.generator, dir: o.stage.dir };
    if (finished(o)) {
      const r = await readMeter(o.stage);
      if (r) row.result = r;
      else row.missing = "no realism.json";
    } else {
      row.missing = missingText(o);
    }
    realism.push(row);
  }
  return {
    preset: resolved.plan.preset,
    meta,
    experiments,
    ...(realism.length ? { realism } : {}),
    stages: outcomes.map((o) => ({
      label: o.stage.label,
      uses: o.stage.uses,
      kind: o.stage.kind,
      dir: o.stage.dir,
      status: o.status,
      wallS: o.wallS,
      message: o.message,
      summary: summary(o.stage),
      key: o.stage.key,
    })),
  };
}

function figuresOf(result: unknown): StageFigure[] {
  const figs = (result as { figures?: unknown } | undefined)?.figures;
  if (!Array.isArray(figs)) return [];
  return figs.filter((f): f is StageFigure =>
    typeof f?.title === "string" && typeof f?.file === "string" && !f.file.includes("..")
  );
}

function tableOf(
  exp: Experiment,
  refs: Record<string, string>,
  byHash: Map<string, StageOutcome>,
  results: Map<string, EvalResults | null>,
): ReportTable {
  const t = exp.table!;
  // Columns the preset never fills (e.g. LFW for smoke's Table 3) are left out.
  const columns = t.columns.filter((c) => t.rows.some((r) => r.cells[c.key] !== undefined));
  const cellOf = (evals: string[] | undefined): Cell => {
    if (evals === undefined) return { kind: "missing", text: "—" };
    const seeds: EvalResults[] = [];
    for (const ref of evals) {
      const o = byHash.get(refs[ref]);
      if (!o || !finished(o)) return { kind: "missing", text: missingText(o) };
      const r = results.get(o.stage.hash);
      if (!r) return { kind: "missing", text: "no results.json" };
      seeds.push(r);
    }
    return { kind: "value", results: aggregateSeeds(seeds), seeds };
  };
  return {
    rowHeader: t.rowHeader,
    columns,
    rows: t.rows.map((row) => ({
      label: row.label,
      paper: row.paper,
      cells: Object.fromEntries(columns.map((c) => [c.key, cellOf(row.cells[c.key])])),
    })),
  };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * The results of one cell's training seeds as one: each protocol's accuracy, threshold, AUC and
 * TAR are the means over seeds; `std` is the sample std of the seeds' accuracies (with one seed,
 * that seed's std over folds); the ROC is the mean curve when the seeds share FAR points, else
 * the first seed's. A protocol some seed lacks is left out.
 */
export function aggregateSeeds(seeds: EvalResults[]): EvalResults {
  if (seeds.length === 0) throw new Error("aggregateSeeds: no seeds");
  if (seeds.length === 1) return seeds[0];
  const out: EvalResults = {};
  for (const p of PROTOCOLS) {
    const rs = seeds.map((s) => s[p]);
    if (rs.some((r) => r === undefined)) continue;
    const all = rs as ProtocolResult[];
    const acc = all.map((r) => r.accuracy);
    const m = mean(acc);
    const agg: ProtocolResult = {
      accuracy: m,
      std: Math.sqrt(acc.reduce((a, x) => a + (x - m) ** 2, 0) / (acc.length - 1)),
    };
    const opt = (f: (r: ProtocolResult) => number | null | undefined) => {
      const v = all.map(f);
      return v.every((x) => typeof x === "number") ? mean(v as number[]) : undefined;
    };
    const threshold = opt((r) => r.threshold);
    if (threshold !== undefined) agg.threshold = threshold;
    const auc = opt((r) => r.auc);
    if (auc !== undefined) agg.auc = auc;
    const tar = opt((r) => r["tar_at_far_1e-3"]);
    if (tar !== undefined) agg["tar_at_far_1e-3"] = tar;
    const rocs = all.map((r) => r.roc);
    if (rocs.every((r) => r !== undefined)) agg.roc = meanRoc(rocs as Roc[]);
    out[p] = agg;
  }
  return out;
}

type Roc = NonNullable<ProtocolResult["roc"]>;

function meanRoc(rocs: Roc[]): Roc {
  const xy = rocs.map((r) => "far" in r ? [r.far, r.tar] : [r.fpr, r.tpr]);
  const [x0] = xy[0];
  const same = xy.every(([x, y]) =>
    x.length === x0.length && y.length === x0.length && x.every((v, i) => v === x0[i])
  );
  if (!same) return rocs[0];
  return { fpr: x0, tpr: x0.map((_, i) => mean(xy.map(([, y]) => y[i]))) };
}

/** `97.50 ± 1.20` (percent) or the missing text. */
export function fmtCell(cell: Cell, protocol: Protocol): string {
  if (cell.kind === "missing") return cell.text;
  const r = cell.results[protocol];
  if (!r) return "—";
  return `${(100 * r.accuracy).toFixed(2)} ± ${(100 * r.std).toFixed(2)}`;
}

function barChart(
  exp: Experiment,
  table: ReportTable,
  columns: string[],
  protocol: Protocol,
): string | null {
  const present = columns.filter((key) => table.columns.some((c) => c.key === key));
  const series: BarSeries[] = present.map((key) => {
    const col = table.columns.find((c) => c.key === key)!;
    const vals = table.rows.map((r) => {
      const c = r.cells[key];
      const p = c?.kind === "value" ? c.results[protocol] : undefined;
      return p ? { v: 100 * p.accuracy, e: 100 * p.std } : null;
    });
    return {
      label: col.label,
      values: vals.map((v) => v?.v ?? null),
      errors: vals.map((v) => v?.e ?? null),
    };
  });
  if (table.rows.some((r) => r.paper !== undefined)) {
    series.push({ label: "paper, LFW", values: table.rows.map((r) => r.paper ?? null) });
  }
  if (!series.some((s) => s.values.some((v) => v !== null))) return null;
  return barChartSvg(table.rows.map((r) => r.label), series, {
    title: `${exp.title} (${protocol} protocol)`,
    yLabel: "verification accuracy, %",
  });
}

function rocChart(exp: Experiment, table: ReportTable): string | null {
  const series: LineSeries[] = [];
  const cols = exp.chart
    ? table.columns.filter((c) => exp.chart!.columns.includes(c.key))
    : table.columns;
  for (const row of table.rows) {
    for (const col of cols) {
      const c = row.cells[col.key];
      const roc = c?.kind === "value" ? c.results.synface?.roc : undefined;
      if (!roc) continue;
      const x = "far" in roc ? roc.far : roc.fpr;
      const y = "far" in roc ? roc.tar : roc.tpr;
      series.push({ label: `${row.label}, ${col.label}`, x, y });
    }
  }
  if (series.length === 0) return null;
  return lineChartSvg(series, {
    title: `${exp.title.split(":")[0]}: ROC (synface protocol, mean over folds)`,
    xLabel: "false accept rate",
    yLabel: "true accept rate",
    logX: true,
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering

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

/** Header cells; `paper: false` leaves out the paper's column (the per-seed tables). */
function headerCells(t: ReportTable, paper = true): string[] {
  const h = [t.rowHeader];
  for (const c of t.columns) for (const p of PROTOCOLS) h.push(`${c.label} (${p})`);
  if (paper && t.rows.some((r) => r.paper !== undefined)) h.push("paper, LFW");
  return h;
}

function rowCells(t: ReportTable, row: ReportTable["rows"][number]): string[] {
  const cells = [row.label];
  for (const c of t.columns) for (const p of PROTOCOLS) cells.push(fmtCell(row.cells[c.key], p));
  if (t.rows.some((r) => r.paper !== undefined)) cells.push(row.paper?.toFixed(2) ?? "—");
  return cells;
}

/** `97.25 / 97.80`: each seed's accuracy (%) in seed order, or the missing text. */
export function fmtSeeds(cell: Cell, protocol: Protocol): string {
  if (cell.kind === "missing") return cell.text;
  const v = cell.seeds.map((s) => s[protocol]);
  if (v.some((r) => r === undefined)) return "—";
  return v.map((r) => (100 * r!.accuracy).toFixed(2)).join(" / ");
}

function seedRowCells(t: ReportTable, row: ReportTable["rows"][number]): string[] {
  const cells = [row.label];
  for (const c of t.columns) for (const p of PROTOCOLS) cells.push(fmtSeeds(row.cells[c.key], p));
  return cells;
}

/** A Markdown table (pipes escaped); `perSeed`: each seed's accuracy instead of the mean. */
export function markdownTable(t: ReportTable, perSeed = false): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  const h = headerCells(t, !perSeed);
  const row = perSeed ? seedRowCells : rowCells;
  return [line(h), line(h.map(() => "---")), ...t.rows.map((r) => line(row(t, r)))].join("\n");
}

/** The sentence saying what a cell's number and its ± are. */
function accuracyNote(p: Preset): string {
  return p.seeds > 1
    ? `mean ± std over ${p.seeds} training seeds (${seedList(p)}; each seed's accuracy is its ` +
      "mean over folds, listed per seed below each table)"
    : "mean ± std over folds";
}

function seedList(p: Preset): string {
  return trainSeeds(p).join(", ");
}

function hardwareLine(h: Hardware): string {
  return `${h.cpu}, ${h.cores} cores, ${h.memoryGiB.toFixed(0)} GiB RAM, ${h.os}, Deno ${h.deno}`;
}

/** Columns of the Realism table. */
export const REALISM_COLUMNS = [
  "generator",
  "n",
  "fd",
  "fd_floor",
  "fd_ratio",
  "identity_accuracy",
] as const;

/** What the Realism table shows and that it is a meter only. */
export const REALISM_NOTE = "The realism meter: Fréchet distance (`fd`) between the " +
  "L2-normalised features of the reference embedder `fr_feature.onnx` (trained on real faces) " +
  "on `n` images of each generator's synthetic test set and `n` real aligned crops of " +
  "`--lfw-images` (leaving out the images of `--lfw-pairs` when it is View 2), beside the same distance for the `--real` " +
  "photos (`fd_floor`; `fd_ratio` = fd / fd_floor, 1 = as real as real photos); " +
  "`identity_accuracy`: the reference's verification accuracy (%, synface protocol) on the " +
  "test set's generated pairs. A meter only: never used for training or model choice.";

/** The cells of a Realism row (numbers, or "—" and the missing text). */
export function realismCells(row: RealismRow): string[] {
  const r = row.result;
  if (!r) return [row.generator, row.missing ?? "—", "", "", "", ""];
  const f = (x: number | undefined, d: number) => x === undefined ? "—" : x.toFixed(d);
  return [
    row.generator,
    String(r.n),
    f(r.fd, 4),
    f(r.fd_floor, 4),
    f(r.fd_ratio, 2),
    r.identity_accuracy === undefined ? "—" : (100 * r.identity_accuracy).toFixed(2),
  ];
}

/** The report as Markdown (`report/README.md`). */
export function renderMarkdown(m: ReportModel): string {
  const out: string[] = [`# synface reproduce report: preset \`${m.preset.name}\``, ""];
  const banner = meaninglessBanner(m.preset);
  if (banner) out.push(banner, "");
  out.push(
    `Command: \`${m.meta.command}\`  `,
    `Wall time: ${fmtSeconds(m.meta.wallS)} (${m.meta.startedAt} → ${m.meta.finishedAt}); ` +
      `backend \`${m.meta.backend}\`, ${
        m.meta.ep ? `ONNX EP \`${m.meta.ep}\`, ` : ""
      }${m.meta.workers} worker(s), ${jobsText(m.meta)}  `,
    `Hardware: ${hardwareLine(m.meta.hardware)}`,
    "",
    `Accuracy is LFW-style verification accuracy in %, ${accuracyNote(m.preset)}, under both ` +
      "protocols: `synface` (cosine, no flip, threshold from the other folds) and " +
      "`insightface` (flip fusion, squared L2). Model selection used " +
      (m.meta.inputs.valPairs ? `\`${m.meta.inputs.valPairs}\`` : "the synthetic validation set") +
      ", never the test pairs.",
    "",
    PAPER_NOTE,
    "",
  );
  for (const e of m.experiments) {
    out.push(`## ${e.title}`, "", e.about, "");
    if (e.table) out.push(markdownTable(e.table), "");
    if (e.table && m.preset.seeds > 1) {
      out.push(`Each seed (${seedList(m.preset)}):`, "", markdownTable(e.table, true), "");
    }
    for (const c of e.charts) out.push(`![${c.title}](${c.path})`, "");
    for (const f of e.figures) out.push(`![${f.title}](${f.path})`, "", `*${f.title}*`, "");
    if (e.figureMissing) out.push(`Figure: ${e.figureMissing}.`, "");
    if (e.figureTable) {
      const line = (c: (string | number)[]) => `| ${c.join(" | ")} |`;
      out.push(
        line(e.figureTable.columns),
        line(e.figureTable.columns.map(() => "---")),
        ...e.figureTable.rows.map(line),
        "",
      );
    }
    out.push(`${stageTime(e, m.meta)}.`, "");
  }
  if (m.realism?.length) {
    const line = (c: string[]) => `| ${c.join(" | ")} |`;
    out.push(
      "## Realism",
      "",
      REALISM_NOTE,
      "",
      line([...REALISM_COLUMNS]),
      line(REALISM_COLUMNS.map(() => "---")),
      ...m.realism.map((r) => line(realismCells(r))),
      "",
    );
  }
  out.push(
    "## Stages",
    "",
    "| stage | kind | status | wall | folder | config |",
    "|---|---|---|---|---|---|",
  );
  for (const s of m.stages) {
    const status = s.message ? `${s.status}: ${s.message}` : s.status;
    out.push(
      `| ${s.label} | ${s.kind} | ${status.replace(/\|/g, "\\|")} | ${fmtSeconds(s.wallS)} | ` +
        `\`${s.dir}\` | ${s.summary} |`,
    );
  }
  out.push(
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

/** An experiment's stage count and summed stage time (which overlaps when trainings did). */
function stageTime(e: ReportExperiment, meta: ReportMeta): string {
  const overlap = (meta.jobs ?? 1) > 1 ? " (summed over stages; trainings ran side by side)" : "";
  return `Stages: ${e.stages}, stage time ${fmtSeconds(e.wallS)}${overlap}`;
}

function jobsText(meta: ReportMeta): string {
  const jobs = meta.jobs ?? 1;
  return jobs > 1 ? `${jobs} trainings side by side` : "one training at a time";
}

function htmlTable(
  t: ReportTable,
  head: string[],
  row: (t: ReportTable, r: ReportTable["rows"][number]) => string[],
): string {
  const h = ["<table><tr>" + head.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>"];
  for (const r of t.rows) {
    h.push(
      "<tr>" + row(t, r).map((c, i) => {
        const miss = i > 0 && !/^[\d.]+( ± [\d.]+| \/ [\d. /]+)?$/.test(c);
        return `<td${miss ? ' class="missing"' : ""}>${esc(c)}</td>`;
      }).join("") + "</tr>",
    );
  }
  h.push("</table>");
  return h.join("\n");
}

/** The report as one self-contained HTML page (`report/index.html`). */
export function renderHtml(m: ReportModel): string {
  const h: string[] = [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><title>synface reproduce: ${
      esc(m.preset.name)
    }</title>`,
    "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}" +
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;" +
    "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}" +
    ".missing{color:#999}.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em}" +
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}img{max-width:100%}" +
    "figure{margin:1em 0}</style></head><body>",
    `<h1>synface reproduce report: preset <code>${esc(m.preset.name)}</code></h1>`,
  ];
  const banner = meaninglessBanner(m.preset);
  if (banner) h.push(`<p class="banner">${mdInline(banner)}</p>`);
  h.push(
    `<p>Command: <code>${esc(m.meta.command)}</code><br>Wall time: ${fmtSeconds(m.meta.wallS)} ` +
      `(${esc(m.meta.startedAt)} → ${esc(m.meta.finishedAt)}); backend <code>${
        esc(m.meta.backend)
      }` +
      `</code>, ${
        m.meta.ep ? `ONNX EP <code>${esc(m.meta.ep)}</code>, ` : ""
      }${m.meta.workers} worker(s), ${esc(jobsText(m.meta))}<br>Hardware: ${
        esc(hardwareLine(m.meta.hardware))
      }</p>`,
    `<p>Accuracy: LFW-style verification accuracy in %, ${
      esc(accuracyNote(m.preset))
    }, under both ` +
      `protocols (<code>synface</code>: cosine, no flip; <code>insightface</code>: flip fusion, ` +
      `squared L2).</p>`,
    `<p>${mdInline(PAPER_NOTE)}</p>`,
  );
  for (const e of m.experiments) {
    h.push(`<h2 id="${esc(e.name)}">${esc(e.title)}</h2>`, `<p>${esc(e.about)}</p>`);
    if (e.table) h.push(htmlTable(e.table, headerCells(e.table), rowCells));
    if (e.table && m.preset.seeds > 1) {
      h.push(
        `<p>Each seed (${esc(seedList(m.preset))}):</p>`,
        htmlTable(e.table, headerCells(e.table, false), seedRowCells),
      );
    }
    for (const c of e.charts) h.push(`<figure>${c.svg}</figure>`);
    for (const f of e.figures) {
      h.push(
        `<figure><img src="${esc(f.path)}" alt="${esc(f.title)}"><figcaption>${
          esc(f.title)
        }</figcaption></figure>`,
      );
    }
    if (e.figureMissing) h.push(`<p class="missing">Figure: ${esc(e.figureMissing)}.</p>`);
    if (e.figureTable) {
      h.push(
        "<table><tr>" + e.figureTable.columns.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>" +
          e.figureTable.rows.map((r) =>
            "<tr>" + r.map((c) => `<td>${esc(String(c))}</td>`).join("") + "</tr>"
          ).join("") + "</table>",
      );
    }
    h.push(`<p>${esc(stageTime(e, m.meta))}.</p>`);
  }
  if (m.realism?.length) {
    h.push(
      `<h2 id="realism">Realism</h2>`,
      `<p>${mdInline(REALISM_NOTE)}</p>`,
      "<table><tr>" + REALISM_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>" +
        m.realism.map((r) =>
          "<tr>" + realismCells(r).map((c, i) => {
            const miss = i > 0 && !/^[\d.]*$/.test(c);
            return `<td${miss ? ' class="missing"' : ""}>${esc(c)}</td>`;
          }).join("") + "</tr>"
        ).join("") + "</table>",
    );
  }
  h.push(
    "<h2>Stages</h2><table><tr><th>stage</th><th>kind</th><th>status</th><th>wall</th><th>folder</th><th>config</th></tr>",
  );
  for (const s of m.stages) {
    h.push(
      `<tr><td>${esc(s.label)}</td><td>${s.kind}</td><td>${
        esc(s.message ? `${s.status}: ${s.message}` : s.status)
      }` +
        `</td><td>${fmtSeconds(s.wallS)}</td><td><code>${esc(s.dir)}</code></td><td>${
          esc(s.summary)
        }</td></tr>`,
    );
  }
  h.push(
    "</table><h2>Exact configs</h2><details><summary>preset</summary><pre>" +
      esc(JSON.stringify(m.preset, null, 2)) + "</pre></details>",
    "<details><summary>every stage's hashed key</summary><pre>" +
      esc(
        JSON.stringify(m.stages.map((s) => ({ label: s.label, dir: s.dir, key: s.key })), null, 2),
      ) +
      "</pre></details>",
    "</body></html>",
  );
  return h.join("\n") + "\n";
}

/** `**bold**` and `` `code` `` of our own fixed strings to HTML. */
function mdInline(s: string): string {
  return esc(s).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/`(.+?)`/g, "<code>$1</code>");
}

// ---------------------------------------------------------------------------------------------
// Files

/** Facts about this machine. */
export async function hardwareInfo(): Promise<Hardware> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
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
  await writeFileAtomic(
    `${dir}/configs.json`,
    JSON.stringify({ preset: model.preset, meta: model.meta, stages: model.stages }, null, 2) +
      "\n",
  );
  await writeFileAtomic(`${dir}/README.md`, renderMarkdown(model));
  await writeFileAtomic(`${dir}/index.html`, renderHtml(model));
  return dir;
}
