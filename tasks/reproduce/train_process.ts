/**
 * One training run in a process of its own, for `reproduce --jobs N`: the CPU backend is
 * process-global and computes on its caller's thread, so runs only train side by side as
 * separate processes. `deno run -A train_process.ts CONFIG.json` trains the config (resuming
 * what its run folder holds) and prints JSON lines on stdout: `{"progress": f, "note": s}` while
 * it runs, then `{"result": {...}}`, or `{"error": message}` and exit code 1.
 */
import { train, type TrainConfigInput } from "../../recognition/mod.ts";

/** A line the child prints on stdout. */
export type TrainProcessMessage =
  | { progress: number; note: string }
  | { result: TrainStageResult }
  | { error: string };

/** What a train stage keeps in its `done.json`. */
export interface TrainStageResult {
  steps: number;
  imagesPerSec: number;
  bestValAccuracy: number | null;
}

/**
 * Train `config` (resuming what its run folder holds) and export the selected checkpoint,
 * reporting progress as a fraction and a note: the one definition of a reproduce training run,
 * in this process or in a child.
 */
export async function runTraining(
  config: TrainConfigInput,
  progress: (fraction: number, note: string) => void,
): Promise<TrainStageResult> {
  const r = await train(config, {
    resume: true,
    progressBar: false,
    onProgress: (p) =>
      progress(
        p.step / p.totalSteps,
        `step ${p.step}/${p.totalSteps}, ${p.imagesPerSec.toFixed(0)} img/s`,
      ),
  });
  if (!r.model) throw new Error(`${config.out}: training ended without model.onnx`);
  return { steps: r.steps, imagesPerSec: r.imagesPerSec, bestValAccuracy: r.bestAccuracy ?? null };
}

/** Run the training of the config file at `configPath`, reporting through `emit`. */
export async function runTrainProcess(
  configPath: string,
  emit: (m: TrainProcessMessage) => void,
): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(configPath)) as TrainConfigInput;
  const result = await runTraining(config, (progress, note) => emit({ progress, note }));
  emit({ result });
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: deno run -A train_process.ts CONFIG.json");
    Deno.exit(2);
  }
  const emit = (m: TrainProcessMessage) => console.log(JSON.stringify(m));
  try {
    await runTrainProcess(Deno.args[0], emit);
  } catch (e) {
    emit({ error: e instanceof Error ? e.message : String(e) });
    console.error(e instanceof Error ? e.stack : e);
    Deno.exit(1);
  }
  // Loader and GEMM workers must not keep the process alive once the run is exported.
  Deno.exit(0);
}
