/**
 * The face model: an IR backbone and a margin head as one engine module, so one `stateDict`, one
 * `SGD` and one checkpoint cover both. Tensor names stay those of `params.ts` (`stem.conv.weight`,
 * …, `margin.weight`), which the ONNX export reads.
 */
import type { Rng } from "../data/rng.ts";
import type { MixTerm } from "../mixup/mod.ts";
import type { ArchSpec } from "./arch.ts";
import { Module, type Tensor } from "./autodiff/mod.ts";
import { Backbone } from "./backbones.ts";
import { type HeadSpec, MarginHead } from "./heads.ts";

/** Backbone + margin head. */
export class FaceModel extends Module {
  /** Images → embeddings (the exported part). */
  readonly backbone: Backbone;
  /** Embeddings → logits and the (mixed) loss. */
  readonly head: MarginHead;

  /** A model with seeded initial weights. */
  constructor(
    spec: ArchSpec,
    input: { height: number; width: number },
    head: HeadSpec,
    opts: { seed: number; dropout?: number },
  ) {
    super();
    // The backbone's tensors keep their top-level names (no "backbone." prefix).
    this.backbone = this.child("", new Backbone(spec, input, opts.seed, opts.dropout));
    this.head = this.child("margin", new MarginHead(head, opts.seed));
    // Full names on the tensors themselves: the optimiser keys its momenta by them.
    for (const [name, t] of this.namedTensors()) t.name = name;
  }

  /** Embeddings of a batch (`rng`: the dropout mask's stream when training with dropout). */
  forward(x: Tensor, rng?: Rng): Tensor {
    return this.backbone.forward(x, rng);
  }

  /** The mixed loss of a (micro-)batch times `scale`, a scalar (see `MarginHead.mixedLoss`). */
  loss(x: Tensor, terms: readonly MixTerm[], scale: number, rng?: Rng): Tensor {
    return this.head.mixedLoss(this.forward(x, rng), terms, scale);
  }
}
