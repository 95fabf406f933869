/**
 * `recognition/autodiff/`: a small reverse-mode autodiff engine. Tensors and a tape
 * (`tensor.ts`), primitive ops with their backward rules in one typed table (`ops.ts`),
 * composites (`functional.ts`), layers (`nn.ts`), SGD (`optim.ts`), checkpoints
 * (`state_dict.ts`), and backends behind one kernel interface (`backend.ts`): `cpu`
 * (WebAssembly SIMD + TS), `webgpu` (WGSL, loaded on demand) and `ref64` (float64 reference).
 *
 * @example
 * ```ts
 * import * as ag from "./mod.ts";
 * ag.useBackend(await ag.selectBackend("cpu"));
 * const fc = new ag.Linear(4, 2);
 * const opt = new ag.SGD(fc.parameters(), { lr: 0.1 });
 * const x = ag.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
 * const t = ag.oneHot([0, 1], 2);
 * const loss = ag.scope(() => {
 *   const l = ag.crossEntropy(fc.forward(x), t);
 *   l.backward();
 *   return l;
 * });
 * opt.step();
 * opt.zeroGrad();
 * console.log(await loss.item());
 * ```
 * @module
 */
export * from "./backend.ts";
export * from "./tensor.ts";
export * from "./ops.ts";
export * from "./functional.ts";
export * from "./nn.ts";
export * from "./init.ts";
export * from "./optim.ts";
export * from "./state_dict.ts";
export * from "./backends.ts";
export { CpuBackend } from "./cpu/cpu_backend.ts";
export type { CpuOptions } from "./cpu/cpu_backend.ts";
export { Ref64Backend } from "./cpu/ref64_backend.ts";
