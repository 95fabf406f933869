/**
 * IR backbones built from the engine's layers (`autodiff/nn.ts`) by walking `walkBackbone`
 * (`arch.ts`), with the parameter names and seeded initial values of `params.ts` (shared with the
 * ONNX export). In training mode (`train()`) batch norm uses batch statistics (and updates the
 * running ones) and dropout is on; in `eval()` mode it uses the running statistics.
 */
import type { Rng } from "../data/rng.ts";
import { type ArchSpec, checkInput, walkBackbone } from "./arch.ts";
import {
  add,
  BatchNorm,
  Conv2d,
  dropout,
  flatten,
  Linear,
  Module,
  PReLU,
  type Tensor,
} from "./autodiff/mod.ts";
import { backboneParams, BN_EPS, BN_MOMENTUM, initialValue, type ParamInfo } from "./params.ts";

/** An IR backbone: images [N,3,H,W] → embeddings [N,D]. */
export class Backbone extends Module {
  readonly #layers = new Map<string, Module>();

  /** A backbone with seeded initial weights; throws when `input` does not fit `spec`. */
  constructor(
    readonly spec: ArchSpec,
    readonly input: { height: number; width: number },
    seed: number,
    /** Dropout probability before the FC (training only). */
    readonly dropout = 0,
  ) {
    super();
    checkInput(spec, input.height, input.width);
    const infos = new Map(backboneParams(spec, input).map((p) => [p.name, p]));
    const init = (name: string) => initialValue(infos.get(name) as ParamInfo, seed);
    const layer = (name: string, m: Module) => this.#layers.set(name, this.child(name, m));
    walkBackbone<void>(spec, input, {
      conv: (_, name, cIn, cOut, k, stride) =>
        layer(
          name,
          new Conv2d(cIn, cOut, k, {
            stride,
            padding: (k - 1) / 2,
            weight: init(`${name}.weight`),
          }),
        ),
      bn: (_, name, c) => layer(name, new BatchNorm(c, { eps: BN_EPS, momentum: BN_MOMENTUM })),
      prelu: (_, name, c) => layer(name, new PReLU(c)),
      add: () => {},
      dropout: () => {},
      fc: (_, name, inF, outF) =>
        layer(
          name,
          new Linear(inF, outF, { weight: init(`${name}.weight`), bias: init(`${name}.bias`) }),
        ),
    }, undefined);
  }

  /** Embeddings of a batch; `rng` draws the dropout mask (training with dropout only). */
  forward(x: Tensor, rng?: Rng): Tensor {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== this.input.height || w !== this.input.width) {
      throw new RangeError(
        `${this.spec.name}: input batch [${x.shape}], expected [N, 3, ${this.input.height}, ${this.input.width}]`,
      );
    }
    const f = (y: Tensor, name: string) => (this.#layers.get(name) as Module).forward(y);
    return walkBackbone<Tensor>(this.spec, this.input, {
      conv: f,
      bn: f,
      prelu: f,
      // one fused op in training (batch norm's forward with the PReLU module)
      bnPrelu: (y, bn, prelu) =>
        (this.#layers.get(bn) as BatchNorm).forward(y, this.#layers.get(prelu) as PReLU),
      add,
      dropout: (y) => {
        if (!this.training || this.dropout <= 0) return y;
        if (!rng) throw new Error("Backbone.forward: dropout needs an rng");
        return dropout(y, this.dropout, rng);
      },
      fc: (y, name) => f(flatten(y), name),
    }, x);
  }
}
