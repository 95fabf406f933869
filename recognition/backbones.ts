/**
 * IR backbones built from the engine's layers (`autodiff/nn.ts`). The layer order comes from
 * `arch.ts`, the parameter names and seeded initial values from `params.ts` (shared with the ONNX
 * export). In training mode (`train()`) batch norm uses batch statistics (and updates the
 * running ones) and dropout is on; in `eval()` mode it uses the running statistics.
 */
import type { Rng } from "../data/rng.ts";
import { type ArchSpec, blocks, checkInput } from "./arch.ts";
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
    const conv = (name: string, cIn: number, cOut: number, k: number, stride: number) =>
      this.#add(
        name,
        new Conv2d(cIn, cOut, k, { stride, padding: (k - 1) / 2, weight: init(`${name}.weight`) }),
      );
    const bn = (name: string, c: number) =>
      this.#add(name, new BatchNorm(c, { eps: BN_EPS, momentum: BN_MOMENTUM }));
    conv("stem.conv", 3, spec.stem, 3, 1);
    bn("stem.bn", spec.stem);
    this.#add("stem.prelu", new PReLU(spec.stem));
    for (const b of blocks(spec)) {
      bn(`${b.name}.bn1`, b.cIn);
      conv(`${b.name}.conv1`, b.cIn, b.cOut, 3, 1);
      bn(`${b.name}.bn2`, b.cOut);
      this.#add(`${b.name}.prelu`, new PReLU(b.cOut));
      conv(`${b.name}.conv2`, b.cOut, b.cOut, 3, b.stride);
      bn(`${b.name}.bn3`, b.cOut);
      if (b.project) {
        conv(`${b.name}.shortcut.conv`, b.cIn, b.cOut, 1, b.stride);
        bn(`${b.name}.shortcut.bn`, b.cOut);
      }
    }
    bn("head.bn", spec.widths[spec.widths.length - 1]);
    const [embedding, features] = (infos.get("head.fc.weight") as ParamInfo).shape;
    this.#add(
      "head.fc",
      new Linear(features, embedding, {
        weight: init("head.fc.weight"),
        bias: init("head.fc.bias"),
      }),
    );
    bn("head.bn_emb", embedding);
    // params.ts is the one list of names (the ONNX export and the tests read it): agree with it.
    const names = [...this.namedParameters(), ...this.namedBuffers()].map(([n]) => n);
    if (names.length !== infos.size || names.some((n) => !infos.has(n))) {
      throw new Error(`${spec.name}: backbone layers disagree with params.ts`);
    }
  }

  #add<M extends Module>(name: string, m: M): M {
    this.#layers.set(name, m);
    return this.child(name, m);
  }

  #f(name: string, x: Tensor): Tensor {
    return (this.#layers.get(name) as Module).forward(x);
  }

  /** Embeddings of a batch; `rng` draws the dropout mask (training with dropout only). */
  forward(x: Tensor, rng?: Rng): Tensor {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== this.input.height || w !== this.input.width) {
      throw new RangeError(
        `${this.spec.name}: input batch [${x.shape}], expected [N, 3, ${this.input.height}, ${this.input.width}]`,
      );
    }
    let y = this.#f("stem.prelu", this.#f("stem.bn", this.#f("stem.conv", x)));
    for (const { name, project } of blocks(this.spec)) {
      let r = this.#f(`${name}.conv1`, this.#f(`${name}.bn1`, y));
      r = this.#f(`${name}.prelu`, this.#f(`${name}.bn2`, r));
      r = this.#f(`${name}.bn3`, this.#f(`${name}.conv2`, r));
      const s = project ? this.#f(`${name}.shortcut.bn`, this.#f(`${name}.shortcut.conv`, y)) : y;
      y = add(r, s);
    }
    y = this.#f("head.bn", y);
    if (this.training && this.dropout > 0) {
      if (!rng) throw new Error("Backbone.forward: dropout needs an rng");
      y = dropout(y, this.dropout, rng);
    }
    return this.#f("head.bn_emb", this.#f("head.fc", flatten(y)));
  }
}
