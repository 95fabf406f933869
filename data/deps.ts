// Full npm specifiers so this module also works when imported by URL, where the
// workspace import map does not apply. Every third-party import of `data/` goes through here.
export { decode as decodePngRaw, encode as encodePngRaw } from "npm:fast-png@8.0.0";
export { default as jpeg } from "npm:jpeg-js@0.4.4";
export { z } from "npm:zod@4.1.12";
