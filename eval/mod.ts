/**
 * `eval/`: not implemented yet.
 * @module
 */
export {};
