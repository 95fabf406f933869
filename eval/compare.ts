/** Combine finished runs (their `--out` folders) into one table and one ROC plot per protocol. */
import { writeFileAtomic } from "../data/mod.ts";
import type { EvaluationResults } from "./evaluate.ts";
import { type RocCurve, rocSvg } from "./plot_roc.ts";
import { PROTOCOL_NAMES } from "./protocols.ts";
import { readRocCsv, type RocPoints } from "./results_schema.ts";
import { type LabelledResults, resultsTable, writeTable } from "./report.ts";

/** A finished run read back from its folder. */
export interface RunOnDisk extends LabelledResults {
  dir: string;
  /** Fold-averaged ROC per protocol, from `roc_<protocol>.csv`. */
  roc: Partial<Record<"synface" | "insightface", RocPoints>>;
}

/** Read `results.json` and the ROC CSVs of a run folder; `label` defaults to the folder name. */
export async function readRun(dir: string, label?: string): Promise<RunOnDisk> {
  const d = dir.replace(/\/+$/, "");
  let results: EvaluationResults;
  try {
    results = JSON.parse(await Deno.readTextFile(`${d}/results.json`));
  } catch (e) {
    throw new Error(`${d}/results.json: ${(e as Error).message}`);
  }
  const roc: RunOnDisk["roc"] = {};
  for (const p of PROTOCOL_NAMES) {
    if (!results[p]) continue;
    const points = await readRocCsv(d, p);
    if (!points) throw new Error(`${d}/roc_${p}.csv: missing, though results.json has ${p}`);
    roc[p] = points;
  }
  return { dir: d, label: label ?? d.split("/").pop()!, results, roc };
}

/**
 * Write `comparison.{md,csv,json}` and `roc_<protocol>.svg` / `roc_<protocol>_log.svg` with every
 * run on one plot into `out`.
 */
export async function writeComparison(out: string, runs: RunOnDisk[]): Promise<void> {
  await writeTable(out, "comparison", resultsTable(runs));
  for (const p of PROTOCOL_NAMES) {
    const curves: RocCurve[] = runs.filter((r) => r.roc[p]).map((r) => ({
      label: `${r.label}: ${(100 * r.results[p]!.accuracy).toFixed(2)}%`,
      ...r.roc[p]!,
    }));
    if (curves.length === 0) continue;
    const title = `ROC, ${p} protocol`;
    await writeFileAtomic(`${out}/roc_${p}.svg`, rocSvg(curves, { title }));
    await writeFileAtomic(`${out}/roc_${p}_log.svg`, rocSvg(curves, { title, logFar: true }));
  }
}
