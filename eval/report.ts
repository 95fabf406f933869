/**
 * Reports of evaluation runs: `results.json`, a table per run (Markdown + CSV + JSON via arquero),
 * per-pair scores, fold-averaged ROC points, and SVG plots. All writes are atomic.
 */
import { writeFileAtomic, writeJsonAtomic } from "../data/mod.ts";
import { classCosineStats } from "./class_stats.ts";
import { aq } from "./deps.ts";
import { embeddingsByIdentity, type Evaluation, type EvaluationResults } from "./evaluate.ts";
import { histogramSvg } from "./plot_hist.ts";
import { embeddingSvg, type IdentityFeatures } from "./plot_embedding.ts";
import { type RocCurve, rocSvg } from "./plot_roc.ts";
import { PROTOCOL_NAMES } from "./protocols.ts";

/** A labelled run, for multi-run tables and ROC plots. */
export interface LabelledResults {
  label: string;
  results: EvaluationResults;
}

const pct = (v: number, digits = 2) => Number((100 * v).toFixed(digits));

/** One table row per protocol of each run (percentages rounded for reading). */
export function resultRows(runs: LabelledResults[]): Record<string, string | number>[] {
  return runs.flatMap(({ label, results }) =>
    PROTOCOL_NAMES.filter((p) => results[p]).map((p) => {
      const s = results[p]!;
      return {
        run: label,
        protocol: p,
        "accuracy_%": pct(s.accuracy),
        "std_%": pct(s.std),
        threshold: Number(s.threshold.toFixed(4)),
        auc: Number(s.auc.toFixed(4)),
        "eer_%": pct(s.eer),
        "tar@far=1e-3_%": pct(s["tar_at_far_1e-3"], 1),
        "tar@far=1e-2_%": pct(s["tar_at_far_1e-2"], 1),
        pairs: results.pairs.evaluated,
        missing: results.missing.images,
        split: results.split,
      };
    })
  );
}

/** An arquero table of runs × protocols. */
export function resultsTable(runs: LabelledResults[]): aq.ColumnTable {
  return aq.from(resultRows(runs));
}

/** Write `base.md`, `base.csv` and `base.json` of a table into `dir`. */
export async function writeTable(dir: string, base: string, table: aq.ColumnTable): Promise<void> {
  await writeFileAtomic(`${dir}/${base}.md`, aq.toMarkdown(table) + "\n");
  await writeFileAtomic(`${dir}/${base}.csv`, aq.toCSV(table) + "\n");
  await writeJsonAtomic(`${dir}/${base}.json`, table.objects());
}

/** ROC curves of several runs (one protocol) for `rocSvg`. */
export function rocCurves(
  runs: { label: string; evaluation: Evaluation }[],
  protocol: "synface" | "insightface",
): RocCurve[] {
  return runs.filter((r) => r.evaluation.metrics[protocol]).map((r) => ({
    label: `${r.label} (${protocol})`,
    fpr: r.evaluation.metrics[protocol]!.roc.fpr,
    tpr: r.evaluation.metrics[protocol]!.roc.tpr,
  }));
}

/** The identities with the most images (at least `minImages`), for the embedding plot. */
export function pickIdentities(
  byIdentity: Map<string, Float32Array[]>,
  count = 8,
  minImages = 3,
): IdentityFeatures[] {
  return [...byIdentity.entries()]
    .filter(([, f]) => f.length >= minImages)
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([identity, features]) => ({ identity, features: features.slice(0, 25) }));
}

/**
 * Write a run's report into `dir`: results.json (plus class cosine statistics), table.{md,csv,json},
 * scores.csv, roc_<protocol>.csv, and unless `plots: false`: roc.svg, roc_log.svg,
 * hist_<protocol>.svg and embedding.svg.
 */
export async function writeEvaluationReport(
  dir: string,
  evaluation: Evaluation,
  options: { label?: string; plots?: boolean } = {},
): Promise<void> {
  const label = options.label ?? evaluation.results.model.name;
  const byId = embeddingsByIdentity(evaluation.embeddings);
  const stats = classCosineStats(byId);
  const results = {
    ...evaluation.results,
    class_stats: { ...stats, note: "plain embeddings of every evaluated image, grouped by folder" },
  };
  await writeJsonAtomic(`${dir}/results.json`, results);
  await writeTable(dir, "table", resultsTable([{ label, results: evaluation.results }]));
  const protocols = PROTOCOL_NAMES.filter((p) => evaluation.scores[p]);
  const header = [
    "a",
    "b",
    "same",
    "fold",
    ...protocols.map((p) => `${p}_${evaluation.results[p]!.score}`),
  ];
  const lines = evaluation.pairs.map((p, i) =>
    [p.a, p.b, p.same ? 1 : 0, p.fold, ...protocols.map((q) => evaluation.scores[q]![i].toFixed(6))]
      .join(",")
  );
  await writeFileAtomic(`${dir}/scores.csv`, [header.join(","), ...lines].join("\n") + "\n");
  for (const p of protocols) {
    const roc = evaluation.metrics[p]!.roc;
    const rows = roc.thresholds.map((t, i) =>
      `${Number(t.toFixed(6))},${roc.fpr[i]},${roc.tpr[i]}`
    );
    await writeFileAtomic(`${dir}/roc_${p}.csv`, ["threshold,fpr,tpr", ...rows].join("\n") + "\n");
  }
  if (options.plots === false) return;
  const curves = protocols.flatMap((p) => rocCurves([{ label, evaluation }], p));
  await writeFileAtomic(`${dir}/roc.svg`, rocSvg(curves, { title: `ROC: ${label}` }));
  await writeFileAtomic(
    `${dir}/roc_log.svg`,
    rocSvg(curves, { title: `ROC: ${label}`, logFar: true }),
  );
  for (const p of protocols) {
    const s = evaluation.scores[p]!;
    const same = evaluation.pairs.map((q, i) => (q.same ? s[i] : NaN)).filter(Number.isFinite);
    const diff = evaluation.pairs.map((q, i) => (q.same ? NaN : s[i])).filter(Number.isFinite);
    const r = evaluation.results[p]!;
    await writeFileAtomic(
      `${dir}/hist_${p}.svg`,
      histogramSvg(same, diff, {
        title: `${label}: ${p} protocol, accuracy ${(100 * r.accuracy).toFixed(2)}%`,
        scoreLabel: r.score === "cosine" ? "cosine similarity" : "squared L2 distance (normalised)",
        range: r.score === "cosine" ? [-1, 1] : [0, 4],
        threshold: r.threshold,
      }),
    );
  }
  const picked = pickIdentities(byId);
  if (picked.length >= 2) {
    await writeFileAtomic(
      `${dir}/embedding.svg`,
      embeddingSvg(picked, {
        title: `${label}: ${picked.length} identities (PCA of normalised features)`,
      }),
    );
  }
}
