// Full npm specifiers so this module also works when imported by URL, where the
// workspace import map does not apply. Every third-party import of `data/` goes through here.
export { decode as decodePngRaw, encode as encodePngRaw } from "npm:fast-png@8.0.0";
export { default as jpeg } from "npm:jpeg-js@0.4.4";
export { z } from "npm:zod@4.1.12";

// The two ONNX runtimes are loaded on first use (`onnx/session.ts`), never at import time: the
// native addon cannot load everywhere (URL imports on Deno Deploy, the browser), and
// onnxruntime-web reads `location` when it is evaluated.
/** Types of the onnxruntime API (onnxruntime-common's, which both runtimes implement). */
export type * as OrtTypes from "npm:onnxruntime-web@1.30.0/webgpu";
/** onnxruntime-web (wasm and WebGPU execution providers), loaded on first call. */
// deno-lint-ignore no-import-prefix -- full specifier for URL imports, like the exports above
export const importOrtWeb = () => import("npm:onnxruntime-web@1.30.0/webgpu");
/** onnxruntime-node (native CPU kernels through a Node-API addon), loaded on first call. */
// deno-lint-ignore no-import-prefix -- full specifier for URL imports, like the exports above
export const importOrtNode = () => import("npm:onnxruntime-node@1.30.0");
