/**
 * SGD with momentum and weight decay (PyTorch semantics), one fused kernel call per parameter.
 * @module
 */
import { empty, keep, type Tensor } from "./tensor.ts";

/** Options of {@link SGD}. */
export interface SgdOptions {
  lr: number;
  /** Default 0.9. */
  momentum?: number;
  /** Default 5e-4. */
  weightDecay?: number;
}

/**
 * SGD: g = grad + wd·p; v = momentum·v + g; p −= lr·v. Parameters that got no gradient since
 * `zeroGrad()` are skipped (like PyTorch's `grad is None`).
 */
export class SGD {
  lr: number;
  momentum: number;
  weightDecay: number;
  private readonly moms = new Map<Tensor, Tensor>();

  constructor(readonly params: Tensor[], opts: SgdOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 5e-4;
  }

  /** Momentum buffer of a parameter (created on first use). */
  momentumOf(p: Tensor): Tensor {
    let m = this.moms.get(p);
    if (!m) {
      m = keep(empty(p.shape, p.backend));
      m.name = `${p.name}.momentum`;
      this.moms.set(p, m);
    }
    return m;
  }

  /** One update of every parameter that has a fresh gradient. */
  step(): void {
    const spec = { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay };
    for (const p of this.params) {
      if (p.grad && !p.gradStale) {
        p.backend.sgd(p.buf, p.grad.buf, this.momentumOf(p).buf, p.size, spec);
      }
    }
  }

  /** Marks every gradient stale: the next backward overwrites instead of accumulating. */
  zeroGrad(): void {
    for (const p of this.params) p.gradStale = true;
  }

  /** Momentum buffers keyed by parameter name, for checkpoints. */
  async stateDict(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [p, m] of this.moms) out[p.name] = { shape: [...m.shape], data: await m.toArray() };
    return out;
  }

  /** Restores momentum buffers saved by {@link SGD.stateDict}. */
  loadStateDict(sd: Record<string, { shape: number[]; data: Float32Array }>): void {
    for (const p of this.params) {
      const e = sd[p.name];
      if (!e) continue;
      if (e.data.length !== p.size) {
        throw new Error(
          `SGD.loadStateDict: momentum of ${p.name} has ${e.data.length} values, expected ${p.size}`,
        );
      }
      p.backend.upload(this.momentumOf(p).buf, e.data);
    }
  }

  /** Frees the momentum buffers. */
  dispose(): void {
    for (const m of this.moms.values()) m.dispose();
    this.moms.clear();
  }
}
