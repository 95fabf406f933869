/**
 * `generator/`: not implemented yet.
 * @module
 */
export {};
