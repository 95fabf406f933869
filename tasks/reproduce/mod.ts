/**
 * `tasks/reproduce/`: the experiment plan, config-hash cache, stage runner and report behind
 * `deno task reproduce`.
 * @module
 */
export * from "./plan_schema.ts";
export * from "./presets.ts";
export * from "./plan.ts";
export * from "./estimate.ts";
export * from "./cache.ts";
export * from "./run.ts";
export * from "./report_model.ts";
export * from "./report.ts";
export * from "./charts.ts";
export { createStages, type StageSet } from "./stages.ts";
export * from "./cli.ts";
