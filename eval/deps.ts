// Full npm specifiers so `eval/` also works when imported by URL, where the workspace import map
// does not apply. Every third-party import of `eval/` goes through here.
export * as ort from "npm:onnxruntime-web@1.30.0/webgpu";
export { z } from "npm:zod@4.1.12";
export * as aq from "npm:arquero@8.0.3";
