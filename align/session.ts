/**
 * Where `align/` gets its models and how it runs them: the ONNX files of the npm package
 * `faceplugin-face-recognition-js@0.0.1`, read as bytes from the installed package (never the
 * network), run in sessions of `data/`'s one ONNX interface on any execution provider (`node`:
 * native onnxruntime-node; `wasm`/`webgpu`: onnxruntime-web).
 * @module
 */
import type { OnnxSession } from "../data/mod.ts";
import { FACEPLUGIN } from "./deps.ts";

/** An ONNX session, as `align/` uses it. */
export type Session = OnnxSession;

/** The models `align/` uses. */
export type ModelName = "fr_detect" | "fr_landmark";

/**
 * The file URL of a faceplugin model in the installed package. Resolves through the import map
 * (a `node_modules` folder or Deno's npm cache).
 */
export function modelUrl(name: ModelName | "fr_feature"): URL {
  const resolved = import.meta.resolve(`${FACEPLUGIN}/model/${name}.onnx`);
  if (!resolved.startsWith("file:")) {
    throw new Error(
      `${FACEPLUGIN}/model/${name}.onnx resolved to ${resolved}, expected a file: run with a ` +
        `node_modules folder ("nodeModulesDir": "auto") or install the package`,
    );
  }
  return new URL(resolved);
}

/** Read a faceplugin model's bytes from the installed package. */
export async function readModel(name: ModelName | "fr_feature"): Promise<Uint8Array> {
  const url = modelUrl(name);
  try {
    return await Deno.readFile(url);
  } catch (e) {
    throw new Error(`${url.pathname}: cannot read model ${name}: ${(e as Error).message}`);
  }
}

/** Run a session with one float32 input named `input`; returns the named outputs' data. */
export async function runSession(
  session: Session,
  data: Float32Array,
  dims: number[],
): Promise<Record<string, Float32Array>> {
  const out = await session.run({ input: { data, dims } });
  const res: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array;
  return res;
}
