/**
 * `recognition/`: not implemented yet.
 * @module
 */
export {};
