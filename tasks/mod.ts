/**
 * `tasks/`: not implemented yet.
 * @module
 */
export {};
