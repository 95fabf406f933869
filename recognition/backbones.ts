/**
 * IR backbones on the autodiff engine. The layer order and the parameter names come from
 * `arch.ts`/`params.ts`, shared with the ONNX export. Training mode uses batch statistics (and
 * updates the running ones) and dropout; inference mode uses the running statistics.
 */
import type { Rng } from "../data/rng.ts";
import { type ArchSpec, blocks, checkInput } from "./arch.ts";
import * as op from "./autodiff/ops.ts";
import { keep, type Tensor } from "./autodiff/tensor.ts";
import { batchNormEval, dropout, fromData, linear } from "./nn.ts";
import { backboneParams, BN_EPS, BN_MOMENTUM, initialValue, type ParamInfo } from "./params.ts";

/** Forward options. */
export interface ForwardOptions {
  /** Training mode (batch statistics, running-statistics update, dropout). */
  train: boolean;
  /** Dropout probability before the FC (training only). */
  dropout?: number;
  /** Source of the dropout mask (training with dropout only). */
  rng?: Rng;
}

/** Named tensors of a model, kept alive until `dispose()`. */
export class ParamStore {
  /** Tensors by name. */
  readonly tensors: Map<string, Tensor> = new Map();
  /** Their descriptions, in declaration order. */
  readonly infos: ParamInfo[] = [];

  /** Allocate every tensor of `infos` with its seeded initial value. */
  add(infos: ParamInfo[], seed: number): void {
    for (const p of infos) {
      const t = keep(fromData(initialValue(p, seed), p.shape));
      t.name = p.name;
      t.requiresGrad = p.trainable;
      this.tensors.set(p.name, t);
      this.infos.push(p);
    }
  }

  /** The tensor called `name`. */
  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no parameter "${name}"`);
    return t;
  }

  /** Trainable tensors in declaration order. */
  trainable(): Tensor[] {
    return this.infos.filter((p) => p.trainable).map((p) => this.get(p.name));
  }

  /** Download every tensor. */
  async snapshot(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const p of this.infos) out.set(p.name, await this.get(p.name).toArray());
    return out;
  }

  /** Overwrite tensors from a snapshot; every name must be present with the right size. */
  load(
    values: ReadonlyMap<string, { data: Float32Array } | Float32Array>,
    what = "checkpoint",
  ): void {
    for (const p of this.infos) {
      const v = values.get(p.name);
      const data = v instanceof Float32Array ? v : v?.data;
      const t = this.get(p.name);
      if (!data) throw new Error(`${what}: missing tensor "${p.name}"`);
      if (data.length !== t.size) {
        throw new Error(
          `${what}: tensor "${p.name}" has ${data.length} values, expected ${t.size}`,
        );
      }
      t.backend.upload(t.buf, data);
    }
  }

  /** Free everything. */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/** An IR backbone: images [N,3,H,W] → embeddings [N,D]. */
export class Backbone {
  /** Parameters and running statistics. */
  readonly params: ParamStore = new ParamStore();

  /** A backbone with seeded initial weights; throws when `input` does not fit `spec`. */
  constructor(
    readonly spec: ArchSpec,
    readonly input: { height: number; width: number },
    seed: number,
  ) {
    checkInput(spec, input.height, input.width);
    this.params.add(backboneParams(spec, input), seed);
  }

  #bn(x: Tensor, name: string, train: boolean): Tensor {
    const p = this.params;
    const g = p.get(`${name}.weight`), b = p.get(`${name}.bias`);
    const rm = p.get(`${name}.running_mean`), rv = p.get(`${name}.running_var`);
    return train
      ? op.batchNormTrain(x, g, b, rm, rv, { eps: BN_EPS, momentum: BN_MOMENTUM })
      : batchNormEval(x, g, b, rm, rv, BN_EPS);
  }

  #conv(x: Tensor, name: string, stride: number): Tensor {
    const w = this.params.get(`${name}.weight`);
    const k = w.shape[2];
    return op.conv2d(x, w, null, { stride, padding: (k - 1) / 2 });
  }

  /** Embeddings of a batch. */
  forward(x: Tensor, opts: ForwardOptions): Tensor {
    const { train } = opts;
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== this.input.height || w !== this.input.width) {
      throw new RangeError(
        `${this.spec.name}: input batch [${x.shape}], expected [N, 3, ${this.input.height}, ${this.input.width}]`,
      );
    }
    const p = this.params;
    let y = op.prelu(
      this.#bn(this.#conv(x, "stem.conv", 1), "stem.bn", train),
      p.get("stem.prelu.weight"),
    );
    for (const b of blocks(this.spec)) {
      let r = this.#bn(y, `${b.name}.bn1`, train);
      r = this.#conv(r, `${b.name}.conv1`, 1);
      r = op.prelu(this.#bn(r, `${b.name}.bn2`, train), p.get(`${b.name}.prelu.weight`));
      r = this.#bn(this.#conv(r, `${b.name}.conv2`, b.stride), `${b.name}.bn3`, train);
      const s = b.project
        ? this.#bn(
          this.#conv(y, `${b.name}.shortcut.conv`, b.stride),
          `${b.name}.shortcut.bn`,
          train,
        )
        : y;
      y = op.add(r, s);
    }
    y = this.#bn(y, "head.bn", train);
    if (train && opts.dropout && opts.dropout > 0) {
      if (!opts.rng) throw new Error("Backbone.forward: dropout needs an rng");
      y = dropout(y, opts.dropout, opts.rng);
    }
    y = op.reshape(y, [y.shape[0], -1]);
    y = linear(y, p.get("head.fc.weight"), p.get("head.fc.bias"));
    return this.#bn(y, "head.bn_emb", train);
  }
}
