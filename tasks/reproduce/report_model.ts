/**
 * The model of a reproduce run's report: every experiment's table (results of both LFW
 * protocols, per training seed and their mean), its charts and figures, the realism meter and
 * the stages, read from a finished (or partly finished) run. `report.ts` renders it.
 */
import {
  type ProtocolSummaryJson,
  readResultsJson,
  readRocCsv,
  type RocCurve,
  type RocPoints,
  rocSvg,
} from "../../eval/mod.ts";
import { readJsonFile } from "../../data/mod.ts";
import { z } from "./deps.ts";
import type { ResolvedPlan, Stage } from "./cache.ts";
import { barChartSvg, type BarSeries } from "./charts.ts";
import type { Experiment, Preset } from "./plan_schema.ts";
import { finished, type RunInputs, type StageOutcome, summary } from "./run.ts";

/** The two protocols, always both, always labelled. */
export const PROTOCOLS = ["synface", "insightface"] as const;
/** A verification protocol. */
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * One protocol's numbers in a cell: eval's `results.json` entry (the mean over seeds keeps only
 * these fields), with the fold-averaged ROC of its `roc_<protocol>.csv`.
 */
export type ProtocolResult =
  & Pick<ProtocolSummaryJson, "accuracy" | "std">
  & Partial<Pick<ProtocolSummaryJson, "threshold" | "auc" | "tar_at_far_1e-3">>
  & { roc?: RocPoints };

/** An eval's results: one entry per protocol. */
export type EvalResults = Partial<Record<Protocol, ProtocolResult>>;

/** What the report reads from a realism stage's `realism.json` (other fields kept aside). */
export const RealismJsonSchema = z.looseObject({
  generator: z.string().optional(),
  n: z.number().int().positive(),
  fd: z.number(),
  fd_floor: z.number().optional(),
  fd_ratio: z.number().optional(),
  identity_accuracy: z.number().min(0).max(1).optional(),
  mean_image_gap: z.number().nonnegative().optional(),
  mean_image_gap_floor: z.number().nonnegative().optional(),
  colour: z.looseObject({
    // luma_detail came after the first colour statistics: older results lack it
    generated: z.looseObject({
      rg_sd: z.number(),
      chroma_detail: z.number(),
      luma_detail: z.number().optional(),
    }),
    real: z.looseObject({
      rg_sd: z.number(),
      chroma_detail: z.number(),
      luma_detail: z.number().optional(),
    }),
  }).optional(),
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
  /** The generator of the data stages: its id and `--model` (absent: the embedded default). */
  generator?: { id: string; manifest?: string };
  hardware: Hardware;
}

/** Everything the renderers need. */
export interface ReportModel {
  preset: Preset;
  meta: ReportMeta;
  experiments: ReportExperiment[];
  /** The realism meter of each generator the plan used (absent in older reports). */
  realism?: RealismRow[];
  /** Each stage's outcome, with a one-phrase summary of its config. */
  stages: (
    & Pick<Stage, "label" | "uses" | "kind" | "dir" | "key">
    & Pick<StageOutcome, "status" | "wallS" | "message">
    & { summary: string }
  )[];
}

/** Reads a finished eval's results (null when absent or malformed). */
export type ResultReader = (stage: Stage) => Promise<EvalResults | null>;

/**
 * `results.json` of an eval stage folder (eval's schema), each protocol with the ROC of its
 * `roc_<protocol>.csv`; null when absent.
 */
export async function readEvalResults(dir: string): Promise<EvalResults | null> {
  const json = await readResultsJson(dir);
  if (!json) return null;
  const out: EvalResults = {};
  for (const p of PROTOCOLS) {
    const res = json[p];
    if (!res) continue;
    const roc = await readRocCsv(dir, p);
    out[p] = roc ? { ...res, roc } : res;
  }
  return out;
}

/** Short text for a cell without a result. */
export function missingText(o: StageOutcome | undefined): string {
  if (!o) return "not run";
  if (o.status === "needs-input") {
    const flags = o.stage.needs.map((n) => n.startsWith("--lfw-pairs") ? "--lfw" : n);
    const realFirst = flags.sort((a, b) => (a === "--real" ? -1 : b === "--real" ? 1 : 0));
    return `needs ${realFirst.join(", ")}`;
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
  // a realism stage's `realism.json`, validated; null when absent
  readMeter: (stage: Stage) => Promise<RealismJson | null> = (s) =>
    readJsonFile(`${meta.out}/${s.dir}/realism.json`, RealismJsonSchema),
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
      const done = o && finished(o) ? o : undefined;
      for (const [i, f] of figuresOf(done?.result).entries()) {
        re.figures.push({
          title: f.title,
          path: `figures/${exp.name}-${i + 1}${f.file.slice(f.file.lastIndexOf("."))}`,
          source: `${done!.stage.dir}/${f.file}`,
        });
      }
      const tbl = (done?.result as { table?: ReportExperiment["figureTable"] } | undefined)?.table;
      if (tbl && Array.isArray(tbl.columns) && Array.isArray(tbl.rows)) re.figureTable = tbl;
      if (re.figures.length === 0) re.figureMissing = done ? "no figure files" : missingText(o);
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
    stages: outcomes.map(({ stage, status, wallS, message }) => {
      const { label, uses, kind, dir, key } = stage;
      return { label, uses, kind, dir, status, wallS, message, summary: summary(stage), key };
    }),
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
    for (const k of ["threshold", "auc", "tar_at_far_1e-3"] as const) {
      const v = all.map((r) => r[k]);
      if (v.every((x) => typeof x === "number")) agg[k] = mean(v as number[]);
    }
    const rocs = all.map((r) => r.roc);
    if (rocs.every((r) => r !== undefined)) agg.roc = meanRoc(rocs as RocPoints[]);
    out[p] = agg;
  }
  return out;
}

/** The mean curve when all share their FPR points, else the first. */
function meanRoc(rocs: RocPoints[]): RocPoints {
  const x0 = rocs[0].fpr;
  const same = rocs.every((r) =>
    r.fpr.length === x0.length && r.tpr.length === x0.length && r.fpr.every((v, i) => v === x0[i])
  );
  if (!same) return rocs[0];
  return { fpr: x0, tpr: x0.map((_, i) => mean(rocs.map((r) => r.tpr[i]))) };
}

function barChart(
  exp: Experiment,
  table: ReportTable,
  columns: string[],
  protocol: Protocol,
): string | null {
  const present = columns.filter((key) => table.columns.some((c) => c.key === key));
  const series: BarSeries[] = present.map((key) => {
    const results = table.rows.map((r) => {
      const c = r.cells[key];
      return c?.kind === "value" ? c.results[protocol] : undefined;
    });
    return {
      label: table.columns.find((c) => c.key === key)!.label,
      values: results.map((p) => p ? 100 * p.accuracy : null),
      errors: results.map((p) => p ? 100 * p.std : null),
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
  const curves: RocCurve[] = [];
  const cols = exp.chart
    ? table.columns.filter((c) => exp.chart!.columns.includes(c.key))
    : table.columns;
  for (const row of table.rows) {
    for (const col of cols) {
      const c = row.cells[col.key];
      const roc = c?.kind === "value" ? c.results.synface?.roc : undefined;
      if (roc) curves.push({ label: `${row.label}, ${col.label}`, ...roc });
    }
  }
  if (curves.length === 0) return null;
  return rocSvg(curves, {
    title: `${exp.title.split(":")[0]}: ROC (synface protocol, mean over folds)`,
    logFar: true,
  });
}
