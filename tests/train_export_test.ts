import assert from "node:assert/strict";
import * as ort from "onnxruntime-web/webgpu";
import { ARCHS } from "../recognition/arch.ts";
import { CpuBackend } from "../recognition/autodiff/cpu/cpu_backend.ts";
import { loadStateDict, noGrad, scope, tensor, useBackend } from "../recognition/autodiff/mod.ts";
import { Backbone } from "../recognition/backbones.ts";
import { readCheckpoint } from "../recognition/checkpoint.ts";
import { exportRun, train } from "../recognition/trainer.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { AugmentConfigSchema } from "../recognition/config.ts";
import { Loader } from "../recognition/loader.ts";
import { temp } from "./_helpers.ts";

temp.test("export: RUN/model.onnx embeddings (onnxruntime wasm) equal the engine's within 1e-4", async (tmp) => {
  const backend = await CpuBackend.create({ threads: 1 });
  await writeTinyDataset(`${tmp}/data`, { classes: 4, perClass: 4, height: 16, width: 16 });
  const input = { height: 16, width: 16 }, val = { data: `${tmp}/data`, numPairs: 40 };
  const config = { data: `${tmp}/data`, out: `${tmp}/run`, arch: "ir_tiny", input, batch: 8, val };
  const r = await train({ ...config, epochs: 2, workers: 0 }, { backend, progressBar: false });
  assert.equal(r.model, `${tmp}/run/model.onnx`);
  assert.equal(r.selected, `${tmp}/run/best.ckpt`);
  const embedder = JSON.parse(await Deno.readTextFile(`${tmp}/run/embedder.json`));
  assert.deepEqual(embedder.inputSize, [16, 16]);
  assert.equal(embedder.embeddingDim, 16);

  // The engine's embeddings of the selected checkpoint, in inference mode.
  useBackend(backend);
  const bb = new Backbone(ARCHS.ir_tiny, { height: 16, width: 16 }, 0);
  const { tensors } = await readCheckpoint(r.selected);
  loadStateDict(bb.eval(), Object.fromEntries(tensors), { strict: false });
  const n = 5;
  const x = new Float32Array(n * 3 * 16 * 16).map((_, i) => Math.sin(i * 0.37) * 0.9);
  const want = await scope(() => noGrad(() => bb.forward(tensor(x, [n, 3, 16, 16])))).toArray();
  bb.dispose();

  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(await Deno.readFile(r.model!), {
    executionProviders: ["wasm"],
  });
  const res = await session.run({ input: new ort.Tensor("float32", x, [n, 3, 16, 16]) });
  const got = res.embedding.data as Float32Array;
  await session.release();
  assert.deepEqual(res.embedding.dims, [n, 16]);
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  assert.ok(maxDiff < 1e-4, `max |onnx − engine| = ${maxDiff}`);
  // onnxruntime-web has now replaced globalThis.Worker with Node's; the loader still uses
  // Deno's web Worker and yields the same batches as the inline path.
  const fit = "center-crop" as const, augment = AugmentConfigSchema.parse({});
  const plan = { data: `${tmp}/data`, domainMixup: false, input, fit, augment, seed: 3, batch: 4 };
  const viaWorker = await Loader.open(plan, 4, { epoch: 0, step: 0 }, { workers: 1 });
  const inline = await Loader.open(plan, 4, { epoch: 0, step: 0 }, { workers: 0 });
  assert.deepEqual((await viaWorker.next()).x, (await inline.next()).x);
  viaWorker.close();
  inline.close();
  // Re-export of the last checkpoint works too.
  assert.equal(await exportRun(`${tmp}/run`, `${tmp}/run/last.ckpt`), `${tmp}/run/model.onnx`);
});
