/**
 * Export a trained IR backbone to ONNX with our own graph builder (`data/onnx/`), in inference
 * form: batch norms use running statistics, dropout is gone, and the final BN1d is folded into
 * the FC (exact up to float rounding). Input `input` float32 [batch, 3, H, W] normalised
 * `(x/255 − 0.5)/0.5`, RGB; output `embedding` float32 [batch, D] (not L2-normalised).
 */
import { float, GraphBuilder } from "../data/onnx/mod.ts";
import { type ArchSpec, walkBackbone } from "./arch.ts";
import { BN_EPS } from "./params.ts";

/** Named float32 tensors: parameters and batch-norm running statistics. */
export type WeightMap = ReadonlyMap<string, Float32Array>;

function get(w: WeightMap, name: string, size?: number): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`export: missing weight "${name}"`);
  if (size !== undefined && t.length !== size) {
    throw new Error(`export: weight "${name}" has ${t.length} values, expected ${size}`);
  }
  return t;
}

/** Build the ONNX model bytes of a backbone. */
export function exportBackboneOnnx(
  spec: ArchSpec,
  input: { height: number; width: number },
  weights: WeightMap,
): Uint8Array {
  const g = new GraphBuilder(spec.name, 17);
  const param = (name: string, shape: number[]) =>
    g.initializer(name, get(weights, name, shape.reduce((a, b) => a * b, 1)), shape);
  const bn = (x: string, name: string, c: number) => {
    const ins = ["weight", "bias", "running_mean", "running_var"].map((k) =>
      param(`${name}.${k}`, [c])
    );
    return g.op("BatchNormalization", [x, ...ins], { epsilon: float(BN_EPS) });
  };
  // BN1d(FC(x)) folds into one Gemm, y = (Wx + b − μ)·γ/√(σ²+ε) + β: the FC is emitted by the
  // batch norm that follows it.
  const FC = "<fc>";
  let fc = { x: "", name: "", inF: 0 };
  const foldedFc = (name: string, d: number) => {
    const { inF } = fc;
    const fcW = get(weights, `${fc.name}.weight`, d * inF);
    const fcB = get(weights, `${fc.name}.bias`, d);
    const [gamma, beta, mean, variance] = ["weight", "bias", "running_mean", "running_var"]
      .map((k) => get(weights, `${name}.${k}`, d));
    const w2 = new Float32Array(d * inF), b2 = new Float32Array(d);
    for (let o = 0; o < d; o++) {
      const k = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
      for (let i = 0; i < inF; i++) w2[o * inF + i] = fcW[o * inF + i] * k;
      b2[o] = (fcB[o] - mean[o]) * k + beta[o];
    }
    const gw = g.initializer(`${fc.name}_bn.weight`, w2, [d, inF]);
    const gb = g.initializer(`${fc.name}_bn.bias`, b2, [d]);
    return g.op("Gemm", [fc.x, gw, gb], { transB: 1 });
  };
  const x = walkBackbone<string>(spec, input, {
    conv: (x, name, cIn, cOut, k, stride) => {
      const p = (k - 1) / 2;
      return g.op("Conv", [x, param(`${name}.weight`, [cOut, cIn, k, k])], {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [p, p, p, p],
      });
    },
    bn: (x, name, c) => x === FC ? foldedFc(name, c) : bn(x, name, c),
    prelu: (x, name, c) => g.op("PRelu", [x, param(`${name}.weight`, [c, 1, 1])]),
    add: (a, b) => g.op("Add", [a, b]),
    dropout: (x) => x,
    fc: (x, name, inF) => {
      fc = { x: g.op("Flatten", [x], { axis: 1 }), name, inF };
      return FC;
    },
  }, g.input("input", "float32", ["batch", 3, input.height, input.width]));
  g.output(x, "embedding", "float32", ["batch", spec.embedding]);
  return g.toBytes();
}
