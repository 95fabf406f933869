/**
 * WebAssembly SIMD GEMM (placeholder until the kernel lands): throws so the CPU backend falls
 * back to the TypeScript GEMM.
 * @module
 */
import type { Gemm } from "./gemm.ts";

/** Instantiates the SIMD GEMM over `memory`. */
export function createWasmGemm(_memory: WebAssembly.Memory): Promise<Gemm> {
  return Promise.reject(new Error("wasm GEMM not built yet"));
}
