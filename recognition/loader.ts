/**
 * The streaming loader: yields the batches of a run from a data position on, built in Worker
 * threads with a bounded prefetch queue (at most `prefetch` batches requested ahead), and in
 * order. Which images and which augmentation a batch gets depend only on (seed, epoch, step),
 * so resuming at a position reproduces the uninterrupted stream exactly.
 */
import { type Batch, BatchMaker, type LoaderPlan } from "./batch_maker.ts";
import { canSpawnWorkers, spawnWorker } from "../data/web_worker.ts";

/** A data position: the next batch to train on. */
export interface DataPosition {
  /** Epoch, 0-based. */
  epoch: number;
  /** Step within the epoch. */
  step: number;
}

/** Options of {@link Loader.open}. */
export interface LoaderOptions {
  /** Worker threads (0 = build batches on the calling thread; for tests and debugging). */
  workers?: number;
  /** Batches requested ahead of the consumer. */
  prefetch?: number;
}

interface Pending {
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
  promise: Promise<Batch>;
}

/** Streams batches in (epoch, step) order from a start position. */
export class Loader {
  #workers: Worker[] = [];
  #inline?: BatchMaker;
  #pending = new Map<number, Pending>();
  #queue: { id: number; pos: DataPosition }[] = [];
  #nextId = 0;
  #pos: DataPosition;
  /** Milliseconds the consumer spent waiting in `next()`. */
  waitedMs = 0;

  private constructor(
    readonly plan: LoaderPlan,
    readonly stepsPerEpoch: number,
    start: DataPosition,
    readonly prefetch: number,
  ) {
    this.#pos = { ...start };
  }

  /** Start loading at `start`. */
  static async open(
    plan: LoaderPlan,
    stepsPerEpoch: number,
    start: DataPosition = { epoch: 0, step: 0 },
    opts: LoaderOptions = {},
  ): Promise<Loader> {
    let workers = opts.workers ?? 1;
    if (workers > 0 && !canSpawnWorkers()) {
      console.error("loader: no web Worker in this runtime; building batches on this thread");
      workers = 0;
    }
    const loader = new Loader(plan, stepsPerEpoch, start, Math.max(1, opts.prefetch ?? 4));
    if (workers === 0) {
      loader.#inline = await BatchMaker.open(plan);
    } else {
      for (let i = 0; i < workers; i++) {
        const w = spawnWorker(new URL("./loader_worker.ts", import.meta.url));
        w.onmessage = (e) => loader.#onMessage(e.data);
        w.onerror = (e) => {
          e.preventDefault();
          loader.#failAll(new Error(`loader worker failed: ${e.message}`));
        };
        w.postMessage({ type: "init", plan });
        loader.#workers.push(w);
      }
    }
    loader.#fill();
    return loader;
  }

  #onMessage(msg: { type: string; id: number; batch?: Batch; message?: string }) {
    const p = this.#pending.get(msg.id);
    if (!p) return;
    if (msg.type === "batch") p.resolve(msg.batch!);
    else p.reject(new Error(msg.message));
  }

  #failAll(err: Error) {
    for (const p of this.#pending.values()) p.reject(err);
  }

  #request(pos: DataPosition): number {
    const id = this.#nextId++;
    let resolve!: (b: Batch) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Batch>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // surfaced when consumed
    this.#pending.set(id, { resolve, reject, promise });
    if (this.#inline) {
      this.#inline.make(pos.epoch, pos.step).then(resolve, reject);
    } else {
      this.#workers[id % this.#workers.length].postMessage({ type: "batch", id, ...pos });
    }
    return id;
  }

  #fill() {
    // Inline mode still queues (promises), but one at a time keeps memory small.
    const depth = this.#inline ? 1 : this.prefetch;
    while (this.#queue.length < depth) {
      const pos = { ...this.#pos };
      this.#queue.push({ id: this.#request(pos), pos });
      this.#pos.step++;
      if (this.#pos.step >= this.stepsPerEpoch) {
        this.#pos.epoch++;
        this.#pos.step = 0;
      }
    }
  }

  /** The next batch, in order. */
  async next(): Promise<Batch> {
    const head = this.#queue.shift()!;
    const p = this.#pending.get(head.id)!;
    const t0 = performance.now();
    try {
      return await p.promise;
    } finally {
      this.waitedMs += performance.now() - t0;
      this.#pending.delete(head.id);
      this.#fill();
    }
  }

  /** Stop the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#failAll(new Error("loader closed"));
    this.#pending.clear();
  }
}
