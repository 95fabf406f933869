/**
 * `deno task generate`: synthesize a face dataset with the embedded (or any manifest-described)
 * generator. See `synthesis/synthesize.ts` for determinism, shards and resume.
 *
 *   deno task generate --out DIR --ids N --per-id K [--size 112|112x96] [--seed S]
 *     [--shard i/n] [--identity-mixup [--im-phi-min F] [--im-blend linear|variance]]
 *     [--vary all|none|expression|pose|illumination]
 *     [--long-tail balanced|ub1|ub2] [--model generator.json [--allow-net-model]]
 *     [--ep auto|webgpu|node|wasm] [--workers N] [--threads N]
 *   --ep: auto = hardware WebGPU, else native onnxruntime-node, else wasm; the EP used is
 *   recorded in the dataset header (config.ep; absent = wasm). --workers: the worker pool's size
 *   (wasm, and node without --threads; default one per core); --threads N: one in-process node
 *   session with N intra-op threads instead of the pool (N > 1 is not bit-reproducible:
 *   onnxruntime-node splits its GEMMs among whichever threads are free, so a few 8-bit values can
 *   differ between runs; the pool and --threads 1 are).
 *   deno task generate --preview --out DIR            PNG sheets (ids × variations, IM strip, sweeps)
 *   deno task generate --pairs-out pairs.txt --out DIR --ids N --per-id K [--folds 10 --per-fold 300]
 *                                                     held-out verification set in LFW format
 */
import {
  choiceFlag,
  EP_CHOICES,
  type EpChoice,
  exitUsage,
  intFlag,
  numberFlag,
  outDirProblem,
  parseCliArgs,
  parseShardFlag,
} from "../data/mod.ts";
import { resolveGeneratorModel } from "../generator/mod.ts";
import { MIXUP_BLENDS, type MixupBlend } from "../mixup/mod.ts";
import {
  type LongTail,
  openGenerator,
  type SizeOption,
  synthesize,
  synthesizeVerification,
  type Vary,
  writePreviews,
} from "../synthesis/mod.ts";

const fail: (msg: string) => never = exitUsage("generate");

function int(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) fail(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(`--${name} ${v}: expected a non-negative integer`);
  return n;
}

/** `--name v` from `allowed`, `dflt` when absent. */
function oneOf<T extends string>(
  name: string,
  v: string | undefined,
  allowed: readonly T[],
  dflt: T,
) {
  return choiceFlag(`--${name}`, v, allowed, fail) ?? dflt;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      out: { type: "string" },
      ids: { type: "string" },
      "per-id": { type: "string" },
      size: { type: "string" },
      seed: { type: "string" },
      shard: { type: "string" },
      "identity-mixup": { type: "boolean" },
      "im-phi-min": { type: "string" },
      "im-blend": { type: "string" },
      vary: { type: "string" },
      "long-tail": { type: "string" },
      model: { type: "string" },
      "allow-net-model": { type: "boolean" },
      workers: { type: "string" },
      threads: { type: "string" },
      ep: { type: "string" },
      preview: { type: "boolean" },
      "pairs-out": { type: "string" },
      folds: { type: "string" },
      "per-fold": { type: "string" },
    },
  }, fail);
  if (!values.out) fail("--out DIR is required");
  const outProblem = outDirProblem(values.out);
  if (outProblem) fail(outProblem);
  const seed = int("seed", values.seed, 0);
  // A missing model is an error here, a URL model is fetched (into out/cache/) only when allowed.
  const model = values.model === undefined ? undefined : await resolveGeneratorModel(
    values.model,
    { allowNet: values["allow-net-model"] ?? false },
  ).catch((e) => fail((e as Error).message));
  const ep = oneOf<EpChoice>("ep", values.ep, EP_CHOICES, "auto");
  const workers = int("workers", values.workers, navigator.hardwareConcurrency || 1);
  const threads = intFlag("--threads", values.threads, fail);
  if (values.preview) {
    const gen = await openGenerator({ model, workers: Math.min(workers, 2), threads, ep });
    try {
      const paths = await writePreviews(gen, values.out, seed);
      for (const p of paths) console.log(p);
    } finally {
      await gen.close();
    }
    return;
  }
  const shard = values.shard === undefined ? undefined : parseShardFlag(values.shard, fail);
  const common = {
    out: values.out,
    ids: int("ids", values.ids),
    perId: int("per-id", values["per-id"]),
    seed,
    size: oneOf<SizeOption>("size", values.size, ["112", "112x96"], "112"),
    shard,
    vary: oneOf<Vary>(
      "vary",
      values.vary,
      ["all", "none", "expression", "pose", "illumination"],
      "all",
    ),
    model,
    workers,
    threads,
    ep,
    // without --identity-mixup, synthesize refuses these (verification sets too)
    phiMin: numberFlag("--im-phi-min", values["im-phi-min"], fail, [0, 1]) ?? 0,
    imBlend: oneOf<MixupBlend>("im-blend", values["im-blend"], MIXUP_BLENDS, "linear"),
  };
  const r = values["pairs-out"]
    ? await synthesizeVerification({
      ...common,
      pairsOut: values["pairs-out"],
      folds: int("folds", values.folds, 10),
      perFold: int("per-fold", values["per-fold"], 300),
    })
    : await synthesize({
      ...common,
      identityMixup: values["identity-mixup"] ?? false,
      longTail: oneOf<LongTail>(
        "long-tail",
        values["long-tail"],
        ["balanced", "ub1", "ub2"],
        "balanced",
      ),
    });
  const before = r.total - r.written;
  console.error(
    `generate: wrote ${r.written} images (${before} already there) in ${r.seconds.toFixed(1)} s`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    fail((e as Error).message);
  }
}
