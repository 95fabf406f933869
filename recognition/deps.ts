// Full npm specifiers so this module also works when imported by URL, where the
// workspace import map does not apply. Every third-party import of `recognition/` (outside
// the autodiff engine) goes through here.
export { z } from "npm:zod@4.1.12";
