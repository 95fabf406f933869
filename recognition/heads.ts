/**
 * Classification heads and the (mixed) loss, as in the paper's code:
 * - ArcFace: cos = normalise(f)·normalise(W)ᵀ, target logit s·cos(θ+m) when cos θ > th
 *   (th = cos(π−m)), else s·(cos θ − mm) (mm = sin(π−m)·m); easy margin: cos(θ+m) when cos θ > 0.
 * - CosFace: target logit s·(cos θ − m).
 * - softmax: plain logits f·Wᵀ + b.
 * Identity/Domain Mixup (`mixup/domain_mixup.ts`): with per-row terms (class y_t, weight a_t),
 * out = Σ_t a_t·C(f, y_t) and loss = mean_rows Σ_t a_t·CE(out, y_t) — which is a soft-target CE
 * of `out` with targets Σ_t a_t·onehot(y_t).
 */
import { type MixTerm, termTargets } from "../mixup/domain_mixup.ts";
import * as op from "./autodiff/ops.ts";
import type { Tensor } from "./autodiff/tensor.ts";
import { type LossConfig, lossDefaults } from "./config.ts";
import { fromData, l2normalize, linear } from "./nn.ts";
import { ParamStore } from "./backbones.ts";
import type { ParamInfo } from "./params.ts";

/** Margin-head settings after defaults. */
export interface HeadSpec {
  /** Head kind. */
  kind: "arcface" | "cosface" | "softmax";
  /** Scale. */
  s: number;
  /** Margin. */
  m: number;
  /** ArcFace easy margin. */
  easyMargin: boolean;
  /** Output classes (synthetic + real). */
  numClasses: number;
  /** Embedding length. */
  embedding: number;
}

/** The head's settings from a loss config. */
export function headSpec(loss: LossConfig, numClasses: number, embedding: number): HeadSpec {
  const { s, m } = lossDefaults(loss);
  return { kind: loss.kind, s, m, easyMargin: loss.easyMargin, numClasses, embedding };
}

/** A classification head with its class matrix W [classes, D] (and bias for softmax). */
export class MarginHead {
  /** `margin.weight` (and `margin.bias` for softmax). */
  readonly params: ParamStore = new ParamStore();

  /** A head with seeded class centres (Xavier uniform). */
  constructor(readonly spec: HeadSpec, seed: number) {
    const infos: ParamInfo[] = [{
      name: "margin.weight",
      shape: [spec.numClasses, spec.embedding],
      trainable: true,
      init: "xavier",
    }];
    if (spec.kind === "softmax") {
      infos.push({ name: "margin.bias", shape: [spec.numClasses], trainable: true, init: "zeros" });
    }
    this.params.add(infos, seed);
  }

  /** cos θ between embeddings and class centres (margin heads), [rows, classes]. */
  cosine(emb: Tensor): Tensor {
    return op.matmul(l2normalize(emb), l2normalize(this.params.get("margin.weight")), {
      transB: true,
    });
  }

  /** C(f, y): the logits with the margin on class `labels[r]` of each row (−1 = none). */
  logits(emb: Tensor, labels: Int32Array): Tensor {
    if (this.spec.kind === "softmax") {
      return linear(emb, this.params.get("margin.weight"), this.params.get("margin.bias"));
    }
    return this.#margin(this.cosine(emb), labels);
  }

  #margin(cos: Tensor, labels: Int32Array): Tensor {
    const { kind, s, m, easyMargin } = this.spec;
    return op.marginLogits(cos, fromData(Float32Array.from(labels), [labels.length]), {
      kind: kind as "arcface" | "cosface",
      s,
      m,
      easyMargin,
    });
  }

  /** out = Σ_t a_t·C(f, y_t) (the paper's mixed logits), [rows, classes]. */
  mixedLogits(emb: Tensor, terms: readonly MixTerm[]): Tensor {
    if (this.spec.kind === "softmax") {
      // No margin: C(f, y) does not depend on y and the weights of a row sum to 1.
      return linear(emb, this.params.get("margin.weight"), this.params.get("margin.bias"));
    }
    const cos = this.cosine(emb);
    const rows = emb.shape[0];
    let out: Tensor | null = null;
    for (const t of terms) {
      const one = t.weights.every((w) => w === 1);
      if (t.weights.every((w) => w === 0)) continue;
      const c = this.#margin(cos, t.classes);
      const term = one ? c : op.mul(c, fromData(t.weights, [rows, 1]));
      out = out ? op.add(out, term) : term;
    }
    if (!out) throw new Error("mixedLogits: every term has weight 0");
    return out;
  }

  /**
   * Sum over rows of Σ_t a_t·CE(out, y_t), times `scale` (1/batch gives the paper's mean; a
   * micro-batch of a larger step uses 1/step batch). Returns a scalar.
   */
  mixedLoss(emb: Tensor, terms: readonly MixTerm[], scale: number): Tensor {
    const out = this.mixedLogits(emb, terms);
    const targets = fromData(termTargets(terms, this.spec.numClasses), out.shape);
    return op.mul(op.sum(op.softmaxCrossEntropy(out, targets)), scale);
  }
}
