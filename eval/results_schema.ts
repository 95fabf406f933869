/**
 * The `results.json` and `roc_<protocol>.csv` files `writeEvaluationReport` writes, as a zod
 * schema and readers, for whoever reads a finished evaluation back (`compare.ts`, the reproduce
 * report). `ProtocolSummary` (`evaluate.ts`) is this schema's entry with every rate a number: the
 * file differs from it only where JSON does, a NaN rate is written as null.
 */
import { z } from "./deps.ts";
import { readJsonFile } from "../data/mod.ts";
import type { ProtocolName } from "./protocols.ts";

/** A rate JSON may hold as null (NaN when, e.g., no negative pair lies below FAR 1e-3). */
const rate = z.number().nullable();

/** One protocol's entry of `results.json`, as read back (further fields are dropped). */
const protocolSummarySchema = z.object({
  description: z.string(),
  score: z.enum(["cosine", "sqdist"]),
  flip: z.boolean(),
  /** Fraction of test pairs right, mean over folds. */
  accuracy: z.number().min(0).max(1),
  /** Std of the folds' accuracies. */
  std: z.number().min(0),
  threshold: rate,
  thresholds: z.array(rate),
  fold_accuracies: z.array(z.number()),
  train_accuracy: rate,
  auc: rate,
  eer: rate,
  "tar_at_far_1e-3": rate,
  "tar_at_far_1e-2": rate,
  "far_at_far_1e-3": rate,
  "far_at_far_1e-2": rate,
  tar_note: z.string(),
});
/** One protocol's entry of `results.json`, as read back. */
export type ProtocolSummaryJson = z.infer<typeof protocolSummarySchema>;

/** Schema of `results.json` (`safeParse` for a custom reader; `readResultsJson` for a folder). */
export const ResultsJsonSchema = z.object({
  synface: protocolSummarySchema.optional(),
  insightface: protocolSummarySchema.optional(),
});
/** `results.json`, as read back: one entry per protocol that ran (pairs, model, flags dropped). */
export type ResultsJson = z.infer<typeof ResultsJsonSchema>;

/** A fold-averaged ROC curve (false and true accept rates, by threshold). */
export interface RocPoints {
  fpr: number[];
  tpr: number[];
}

/** `<dir>/results.json`, validated (errors name the file and field); null when absent. */
export function readResultsJson(dir: string): Promise<ResultsJson | null> {
  return readJsonFile(`${dir}/results.json`, ResultsJsonSchema);
}

/** `<dir>/roc_<protocol>.csv` (threshold, fpr, tpr per line); null when absent. */
export async function readRocCsv(dir: string, protocol: ProtocolName): Promise<RocPoints | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/roc_${protocol}.csv`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const rows = text.trim().split("\n").slice(1).map((l) => l.split(",").map(Number))
    .filter((v) => v.length >= 3);
  return { fpr: rows.map((v) => v[1]), tpr: rows.map((v) => v[2]) };
}
