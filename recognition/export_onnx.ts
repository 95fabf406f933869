/**
 * Export a trained IR backbone to ONNX with our own graph builder (`data/onnx/`), in inference
 * form: batch norms use running statistics, dropout is gone, and the final BN1d is folded into
 * the FC (exact up to float rounding). Input `input` float32 [batch, 3, H, W] normalised
 * `(x/255 − 0.5)/0.5`, RGB; output `embedding` float32 [batch, D] (not L2-normalised).
 */
import { float, GraphBuilder } from "../data/onnx/mod.ts";
import { type ArchSpec, blocks, featureSize } from "./arch.ts";
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
  let x = g.input("input", "float32", ["batch", 3, input.height, input.width]);

  const conv = (x: string, name: string, cIn: number, cOut: number, k: number, stride: number) => {
    const w = g.initializer(`${name}.weight`, get(weights, `${name}.weight`, cOut * cIn * k * k), [
      cOut,
      cIn,
      k,
      k,
    ]);
    const p = (k - 1) / 2;
    return g.op("Conv", [x, w], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [p, p, p, p],
    });
  };
  const bn = (x: string, name: string, c: number) => {
    const ins = ["weight", "bias", "running_mean", "running_var"].map((k) =>
      g.initializer(`${name}.${k}`, get(weights, `${name}.${k}`, c), [c])
    );
    return g.op("BatchNormalization", [x, ...ins], { epsilon: float(BN_EPS) });
  };
  const prelu = (x: string, name: string, c: number) => {
    const a = g.initializer(`${name}.weight`, get(weights, `${name}.weight`, c), [c, 1, 1]);
    return g.op("PRelu", [x, a]);
  };

  x = prelu(
    bn(conv(x, "stem.conv", 3, spec.stem, 3, 1), "stem.bn", spec.stem),
    "stem.prelu",
    spec.stem,
  );
  for (const b of blocks(spec)) {
    let r = bn(x, `${b.name}.bn1`, b.cIn);
    r = conv(r, `${b.name}.conv1`, b.cIn, b.cOut, 3, 1);
    r = prelu(bn(r, `${b.name}.bn2`, b.cOut), `${b.name}.prelu`, b.cOut);
    r = bn(conv(r, `${b.name}.conv2`, b.cOut, b.cOut, 3, b.stride), `${b.name}.bn3`, b.cOut);
    const s = b.project
      ? bn(
        conv(x, `${b.name}.shortcut.conv`, b.cIn, b.cOut, 1, b.stride),
        `${b.name}.shortcut.bn`,
        b.cOut,
      )
      : x;
    x = g.op("Add", [r, s]);
  }
  const c = spec.widths[spec.widths.length - 1];
  x = bn(x, "head.bn", c);
  x = g.op("Flatten", [x], { axis: 1 });
  const [fh, fw] = featureSize(spec, input.height, input.width);
  const inF = c * fh * fw;
  const d = spec.embedding;
  // Fold BN1d(FC(x)) into one Gemm: y = (Wx + b − μ)·γ/√(σ²+ε) + β.
  const fcW = get(weights, "head.fc.weight", d * inF);
  const fcB = get(weights, "head.fc.bias", d);
  const gamma = get(weights, "head.bn_emb.weight", d);
  const beta = get(weights, "head.bn_emb.bias", d);
  const mean = get(weights, "head.bn_emb.running_mean", d);
  const variance = get(weights, "head.bn_emb.running_var", d);
  const w2 = new Float32Array(d * inF);
  const b2 = new Float32Array(d);
  for (let o = 0; o < d; o++) {
    const k = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
    for (let i = 0; i < inF; i++) w2[o * inF + i] = fcW[o * inF + i] * k;
    b2[o] = (fcB[o] - mean[o]) * k + beta[o];
  }
  const gw = g.initializer("head.fc_bn.weight", w2, [d, inF]);
  const gb = g.initializer("head.fc_bn.bias", b2, [d]);
  x = g.op("Gemm", [x, gw, gb], { transB: 1 });
  g.output(x, "embedding", "float32", ["batch", d]);
  return g.toBytes();
}
