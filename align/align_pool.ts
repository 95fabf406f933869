/**
 * A pool of align processes (`align_child.ts`), one {@link FaceAligner} each; jobs queue until a
 * process is free. Each job runs whole in one process, so a file's outputs never depend on how
 * work was spread.
 * @module
 */
import { type Ep, type EpChoice, resolveEp, textLines } from "../data/mod.ts";
import type { AlignChildReply, AlignChildRequest } from "./align_child.ts";
import type { AlignRow } from "./align_csv.ts";
import type { CropSize } from "./similarity.ts";

interface Job {
  msg: AlignChildRequest;
  resolve(v: { row: AlignRow; error?: string }): void;
  reject(e: Error): void;
}

interface Child {
  proc: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  job?: Job;
}

/** The root `deno.json` of a local checkout (its import map, lock and node_modules), if any. */
async function localConfig(): Promise<string[]> {
  const url = new URL("../deno.json", import.meta.url);
  if (url.protocol !== "file:") return [];
  return await Deno.stat(url).then(() => ["--config", url.pathname], () => []);
}

/** How an {@link AlignPool} runs its models. */
export interface AlignPoolOptions {
  /** Execution provider (default `auto`), resolved once here so every process runs the same. */
  ep?: EpChoice;
  /**
   * Intra-op threads per process on `node` (default 1: on 2 cores, 2 one-thread processes
   * aligned faster than 1 two-thread process; see README). wasm always runs one.
   */
  threads?: number;
}

/** What {@link alignAll} aligns (paths under `inDir`), on what, and whom it tells. */
export interface AlignAllOptions extends AlignPoolOptions {
  inDir: string;
  /** Processes (default one per core, at most one per path). */
  workers?: number;
  minScore: number;
  size: CropSize;
  cropPath(rel: string): string;
  /** The identity recorded in `rel`'s row (default none). */
  identity?(rel: string): string;
  onResult(rel: string, result: { row: AlignRow; error?: string }): Promise<void> | void;
  /** A progress line, printed at most every 2 s and at the end. */
  progress?(finished: number, imagesPerSec: number): string;
}

/**
 * Align every path of `todo` on a fresh pool, two jobs in flight per process (so none waits for
 * its next job); results come in completion order.
 */
export async function alignAll(todo: string[], o: AlignAllOptions): Promise<void> {
  if (!todo.length) return;
  const workers = Math.min(o.workers ?? (navigator.hardwareConcurrency || 1), todo.length);
  const pool = await AlignPool.create(workers, o.minScore, o.size, o);
  const t0 = performance.now();
  let finished = 0, lastPrint = 0, next = 0;
  const report = (force: boolean) => {
    const now = performance.now();
    if (!o.progress || (!force && now - lastPrint < 2000)) return;
    lastPrint = now;
    console.error(o.progress(finished, finished / ((now - t0) / 1000)));
  };
  const lane = async () => {
    while (next < todo.length) {
      const rel = todo[next++];
      await o.onResult(
        rel,
        await pool.align(o.inDir, o.cropPath(rel), rel, o.identity?.(rel) ?? ""),
      );
      finished++;
      report(false);
    }
  };
  try {
    await Promise.all(Array.from({ length: pool.size * 2 }, lane));
    report(true);
  } finally {
    await pool.close();
  }
}

/** Align processes, one {@link FaceAligner} each, all on one execution provider. */
export class AlignPool {
  private queue: Job[] = [];
  private idle: Child[] = [];
  private nextId = 0;
  private closed = false;
  private enc = new TextEncoder();

  private constructor(
    private children: Child[],
    /** The execution provider every process runs on. */
    readonly ep: Ep,
    /** Intra-op threads per process. */
    readonly threads: number,
  ) {}

  /** Start `workers` processes that align to `size` with detections scoring ≥ `minScore`. */
  static async create(
    workers: number,
    minScore: number,
    size: CropSize,
    options: AlignPoolOptions = {},
  ): Promise<AlignPool> {
    const ep = await resolveEp(options.ep ?? "auto");
    const threads = ep === "node" ? options.threads ?? 1 : 1;
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new RangeError(`threads ${options.threads}: expected an integer ≥ 1`);
    }
    const config = await localConfig();
    const script = new URL("./align_child.ts", import.meta.url).href;
    const children: Child[] = Array.from({ length: Math.max(1, workers) }, () => {
      const proc = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          ...config,
          script,
          String(minScore),
          size,
          ep,
          String(threads),
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      return { proc, writer: proc.stdin.getWriter() };
    });
    const pool = new AlignPool(children, ep, threads);
    try {
      await Promise.all(children.map((c) => pool.listen(c)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Read a child's replies; resolves once it says it is ready (rejects if it cannot start). */
  private listen(c: Child): Promise<void> {
    return new Promise((ready, failed) => {
      let started = false;
      (async () => {
        for await (const line of textLines(c.proc.stdout)) {
          let m: AlignChildReply;
          try {
            m = JSON.parse(line);
          } catch {
            continue; // a library's stray line, not a reply
          }
          if (m.type === "ready") {
            started = true;
            ready();
            this.idle.push(c);
            this.pump();
          } else if (!started) {
            failed(new Error(`align process: ${"message" in m ? m.message : "no reply"}`));
            return;
          } else {
            const job = c.job;
            c.job = undefined;
            if (m.type === "done") job?.resolve({ row: m.row, error: m.error });
            else job?.reject(new Error(m.message));
            this.idle.push(c);
            this.pump();
          }
        }
        // stdout closed: the process ended.
        const err = new Error("align process ended unexpectedly");
        if (!started) failed(err);
        c.job?.reject(err);
        c.job = undefined;
      })().catch((e) => (started ? c.job?.reject(e) : failed(e)));
    });
  }

  /** Number of processes. */
  get size(): number {
    return this.children.length;
  }

  /** Align `inDir/rel`, writing its crop (when a face is found) to `cropPath`. */
  align(
    inDir: string,
    cropPath: string,
    rel: string,
    identity: string,
  ): Promise<{ row: AlignRow; error?: string }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error("align pool closed"));
      const msg = { id: this.nextId++, inDir, cropPath, rel, identity };
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const c = this.idle.pop()!;
      const job = this.queue.shift()!;
      c.job = job;
      c.writer.write(this.enc.encode(JSON.stringify(job.msg) + "\n")).catch((e) => job.reject(e));
    }
  }

  /** Stop every process (closing their stdin lets them exit; they are killed if they linger). */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue) job.reject(new Error("align pool closed"));
    this.queue = [];
    await Promise.all(this.children.map(async (c) => {
      await c.writer.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          c.proc.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 5000);
      await c.proc.status;
      clearTimeout(timer);
    }));
  }
}
