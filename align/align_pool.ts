/**
 * A pool of align workers, one {@link FaceAligner} each; jobs queue until a worker is free.
 * Each job runs whole on one worker, so a file's outputs never depend on how work was spread.
 * @module
 */
import { spawnWorker } from "../data/mod.ts";
import type { AlignRow } from "./align_csv.ts";
import type { AlignWorkerReply, AlignWorkerRequest } from "./align_worker.ts";
import type { CropSize } from "./similarity.ts";

interface Job {
  msg: Extract<AlignWorkerRequest, { type: "run" }>;
  resolve(v: { row: AlignRow; error?: string }): void;
  reject(e: Error): void;
}

/** Align workers (wasm, one thread each). */
export class AlignPool {
  private queue: Job[] = [];
  private idle: Worker[] = [];
  private pending = new Map<Worker, Job>();
  private nextId = 0;

  private constructor(private workers: Worker[]) {}

  /** Start `workers` workers that align to `size` with detections scoring ≥ `minScore`. */
  static async create(workers: number, minScore: number, size: CropSize): Promise<AlignPool> {
    const ws = Array.from(
      { length: Math.max(1, workers) },
      () => spawnWorker(new URL("./align_worker.ts", import.meta.url)),
    );
    const pool = new AlignPool(ws);
    try {
      await Promise.all(ws.map((w) =>
        new Promise<void>((resolve, reject) => {
          w.onmessage = (e: MessageEvent<AlignWorkerReply>) => {
            if (e.data.type === "ready") resolve();
            else reject(new Error(`align worker: ${"message" in e.data ? e.data.message : ""}`));
          };
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`align worker: ${e.message}`));
          };
          w.postMessage({ type: "init", minScore, size } satisfies AlignWorkerRequest);
        })
      ));
    } catch (e) {
      pool.close();
      throw e;
    }
    for (const w of ws) {
      w.onmessage = (e: MessageEvent<AlignWorkerReply>) => pool.onReply(w, e.data);
      w.onerror = (e) => {
        e.preventDefault();
        pool.fail(w, new Error(`align worker: ${e.message}`));
      };
      pool.idle.push(w);
    }
    return pool;
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  /** Align `inDir/rel`, writing its crop (when a face is found) to `cropPath`. */
  align(
    inDir: string,
    cropPath: string,
    rel: string,
    identity: string,
  ): Promise<{ row: AlignRow; error?: string }> {
    return new Promise((resolve, reject) => {
      const msg = { type: "run" as const, id: this.nextId++, inDir, cropPath, rel, identity };
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.pending.set(w, job);
      w.postMessage(job.msg);
    }
  }

  private onReply(w: Worker, reply: AlignWorkerReply): void {
    const job = this.pending.get(w);
    if (!job) return;
    this.pending.delete(w);
    this.idle.push(w);
    if (reply.type === "done") job.resolve({ row: reply.row, error: reply.error });
    else job.reject(new Error(reply.type === "fatal" ? reply.message : "align worker: bad reply"));
    this.pump();
  }

  private fail(w: Worker, e: Error): void {
    const job = this.pending.get(w);
    this.pending.delete(w);
    job?.reject(e);
  }

  /** Stop every worker. */
  close(): void {
    for (const w of this.workers) w.terminate();
    for (const job of [...this.pending.values(), ...this.queue]) {
      job.reject(new Error("align pool closed"));
    }
    this.pending.clear();
    this.queue = [];
  }
}
