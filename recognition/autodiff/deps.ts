// Full npm specifiers so the engine also works when imported by URL, where the workspace
// import map does not apply. Every third-party import of `recognition/autodiff/` goes through here.
export { z } from "npm:zod@4.1.12";
