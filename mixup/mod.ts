/**
 * `mixup/`: not implemented yet.
 * @module
 */
export {};
export * from "./domain_mixup.ts";
