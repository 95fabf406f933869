/**
 * Parallel CPU generation: one Deno Worker per core, each with a single-threaded session (wasm
 * by default, or native `node`).
 * Requests queue until a worker is free; each request runs whole on one worker, so an image's
 * pixels never depend on how work was spread.
 */
import { type Generator, type Latents, loadManifest, toUrl } from "./face_generator.ts";
import type { Ep } from "../data/onnx/session.ts";
import type { GeneratorManifest } from "./manifest.ts";
import { spawnWorker } from "../data/web_worker.ts";

interface Job {
  latents: Latents;
  n: number;
  resolve(v: Float32Array): void;
  reject(e: Error): void;
}

/** A pool of generator workers, each with a one-thread session on a CPU EP. */
export class GeneratorPool implements Generator {
  private queue: Job[] = [];
  private idle: Worker[] = [];
  private pending = new Map<number, Job>();
  private nextId = 0;

  private constructor(
    readonly manifest: GeneratorManifest,
    private workers: Worker[],
    readonly ep: Ep,
  ) {}

  /** Start `workers` workers (default: one per core) on the manifest's model, on `ep` (wasm). */
  static async create(
    manifest: string | URL | undefined,
    workers = navigator.hardwareConcurrency || 1,
    ep: "wasm" | "node" = "wasm",
  ): Promise<GeneratorPool> {
    const { manifest: m, url } = await loadManifest(manifest ? toUrl(manifest) : undefined);
    const ws = Array.from(
      { length: Math.max(1, workers) },
      () => spawnWorker(new URL("./pool_worker.ts", import.meta.url)),
    );
    const pool = new GeneratorPool(m, ws, ep);
    await Promise.all(ws.map((w) =>
      new Promise<void>((resolve, reject) => {
        w.onmessage = (e) => {
          if (e.data.type === "ready") resolve();
          else reject(new Error(`generator worker: ${e.data.message}`));
        };
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`generator worker: ${e.message}`));
        };
        w.postMessage({ type: "init", manifest: url.href, ep });
      })
    )).catch(async (e) => {
      await pool.close();
      throw e;
    });
    for (const w of ws) {
      w.onmessage = (e) => pool.onMessage(w, e.data);
      pool.idle.push(w);
    }
    return pool;
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  generate(latents: Latents, n: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ latents, n, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!, job = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, job);
      w.postMessage({ type: "run", id, latents: job.latents, n: job.n });
    }
  }

  private onMessage(
    w: Worker,
    msg: { type: string; id: number; images?: Float32Array; message?: string },
  ): void {
    const job = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.idle.push(w);
    if (job) {
      if (msg.type === "done") job.resolve(msg.images!);
      else job.reject(new Error(`generator worker: ${msg.message}`));
    }
    this.pump();
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    for (const j of this.queue) j.reject(new Error("GeneratorPool closed"));
    this.queue = [];
    await Promise.resolve();
  }
}
