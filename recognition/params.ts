/**
 * The parameters and buffers of an IR backbone: names, shapes and seeded initial values. Names
 * follow PyTorch conventions (`stage2.block0.conv1.weight`, `….bn1.running_mean`), so a weight
 * map reads like a PyTorch state dict.
 */
import { Rng } from "../data/rng.ts";
import { type ArchSpec, blocks, featureSize } from "./arch.ts";

/** Batch-norm epsilon (PyTorch default). */
export const BN_EPS = 1e-5;
/** Batch-norm running-statistics momentum (PyTorch default). */
export const BN_MOMENTUM = 0.1;

/** One named tensor of the model. */
export interface ParamInfo {
  name: string;
  shape: number[];
  /** Trainable (gets gradients and SGD) or a buffer (running statistics). */
  trainable: boolean;
  /** Weight decay applies (conv/FC weights, PReLU slopes as in the paper's code: all params). */
  init: "kaiming_conv" | "kaiming_fc" | "ones" | "zeros" | "prelu" | "xavier";
}

/** All tensors of a backbone, in forward order. */
export function backboneParams(
  spec: ArchSpec,
  input: { height: number; width: number },
): ParamInfo[] {
  const out: ParamInfo[] = [];
  const conv = (name: string, cOut: number, cIn: number, k: number) =>
    out.push({
      name: `${name}.weight`,
      shape: [cOut, cIn, k, k],
      trainable: true,
      init: "kaiming_conv",
    });
  const bn = (name: string, c: number) => {
    out.push({ name: `${name}.weight`, shape: [c], trainable: true, init: "ones" });
    out.push({ name: `${name}.bias`, shape: [c], trainable: true, init: "zeros" });
    out.push({ name: `${name}.running_mean`, shape: [c], trainable: false, init: "zeros" });
    out.push({ name: `${name}.running_var`, shape: [c], trainable: false, init: "ones" });
  };
  const prelu = (name: string, c: number) =>
    out.push({ name: `${name}.weight`, shape: [c], trainable: true, init: "prelu" });
  conv("stem.conv", spec.stem, 3, 3);
  bn("stem.bn", spec.stem);
  prelu("stem.prelu", spec.stem);
  for (const b of blocks(spec)) {
    bn(`${b.name}.bn1`, b.cIn);
    conv(`${b.name}.conv1`, b.cOut, b.cIn, 3);
    bn(`${b.name}.bn2`, b.cOut);
    prelu(`${b.name}.prelu`, b.cOut);
    conv(`${b.name}.conv2`, b.cOut, b.cOut, 3);
    bn(`${b.name}.bn3`, b.cOut);
    if (b.project) {
      conv(`${b.name}.shortcut.conv`, b.cOut, b.cIn, 1);
      bn(`${b.name}.shortcut.bn`, b.cOut);
    }
  }
  const c = spec.widths[spec.widths.length - 1];
  bn("head.bn", c);
  const [fh, fw] = featureSize(spec, input.height, input.width);
  out.push({
    name: "head.fc.weight",
    shape: [spec.embedding, c * fh * fw],
    trainable: true,
    init: "kaiming_fc",
  });
  out.push({ name: "head.fc.bias", shape: [spec.embedding], trainable: true, init: "zeros" });
  bn("head.bn_emb", spec.embedding);
  return out;
}

/** Seeded initial values: each tensor from its own stream `seed → "init" → name`. */
export function initialValue(p: Omit<ParamInfo, "trainable">, seed: number): Float32Array {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const rng = Rng.fromSeed(seed).split("init", p.name);
  switch (p.init) {
    case "ones":
      return new Float32Array(n).fill(1);
    case "zeros":
      return new Float32Array(n);
    case "prelu":
      return new Float32Array(n).fill(0.25);
    case "kaiming_conv": {
      // Kaiming normal, fan_out, gain √2 (insightface/torchvision ResNet init).
      const [cOut, , kh, kw] = p.shape;
      return rng.normals(n, Math.sqrt(2 / (cOut * kh * kw)));
    }
    case "kaiming_fc": {
      // PyTorch Linear default: U(−1/√fan_in, 1/√fan_in).
      const bound = 1 / Math.sqrt(p.shape[1]);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.range(-bound, bound);
      return out;
    }
    case "xavier": {
      const bound = Math.sqrt(6 / (p.shape[0] + p.shape[1]));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.range(-bound, bound);
      return out;
    }
  }
}
