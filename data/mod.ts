/**
 * `data/`: what several modules share about data on disk: image codecs and transforms,
 * the seeded PRNG, and the dataset format (manifest + image folders).
 * @module
 */
export * from "./image.ts";
export * from "./transform.ts";
export * from "./rng.ts";
export * from "./image_info.ts";
export * from "./dataset.ts";
export * from "./web_worker.ts";
export * from "./atomic_write.ts";
export * from "./cli_args.ts";
export * from "./onnx/session.ts";
export * from "./text_lines.ts";
export * from "./format_duration.ts";
export * from "./face_template.ts";
