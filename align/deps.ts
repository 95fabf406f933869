// Full npm specifiers so `align/` also works when imported by URL, where the workspace import map
// does not apply. Every third-party import of `align/` goes through here.
export { z } from "npm:zod@4.1.12";

/** The npm package whose detector and landmark models `align/` runs (MIT). */
export const FACEPLUGIN = "npm:faceplugin-face-recognition-js@0.0.1";
