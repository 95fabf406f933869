/**
 * The real stage functions: thin adapters from plan nodes to the modules' APIs (generator,
 * mixup, recognition, eval). A module that is not available yet makes its stages fail with a
 * `NeedsError` ("needs generator/ …"), never with a faked result.
 */
import { NeedsError, type StageImpls } from "./run.ts";

/** The stage functions `deno task reproduce` uses. */
export const STAGES: StageImpls = {
  dataset: () => Promise.reject(new NeedsError("generator/", "dataset synthesis (issue 3)")),
  verification: () =>
    Promise.reject(new NeedsError("generator/", "synthetic verification pairs (issue 3)")),
  preview: () => Promise.reject(new NeedsError("generator/", "preview sheets (issue 3)")),
  train: () => Promise.reject(new NeedsError("recognition/", "train() (issue 5)")),
  eval: () => Promise.reject(new NeedsError("eval/", "evaluatePairs() (issue 6)")),
  features: () => Promise.reject(new NeedsError("eval/", "feature-spread plot (issue 6)")),
};
