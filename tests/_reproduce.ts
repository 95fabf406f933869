/** Shared fixtures of the reproduce tests: fake code fingerprints, report facts, outcomes. */
import type {
  ReportMeta,
  ResolvedPlan,
  Stage,
  StageOutcome,
  StageStatus,
} from "../tasks/reproduce/mod.ts";

/** A fingerprint per module `codeFingerprints` covers (any change of one changes stage keys). */
export const CODE = {
  data: "d",
  generator: "g",
  mixup: "m",
  synthesis: "s",
  recognition: "r",
  eval: "e",
};

/** Facts of a finished smoke run; the CPU name has markup, which the HTML must escape. */
export const META: ReportMeta = {
  command: "deno task reproduce --preset smoke",
  out: "out/x",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:03:00.000Z",
  wallS: 180,
  backend: "cpu",
  workers: 2,
  inputs: {},
  hardware: { cpu: "Test CPU <x>", cores: 2, memoryGiB: 24, os: "linux x86_64", deno: "2.9.6" },
};

/**
 * The outcomes of a run of `resolved` that never ran: a stage missing an input says so, the others
 * get `status(stage)` (default "cached") and `wallS` seconds.
 */
export function outcomesOf(
  resolved: ResolvedPlan,
  status: (stage: Stage) => StageStatus = () => "cached",
  wallS = 1,
): StageOutcome[] {
  return resolved.stages.map((stage) =>
    stage.needs.length
      ? { stage, status: "needs-input", wallS: 0, message: `needs ${stage.needs.join(", ")}` }
      : { stage, status: status(stage), wallS }
  );
}
