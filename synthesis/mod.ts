/**
 * `synthesis/`: datasets from a generator: training sets with Identity Mixup, a factor study
 * (`vary`) and long-tail profiles, shards and resume (`synthesize`); held-out verification sets
 * in LFW format (`synthesizeVerification`); preview sheets (`writePreviews`). Builds on
 * `generator/` and `mixup/`, never the reverse.
 * @module
 */
export * from "./synthesize.ts";
export * from "./verification.ts";
export * from "./preview.ts";
