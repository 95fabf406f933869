// Full npm specifiers so this module also works when imported by URL, where the
// workspace import map does not apply. Every third-party import of `generator/` goes through here.
export * as ort from "npm:onnxruntime-web@1.30.0/webgpu";
export { z } from "npm:zod@4.1.12";
