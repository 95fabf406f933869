/**
 * Building one training batch: which images (a pure function of seed, epoch and step), read,
 * fitted to the input size, augmented, and for Domain Mixup blended with a real batch. Runs
 * inside the loader's Worker (or inline with `workers: 0`); the result for a given
 * (seed, epoch, step) is the same bytes wherever and whenever it is computed.
 */
import { type Dataset, type DatasetRecord, openAnyDataset } from "../data/dataset.ts";
import { Rng } from "../data/rng.ts";
import { blendPixels, oversample, sampleLambda, type SoftLabel } from "../mixup/domain_mixup.ts";
import { augment, fitImage } from "./augment.ts";
import type { AugmentConfig, FitMode } from "./config.ts";

/** Everything a batch maker needs; structured-cloneable (it is posted to the Worker). */
export interface LoaderPlan {
  /** Training set folder. */
  data: string;
  /** Real set for Domain Mixup: folder, chosen record indices and their compact classes. */
  real?: { dir: string; indices: number[]; classes: number[] };
  /** Blend real into synthetic with λ per batch (else real is unused by the maker). */
  domainMixup: boolean;
  /** Network input size. */
  input: { height: number; width: number };
  /** How larger images reach the input size. */
  fit: FitMode;
  /** Augmentation settings. */
  augment: AugmentConfig;
  /** Run seed (order, augmentation, λ). */
  seed: number;
  /** Images per optimiser step. */
  batch: number;
}

/** One optimiser step's images and labels. */
export interface Batch {
  /** Epoch of this batch. */
  epoch: number;
  /** Step within the epoch. */
  step: number;
  /** batch × 3 × H × W, normalised. */
  x: Float32Array;
  /** Synthetic soft labels, one per row. */
  labels: SoftLabel[];
  /** Compact real classes (Domain Mixup only; not yet offset by the synthetic class count). */
  realClasses?: Int32Array;
  /** The batch's λ (1 without Domain Mixup). */
  lambda: number;
}

/** Steps per epoch: whole batches only (the last partial batch is dropped, as drop_last). */
export function stepsPerEpoch(size: number, batch: number): number {
  return Math.floor(size / batch);
}

/** Makes batches for a plan; keeps the open datasets and the current epoch's order. */
export class BatchMaker {
  #order?: { epoch: number; syn: Int32Array; real?: Int32Array };
  readonly #records: DatasetRecord[];
  readonly #realRecords?: DatasetRecord[];

  private constructor(
    readonly plan: LoaderPlan,
    readonly syn: Dataset,
    readonly real: Dataset | undefined,
  ) {
    this.#records = syn.records();
    this.#realRecords = real?.records();
  }

  /** Open the plan's datasets. */
  static async open(plan: LoaderPlan): Promise<BatchMaker> {
    const syn = await openAnyDataset(plan.data);
    const real = plan.real && plan.domainMixup ? await openAnyDataset(plan.real.dir) : undefined;
    return new BatchMaker(plan, syn, real);
  }

  /** Steps per epoch of this plan. */
  get stepsPerEpoch(): number {
    return stepsPerEpoch(this.syn.size, this.plan.batch);
  }

  #epochOrder(epoch: number) {
    if (this.#order?.epoch === epoch) return this.#order;
    const root = Rng.fromSeed(this.plan.seed);
    const n = this.syn.size;
    const syn = Int32Array.from(
      root.split("order", epoch).shuffle(Array.from({ length: n }, (_, i) => i)),
    );
    let real: Int32Array | undefined;
    if (this.real && this.plan.real) {
      // Oversampled to the synthetic length (the paper); a real set larger than the synthetic
      // one is shuffled whole and cut, so every real image still gets its turn over epochs.
      const r = this.plan.real.indices.length;
      real = Int32Array.from(
        root.split("real-order", epoch).shuffle(oversample(r, Math.max(n, r))).slice(0, n),
      );
    }
    this.#order = { epoch, syn, real };
    return this.#order;
  }

  /** The batch of (epoch, step). */
  async make(epoch: number, step: number): Promise<Batch> {
    const { plan } = this;
    const { height, width } = plan.input;
    const order = this.#epochOrder(epoch);
    const root = Rng.fromSeed(plan.seed);
    const lambda = this.real ? sampleLambda(root.split("lambda", epoch, step)) : 1;
    const plane = 3 * height * width;
    const x = new Float32Array(plan.batch * plane);
    const records = this.#records, realRecords = this.#realRecords;
    const labels: SoftLabel[] = [];
    const realClasses = this.real ? new Int32Array(plan.batch) : undefined;
    const load = async (ds: Dataset, rec: DatasetRecord, rng: Rng) => {
      const file = `${ds.dir}/${rec.path}`;
      const img = fitImage(await ds.readImage(rec), height, width, plan.fit, file);
      return augment(img, plan.augment, rng).data;
    };
    for (let b = 0; b < plan.batch; b++) {
      labels.push(records[order.syn[step * plan.batch + b]].label);
    }
    const one = async (b: number) => {
      const pos = step * plan.batch + b;
      const rec = records[order.syn[pos]];
      const syn = await load(this.syn, rec, root.split("aug", epoch, pos));
      const dst = x.subarray(b * plane, (b + 1) * plane);
      if (this.real && realRecords && order.real && realClasses) {
        const k = order.real[pos];
        realClasses[b] = plan.real!.classes[k];
        const realRec = realRecords[plan.real!.indices[k]];
        const real = await load(this.real, realRec, root.split("real-aug", epoch, pos));
        blendPixels(syn, real, lambda, dst);
      } else dst.set(syn);
    };
    // A few reads in flight overlap file I/O with decoding without opening hundreds of files.
    let next = 0;
    const lane = async () => {
      while (next < plan.batch) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(8, plan.batch) }, lane));
    return { epoch, step, x, labels, realClasses, lambda };
  }
}
