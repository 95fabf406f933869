/** Tiny ONNX models for eval tests, built with onnx-proto: ReduceMean over the spatial axes. */
import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as unknown as { onnx: any };

function dim(d: number | string) {
  return typeof d === "number" ? { dimValue: d } : { dimParam: d };
}

function valueInfo(name: string, shape: (number | string)[]) {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: shape.map(dim) } } } };
}

/**
 * A model whose "embedding" is the per-channel mean of the input: input `inShape`, ReduceMean over
 * `axes` (keepdims 0), output `outShape`.
 */
export function channelMeanModel(
  inShape: (number | string)[],
  axes: number[],
  outShape: (number | string)[],
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "tiny",
      node: [{
        opType: "ReduceMean",
        input: ["x"],
        output: ["y"],
        attribute: [{ name: "axes", type: 7, ints: axes }, { name: "keepdims", type: 2, i: 0 }],
      }],
      input: [valueInfo("x", inShape)],
      output: [valueInfo("y", outShape)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
