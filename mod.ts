/**
 * synface: face recognition trained on generated faces. The public API re-exports each module.
 * @module
 */
export * from "./data/mod.ts";
