/**
 * `mixup/`: not implemented yet.
 * @module
 */
export {};
