// Full npm specifiers so `eval/` also works when imported by URL, where the workspace import map
// does not apply. Every third-party import of `eval/` goes through here.
// (ONNX runtimes come through `data/`'s session interface, loaded on first use.)
export { z } from "npm:zod@4.1.12";
// arquero@8.0.3 accepts any flechette 2.x, but 2.7.0 needs a package the npm registry lacks:
// importing 2.6.0 first (re-exported only so lint keeps the import) pins it for URL imports too, where deno.json's map does not apply.
export * as flechette from "npm:@uwdata/flechette@2.6.0";
export * as aq from "npm:arquero@8.0.3";
/** The realism meter's reference embedder (MIT, trained on real faces): a file of this package. */
export const REFERENCE_PACKAGE = "npm:faceplugin-face-recognition-js@0.0.1";
