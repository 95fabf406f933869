/**
 * The two reference networks of the autodiff benchmark, built from the engine's layers; the
 * PyTorch peer (`bench_autodiff_torch.py`) builds the same ones.
 * (a) "cnn": 4× [conv3×3 (no bias) → BN → ReLU] with 32/64/128/256 channels, strides 1/2/2/2,
 *     global average pool, fc 256→128, CosFace (s=30, m=0.4) over 64 classes; 3×64×64 input.
 *     BN → ReLU is the engine's fused layer (`BatchNorm2d` with `relu`; `fused: false` builds
 *     them as two ops, the same arithmetic).
 * (b) "ir": ir10_half, the trainer's own IR-ResNet backbone (`recognition/backbones.ts`: stem
 *     conv3×3 → BN → PReLU; one IR block per stage, widths 32/64/128/256, stride 2 each; head
 *     BN → Dropout(0.4) → FC → BN1d to 256-d), ArcFace (s=30, m=0.5) over 1000 classes;
 *     3×112×96 input.
 */
import { Rng } from "../data/mod.ts";
import * as ag from "../recognition/autodiff/mod.ts";
import { archByName } from "../recognition/arch.ts";
import { Backbone } from "../recognition/backbones.ts";

/** A network plus its margin head, ready for training steps. */
export interface BenchNet {
  name: string;
  input: [number, number, number];
  classes: number;
  model: ag.Module;
  /** The model's forward pass in training mode (the IR net draws its dropout masks here). */
  forward(x: ag.Tensor): ag.Tensor;
  head: ag.Tensor;
  margin: ag.MarginOptions;
}

class ConvBnRelu extends ag.Module {
  conv: ag.Conv2d;
  bn: ag.BatchNorm2d;
  constructor(cIn: number, cOut: number, stride: number, readonly fused: boolean) {
    super();
    this.conv = this.child("conv", new ag.Conv2d(cIn, cOut, 3, { stride, padding: 1 }));
    this.bn = this.child("bn", new ag.BatchNorm2d(cOut, { relu: fused }));
  }
  forward(x: ag.Tensor): ag.Tensor {
    const y = this.bn.forward(this.conv.forward(x));
    return this.fused ? y : ag.relu(y);
  }
}

class Cnn extends ag.Module {
  body: ag.Sequential;
  fc: ag.Linear;
  constructor(fused: boolean) {
    super();
    const widths = [[3, 32, 1], [32, 64, 2], [64, 128, 2], [128, 256, 2]];
    const layers = widths.map(([i, o, s]) => new ConvBnRelu(i, o, s, fused));
    this.body = this.child("body", new ag.Sequential(...layers));
    this.fc = this.child("fc", new ag.Linear(256, 128));
  }
  forward(x: ag.Tensor): ag.Tensor {
    return this.fc.forward(ag.globalAvgPool(this.body.forward(x)));
  }
}

/** Builds net "cnn" (`fused`: BN + ReLU as one op, default) or "ir" on the default backend. */
export function buildNet(name: "cnn" | "ir", fused = true): BenchNet {
  ag.seedInit(7);
  const rng = Rng.fromSeed(9);
  if (name === "cnn") {
    const model = new Cnn(fused);
    return {
      name,
      input: [3, 64, 64],
      classes: 64,
      model,
      forward: (x) => model.forward(x),
      head: ag.parameter(ag.kaimingNormal([64, 128], rng), [64, 128]),
      margin: { kind: "cosface", s: 30, m: 0.4 },
    };
  }
  const model = new Backbone(archByName("ir10_half"), { height: 112, width: 96 }, 7, 0.4);
  const dropout = Rng.fromSeed(1).split("dropout");
  let calls = 0;
  return {
    name,
    input: [3, 112, 96],
    classes: 1000,
    model,
    forward: (x) => model.forward(x, dropout.split(calls++)),
    head: ag.parameter(ag.kaimingNormal([1000, 256], rng), [1000, 256]),
    margin: { kind: "arcface", s: 30, m: 0.5 },
  };
}

/** One SGD training step (forward, margin loss, backward, update); returns the loss tensor. */
export function trainStep(
  net: BenchNet,
  opt: ag.SGD,
  x: ag.Tensor,
  labels: ag.Tensor,
  targets: ag.Tensor,
): ag.Tensor {
  const loss = ag.scope(() => {
    const emb = ag.l2Normalize(net.forward(x));
    const cos = ag.matmul(emb, ag.l2Normalize(net.head), { transB: true });
    const l = ag.crossEntropy(ag.marginLogits(cos, labels, net.margin), targets);
    l.backward();
    return l;
  });
  opt.step();
  opt.zeroGrad();
  return loss;
}
