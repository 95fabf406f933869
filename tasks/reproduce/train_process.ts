/**
 * One training run in a process of its own, for `reproduce --jobs N`: the CPU backend is
 * process-global and computes on its caller's thread, so runs only train side by side as
 * separate processes. `deno run -A train_process.ts CONFIG.json` trains the config (resuming
 * what its run folder holds) and prints JSON lines on stdout: `{"progress": f, "note": s}` while
 * it runs, then `{"result": {...}}`, or `{"error": message}` and exit code 1. `trainInChild` is
 * the parent's side.
 */
import { fileURLToPath } from "node:url";
import { textLines } from "../../data/mod.ts";
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

/** The root `deno.json` of a local checkout (its import map and lock), if this is one. */
async function localConfig(): Promise<string | null> {
  const url = new URL("../../deno.json", import.meta.url);
  if (url.protocol !== "file:") return null;
  return await Deno.stat(url).then(() => fileURLToPath(url), () => null);
}

/**
 * Train the config file `request` in a child process running this module, relaying its
 * progress. A failure's message starts with the child's error (else it carries its last lines of
 * stderr).
 */
export async function trainInChild(
  request: string,
  progress: (fraction: number, note: string) => void,
): Promise<TrainStageResult> {
  const deno = await localConfig();
  const script = import.meta.url;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...(deno ? ["--config", deno] : []), script, request],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errTail: string[] = [];
  const drainErr = (async () => {
    for await (const l of textLines(child.stderr)) {
      errTail.push(l);
      if (errTail.length > 20) errTail.shift();
    }
  })();
  let result: TrainStageResult | undefined;
  let error: string | undefined;
  for await (const l of textLines(child.stdout)) {
    let m: TrainProcessMessage;
    try {
      m = JSON.parse(l);
    } catch {
      continue; // a stray line (e.g. a library's notice), not a message
    }
    if ("progress" in m) progress(m.progress, m.note);
    else if ("result" in m) result = m.result;
    else if ("error" in m) error = m.error;
  }
  const status = await child.status;
  await drainErr;
  if (!status.success || result === undefined) {
    // The first line is what the report shows; the child's stderr follows when it said nothing.
    const tail = errTail.filter((l) => l.trim() !== "").slice(-6).join("\n");
    throw new Error(
      `${error ?? "training process failed"} (exit code ${status.code} of ${script} ${request})` +
        (error === undefined && tail ? `\n${tail}` : ""),
    );
  }
  return result;
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: deno run -A train_process.ts CONFIG.json");
    Deno.exit(2);
  }
  const emit = (m: TrainProcessMessage) => console.log(JSON.stringify(m));
  try {
    const config = JSON.parse(await Deno.readTextFile(Deno.args[0])) as TrainConfigInput;
    emit({ result: await runTraining(config, (progress, note) => emit({ progress, note })) });
  } catch (e) {
    emit({ error: e instanceof Error ? e.message : String(e) });
    console.error(e instanceof Error ? e.stack : e);
    Deno.exit(1);
  }
  // Loader and GEMM workers must not keep the process alive once the run is exported.
  Deno.exit(0);
}
