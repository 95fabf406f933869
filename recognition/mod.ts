/**
 * `recognition/`: the recogniser. For now its public surface is the autodiff engine, exported
 * as the namespace `autodiff` (tensors, ops, layers, SGD, checkpoints, backends; see
 * `autodiff/README.md`).
 * @module
 */
export * as autodiff from "./autodiff/mod.ts";
