/**
 * `eval/`: LFW-style face verification of any embedder (ONNX model, run folder, pixel baselines)
 * under the synface and insightface protocols, with tables and SVG plots.
 *
 * @example
 * ```ts ignore
 * import { evaluatePairs, loadEmbedder, readPairs, writeEvaluationReport } from "./mod.ts";
 * const dir = "../shared/data/lfw-view1";
 * const evaluation = await evaluatePairs({
 *   embedder: await loadEmbedder("runs/r1"),
 *   pairs: await readPairs(`${dir}/pairsDevTest.txt`),
 *   thresholdPairs: await readPairs(`${dir}/pairsDevTrain.txt`),
 *   imagesDir: `${dir}/aligned112`,
 * });
 * console.log(evaluation.results.synface?.accuracy);
 * await writeEvaluationReport("out/eval", evaluation, { label: "r1" });
 * ```
 * @module
 */
export * from "./pairs.ts";
export * from "./protocols.ts";
export * from "./metrics.ts";
export * from "./embedder.ts";
export * from "./embedder_config.ts";
export * from "./onnx_embedder.ts";
export * from "./pixel_embedder.ts";
export * from "./load_embedder.ts";
export * from "./images.ts";
export * from "./evaluate.ts";
export * from "./results_schema.ts";
export * from "./class_stats.ts";
export * from "./linalg.ts";
export * from "./plot_svg.ts";
export * from "./plot_roc.ts";
export * from "./plot_hist.ts";
export * from "./plot_embedding.ts";
export * from "./report.ts";
export { writeFileAtomic } from "../data/mod.ts";
export * from "./compare.ts";
export * from "./view2_guard.ts";
export * from "./sym_eigen.ts";
export * from "./frechet.ts";
export * from "./realism.ts";
export * from "./mean_image.ts";
