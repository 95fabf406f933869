/**
 * The two reference networks of the autodiff benchmark, built from the engine's layers; the
 * PyTorch peer (`bench_autodiff_torch.py`) builds the same ones.
 * (a) "cnn": 4× [conv3×3 (no bias) → BN → ReLU] with 32/64/128/256 channels, strides 1/2/2/2,
 *     global average pool, fc 256→128, CosFace (s=30, m=0.4) over 64 classes; 3×64×64 input.
 * (b) "ir": ir10_half, an ArcFace IR-ResNet (stem conv3×3 → BN → PReLU; one IR block per stage,
 *     widths 32/64/128/256, stride 2 each; head BN → Dropout(0.4) → FC → BN1d to 256-d),
 *     ArcFace (s=30, m=0.5) over 1000 classes; 3×112×96 input.
 */
import { Rng } from "../data/mod.ts";
import * as ag from "../recognition/autodiff/mod.ts";

/** A network plus its margin head, ready for training steps. */
export interface BenchNet {
  name: string;
  input: [number, number, number];
  classes: number;
  model: ag.Module;
  head: ag.Tensor;
  margin: ag.MarginOptions;
}

class ConvBnRelu extends ag.Module {
  conv: ag.Conv2d;
  bn: ag.BatchNorm2d;
  constructor(cIn: number, cOut: number, stride: number) {
    super();
    this.conv = this.child("conv", new ag.Conv2d(cIn, cOut, 3, { stride, padding: 1 }));
    this.bn = this.child("bn", new ag.BatchNorm2d(cOut));
  }
  forward(x: ag.Tensor): ag.Tensor {
    return ag.relu(this.bn.forward(this.conv.forward(x)));
  }
}

class Cnn extends ag.Module {
  body = this.child(
    "body",
    new ag.Sequential(
      new ConvBnRelu(3, 32, 1),
      new ConvBnRelu(32, 64, 2),
      new ConvBnRelu(64, 128, 2),
      new ConvBnRelu(128, 256, 2),
    ),
  );
  fc = this.child("fc", new ag.Linear(256, 128));
  forward(x: ag.Tensor): ag.Tensor {
    return this.fc.forward(ag.globalAvgPool(this.body.forward(x)));
  }
}

/** insightface IBasicBlock: BN → conv3×3 → BN → PReLU → conv3×3(stride) → BN, + shortcut. */
class IrBlock extends ag.Module {
  bn1: ag.BatchNorm2d;
  conv1: ag.Conv2d;
  bn2: ag.BatchNorm2d;
  prelu: ag.PReLU;
  conv2: ag.Conv2d;
  bn3: ag.BatchNorm2d;
  down: ag.Sequential | null;
  constructor(cIn: number, cOut: number, stride: number) {
    super();
    this.bn1 = this.child("bn1", new ag.BatchNorm2d(cIn));
    this.conv1 = this.child("conv1", new ag.Conv2d(cIn, cOut, 3, { padding: 1 }));
    this.bn2 = this.child("bn2", new ag.BatchNorm2d(cOut));
    this.prelu = this.child("prelu", new ag.PReLU(cOut));
    this.conv2 = this.child("conv2", new ag.Conv2d(cOut, cOut, 3, { stride, padding: 1 }));
    this.bn3 = this.child("bn3", new ag.BatchNorm2d(cOut));
    this.down = stride !== 1 || cIn !== cOut
      ? this.child(
        "downsample",
        new ag.Sequential(new ag.Conv2d(cIn, cOut, 1, { stride }), new ag.BatchNorm2d(cOut)),
      )
      : null;
  }
  forward(x: ag.Tensor): ag.Tensor {
    let y = this.conv1.forward(this.bn1.forward(x));
    y = this.bn3.forward(this.conv2.forward(this.prelu.forward(this.bn2.forward(y))));
    return ag.add(y, this.down ? this.down.forward(x) : x);
  }
}

class Ir extends ag.Module {
  conv1 = this.child("conv1", new ag.Conv2d(3, 32, 3, { padding: 1 }));
  bn1 = this.child("bn1", new ag.BatchNorm2d(32));
  prelu = this.child("prelu", new ag.PReLU(32));
  layers = this.child(
    "layers",
    new ag.Sequential(
      new IrBlock(32, 32, 2),
      new IrBlock(32, 64, 2),
      new IrBlock(64, 128, 2),
      new IrBlock(128, 256, 2),
    ),
  );
  bn2 = this.child("bn2", new ag.BatchNorm2d(256));
  dropout = this.child("dropout", new ag.Dropout(0.4, Rng.fromSeed(1)));
  fc = this.child("fc", new ag.Linear(256 * 7 * 6, 256));
  features = this.child("features", new ag.BatchNorm1d(256));
  forward(x: ag.Tensor): ag.Tensor {
    const y = this.layers.forward(this.prelu.forward(this.bn1.forward(this.conv1.forward(x))));
    const f = ag.flatten(this.dropout.forward(this.bn2.forward(y)));
    return this.features.forward(this.fc.forward(f));
  }
}

/** Builds net "cnn" or "ir" on the default backend. */
export function buildNet(name: "cnn" | "ir"): BenchNet {
  ag.seedInit(7);
  const rng = Rng.fromSeed(9);
  if (name === "cnn") {
    return {
      name,
      input: [3, 64, 64],
      classes: 64,
      model: new Cnn(),
      head: ag.parameter(ag.kaimingNormal([64, 128], rng), [64, 128]),
      margin: { kind: "cosface", s: 30, m: 0.4 },
    };
  }
  return {
    name,
    input: [3, 112, 96],
    classes: 1000,
    model: new Ir(),
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
    const emb = ag.l2Normalize(net.model.forward(x));
    const cos = ag.matmul(emb, ag.l2Normalize(net.head), { transB: true });
    const l = ag.crossEntropy(ag.marginLogits(cos, labels, net.margin), targets);
    l.backward();
    return l;
  });
  opt.step();
  opt.zeroGrad();
  return loss;
}
