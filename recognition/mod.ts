/**
 * `recognition/`: the recogniser: the autodiff engine, exported as the namespace `autodiff`
 * (tensors, ops, layers, SGD, checkpoints, backends; see `autodiff/README.md`), and training
 * (`train()`, IR backbones, margin heads, loader, checkpoints, ONNX export; see `README.md`).
 * @module
 */
export * as autodiff from "./autodiff/mod.ts";
// Training: config, backbones, heads, loader, trainer, checkpoints, ONNX export.
export * from "./config.ts";
export * from "./arch.ts";
export { Backbone } from "./backbones.ts";
export { type HeadSpec, headSpec, MarginHead } from "./heads.ts";
export { FaceModel } from "./model.ts";
export { aspectWindow, augment, fitImage, randomErase } from "./augment.ts";
export { type Batch, BatchMaker, type LoaderPlan, stepsPerEpoch } from "./batch_maker.ts";
export { type DataPosition, Loader, type LoaderOptions } from "./loader.ts";
export * from "./checkpoint.ts";
export { exportBackboneOnnx, type WeightMap } from "./export_onnx.ts";
export {
  exportRun,
  NonFiniteLossError,
  train,
  TrainDataError,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
} from "./trainer.ts";
export { drawPairs, loadValSets, validate, type ValResult, type ValSet } from "./validate.ts";
export { type TinyDatasetOptions, writeTinyDataset } from "./tiny_dataset.ts";
