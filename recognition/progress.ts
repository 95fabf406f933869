/**
 * What a run reports while it trains: the mean loss and speed of each logging window
 * ({@link ProgressWindow}), the progress bar on stderr, and `metrics.jsonl`
 * ({@link MetricsLog}), truncated on resume to the lines the checkpoint covers.
 */
import { formatDuration, writeFileAtomic } from "../data/mod.ts";
import type { ValResult } from "./validate.ts";

/** One progress report (also what the progress bar shows). */
export interface TrainProgress {
  /** Optimiser steps done and planned. */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  /** Epoch of the last step. */
  epoch: number;
  /** Mean loss over the steps since the last report. */
  loss: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Training images per second since the last report. */
  imagesPerSec: number;
  /** Seconds left at the current speed. */
  etaSec: number;
  /** Share of wall time the step loop waited for the loader. */
  loaderShare: number;
  /** Set at epoch ends with a validation set. */
  val?: ValResult[];
}

/** Loss, images and loader wait since the last report; training time only. */
export class ProgressWindow {
  #loss = 0;
  #steps = 0;
  #images = 0;
  #t = performance.now();
  #wait: number;

  /** A window starting now; `waitedMs()` is the loader's total wait so far. */
  constructor(readonly waitedMs: () => number) {
    this.#wait = waitedMs();
  }

  /** One optimiser step of `images` images with mean loss `loss`. */
  add(loss: number, images: number): void {
    this.#loss += loss;
    this.#steps++;
    this.#images += images;
  }

  /** The report of this window (then a new window starts). */
  take(at: { step: number; totalSteps: number; epoch: number; lr: number; batch: number }) {
    const now = performance.now();
    const imagesPerSec = this.#images / Math.max((now - this.#t) / 1000, 1e-9);
    const progress: TrainProgress = {
      step: at.step,
      totalSteps: at.totalSteps,
      epoch: at.epoch,
      loss: this.#loss / this.#steps,
      lr: at.lr,
      imagesPerSec,
      etaSec: ((at.totalSteps - at.step) * at.batch) / Math.max(imagesPerSec, 1e-9),
      loaderShare: (this.waitedMs() - this.#wait) / Math.max(1, now - this.#t),
    };
    this.#loss = this.#steps = this.#images = 0;
    this.restart();
    return progress;
  }

  /** Restart the clock (after validation and checkpoint writing, which are not training). */
  restart(): void {
    this.#t = performance.now();
    this.#wait = this.waitedMs();
  }
}

/** `RUN/metrics.jsonl`: one JSON object per line, appended. */
export class MetricsLog {
  private constructor(readonly file: Deno.FsFile) {}

  /**
   * Open `out/metrics.jsonl`: empty for a new run; on resume at `resumedAt`, lines of later
   * steps (logged before a kill, to be redone) and lines torn by the kill are dropped.
   */
  static async open(out: string, resumedAt?: number): Promise<MetricsLog> {
    const path = `${out}/metrics.jsonl`;
    if (resumedAt === undefined) {
      await Deno.writeTextFile(path, "");
    } else {
      const text = await Deno.readTextFile(path).catch(() => "");
      const keep = text.split("\n").filter((l) => {
        if (!l.trim()) return false;
        try {
          const step = JSON.parse(l).step;
          return typeof step !== "number" || step <= resumedAt;
        } catch {
          return false;
        }
      });
      await writeFileAtomic(path, keep.map((l) => l + "\n").join(""));
    }
    return new MetricsLog(await Deno.open(path, { append: true, create: true }));
  }

  /** Append one line. */
  async write(obj: Record<string, unknown>): Promise<void> {
    await this.file.write(new TextEncoder().encode(JSON.stringify(obj) + "\n"));
  }

  /** Close the file. */
  close(): void {
    this.file.close();
  }
}

/** Progress bar on stderr: step, loss, img/s, ETA. */
export function drawBar(p: TrainProgress, done = false): void {
  const width = 24;
  const frac = p.totalSteps ? p.step / p.totalSteps : 0;
  const fill = Math.round(frac * width);
  const eta = formatDuration(p.etaSec);
  const line =
    `\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] step ${p.step}/${p.totalSteps} ` +
    `ep ${p.epoch} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
    `${p.imagesPerSec.toFixed(1)} img/s loader ${(100 * p.loaderShare).toFixed(0)}% ETA ${eta}  `;
  // A terminal gets one redrawn line; a log file gets one line per report.
  const tty = Deno.stderr.isTerminal();
  const text = tty ? line + (done ? "\n" : "") : done ? "" : line.slice(1).trimEnd() + "\n";
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}
