/**
 * The experiment plan of `deno task reproduce`, as data: which datasets to synthesise, which
 * models to train and which evaluations to run for each of the paper's tables and figures, at
 * the size a preset gives. Every size lives in `PRESETS` below; everything else is derived.
 *
 * A plan is a list of experiments; each declares its nodes (dataset, verification, train, eval,
 * features, preview) under local names that reference each other. Identical nodes of different
 * experiments are the same work: `cache.ts` keys them by a hash of their config.
 */
import { z } from "./deps.ts";

// ---------------------------------------------------------------------------------------------
// Node configs

const int = () => z.number().int();
const pos = () => z.number().int().positive();

/** Output size of generated images: the ArcFace 112×112 crop or the paper's 112×96. */
export const ImageSizeSchema = z.enum(["112x112", "112x96"]);
/** What varies within an identity (the paper's factor study, Fig. 6). */
export const VarySchema = z.enum(["all", "none", "expression", "pose", "illumination"]);
/** Images-per-identity profile at a fixed total (the paper's Fig. 5). */
export const LongTailSchema = z.enum(["balanced", "ub1", "ub2"]);

/**
 * The paper's learning rate per image of a batch (0.1 at batch 512), scaled linearly. The CPU
 * presets' batch of 64 once trained at 0.1, which wrecked Identity Mixup (85 % vs 95 % on held-out
 * synthetic pairs, see the README).
 */
export const PAPER_LR_PER_IMAGE = 0.1 / 512;

/** Fig. 2's mild Identity Mixup strength: φ drawn from the grid values ≥ this. */
export const FIG2_MILD_PHI_MIN = 0.5;

/** A synthetic training set (`deno task generate`). */
export const DatasetConfigSchema = z.strictObject({
  ids: pos(),
  perId: pos(),
  size: ImageSizeSchema,
  seed: int(),
  identityMixup: z.boolean(),
  /** IM strength: φ from the grid values ≥ phiMin (absent = 0, the paper's full grid). */
  phiMin: z.number().gt(0).max(1).optional(),
  vary: VarySchema,
  longTail: LongTailSchema,
  /** Held-out identities (the generator's held-out stream numbering), for model selection. */
  heldOut: z.boolean(),
});
/** Config of a synthetic training set. */
export type DatasetConfig = z.infer<typeof DatasetConfigSchema>;

/**
 * A synthetic verification set in LFW format, from identities held out of training (a seed no
 * training set uses): `folds` folds of `pairsPerFold` same + `pairsPerFold` different pairs.
 */
export const VerificationConfigSchema = z.strictObject({
  ids: pos(),
  perId: z.number().int().min(2),
  folds: pos(),
  pairsPerFold: pos(),
  size: ImageSizeSchema,
  seed: int(),
  vary: VarySchema,
});
/** Config of a synthetic verification set. */
export type VerificationConfig = z.infer<typeof VerificationConfigSchema>;

/** The first `ids` identities × first `perId` images (sorted) of the `--real` folder. */
export const RealSliceSchema = z.strictObject({ ids: pos(), perId: pos() });
/** A slice of the real labelled set. */
export type RealSlice = z.infer<typeof RealSliceSchema>;

/**
 * Where model selection looks: `pairs` same/different pairs drawn from a held-out synthetic
 * dataset (identities no training set has), or `--val-pairs`. Never test pairs.
 */
export const ValSourceSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("synthetic"), set: z.string(), pairs: pos() }),
  z.strictObject({ kind: z.literal("external") }),
]);

/** The training hyper-parameters a preset fixes for all its runs. */
export const TrainSettingsSchema = z.strictObject({
  arch: z.string().min(1),
  /** Network input; null = the image size. Smaller inputs make CPU presets affordable. */
  input: z.strictObject({ height: pos(), width: pos() }).nullable(),
  /** How images reach the input: centre crop only, or centre window + resize. */
  fit: z.enum(["center-crop", "resize"]),
  loss: z.enum(["arcface", "cosface", "softmax"]),
  epochs: pos(),
  batch: pos(),
  lr: z.number().positive(),
  seed: int(),
});
/** Training hyper-parameters. */
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;

/** One training run (`deno task train`). `data` references a dataset node; null = real only. */
export const TrainConfigSchema = z.strictObject({
  ...TrainSettingsSchema.shape,
  data: z.string().nullable(),
  real: RealSliceSchema.nullable(),
  domainMixup: z.boolean(),
  size: ImageSizeSchema,
  val: ValSourceSchema,
}).refine((c) => c.data !== null || c.real !== null, {
  message: "a run needs synthetic data, real data or both",
}).refine((c) => !c.domainMixup || (c.data !== null && c.real !== null), {
  message: "Domain Mixup needs both synthetic data and a real slice",
});
/** Config of a training run. */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/** What an evaluation tests on: a synthetic verification node, or real LFW (`--lfw-pairs`). */
export const TestSetSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("synthetic"), set: z.string() }),
  z.strictObject({ kind: z.literal("lfw") }),
]);

/** One evaluation (`evaluatePairs`): both protocols, always. */
export const EvalConfigSchema = z.strictObject({ run: z.string(), test: TestSetSchema });
/** Config of an evaluation. */
export type EvalConfig = z.infer<typeof EvalConfigSchema>;

/** One image set of the feature-spread figure: a dataset node or the real slice. */
export const FeatureSetSchema = z.union([
  z.strictObject({ label: z.string(), dataset: z.string() }),
  z.strictObject({ label: z.string(), real: RealSliceSchema }),
]);

/** The paper's Fig. 2: embed `ids` identities × `perId` images of each set with one model. */
export const FeaturesConfigSchema = z.strictObject({
  run: z.string(),
  sets: z.array(FeatureSetSchema).min(1),
  ids: pos(),
  perId: pos(),
  method: z.enum(["pca", "mds"]),
});
/** Config of the feature-spread figure. */
export type FeaturesConfig = z.infer<typeof FeaturesConfigSchema>;

/** The paper's Fig. 3: the Identity Mixup strip and one sweep per factor (generator preview). */
export const PreviewConfigSchema = z.strictObject({
  ids: pos(),
  variations: pos(),
  size: ImageSizeSchema,
  seed: int(),
});
/** Config of the preview sheets. */
export type PreviewConfig = z.infer<typeof PreviewConfigSchema>;

/**
 * The realism meter (`eval/realism.ts`) on a synthetic verification set of `generator`: Fréchet
 * distance of the reference embedder's features, generated vs the real `--lfw-images` crops
 * (floor: `--real` vs the same), and the reference's accuracy on the set's pairs. A meter only:
 * nothing is trained or selected on it.
 */
export const RealismConfigSchema = z.strictObject({
  /** The verification node whose images are measured. */
  set: z.string(),
  /** Id of the generator that made them (its manifest's `id`). */
  generator: z.string().min(1),
  /** Images sampled per set. */
  n: z.number().int().min(2),
  /** Sampling seed. */
  seed: int(),
});
/** Config of a realism measurement. */
export type RealismConfig = z.infer<typeof RealismConfigSchema>;

/** A node of the plan: one unit of cached work. */
export const NodeSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("dataset"), config: DatasetConfigSchema }),
  z.strictObject({ kind: z.literal("verification"), config: VerificationConfigSchema }),
  z.strictObject({ kind: z.literal("train"), config: TrainConfigSchema }),
  z.strictObject({ kind: z.literal("eval"), config: EvalConfigSchema }),
  z.strictObject({ kind: z.literal("features"), config: FeaturesConfigSchema }),
  z.strictObject({ kind: z.literal("preview"), config: PreviewConfigSchema }),
  z.strictObject({ kind: z.literal("realism"), config: RealismConfigSchema }),
]);
/** A plan node. */
export type PlanNode = z.infer<typeof NodeSchema>;
/** The kinds of plan nodes. */
export type NodeKind = PlanNode["kind"];

// ---------------------------------------------------------------------------------------------
// Experiments

/** Names of the experiments, in report order. */
export const EXPERIMENTS = ["table1", "table2", "table3", "fig5", "fig6", "fig2", "fig3"] as const;
/** One of the paper's tables or figures. */
export const ExperimentNameSchema = z.enum(EXPERIMENTS);
/** An experiment name. */
export type ExperimentName = z.infer<typeof ExperimentNameSchema>;

/** A table: rows of eval nodes by column key; each cell shows both protocols. */
export const TableSpecSchema = z.strictObject({
  rowHeader: z.string(),
  columns: z.array(z.strictObject({ key: z.string(), label: z.string() })).min(1),
  rows: z.array(z.strictObject({
    label: z.string(),
    /** Column key → the eval node of each training seed (one per seed; the cell is their mean). */
    cells: z.record(z.string(), z.array(z.string()).min(1)),
    /** The paper's LFW accuracy (%) for this row, when recoverable (`../shared/PAPER.md`). */
    paper: z.number().optional(),
  })).min(1),
});
/** A table layout. */
export type TableSpec = z.infer<typeof TableSpecSchema>;

/** A bar chart of some table columns (synface protocol accuracy, %). */
export const ChartSpecSchema = z.strictObject({
  columns: z.array(z.string()).min(1),
  protocol: z.enum(["synface", "insightface"]),
});

/** One experiment: its nodes, and how the report shows them. */
export const ExperimentSchema = z.strictObject({
  name: ExperimentNameSchema,
  title: z.string(),
  /** What the paper's version shows, and the trend to look for. */
  about: z.string(),
  nodes: z.record(z.string(), NodeSchema),
  table: TableSpecSchema.optional(),
  chart: ChartSpecSchema.optional(),
  /** A figure made by a node (features plot or preview sheets). */
  figure: z.string().optional(),
}).superRefine((e, ctx) => checkRefs(e, ctx));
/** An experiment of the plan. */
export type Experiment = z.infer<typeof ExperimentSchema>;

/** Every reference must name a node of the same experiment, of the right kind. */
function checkRefs(e: z.infer<typeof ExperimentSchema>, ctx: z.RefinementCtx): void {
  const want = (ref: string | null, kinds: NodeKind[], where: string) => {
    if (ref === null) return;
    const node = e.nodes[ref];
    if (!node || !kinds.includes(node.kind)) {
      ctx.addIssue({
        code: "custom",
        path: [where],
        message: `${e.name}: ${where} references "${ref}", expected a ${
          kinds.join("/")
        } node of this experiment`,
      });
    }
  };
  for (const [name, node] of Object.entries(e.nodes)) {
    const where = `nodes.${name}`;
    if (node.kind === "train") {
      want(node.config.data, ["dataset"], `${where}.data`);
      if (node.config.val.kind === "synthetic") {
        want(node.config.val.set, ["dataset"], `${where}.val`);
      }
    } else if (node.kind === "eval") {
      want(node.config.run, ["train"], `${where}.run`);
      if (node.config.test.kind === "synthetic") {
        want(node.config.test.set, ["verification"], `${where}.test`);
      }
    } else if (node.kind === "realism") {
      want(node.config.set, ["verification"], `${where}.set`);
    } else if (node.kind === "features") {
      want(node.config.run, ["train"], `${where}.run`);
      for (const s of node.config.sets) if ("dataset" in s) want(s.dataset, ["dataset"], where);
    }
  }
  for (const row of e.table?.rows ?? []) {
    for (const [col, refs] of Object.entries(row.cells)) {
      for (const ref of refs) want(ref, ["eval"], `table.${row.label}.${col}`);
      if (!e.table!.columns.some((c) => c.key === col)) {
        ctx.addIssue({ code: "custom", message: `${e.name}: unknown table column "${col}"` });
      }
    }
  }
  for (const col of e.chart?.columns ?? []) {
    if (!e.table?.columns.some((c) => c.key === col)) {
      ctx.addIssue({ code: "custom", message: `${e.name}: chart column "${col}" not in table` });
    }
  }
  if (e.figure !== undefined) want(e.figure, ["features", "preview"], "figure");
}

// ---------------------------------------------------------------------------------------------
// Presets: every size in one place

/** Names of the presets. */
export const PRESET_NAMES = ["smoke", "default", "cpu", "paper"] as const;
/** A preset name. */
export type PresetName = (typeof PRESET_NAMES)[number];

const Cell = z.strictObject({ ids: pos(), perId: pos() });

/** A preset: the sizes of every experiment, and the throughput its time estimate assumes. */
export const PresetSchema = z.strictObject({
  name: z.enum(PRESET_NAMES),
  description: z.string(),
  /** True when the numbers mean nothing (toy sizes); the report says so in bold. */
  meaningless: z.boolean(),
  /** Experiments this preset runs (before `--only`). */
  experiments: z.array(ExperimentNameSchema).min(1),
  size: ImageSizeSchema,
  /** Seed of the training sets; the verification sets use their own (held-out identities). */
  seed: int(),
  /** Table 2 / Table 1 / Fig. 2 training set. */
  base: Cell,
  /** Synthetic test set (Table 1's synthetic column): held-out identities, LFW format. */
  test: z.strictObject({
    ids: pos(),
    perId: z.number().int().min(2),
    folds: pos(),
    pairsPerFold: pos(),
    seed: int(),
  }),
  /** Held-out synthetic set for model selection, and how many pairs are drawn from it. */
  validation: z.strictObject({ ids: pos(), perId: pos(), pairs: pos(), seed: int() }),
  /** Real slices: `ids` × each of `perId` (the paper's 2K_10 and 2K_20, scaled). */
  real: z.strictObject({ ids: pos(), perId: z.array(pos()).min(1) }),
  /**
   * Table 1's real-trained row (needs `--real`): true = `real.ids` × the largest `real.perId`;
   * `{ ids, perId }` = that slice (the control row at the synthetic base's image count); false =
   * only the synthetic half.
   */
  table1Real: z.union([z.boolean(), z.strictObject({ ids: pos(), perId: pos() })]),
  /** Table 3 grid, and the two cells of equal total images (the paper's (a) vs (e)). */
  table3: z.strictObject({
    widths: z.array(pos()).min(1),
    depths: z.array(pos()).min(1),
    equalTotal: z.tuple([Cell, Cell]),
  }),
  /** Fig. 5: balanced vs the generator's unbalanced profiles at this total. */
  longTail: Cell,
  /** Fig. 6 training sets. */
  factors: Cell,
  /** Fig. 2: identities × images per set shown. */
  fig2: Cell,
  /** Experiments whose runs are also tested on LFW when `--lfw-pairs` is given. */
  lfwIn: z.union([z.literal("all"), z.array(ExperimentNameSchema)]),
  /** Fig. 3 preview sheets. */
  preview: z.strictObject({ ids: pos(), variations: pos() }),
  /** Realism meter on the synthetic test set (needs `--lfw-images`): images sampled per set. */
  realism: z.strictObject({ n: z.number().int().min(2) }),
  train: TrainSettingsSchema,
  /**
   * Training runs per table cell, with seeds `train.seed`, `train.seed + 1`, …: a cell shows
   * their mean and, above one seed, the std over seeds (single runs differ by about a point).
   */
  seeds: pos(),
  /** Throughput the time estimate assumes (measured on the machine named in `note`). */
  estimate: z.strictObject({
    generateImgPerS: z.number().positive(),
    /** One training run using the whole machine. */
    trainImgPerS: z.number().positive(),
    /** Each of `--jobs` runs training side by side, one CPU thread each (cpu backend). */
    trainImgPerSPerJob: z.number().positive(),
    embedImgPerS: z.number().positive(),
    /** Fixed cost per stage (process start, model load, export). */
    stageOverheadS: z.number().nonnegative(),
    note: z.string(),
  }),
}).superRefine((p, ctx) => {
  const [a, b] = p.table3.equalTotal;
  if (a.ids * a.perId !== b.ids * b.perId) {
    ctx.addIssue({
      code: "custom",
      path: ["table3", "equalTotal"],
      message: `equal-total cells must hold the same number of images, got ${a.ids}×${a.perId} ` +
        `and ${b.ids}×${b.perId}`,
    });
  }
  if (a.ids === b.ids) {
    ctx.addIssue({
      code: "custom",
      path: ["table3", "equalTotal"],
      message: "equal-total cells must differ in width",
    });
  }
});
/** A preset. */
export type Preset = z.infer<typeof PresetSchema>;

const ALL: ExperimentName[] = [...EXPERIMENTS];

/**
 * The presets. Tune sizes here and nowhere else; `estimate` rates are what `--dry-run` uses.
 * `smoke` numbers are meaningless; `default` is sized for ≤ 45 min on 2 cores; `cpu` is the
 * overnight run; `paper` is the paper's scale for a GPU.
 */
export const PRESETS: Record<PresetName, Preset> = {
  smoke: {
    name: "smoke",
    description: "every stage of every experiment at toy size (CI; ≤ 5 min on 2 cores)",
    meaningless: true,
    experiments: ALL,
    size: "112x112",
    seed: 1,
    base: { ids: 6, perId: 4 },
    test: { ids: 12, perId: 3, folds: 10, pairsPerFold: 2, seed: 1_000_001 },
    validation: { ids: 8, perId: 3, pairs: 24, seed: 2_000_001 },
    real: { ids: 6, perId: [2, 4] },
    table1Real: true,
    table3: {
      widths: [3, 6],
      depths: [2, 4],
      equalTotal: [{ ids: 6, perId: 2 }, { ids: 3, perId: 4 }],
    },
    longTail: { ids: 6, perId: 4 },
    factors: { ids: 6, perId: 4 },
    fig2: { ids: 4, perId: 4 },
    preview: { ids: 3, variations: 4 },
    realism: { n: 24 },
    lfwIn: ["table1", "table2"],
    train: {
      arch: "ir_tiny",
      input: { height: 32, width: 32 },
      fit: "resize",
      loss: "arcface",
      epochs: 1,
      batch: 8,
      lr: 0.05,
      seed: 1,
    },
    seeds: 1,
    estimate: {
      generateImgPerS: 40,
      trainImgPerS: 20,
      trainImgPerSPerJob: 15,
      embedImgPerS: 200,
      stageOverheadS: 1.5,
      note: "measured: the whole preset takes 1m41s–3m09s on the 2-core dev VM under load ≈ 7",
    },
  },
  default: {
    name: "default",
    description: "Table 2 core (synthetic, +IM, +IM+DM with --real) and Table 1 (synthetic; " +
      "with --real also the real control at the same image count); ≤ 45 min on 2 cores without --real",
    meaningless: false,
    experiments: ["table1", "table2"],
    size: "112x112",
    seed: 1,
    // the paper's depth (50 images per identity) with the width scaled down: on held-out
    // synthetic dev pairs IM's gap to no IM went −0.91 (300 × 10), −0.65 (150 × 20), −0.01
    // (75 × 40), +0.95 (60 × 50) at the same 3000 images and 16 epochs; over three runs per arm
    // at 60 × 50 it is +0.37, within the run-to-run spread (see the README)
    base: { ids: 60, perId: 50 },
    // 6000 pairs (as LFW's View 2), so a test accuracy has ±0.15 standard error, not ±0.4 (fixed
    // before any run was tested on it)
    test: { ids: 600, perId: 5, folds: 10, pairsPerFold: 300, seed: 1_000_001 },
    validation: { ids: 100, perId: 4, pairs: 400, seed: 2_000_001 },
    real: { ids: 100, perId: [5, 10] },
    // the control row: real data at the synthetic base's image count (150 × 20 = 60 × 50)
    table1Real: { ids: 150, perId: 20 },
    table3: {
      widths: [100, 200],
      depths: [10, 20],
      equalTotal: [{ ids: 200, perId: 10 }, { ids: 100, perId: 20 }],
    },
    longTail: { ids: 200, perId: 20 },
    factors: { ids: 200, perId: 20 },
    fig2: { ids: 8, perId: 10 },
    preview: { ids: 6, variations: 8 },
    realism: { n: 1500 },
    lfwIn: "all",
    train: {
      arch: "ir10_quarter",
      input: { height: 64, width: 64 },
      fit: "resize",
      loss: "arcface",
      // chosen on held-out synthetic dev pairs (never the test): at 150 × 20, IM's gap to no IM
      // was −2.1 points after 8 epochs, −0.65 after 16 and −1.36 after 32 (see the README)
      epochs: 16,
      batch: 64,
      lr: PAPER_LR_PER_IMAGE * 64,
      seed: 1,
    },
    // two runs per arm, side by side (one thread each): the same no-IM config scored 97.08, 98.02
    // and 97.70 on dev pairs, so a single run cannot show a gap of a few tenths
    seeds: 2,
    estimate: {
      generateImgPerS: 90,
      trainImgPerS: 85,
      trainImgPerSPerJob: 60,
      embedImgPerS: 300,
      stageOverheadS: 5,
      note: "idle 2-core dev VM: generator ~99 img/s, ir10_quarter@64×64 ~85–100 img/s on both " +
        "cores, 61–78 img/s each when two run side by side (a third of that while other jobs " +
        "load the machine)",
    },
  },
  cpu: {
    name: "cpu",
    description: "every experiment, sized for a CPU-only workstation overnight",
    meaningless: false,
    experiments: ALL,
    size: "112x112",
    seed: 1,
    // the paper's depth, as in `default` (IM only drew level with no IM at 40–50 images per
    // identity); unlike 300 × 20 it shares no dataset with Figs. 5/6, which adds ~1 h
    base: { ids: 120, perId: 50 },
    test: { ids: 600, perId: 5, folds: 10, pairsPerFold: 300, seed: 1_000_001 },
    validation: { ids: 200, perId: 5, pairs: 1000, seed: 2_000_001 },
    real: { ids: 200, perId: [10, 20] },
    table1Real: true,
    table3: {
      widths: [150, 600],
      depths: [5, 20],
      equalTotal: [{ ids: 600, perId: 5 }, { ids: 150, perId: 20 }],
    },
    longTail: { ids: 300, perId: 20 },
    factors: { ids: 300, perId: 20 },
    fig2: { ids: 10, perId: 20 },
    preview: { ids: 8, variations: 10 },
    realism: { n: 1500 },
    lfwIn: "all",
    train: {
      arch: "ir10_quarter",
      input: { height: 64, width: 64 },
      fit: "resize",
      loss: "arcface",
      epochs: 8,
      batch: 64,
      lr: PAPER_LR_PER_IMAGE * 64,
      seed: 1,
    },
    seeds: 1,
    estimate: {
      generateImgPerS: 50,
      trainImgPerS: 35,
      trainImgPerSPerJob: 25,
      embedImgPerS: 300,
      stageOverheadS: 5,
      note: "2-core dev VM shared with other jobs (load ≈ 7): generator ~20–60 img/s, " +
        "ir10_quarter@64×64 ~35–40 img/s",
    },
  },
  paper: {
    name: "paper",
    description: "the paper's scale (10K × 50, 112×96, LResNet50E-IR, 40 epochs) for a GPU",
    meaningless: false,
    experiments: ALL,
    size: "112x96",
    seed: 1,
    base: { ids: 10_000, perId: 50 },
    test: { ids: 3000, perId: 4, folds: 10, pairsPerFold: 300, seed: 1_000_001 },
    validation: { ids: 1000, perId: 5, pairs: 2200, seed: 2_000_001 },
    real: { ids: 2000, perId: [10, 20] },
    table1Real: true,
    table3: {
      widths: [1000, 2000, 5000, 10_000],
      depths: [10, 20, 50],
      equalTotal: [{ ids: 5000, perId: 10 }, { ids: 1000, perId: 50 }],
    },
    longTail: { ids: 2000, perId: 50 },
    factors: { ids: 5000, perId: 50 },
    fig2: { ids: 10, perId: 50 },
    preview: { ids: 10, variations: 10 },
    realism: { n: 3000 },
    lfwIn: "all",
    train: {
      arch: "lresnet50e_ir",
      input: null,
      fit: "center-crop",
      loss: "arcface",
      epochs: 40,
      batch: 512,
      lr: 0.1,
      seed: 1,
    },
    seeds: 1,
    estimate: {
      generateImgPerS: 150,
      trainImgPerS: 1500,
      trainImgPerSPerJob: 1500,
      embedImgPerS: 3000,
      stageOverheadS: 10,
      note: "assumed for one modern GPU; not measured",
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Building the plan

/** Which optional inputs the command line gave (they decide val source and Fig. 2's sets). */
export interface PlanInputs {
  /** `--real DIR` given. */
  real: boolean;
  /** `--val-pairs` given: model selection uses it instead of the synthetic validation set. */
  val: boolean;
  /** Id of the generator the data stages use (default {@link DEFAULT_GENERATOR_ID}). */
  generator?: string;
}

/** Id of the generator `reproduce` uses when the plan is not told (the embedded default). */
export const DEFAULT_GENERATOR_ID = "embedded-aam@1";

/** Seed of the realism meter's sampling. */
export const REALISM_SEED = 0;

/** A validated plan: the preset it was built from and its experiments in report order. */
export const PlanSchema = z.strictObject({
  preset: PresetSchema,
  experiments: z.array(ExperimentSchema),
});
/** A plan. */
export type Plan = z.infer<typeof PlanSchema>;

/** The training seeds of every cell: `train.seed`, `train.seed + 1`, … (`seeds` of them). */
export function trainSeeds(p: Preset): number[] {
  return Array.from({ length: p.seeds }, (_, i) => p.train.seed + i);
}

/** Preset fields that flags may override. */
export interface PresetOverrides {
  /** `--real-ids R`. */
  realIds?: number;
  /** `--real-per-id K[,K2]`. */
  realPerId?: number[];
  /** `--seeds N`. */
  seeds?: number;
}

/** The preset with command-line overrides applied, validated. */
export function resolvePreset(name: string, overrides: PresetOverrides = {}): Preset {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `--preset: unknown preset "${name}", expected one of ${PRESET_NAMES.join(", ")}`,
    );
  }
  const base = structuredClone(PRESETS[name as PresetName]);
  if (overrides.realIds !== undefined) base.real.ids = overrides.realIds;
  if (overrides.realPerId !== undefined) base.real.perId = overrides.realPerId;
  if (overrides.seeds !== undefined) base.seeds = overrides.seeds;
  const r = PresetSchema.safeParse(base);
  if (!r.success) throw new Error(`preset ${name}: ${describe(r.error)}`);
  return r.data;
}

/**
 * Build and validate the plan of a preset: its experiments (filtered by `only`), each with its
 * nodes, table and chart. Pure: the same arguments give the same plan.
 */
export function buildPlan(preset: Preset, inputs: PlanInputs, only?: ExperimentName[]): Plan {
  const names = preset.experiments.filter((n) => !only || only.includes(n));
  const experiments = names.map((n) => BUILDERS[n](preset, inputs));
  const r = PlanSchema.safeParse({ preset, experiments });
  if (!r.success) throw new Error(`plan ${preset.name}: ${describe(r.error)}`);
  return r.data;
}

/** Parse `--only table2,fig6`. */
export function parseOnly(value: string): ExperimentName[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of names) {
    if (!(EXPERIMENTS as readonly string[]).includes(n)) {
      throw new Error(
        `--only: unknown experiment "${n}", expected some of ${EXPERIMENTS.join(",")}`,
      );
    }
  }
  if (names.length === 0) throw new Error("--only: expected a comma-separated list of experiments");
  return names as ExperimentName[];
}

function describe(error: z.ZodError): string {
  const i = error.issues[0];
  return `${i.path.length ? `field "${i.path.join(".")}": ` : ""}${i.message}`;
}

type Nodes = Record<string, PlanNode>;

/** Shared building blocks: the test/validation sets, a dataset + its run + its evals. */
class Builder {
  nodes: Nodes = {};
  constructor(
    readonly experiment: ExperimentName,
    readonly p: Preset,
    readonly inputs: PlanInputs,
  ) {
    this.nodes.syntest = {
      kind: "verification",
      config: { ...pick(p.test), size: p.size, seed: p.test.seed, vary: "all" },
    };
    // The realism meter of the generator, on its test set (one stage, shared by experiments).
    this.nodes.realism = {
      kind: "realism",
      config: {
        set: "syntest",
        generator: inputs.generator ?? DEFAULT_GENERATOR_ID,
        n: p.realism.n,
        seed: REALISM_SEED,
      },
    };
    if (!inputs.val) {
      const v = p.validation;
      this.dataset("synval", v, { seed: v.seed, heldOut: true });
    }
  }

  dataset(name: string, cell: { ids: number; perId: number }, o: Partial<DatasetConfig> = {}) {
    this.nodes[name] = {
      kind: "dataset",
      config: {
        ids: cell.ids,
        perId: cell.perId,
        size: this.p.size,
        seed: this.p.seed,
        identityMixup: false,
        vary: "all",
        longTail: "balanced",
        heldOut: false,
        ...o,
      },
    };
    return name;
  }

  /**
   * One run per seed of the preset: `name` (seed `train.seed`), then `name-seedS` for the
   * following seeds. Returns their node names, first seed first.
   */
  train(
    name: string,
    data: string | null,
    real: RealSlice | null,
    domainMixup = false,
  ): string[] {
    // A batch never exceeds the training set (toy cells of the smoke preset are that small).
    const ds = data ? this.nodes[data] : undefined;
    const images = ds?.kind === "dataset"
      ? ds.config.ids * ds.config.perId
      : real
      ? real.ids * real.perId
      : this.p.train.batch;
    const names: string[] = [];
    for (const [i, seed] of trainSeeds(this.p).entries()) {
      const run = i === 0 ? name : `${name}-seed${seed}`;
      this.nodes[run] = {
        kind: "train",
        config: {
          ...this.p.train,
          seed,
          batch: Math.min(this.p.train.batch, images),
          data,
          real,
          domainMixup,
          size: this.p.size,
          val: this.inputs.val
            ? { kind: "external" }
            : { kind: "synthetic", set: "synval", pairs: this.p.validation.pairs },
        },
      };
      names.push(run);
    }
    return names;
  }

  /** Evals of each run on the synthetic test set and LFW: `{ syn: refs, lfw: refs }`. */
  evals(runs: string[]): { syn: string[]; lfw?: string[] } {
    const syn = runs.map((run) => {
      const ref = `${run}@syntest`;
      this.nodes[ref] = {
        kind: "eval",
        config: { run, test: { kind: "synthetic", set: "syntest" } },
      };
      return ref;
    });
    const p = this.p;
    if (p.lfwIn !== "all" && !p.lfwIn.includes(this.experiment)) return { syn };
    const lfw = runs.map((run) => {
      const ref = `${run}@lfw`;
      this.nodes[ref] = { kind: "eval", config: { run, test: { kind: "lfw" } } };
      return ref;
    });
    return { syn, lfw };
  }

  /** Dataset + runs + evals, with and without Identity Mixup: the ± IM cells of a row. */
  pm(prefix: string, cell: { ids: number; perId: number }, o: Partial<DatasetConfig> = {}) {
    const plain = this.evals(this.train(`train-${prefix}`, this.dataset(prefix, cell, o), null));
    const im = this.evals(
      this.train(
        `train-${prefix}-im`,
        this.dataset(`${prefix}-im`, cell, { ...o, identityMixup: true }),
        null,
      ),
    );
    const cells: Record<string, string[]> = { syn: plain.syn, syn_im: im.syn };
    if (plain.lfw && im.lfw) Object.assign(cells, { lfw: plain.lfw, lfw_im: im.lfw });
    return cells;
  }
}

function pick(s: { ids: number; perId: number; folds: number; pairsPerFold: number }) {
  return { ids: s.ids, perId: s.perId, folds: s.folds, pairsPerFold: s.pairsPerFold };
}

const PM_COLUMNS = [
  { key: "syn", label: "synthetic test, no IM" },
  { key: "syn_im", label: "synthetic test, +IM" },
  { key: "lfw", label: "LFW, no IM" },
  { key: "lfw_im", label: "LFW, +IM" },
];
const TEST_COLUMNS = [{ key: "syn", label: "synthetic test" }, { key: "lfw", label: "LFW" }];

function cellName(c: { ids: number; perId: number }): string {
  return `${c.ids}x${c.perId}`;
}

const BUILDERS: Record<ExperimentName, (p: Preset, inputs: PlanInputs) => Experiment> = {
  table1(p, inputs) {
    const b = new Builder("table1", p, inputs);
    const syn = b.evals(b.train("train-syn", b.dataset("syn", p.base), null));
    const rows: TableSpec["rows"] = [{
      label: `synthetic ${cellName(p.base)}`,
      cells: syn,
      paper: 88.98,
    }];
    if (p.table1Real) {
      const real = p.table1Real === true
        ? { ids: p.real.ids, perId: Math.max(...p.real.perId) }
        : p.table1Real;
      rows.push({
        label: `real ${cellName(real)}`,
        cells: b.evals(b.train("train-real", null, real)),
      });
    }
    return {
      name: "table1",
      title: "Table 1: cross-domain (trained on synthetic or real, tested on both)",
      about: "A model trained on synthetic faces loses accuracy on real faces, and the reverse: " +
        "the domain gap. Paper: 88.98% on LFW for 10K×50 synthetic; ~99.4% for real CASIA.",
      nodes: b.nodes,
      table: { rowHeader: "trained on", columns: TEST_COLUMNS, rows },
    };
  },

  table2(p, inputs) {
    const b = new Builder("table2", p, inputs);
    const rows: TableSpec["rows"] = [
      {
        label: `synthetic ${cellName(p.base)}`,
        cells: b.evals(b.train("train-syn", b.dataset("syn", p.base), null)),
        paper: 88.98,
      },
      {
        label: "+ Identity Mixup",
        cells: b.evals(
          b.train("train-syn-im", b.dataset("syn-im", p.base, { identityMixup: true }), null),
        ),
        paper: 91.97,
      },
    ];
    const paperDm = [95.78, 97.65];
    p.real.perId.forEach((k, i) => {
      const real = { ids: p.real.ids, perId: k };
      rows.push({
        label: `+ IM + Domain Mixup, real ${cellName(real)}`,
        cells: b.evals(b.train(`train-syn-im-dm${k}`, "syn-im", real, true)),
        paper: p.real.perId.length === 2 ? paperDm[i] : undefined,
      });
    });
    return {
      name: "table2",
      title: "Table 2: Identity Mixup and Domain Mixup",
      about: "IM should beat plain synthetic data; DM with a small real set closes most of the " +
        "gap to real data, more with more real images per identity.",
      nodes: b.nodes,
      table: { rowHeader: "training data", columns: TEST_COLUMNS, rows },
      chart: { columns: ["syn", "lfw"], protocol: "synface" },
    };
  },

  table3(p, inputs) {
    const b = new Builder("table3", p, inputs);
    const cells = [];
    for (const w of p.table3.widths) {
      for (const d of p.table3.depths) cells.push({ ids: w, perId: d });
    }
    for (const c of p.table3.equalTotal) {
      if (!cells.some((x) => x.ids === c.ids && x.perId === c.perId)) cells.push(c);
    }
    const equal = (c: { ids: number; perId: number }) =>
      p.table3.equalTotal.some((x) => x.ids === c.ids && x.perId === c.perId);
    const rows = cells.map((c) => ({
      label: `${c.ids} ids × ${c.perId}${equal(c) ? " (equal total)" : ""}`,
      cells: b.pm(`grid-${cellName(c)}`, c),
    }));
    return {
      name: "table3",
      title: "Table 3: width (identities) × depth (images per identity)",
      about: "More identities and more images per identity both help; depth saturates near 20 " +
        "images/id; at equal total images width beats depth (paper: 4.37 points at 50K).",
      nodes: b.nodes,
      table: { rowHeader: "identities × images/id", columns: PM_COLUMNS, rows },
      chart: { columns: ["syn", "syn_im"], protocol: "synface" },
    };
  },

  fig5(p, inputs) {
    const b = new Builder("fig5", p, inputs);
    const rows = LongTailSchema.options.map((lt) => ({
      label: lt === "balanced" ? `balanced ${cellName(p.longTail)}` : `long-tail ${lt}`,
      cells: b.pm(`lt-${lt}-${cellName(p.longTail)}`, p.longTail, { longTail: lt }),
    }));
    return {
      name: "fig5",
      title: "Fig. 5: long-tailed vs balanced identities at the same total",
      about: "Balanced data beats long-tailed data with the same number of images; IM helps in " +
        "every profile.",
      nodes: b.nodes,
      table: { rowHeader: "profile", columns: PM_COLUMNS, rows },
      chart: { columns: ["syn", "syn_im"], protocol: "synface" },
    };
  },

  fig6(p, inputs) {
    const b = new Builder("fig6", p, inputs);
    const factors = ["none", "expression", "pose", "illumination", "all"] as const;
    const rows = factors.map((f) => ({
      label: f === "none" ? "nothing varies" : f === "all" ? "all vary" : `${f} only`,
      cells: b.pm(`vary-${f}-${cellName(p.factors)}`, p.factors, { vary: f }),
    }));
    return {
      name: "fig6",
      title: "Fig. 6: which variation within an identity matters",
      about: "Pose and illumination variation help far more than expression; nothing varying " +
        "is worst.",
      nodes: b.nodes,
      table: { rowHeader: "within-identity variation", columns: PM_COLUMNS, rows },
      chart: { columns: ["syn", "syn_im"], protocol: "synface" },
    };
  },

  fig2(p, inputs) {
    const b = new Builder("fig2", p, inputs);
    b.train("train-syn", b.dataset("syn", p.base), null);
    b.dataset("syn-im", p.base, { identityMixup: true });
    b.dataset("syn-im-mild", p.base, { identityMixup: true, phiMin: FIG2_MILD_PHI_MIN });
    const sets: FeaturesConfig["sets"] = [
      { label: "synthetic, no IM", dataset: "syn" },
      { label: "synthetic, IM (φ ∈ {0 … 1})", dataset: "syn-im" },
      { label: `synthetic, mild IM (φ ≥ ${FIG2_MILD_PHI_MIN})`, dataset: "syn-im-mild" },
    ];
    if (inputs.real) sets.push({ label: "real", real: { ids: p.fig2.ids, perId: p.fig2.perId } });
    b.nodes.spread = {
      kind: "features",
      config: { run: "train-syn", sets, ids: p.fig2.ids, perId: p.fig2.perId, method: "pca" },
    };
    return {
      name: "fig2",
      title: "Fig. 2: feature spread of synthetic vs real identities",
      about: "Synthetic identities cluster tighter than real ones (smaller intra-class spread); " +
        `IM widens them, the more the stronger it is (full grid vs mild, φ ≥ ${FIG2_MILD_PHI_MIN}). ` +
        "Features from the synthetic no-IM model of Table 2; the table gives each set's mean " +
        "intra-class cosine.",
      nodes: b.nodes,
      figure: "spread",
    };
  },

  fig3(p, inputs) {
    const b = new Builder("fig3", p, inputs);
    delete b.nodes.syntest;
    delete b.nodes.synval;
    delete b.nodes.realism;
    b.nodes.sheets = {
      kind: "preview",
      config: { ...p.preview, size: p.size, seed: p.seed },
    };
    return {
      name: "fig3",
      title: "Fig. 3: Identity Mixup strip and factor sweeps",
      about: "Blending the identity coefficients of two people (φ = 0…1) morphs one face into " +
        "the other; each factor sweep changes only its factor.",
      nodes: b.nodes,
      figure: "sheets",
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Time estimate

/**
 * Wall time of the plan's training per second of `estimateSeconds` (which assumes one run at a
 * time on the whole machine) when `jobs` runs train side by side, one thread each.
 */
export function trainWallFactor(preset: Preset, jobs: number): number {
  if (jobs <= 1) return 1;
  return preset.estimate.trainImgPerS / (jobs * preset.estimate.trainImgPerSPerJob);
}

/** Images a verification set holds. */
export function verificationImages(c: VerificationConfig): number {
  return c.ids * c.perId;
}

/** Image counts of the external pair files, where known (else View 2's 6000 pairs / 1000). */
export interface EstimateCounts {
  /** Distinct images `--lfw-pairs` refers to. */
  lfwImages?: number;
  /** Distinct images `--val-pairs` refers to. */
  valImages?: number;
}

/**
 * Estimated seconds of one node at the preset's assumed throughput. `lookup` resolves a
 * reference of the node's experiment (for sizes of the data a run or eval reads).
 */
export function estimateSeconds(
  node: PlanNode,
  preset: Preset,
  lookup: (ref: string) => PlanNode | undefined,
  counts: EstimateCounts = {},
): number {
  const e = preset.estimate;
  const over = e.stageOverheadS;
  switch (node.kind) {
    case "dataset":
      return over + node.config.ids * node.config.perId / e.generateImgPerS;
    case "verification":
      return over + verificationImages(node.config) / e.generateImgPerS;
    case "preview":
      return over + (node.config.ids * node.config.variations + 60) / e.generateImgPerS;
    case "train": {
      const c = node.config;
      const data = c.data ? lookup(c.data) : undefined;
      let images = data?.kind === "dataset" ? data.config.ids * data.config.perId : 0;
      if (c.real) images = Math.max(images, c.real.ids * c.real.perId);
      const valImages = c.val.kind === "synthetic" ? 2 * c.val.pairs : counts.valImages ?? 1000;
      return over + c.epochs * (images / e.trainImgPerS + valImages / e.embedImgPerS);
    }
    case "eval": {
      const t = node.config.test;
      const set = t.kind === "synthetic" ? lookup(t.set) : undefined;
      // Both protocols: plain + flipped embeddings. Unknown LFW file: View 2's 6000 pairs.
      const images = set?.kind === "verification"
        ? verificationImages(set.config)
        : counts.lfwImages ?? 12000;
      return over + 2 * images / e.embedImgPerS;
    }
    case "features":
      return over + node.config.sets.length * node.config.ids * node.config.perId / e.embedImgPerS;
    case "realism": {
      // generated, real and floor samples, plus the set's pairs for identity accuracy
      const set = lookup(node.config.set);
      const images = set?.kind === "verification" ? verificationImages(set.config) : 0;
      return over + (3 * node.config.n + images) / e.embedImgPerS;
    }
  }
}
