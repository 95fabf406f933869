/** Turn a `--model` argument (run folder, `.onnx` file, `pixels`) into an embedder. */
import type { Embedder } from "./embedder.ts";
import { parseEmbedderConfig } from "./embedder_config.ts";
import { createOnnxEmbedder, type OnnxEmbedderOptions } from "./onnx_embedder.ts";
import { createPixelEmbedder } from "./pixel_embedder.ts";

/**
 * Load `model`: `pixels` (raw-pixel baseline), a `.onnx` file, or a run folder holding
 * `model.onnx` and optionally `embedder.json` (whose settings `overrides` replace field by field).
 * The PCA baseline needs fitting images, so it is built with `fitPcaEmbedder` instead.
 */
export async function loadEmbedder(
  model: string,
  overrides: OnnxEmbedderOptions = {},
): Promise<Embedder> {
  if (model === "pixels") return createPixelEmbedder({ inputSize: overrides.inputSize });
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(model);
  } catch {
    throw new Error(
      `--model ${model}: not found; expected a run folder (with model.onnx), a .onnx file, "pixels" or "pca"`,
    );
  }
  if (stat.isFile) return await createOnnxEmbedder(model, overrides);
  const dir = model.replace(/\/+$/, "");
  let config = parseEmbedderConfig("{}");
  try {
    config = parseEmbedderConfig(
      await Deno.readTextFile(`${dir}/embedder.json`),
      `${dir}/embedder.json`,
    );
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const file = `${dir}/${config.model}`;
  try {
    await Deno.stat(file);
  } catch {
    throw new Error(`--model ${model}: run folder has no ${config.model}`);
  }
  return await createOnnxEmbedder(file, {
    inputSize: config.inputSize,
    layout: config.layout,
    channelOrder: config.channelOrder,
    mean: config.mean,
    std: config.std,
    embeddingDim: config.embeddingDim,
    name: file,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  });
}
