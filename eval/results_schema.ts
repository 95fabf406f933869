/**
 * The `results.json` and `roc_<protocol>.csv` files `writeEvaluationReport` writes, as a zod
 * schema and readers, for whoever reads a finished evaluation back (`compare.ts`, the reproduce
 * report). The in-memory types are `ProtocolSummary` / `EvaluationResults` in `evaluate.ts`; the
 * file differs from them only where JSON does: a NaN rate is written as null.
 */
import { z } from "./deps.ts";
import type { Equal } from "../data/mod.ts";
import type { ProtocolName } from "./protocols.ts";

/** A rate JSON may hold as null (NaN when, e.g., no negative pair lies below FAR 1e-3). */
type Rate = number | null;

/** One protocol's entry of `results.json`, as read back (further fields are dropped). */
export interface ProtocolSummaryJson {
  description: string;
  score: "cosine" | "sqdist";
  flip: boolean;
  /** Fraction of test pairs right, mean over folds. */
  accuracy: number;
  /** Std of the folds' accuracies. */
  std: number;
  threshold: Rate;
  thresholds: Rate[];
  fold_accuracies: number[];
  train_accuracy: Rate;
  auc: Rate;
  eer: Rate;
  "tar_at_far_1e-3": Rate;
  "tar_at_far_1e-2": Rate;
  "far_at_far_1e-3": Rate;
  "far_at_far_1e-2": Rate;
  tar_note: string;
}

/** `results.json`, as read back: one entry per protocol that ran (pairs, model, flags dropped). */
export interface ResultsJson {
  synface?: ProtocolSummaryJson;
  insightface?: ProtocolSummaryJson;
}

const rate = z.number().nullable();
const protocolSummarySchema = z.object({
  description: z.string(),
  score: z.enum(["cosine", "sqdist"]),
  flip: z.boolean(),
  accuracy: z.number().min(0).max(1),
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
const resultsJsonSchema = z.object({
  synface: protocolSummarySchema.optional(),
  insightface: protocolSummarySchema.optional(),
});
// The hand-written types above carry the docs; these fail `deno check` if either side drifts.
const _types: [
  Equal<z.infer<typeof protocolSummarySchema>, ProtocolSummaryJson>,
  Equal<z.infer<typeof resultsJsonSchema>, ResultsJson>,
] = [true, true];

/** Schema of `results.json` (`safeParse` for a custom reader; `readResultsJson` for a folder). */
export const ResultsJsonSchema: z.ZodType<ResultsJson> = resultsJsonSchema;

/** A fold-averaged ROC curve (false and true accept rates, by threshold). */
export interface RocPoints {
  fpr: number[];
  tpr: number[];
}

/** `<dir>/results.json`, validated (errors name the file and field); null when absent. */
export async function readResultsJson(dir: string): Promise<ResultsJson | null> {
  const file = `${dir}/results.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const r = ResultsJsonSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${file}: field "${i.path.join(".")}": ${i.message}`);
  }
  return r.data;
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
