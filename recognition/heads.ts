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
// The file, not mixup/mod.ts: its synthesis side would add ~170 ms to every training process.
import { type MixTerm, termTargets } from "../mixup/domain_mixup.ts";
import {
  add,
  l2Normalize,
  linear,
  marginLogits,
  matmul,
  Module,
  mul,
  parameter,
  softmaxCrossEntropy,
  sum,
  type Tensor,
  tensor,
} from "./autodiff/mod.ts";
import { type LossConfig, lossDefaults } from "./config.ts";
import { initialValue } from "./params.ts";

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

/**
 * A classification head with its class matrix `weight` [classes, D] (and `bias` for softmax);
 * a model registers it as `margin` (`margin.weight`).
 */
export class MarginHead extends Module {
  /** Class centres [classes, D] (Xavier uniform). */
  readonly weight: Tensor;
  /** Softmax bias [classes] (softmax only). */
  readonly bias: Tensor | null;

  /** A head with seeded class centres (Xavier uniform). */
  constructor(readonly spec: HeadSpec, seed: number) {
    super();
    const shape = [spec.numClasses, spec.embedding];
    this.weight = this.param(
      "weight",
      parameter(initialValue({ name: "margin.weight", shape, init: "xavier" }, seed), shape),
    );
    this.bias = spec.kind === "softmax"
      ? this.param("bias", parameter(new Float32Array(spec.numClasses), [spec.numClasses]))
      : null;
  }

  /** The logits without a margin (cos θ for margin heads, f·Wᵀ + b for softmax). */
  forward(emb: Tensor): Tensor {
    if (this.spec.kind === "softmax") return linear(emb, this.weight, this.bias);
    return matmul(l2Normalize(emb), l2Normalize(this.weight), { transB: true });
  }

  /** C(f, y): the logits with the margin on class `labels[r]` of each row (−1 = none). */
  logits(emb: Tensor, labels: Int32Array): Tensor {
    return this.spec.kind === "softmax"
      ? this.forward(emb)
      : this.#margin(this.forward(emb), labels);
  }

  #margin(cos: Tensor, labels: Int32Array): Tensor {
    const { kind, s, m, easyMargin } = this.spec;
    const lab = tensor(Float32Array.from(labels), [labels.length]);
    return marginLogits(cos, lab, { kind: kind as "arcface" | "cosface", s, m, easyMargin });
  }

  /** out = Σ_t a_t·C(f, y_t) (the paper's mixed logits), [rows, classes]. */
  mixedLogits(emb: Tensor, terms: readonly MixTerm[]): Tensor {
    // Softmax has no margin: C(f, y) does not depend on y and the weights of a row sum to 1.
    if (this.spec.kind === "softmax") return this.forward(emb);
    const cos = this.forward(emb);
    const rows = emb.shape[0];
    let out: Tensor | null = null;
    for (const t of terms) {
      if (t.weights.every((w) => w === 0)) continue;
      const c = this.#margin(cos, t.classes);
      const term = t.weights.every((w) => w === 1) ? c : mul(c, tensor(t.weights, [rows, 1]));
      out = out ? add(out, term) : term;
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
    const targets = tensor(termTargets(terms, this.spec.numClasses), out.shape);
    return mul(sum(softmaxCrossEntropy(out, targets)), scale);
  }
}
