import assert from "node:assert/strict";
import { spawnWorker } from "../data/mod.ts";
import { GraphBuilder } from "../data/onnx/mod.ts";
import * as ort from "onnxruntime-web/webgpu";

const ECHO = "data:application/javascript," +
  encodeURIComponent("self.onmessage = (e) => self.postMessage(e.data * 2);");

function roundTrip(w: Worker, value: number): Promise<number> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
    w.postMessage(value);
  });
}

Deno.test("spawnWorker still starts web workers after onnxruntime-web replaced globalThis.Worker", async () => {
  const before = globalThis.Worker;
  ort.env.wasm.numThreads = 1;
  const g = new GraphBuilder("relu");
  g.output(g.op("Relu", [g.input("x", "float32", [1])]), "y", "float32", [1]);
  const model = g.toBytes();
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  try {
    // The premise of the helper: without it, `new Worker(...)` would now be Node's.
    assert.notEqual(globalThis.Worker, before, "onnxruntime-web no longer patches Worker");
    const w = spawnWorker(ECHO);
    try {
      assert.equal(await roundTrip(w, 21), 42);
    } finally {
      w.terminate();
    }
  } finally {
    await session.release();
    globalThis.Worker = before;
  }
});
