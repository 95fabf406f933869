/**
 * `embedder.json`: how a run folder's `model.onnx` wants its input. The trainer writes one next to
 * the exported model; `loadEmbedder(RUN_DIR)` reads it, and command-line flags override it.
 */
import { parseJsonText } from "../data/mod.ts";
import { z } from "./deps.ts";

/**
 * Schema of `RUN_DIR/embedder.json`; every field is optional (defaults below), unknown keys are
 * rejected so typos surface. The trainer writes e.g. `{"inputSize": [112, 112], "mean": 127.5,
 * "std": 127.5, "embeddingDim": 512}`.
 */
export const EmbedderConfigSchema = z.object({
  /** ONNX file, relative to the run folder. */
  model: z.string().default("model.onnx"),
  /** Input `[height, width]`. */
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([
    112,
    112,
  ]),
  /** Tensor layout of the model input. */
  layout: z.enum(["nchw", "nhwc"]).default("nchw"),
  /** Channel order of the model input. */
  channelOrder: z.enum(["rgb", "bgr"]).default("rgb"),
  /** Input is `(x − mean)/std` of 0–255 pixel values; default `(x/255 − 0.5)/0.5`. */
  mean: z.number().default(127.5),
  std: z.number().positive().default(127.5),
  /** Embedding length, checked against the model output when given. */
  embeddingDim: z.number().int().positive().optional(),
  /** Free text: what produced the model (run name, epoch, …). */
  description: z.string().optional(),
}).strict();
/** A parsed `embedder.json` (defaults filled in). */
export type EmbedderConfig = z.infer<typeof EmbedderConfigSchema>;

/** Parse `embedder.json` text; errors name the file and the offending field. */
export function parseEmbedderConfig(text: string, file = "embedder.json"): EmbedderConfig {
  return parseJsonText(text, file, EmbedderConfigSchema);
}
