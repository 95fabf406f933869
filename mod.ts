/**
 * synface: face recognition trained on generated faces. The public API: each module's public
 * face, as a namespace (module names repeat across layers, e.g. a config schema per module),
 * plus the data floor (codecs, transforms, PRNG, dataset format) at the top level.
 *
 * @example
 * ```ts
 * import { evaluation, generator, Rng } from "./mod.ts";
 * const faces = await generator.FaceGenerator.load();
 * ```
 * @module
 */
export * from "./data/mod.ts";
export * as data from "./data/mod.ts";
export * as generator from "./generator/mod.ts";
export * as mixup from "./mixup/mod.ts";
export * as synthesis from "./synthesis/mod.ts";
export * as recognition from "./recognition/mod.ts";
export * as evaluation from "./eval/mod.ts";
export * as align from "./align/mod.ts";
