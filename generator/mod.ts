/**
 * `generator/`: the embedded 3DMM-style face generator (an ONNX graph built by our own code)
 * and a runner for any ONNX face generator described by a `generator.json` manifest.
 * @module
 */
export * from "./manifest.ts";
export * from "./face_generator.ts";
export { GeneratorPool } from "./pool.ts";
export * from "./model_source.ts";
export {
  APPEARANCE_COMPONENTS,
  buildEmbedded,
  EMBEDDED_MANIFESTS,
  type EmbeddedKind,
  embeddedKind,
  embeddedManifest,
  LEARNED_ID,
  PROCEDURAL_ID,
} from "./build.ts";
export * from "./appearance.ts";
export { IMAGE_SIZE, LATENT_BLOCKS, latentBlocks } from "./face_graph.ts";
export { textureTaps } from "./texture_taps.ts";
export { ARCFACE_TEMPLATE } from "./geometry.ts";
