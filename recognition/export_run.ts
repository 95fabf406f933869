/** The export at the end of a run: the selected checkpoint's backbone as `RUN/model.onnx`. */
import { exists, writeFileAtomic, writeJsonAtomic } from "../data/atomic_write.ts";
import { archByName } from "./arch.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { parseTrainConfig } from "./config.ts";
import { exportBackboneOnnx } from "./export_onnx.ts";

/** Export a run's checkpoint (default: best, else last) to `RUN/model.onnx` + `RUN/embedder.json`. */
export async function exportRun(out: string, checkpoint?: string): Promise<string> {
  const path = checkpoint ??
    ((await exists(`${out}/best.ckpt`)) ? `${out}/best.ckpt` : `${out}/last.ckpt`);
  const ck = await readCheckpoint(path);
  const cfg = parseTrainConfig(ck.meta.config, path);
  const spec = archByName(cfg.arch);
  const input = cfg.input ?? spec.input;
  const weights = new Map([...ck.tensors].map(([k, v]) => [k, v.data]));
  const bytes = exportBackboneOnnx(spec, input, weights);
  const model = `${out}/model.onnx`;
  await writeFileAtomic(model, bytes);
  const from = `${path.split("/").pop()} at step ${ck.meta.globalStep}, data ${cfg.data}`;
  const embedder = {
    model: "model.onnx",
    inputSize: [input.height, input.width],
    layout: "nchw",
    channelOrder: "rgb",
    mean: 127.5,
    std: 127.5,
    embeddingDim: spec.embedding,
    description: `${spec.name} ${cfg.loss.kind}, ${from}`,
  };
  await writeJsonAtomic(`${out}/embedder.json`, embedder);
  return model;
}
