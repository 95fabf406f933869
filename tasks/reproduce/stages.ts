/**
 * The real stage functions: thin adapters from plan nodes to the modules' APIs (`mixup/` +
 * `generator/` for data, `recognition/` for training, `eval/` for verification and Fig. 2).
 */
import { type Ep, exists, openAnyDataset, writeJsonAtomic } from "../../data/mod.ts";
import {
  classCosineStats,
  type Embedder,
  embeddingSvg,
  evaluatePairs,
  type IdentityFeatures,
  loadEmbedder,
  loadReferenceEmbedder,
  measureRealism,
  preprocessImage,
  readPairs,
  view2Reason,
  writeEvaluationReport,
  writeFileAtomic,
} from "../../eval/mod.ts";
import type { EpChoice, Generator } from "../../generator/mod.ts";
import {
  HELD_OUT_OFFSET,
  openGenerator,
  synthesize,
  synthesizeVerification,
  writePreviews,
} from "../../synthesis/mod.ts";
import type { TrainConfigInput } from "../../recognition/mod.ts";
import { realSliceFiles } from "./cache.ts";
import type { PlanNode, RealSlice } from "./plan_schema.ts";
import type { StageContext, StageImpls } from "./run.ts";
import { runTraining, trainInChild } from "./train_process.ts";

type Of<K extends PlanNode["kind"]> = Extract<PlanNode, { kind: K }>;

// ---------------------------------------------------------------------------------------------
// Train

/**
 * Real-only training reads a slice of `--real`: hard-link its first `ids` folders × first
 * `perId` images into `<dir>/real-slice/` so the trainer sees exactly that slice as its dataset.
 */
export async function linkRealSlice(real: string, slice: RealSlice, into: string): Promise<string> {
  const abs = await Deno.realPath(real);
  const { folders, picked } = await realSliceFiles(abs, slice);
  if (folders < slice.ids) {
    throw new Error(`--real ${real}: ${folders} identity folders, the plan needs ${slice.ids}`);
  }
  for (const [c, files] of picked) {
    await Deno.mkdir(`${into}/${c}`, { recursive: true });
    for (const f of files) {
      // Hard links (readers skip symlinks), or a copy across file systems.
      const to = `${into}/${c}/${f}`;
      try {
        await Deno.link(`${abs}/${c}/${f}`, to);
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        await Deno.copyFile(`${abs}/${c}/${f}`, to);
      }
    }
  }
  return into;
}

/** The trainer config of a train node (paths resolved against its dependencies and inputs). */
export function trainerConfig(
  node: Of<"train">,
  ctx: Pick<StageContext, "dir" | "deps" | "inputs" | "backend" | "workers">,
  data: string,
): TrainConfigInput {
  const c = node.config;
  const val = c.val.kind === "synthetic"
    ? { data: ctx.deps[c.val.set].dir, numPairs: c.val.pairs }
    : { pairs: ctx.inputs.valPairs!, images: ctx.inputs.valImages! };
  return {
    data,
    out: ctx.dir,
    arch: c.arch,
    input: c.input ?? { height: 112, width: c.size === "112x96" ? 96 : 112 }, // null: image size
    fit: c.fit,
    loss: { kind: c.loss },
    epochs: c.epochs,
    batch: c.batch,
    lr: c.lr,
    seed: c.seed,
    ...(c.photometric ? { augment: c.photometric } : {}),
    backend: ctx.backend,
    workers: Math.max(0, ctx.workers - 1),
    ...(c.data && c.real ? { real: { dir: ctx.inputs.real!, ...c.real } } : {}),
    domainMixup: c.domainMixup,
    val,
  };
}

async function trainStage(ctx: StageContext): Promise<unknown> {
  const node = ctx.stage.node as Of<"train">;
  const c = node.config;
  const data = c.data
    ? ctx.deps[c.data].dir
    : await linkRealSlice(ctx.inputs.real!, c.real!, `${ctx.dir}/real-slice`);
  const config = trainerConfig(node, ctx, data);
  if (ctx.threads !== undefined) return await trainInOwnProcess(ctx, config);
  return await runTraining(config, (fraction, note) => ctx.progress(fraction, note));
}

/**
 * Train in a child process (`train_process.ts`) on the cpu backend with `ctx.threads` threads,
 * relaying its progress. The request is kept in the run folder as `train-request.json`.
 */
async function trainInOwnProcess(ctx: StageContext, config: TrainConfigInput): Promise<unknown> {
  const own: TrainConfigInput = {
    ...config,
    // one job's share of the machine: the backend, its threads and at most one loader thread
    backend: ctx.backend === "webgpu" ? "webgpu" : "cpu",
    threads: ctx.threads,
    workers: Math.min(config.workers ?? 1, 1),
  };
  const request = `${ctx.dir}/train-request.json`;
  await writeJsonAtomic(request, own);
  return await trainInChild(request, (fraction, note) => ctx.progress(fraction, note));
}

// ---------------------------------------------------------------------------------------------
// Eval

/** Pairs file and image folder of a synthetic verification set folder. */
export async function verificationFiles(dir: string): Promise<{ pairs: string; images: string }> {
  for (const name of ["pairs.txt", "pairs.csv"]) {
    if (!(await exists(`${dir}/${name}`))) continue;
    // an images/ folder, else the images lie beside the pairs file
    const sub = await Deno.stat(`${dir}/images`).catch(() => null);
    return { pairs: `${dir}/${name}`, images: sub?.isDirectory ? `${dir}/images` : dir };
  }
  throw new Error(`${dir}: synthetic verification set has no pairs.txt`);
}

async function evalStage(ctx: StageContext): Promise<unknown> {
  const node = ctx.stage.node as Of<"eval">;
  const t = node.config.test;
  const { pairs, images } = t.kind === "synthetic"
    ? await verificationFiles(ctx.deps[t.set].dir)
    : { pairs: ctx.inputs.lfwPairs!, images: ctx.inputs.lfwImages! };
  const run = ctx.deps[node.config.run].dir;
  const embedder = await loadEmbedder(run, { executionProvider: ctx.ep });
  try {
    const evaluation = await evaluatePairs({
      embedder,
      pairs: await readPairs(pairs),
      imagesDir: images,
      progress: (done, total, rate) => ctx.progress(done / total, `${rate.toFixed(0)} img/s`),
    });
    await writeEvaluationReport(ctx.dir, evaluation, { label: ctx.stage.label });
  } finally {
    await embedder.dispose?.();
  }
  return { figures: [{ title: `ROC: ${ctx.stage.label}`, file: "roc.svg" }] };
}

// ---------------------------------------------------------------------------------------------
// Features (Fig. 2)

async function featuresStage(ctx: StageContext): Promise<unknown> {
  const node = ctx.stage.node as Of<"features">;
  const c = node.config;
  const embedder = await loadEmbedder(ctx.deps[c.run].dir, { executionProvider: ctx.ep });
  const { inputHeight: h, inputWidth: w } = embedder.info;
  const sets: IdentityFeatures[] = [];
  const rows: (string | number)[][] = [];
  try {
    for (const s of c.sets) {
      const dir = "dataset" in s
        ? ctx.deps[s.dataset].dir
        : await linkRealSlice(ctx.inputs.real!, s.real, `${ctx.dir}/real-slice`);
      const ds = await openAnyDataset(dir);
      const byClass = Map.groupBy(ds.records(), (r) => r.class);
      const names = ds.classNames();
      const byId = new Map<string, Float32Array[]>();
      for (const [cls, recs] of [...byClass].slice(0, c.ids)) {
        const images = [];
        for (const r of recs.slice(0, c.perId)) {
          images.push(preprocessImage(await ds.readImage(r), h, w, "auto", `${dir}/${r.path}`));
        }
        const feats = await embedder.embed(images);
        byId.set(names[cls], feats);
        sets.push({ identity: names[cls], group: s.label, features: feats });
      }
      const st = classCosineStats(byId);
      rows.push([s.label, st.identities, round(st.intra), round(st.inter), round(1 - st.intra)]);
    }
  } finally {
    await embedder.dispose?.();
  }
  const title = "Feature spread (PCA of L2-normalised features)";
  await writeFileAtomic(`${ctx.dir}/spread.svg`, embeddingSvg(sets, { title }));
  const table = {
    columns: [
      "set",
      "identities",
      "mean intra-class cosine",
      "mean inter-class cosine",
      "mean intra-class distance (1 − cos)",
    ],
    rows,
  };
  await writeJsonAtomic(`${ctx.dir}/stats.json`, table);
  return {
    figures: [{ title: "Fig. 2: feature spread by set and identity", file: "spread.svg" }],
    table,
  };
}

// ---------------------------------------------------------------------------------------------
// Realism meter

/**
 * The realism meter on a synthetic verification set: its images against the `--lfw-images`
 * crops (floor: `--real` against the same), and the reference's accuracy on its pairs. When
 * `--lfw-pairs` is View 2 (the test pairs), its images are left out of the real sample. Writes
 * `realism.json`. A meter only: nothing is trained or selected on it.
 */
export async function realismStage(
  ctx: StageContext,
  loadReference: (ep?: Ep) => Promise<Embedder> = (ep) =>
    loadReferenceEmbedder(undefined, { executionProvider: ep }),
): Promise<unknown> {
  const c = (ctx.stage.node as Of<"realism">).config;
  const real = ctx.inputs.lfwImages;
  if (!real) throw new Error("the realism meter needs --lfw-images");
  const { pairs, images } = await verificationFiles(ctx.deps[c.set].dir);
  let excludeReal: Set<string> | undefined;
  if (ctx.inputs.lfwPairs) {
    const list = await readPairs(ctx.inputs.lfwPairs);
    if (view2Reason(list)) excludeReal = new Set(list.pairs.flatMap((p) => [p.a, p.b]));
  }
  const reference = await loadReference(ctx.ep);
  try {
    ctx.progress(0, `${c.generator}: n ${c.n}`);
    const r = await measureRealism({
      generated: images,
      real,
      ...(ctx.inputs.real ? { floor: ctx.inputs.real } : {}),
      n: c.n,
      seed: c.seed,
      reference,
      pairs,
      cacheDir: `${ctx.out}/cache/realism`,
      ...(excludeReal ? { excludeReal } : {}),
      progress: false,
      meanImagesFile: `${ctx.dir}/mean_images.png`,
    });
    const out = { generator: c.generator, ...r };
    await writeJsonAtomic(`${ctx.dir}/realism.json`, out);
    return { generator: c.generator, fd: r.fd, fd_ratio: r.fd_ratio ?? null };
  } finally {
    await reference.dispose?.();
  }
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

// ---------------------------------------------------------------------------------------------
// Generator stages

const SIZE = { "112x112": "112", "112x96": "112x96" } as const;

const PREVIEW_TITLES: Record<string, string> = {
  "identities_x_variations.png": "Identities × variations (first column: frontal, neutral)",
  "identity_mixup.png": "Fig. 3: Identity Mixup strips, φ = 1 … 0 (identity i → its partner)",
  "sweep_pose.png": "Pose sweep (yaw −45° … 45°), everything else fixed",
  "sweep_expression.png": "Expression sweep (one blendshape per column)",
  "sweep_illumination.png": "Illumination sweep (spherical-harmonics lighting)",
};

/** A set of stage functions with a `close` for what they keep open between stages. */
export interface StageSet extends StageImpls {
  /** Release the shared generator (its worker pool). */
  close(): Promise<void>;
}

/**
 * How `reproduce` opens its generator: on `wasm` and native `node` a pool of `workers` one-thread
 * workers, never one native session with several intra-op threads. That session splits its GEMMs
 * among whichever threads are free, so the same dataset came out with a few 8-bit values
 * different from run to run (measured: 210 of 3,000 images of the `default` preset's 60 × 50, by
 * at most 2 levels), enough to move a training's LFW accuracy by 2 points; the pool is
 * bit-reproducible and faster (689 against 423 images/s on 2 cores: `openGenerator`).
 */
export function reproduceGeneratorOptions(
  ctx: Pick<StageContext, "workers" | "ep" | "inputs">,
): { model?: string; workers: number; ep: EpChoice } {
  return { model: ctx.inputs.model, workers: ctx.workers, ep: ctx.ep ?? "auto" };
}

/**
 * The stage functions `deno task reproduce` uses. One generator (`ctx.inputs.model`, else the
 * embedded one; opened by {@link reproduceGeneratorOptions}) is opened on first use and shared by
 * every data stage of the run; `close()` ends it.
 */
export function createStages(): StageSet {
  let shared: { gen: Generator; key: string } | undefined;
  const generator = async (ctx: StageContext) => {
    const o = reproduceGeneratorOptions(ctx);
    const key = `${o.workers}/${o.ep}/${o.model ?? ""}`;
    if (shared?.key !== key) {
      await shared?.gen.close();
      shared = { gen: await openGenerator(o), key };
    }
    return shared.gen;
  };
  return {
    async dataset(ctx) {
      // ids, perId, seed, identityMixup, phiMin, vary and longTail are synthesize's own options
      const { size, heldOut, ...same } = (ctx.stage.node as Of<"dataset">).config;
      const r = await synthesize({
        ...same,
        out: ctx.dir,
        size: SIZE[size],
        ...(heldOut ? { idOffset: HELD_OUT_OFFSET } : {}),
        generator: await generator(ctx),
        progress: false,
      });
      return { images: r.total, imagesPerSec: r.written / Math.max(r.seconds, 1e-9) };
    },
    async verification(ctx) {
      // ids, perId, seed, vary and folds are synthesizeVerification's own options
      const { size, pairsPerFold, ...same } = (ctx.stage.node as Of<"verification">).config;
      const r = await synthesizeVerification({
        ...same,
        out: ctx.dir,
        pairsOut: `${ctx.dir}/pairs.txt`,
        size: SIZE[size],
        perFold: pairsPerFold,
        generator: await generator(ctx),
        progress: false,
      });
      return { images: r.total, pairs: 2 * same.folds * pairsPerFold };
    },
    async preview(ctx) {
      const c = (ctx.stage.node as Of<"preview">).config;
      const paths = await writePreviews(await generator(ctx), ctx.dir, c.seed, c.ids, c.variations);
      const figures = paths.map((p) => {
        const file = p.slice(p.lastIndexOf("/") + 1);
        return { title: PREVIEW_TITLES[file] ?? file, file };
      });
      // The Identity Mixup strip is the paper's Fig. 3: show it first.
      figures.sort((a, b) =>
        Number(b.file === "identity_mixup.png") - Number(a.file === "identity_mixup.png")
      );
      return { figures };
    },
    train: trainStage,
    eval: evalStage,
    features: featuresStage,
    realism: (ctx) => realismStage(ctx),
    async close() {
      await shared?.gen.close();
      shared = undefined;
    },
  };
}
