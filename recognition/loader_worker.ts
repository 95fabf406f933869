/// <reference lib="deno.worker" />
/**
 * The loader's Worker: receives a plan, then batch requests (epoch, step), and posts back each
 * batch (pixels transferred, not copied). Decoding and augmentation run here, off the thread
 * that drives the training step.
 */
import { BatchMaker, type LoaderPlan } from "./batch_maker.ts";

let maker: Promise<BatchMaker> | undefined;

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data as
    | { type: "init"; plan: LoaderPlan }
    | { type: "batch"; id: number; epoch: number; step: number };
  if (msg.type === "init") {
    maker = BatchMaker.open(msg.plan);
    maker.catch(() => {}); // reported on the first batch request
    return;
  }
  try {
    const m = await maker!;
    const batch = await m.make(msg.epoch, msg.step);
    self.postMessage({ type: "batch", id: msg.id, batch }, [batch.x.buffer as ArrayBuffer]);
  } catch (err) {
    self.postMessage({ type: "error", id: msg.id, message: (err as Error).message ?? String(err) });
  }
};
