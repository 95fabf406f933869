/**
 * `mixup/`: Identity Mixup and dataset synthesis (drives a generator, writes a `data/`
 * dataset), and Domain Mixup.
 * @module
 */
export * from "./identity_mixup.ts";
export * from "./synthesize.ts";
export * from "./verification.ts";
export * from "./preview.ts";
export * from "./domain_mixup.ts";
