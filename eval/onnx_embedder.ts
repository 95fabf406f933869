/**
 * An embedder backed by any ONNX face model, run by one ONNX session (`data/onnx/session.ts`):
 * native onnxruntime-node, wasm or WebGPU (`auto` by default).
 */
import { createSession, type EpChoice, type ImageTensor, type OnnxSession } from "../data/mod.ts";
import type { Embedder, EmbedderInfo } from "./embedder.ts";

/** How to feed the ONNX model. */
export interface OnnxEmbedderOptions {
  /** Input `[height, width]`; default: from the model's input shape, else 112×112. */
  inputSize?: [number, number];
  /** Input layout; default: inferred from where the model's input has 3 channels, else NCHW. */
  layout?: "nchw" | "nhwc";
  /** Channel order the model wants (default `rgb`). */
  channelOrder?: "rgb" | "bgr";
  /** Model input is `(x − mean)/std` of 0–255 pixel values (defaults 127.5 / 127.5). */
  mean?: number;
  std?: number;
  /** Images per `session.run` (default 32; forced to 1 when the model's batch dimension is 1). */
  batchSize?: number;
  /**
   * Execution provider (default `auto`: hardware WebGPU, else native `node`, else `wasm`). The
   * one used is reported in `info.executionProvider` (and so in evaluation results).
   */
  executionProvider?: EpChoice;
  /** Intra-op threads on the `node` EP (default: one per core). */
  threads?: number;
  /** Expected embedding length, checked against the output. */
  embeddingDim?: number;
  /** Name for reports (default: the file name). */
  name?: string;
}

/** Raised when a model's inputs/outputs do not fit what the embedder was asked to feed it. */
export class ModelShapeError extends Error {
  override name = "ModelShapeError";
}

async function readModel(model: string | URL | Uint8Array): Promise<Uint8Array> {
  if (model instanceof Uint8Array) return model;
  if (model instanceof URL && model.protocol !== "file:") {
    const res = await fetch(model);
    if (!res.ok) throw new Error(`${model}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  try {
    return await Deno.readFile(model);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${String(model)}: model file not found`);
    }
    throw e;
  }
}

function dimsText(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === "number" ? d : `"${d}"`)).join(", ")}]`;
}

/**
 * Load an ONNX embedder. Validates the model's single image input (rank 4 with 3 channels in the
 * layout's channel position, fixed sizes matching `inputSize`) and, on first use, its output
 * (`[N, D]`, or `[N, D, 1, 1]`).
 */
export async function createOnnxEmbedder(
  model: string | URL | Uint8Array,
  options: OnnxEmbedderOptions = {},
): Promise<Embedder> {
  const name = options.name ??
    (model instanceof Uint8Array ? "<bytes>" : String(model).split("/").pop() ?? String(model));
  const bytes = await readModel(model);
  let session: OnnxSession;
  try {
    session = await createSession(bytes, {
      ep: options.executionProvider ?? "auto",
      threads: options.threads,
      name,
    });
  } catch (e) {
    throw new Error(`${name}: cannot load ONNX model: ${(e as Error).message}`);
  }
  const ep = session.ep;
  if (session.inputs.length !== 1) {
    const names = session.inputs.map((v) => v.name).join(", ");
    throw new ModelShapeError(
      `${name}: expected one image input, the model has ${session.inputs.length}: ${names}`,
    );
  }
  const meta = session.inputs[0];
  const inputName = meta.name, outputName = session.outputs[0].name;
  const shape = meta.shape ?? [], shapeText = dimsText(shape);
  if (meta.type !== undefined && meta.type !== "float32") {
    throw new ModelShapeError(`${name}: input "${inputName}" is ${meta.type}, expected float32`);
  }
  if (shape.length !== 0 && shape.length !== 4) {
    throw new ModelShapeError(
      `${name}: input "${inputName}" has shape ${shapeText}, expected rank 4 (NCHW or NHWC)`,
    );
  }
  let layout = options.layout;
  if (!layout) layout = shape[3] === 3 && shape[1] !== 3 ? "nhwc" : "nchw";
  const [cAxis, hAxis, wAxis] = layout === "nchw" ? [1, 2, 3] : [3, 1, 2];
  if (shape.length === 4 && typeof shape[cAxis] === "number" && shape[cAxis] !== 3) {
    const other = layout === "nchw" ? "NHWC" : "NCHW";
    const hint = shape[layout === "nchw" ? 3 : 1] === 3
      ? ` (the model looks ${other}: try --layout)`
      : "";
    throw new ModelShapeError(
      `${name}: input "${inputName}" has shape ${shapeText}: expected 3 channels at axis ${cAxis} for ${layout.toUpperCase()}${hint}`,
    );
  }
  const modelH = typeof shape[hAxis] === "number" ? shape[hAxis] as number : undefined;
  const modelW = typeof shape[wAxis] === "number" ? shape[wAxis] as number : undefined;
  const [height, width] = options.inputSize ?? [modelH ?? 112, modelW ?? 112];
  if ((modelH !== undefined && modelH !== height) || (modelW !== undefined && modelW !== width)) {
    throw new ModelShapeError(
      `${name}: input "${inputName}" has shape ${shapeText} (${modelH}×${modelW}), but input size ${height}×${width} was asked for`,
    );
  }
  const fixedBatch = typeof shape[0] === "number" ? shape[0] as number : undefined;
  const batchSize = fixedBatch ?? Math.max(1, options.batchSize ?? 32);
  const mean = options.mean ?? 127.5, std = options.std ?? 127.5;
  const bgr = (options.channelOrder ?? "rgb") === "bgr";
  const info: EmbedderInfo = {
    kind: "onnx",
    name,
    inputHeight: height,
    inputWidth: width,
    layout,
    channelOrder: bgr ? "bgr" : "rgb",
    mean,
    std,
    executionProvider: ep,
    threads: session.threads,
    batchSize,
  };
  let checkedDim: number | undefined = options.embeddingDim;

  // Tensor values arrive as (x − 127.5)/127.5; the model wants (x − mean)/std: one affine map.
  const scale = 127.5 / std;
  const shift = (127.5 - mean) / std;
  const plane = height * width;

  function pack(images: ImageTensor[], n: number): Float32Array {
    const out = new Float32Array(n * 3 * plane);
    images.forEach((img, b) => {
      if (img.height !== height || img.width !== width || img.channels !== 3) {
        throw new ModelShapeError(
          `${name}: image ${b} of the batch is ${img.channels}×${img.height}×${img.width}, the model takes 3×${height}×${width}`,
        );
      }
      for (let c = 0; c < 3; c++) {
        const src = (bgr ? 2 - c : c) * plane;
        for (let i = 0; i < plane; i++) {
          const v = img.data[src + i] * scale + shift;
          if (layout === "nchw") out[(b * 3 + c) * plane + i] = v;
          else out[(b * plane + i) * 3 + c] = v;
        }
      }
    });
    return out;
  }

  async function runChunk(images: ImageTensor[]): Promise<Float32Array[]> {
    const n = fixedBatch ?? images.length;
    const dims = layout === "nchw" ? [n, 3, height, width] : [n, height, width, 3];
    const result = await session.run({ [inputName]: { data: pack(images, n), dims } }, [
      outputName,
    ]);
    const out = result[outputName];
    const od = out.dims;
    const ok = od[0] === n && (od.length === 2 || (od.length === 4 && od[2] === 1 && od[3] === 1));
    if (!ok || !(out.data instanceof Float32Array)) {
      const got = `${out.type} [${od.join(", ")}]`;
      throw new ModelShapeError(
        `${name}: output "${outputName}" is ${got}, expected float32 [${n}, D] (or [${n}, D, 1, 1])`,
      );
    }
    const d = od[1];
    if (checkedDim !== undefined && d !== checkedDim) {
      throw new ModelShapeError(`${name}: embedding length ${d}, expected ${checkedDim}`);
    }
    checkedDim = d;
    info.embeddingDim = d;
    const data = out.data;
    return images.map((_, b) => data.slice(b * d, (b + 1) * d));
  }

  return {
    info,
    async embed(batch: ImageTensor[]): Promise<Float32Array[]> {
      const out: Float32Array[] = [];
      for (let i = 0; i < batch.length; i += batchSize) {
        out.push(...await runChunk(batch.slice(i, i + batchSize)));
      }
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}
