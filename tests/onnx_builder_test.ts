/** data/onnx: the hand-written encoder decodes with onnx-proto and runs in onnxruntime-web. */
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-web/webgpu";
import { float, GraphBuilder } from "../data/onnx/mod.ts";

const { onnx } = onnxProto;

function tinyModel(): Uint8Array {
  const g = new GraphBuilder("tiny");
  const x = g.input("x", "float32", ["batch", 3]);
  const w = g.initializer("w", new Float32Array([1, -2, 0.5, 3, 0, -1]), [3, 2]);
  const b = g.const([0.25, -0.5]);
  const y = g.op("Relu", [g.op("Add", [g.op("MatMul", [x, w]), b])]);
  const z = g.op("Gemm", [x, w], { alpha: float(2), transA: 0 });
  const idx = g.ints([1, 0]);
  const swapped = g.op("Gather", [y, idx], { axis: 1 });
  g.output(swapped, "y", "float32", ["batch", 2]);
  g.output(z, "z", "float32", ["batch", 2]);
  return g.toBytes();
}

Deno.test("onnx builder: output decodes with onnx-proto", () => {
  const m = onnx.ModelProto.decode(tinyModel());
  assert.equal(Number(m.irVersion), 8);
  assert.equal(Number(m.opsetImport![0].version), 17);
  const graph = m.graph!;
  const ops = ["MatMul", "Add", "Relu", "Gemm", "Gather", "Identity", "Identity"];
  assert.deepEqual(graph.node!.map((n) => n.opType), ops);
  assert.equal(graph.input![0].name, "x");
  const dims = graph.input![0].type!.tensorType!.shape!.dim!;
  assert.equal(dims[0].dimParam, "batch");
  assert.equal(Number(dims[1].dimValue), 3);
  const w = graph.initializer!.find((t) => t.name === "w")!;
  assert.deepEqual(w.dims!.map(Number), [3, 2]);
  assert.equal(w.dataType, onnx.TensorProto.DataType.FLOAT);
  const raw = w.rawData!;
  assert.deepEqual(Array.from(new Float32Array(raw.slice().buffer)), [1, -2, 0.5, 3, 0, -1]);
  const gemm = graph.node!.find((n) => n.opType === "Gemm")!;
  const alpha = gemm.attribute!.find((a) => a.name === "alpha")!;
  assert.equal(alpha.type, onnx.AttributeProto.AttributeType.FLOAT);
  assert.equal(alpha.f, 2);
  const gather = graph.node!.find((n) => n.opType === "Gather")!;
  assert.equal(Number(gather.attribute![0].i), 1);
  assert.deepEqual(graph.output!.map((o) => o.name), ["y", "z"]);
});

Deno.test("onnx builder: runs in onnxruntime-web (wasm) like a JS reference", async () => {
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(tinyModel(), { executionProviders: ["wasm"] });
  const x = new Float32Array([1, 2, 3, -1, 0.5, 4]);
  const out = await s.run({ x: new ort.Tensor("float32", x, [2, 3]) });
  const W = [[1, -2], [0.5, 3], [0, -1]];
  for (let r = 0; r < 2; r++) {
    const mm = [0, 1].map((c) =>
      x[3 * r] * W[0][c] + x[3 * r + 1] * W[1][c] + x[3 * r + 2] * W[2][c]
    );
    const y = mm.map((v, c) => Math.max(0, v + [0.25, -0.5][c]));
    const row = (t: ort.Tensor) => Array.from((t.data as Float32Array).slice(2 * r, 2 * r + 2));
    assert.deepEqual(row(out.y), [y[1], y[0]]);
    assert.deepEqual(row(out.z), mm.map((v) => 2 * v));
  }
  await s.release();
});

Deno.test("onnx builder: rejects duplicate names and wrong data sizes", () => {
  const g = new GraphBuilder();
  g.input("x", "float32", [1]);
  assert.throws(() => g.input("x", "float32", [1]), /used twice/);
  assert.throws(() => g.initializer("w", new Float32Array(5), [2, 3]), /hold 6 values, data has 5/);
});
