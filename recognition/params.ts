/**
 * The parameters and buffers of an IR backbone: names, shapes and seeded initial values. Names
 * follow PyTorch conventions (`stage2.block0.conv1.weight`, `….bn1.running_mean`), so a weight
 * map reads like a PyTorch state dict.
 */
import { Rng } from "../data/rng.ts";
import { type ArchSpec, walkBackbone } from "./arch.ts";
import { uniform } from "./autodiff/mod.ts";

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
  /** How its initial value is drawn (see {@link initialValue}). */
  init: "kaiming_conv" | "kaiming_fc" | "ones" | "zeros" | "prelu" | "xavier";
}

/** All tensors of a backbone, in forward order. */
export function backboneParams(
  spec: ArchSpec,
  input: { height: number; width: number },
): ParamInfo[] {
  const out: ParamInfo[] = [];
  const add = (name: string, shape: number[], init: ParamInfo["init"], trainable = true) =>
    out.push({ name, shape, trainable, init });
  walkBackbone<void>(spec, input, {
    conv: (_, name, cIn, cOut, k) => add(`${name}.weight`, [cOut, cIn, k, k], "kaiming_conv"),
    bn: (_, name, c) => {
      add(`${name}.weight`, [c], "ones");
      add(`${name}.bias`, [c], "zeros");
      add(`${name}.running_mean`, [c], "zeros", false);
      add(`${name}.running_var`, [c], "ones", false);
    },
    prelu: (_, name, c) => add(`${name}.weight`, [c], "prelu"),
    add: () => {},
    dropout: () => {},
    fc: (_, name, inF, outF) => {
      add(`${name}.weight`, [outF, inF], "kaiming_fc");
      add(`${name}.bias`, [outF], "zeros");
    },
  }, undefined);
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
      return uniform(n, -bound, bound, rng);
    }
    case "xavier": {
      const bound = Math.sqrt(6 / (p.shape[0] + p.shape[1]));
      return uniform(n, -bound, bound, rng);
    }
  }
}
