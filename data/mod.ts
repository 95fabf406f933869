/**
 * `data/`: what several modules share about data on disk: image codecs and transforms,
 * the seeded PRNG, and (soon) the dataset manifest format.
 * @module
 */
export * from "./image.ts";
export * from "./transform.ts";
export * from "./rng.ts";
