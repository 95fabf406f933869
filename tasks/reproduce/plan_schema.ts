/**
 * The schema of a `deno task reproduce` plan: node configs, experiments, presets and the plan
 * itself, as zod schemas with their inferred types. The presets' values live in `presets.ts`, the
 * builders that turn a preset into a plan in `plan.ts`, the time estimates in `estimate.ts`.
 */
import { AugmentConfigSchema } from "../../recognition/mod.ts";
import { z } from "./deps.ts";
export { describeIssue } from "../../data/mod.ts";

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

const augment = AugmentConfigSchema.shape;

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
  /**
   * Photometric augmentation on top of the paper's (probabilities; see
   * `recognition/augment.ts`); null = the paper's augmentation only.
   */
  photometric: z.strictObject({
    // recognition's bounds without its defaults: a preset states all four
    colour: augment.colour.unwrap(),
    grey: augment.grey.unwrap(),
    blur: augment.blur.unwrap(),
    lowRes: augment.lowRes.unwrap(),
  }).nullable(),
});

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

/**
 * Where each kind's config names other nodes of its experiment, and the kinds they must be: a
 * path into the config (`*`: every element of an array; a path that holds no name is skipped).
 */
const REF_PATHS: Record<NodeKind, [path: string, kinds: NodeKind[]][]> = {
  dataset: [],
  verification: [],
  preview: [],
  train: [["data", ["dataset"]], ["val.set", ["dataset"]]],
  eval: [["run", ["train"]], ["test.set", ["verification"]]],
  realism: [["set", ["verification"]]],
  features: [["run", ["train"]], ["sets.*.dataset", ["dataset"]]],
};

/** One reference of a node: the name, where in the config it is, and the kinds it may name. */
export type NodeRef = { ref: string; path: string; kinds: NodeKind[] };

/** The places (object, key) along `path` below `root` that hold a name. */
function refPlaces(root: unknown, path: string): [Record<string, unknown>, string][] {
  let places: [Record<string, unknown>, string][] = [[{ root }, "root"]];
  for (const key of path.split(".")) {
    places = places.flatMap(([o, k]) => {
      const v = o[k] as Record<string, unknown> | null;
      if (v === null || typeof v !== "object") return [];
      return (key === "*" ? Object.keys(v) : [key]).map((c): [typeof v, string] => [v, c]);
    });
  }
  return places.filter(([o, k]) => typeof o[k] === "string");
}

/** The names a node reads, in `REF_PATHS` order. */
export function nodeRefs(node: PlanNode): NodeRef[] {
  return REF_PATHS[node.kind].flatMap(([path, kinds]) =>
    refPlaces(node.config, path).map(([o, k]) => ({ ref: o[k] as string, path, kinds }))
  );
}

/** A copy of the node's config with every name replaced by `f(name)`. */
export function mapRefs(node: PlanNode, f: (ref: string) => unknown): Record<string, unknown> {
  const config = structuredClone(node.config) as Record<string, unknown>;
  for (const [path] of REF_PATHS[node.kind]) {
    for (const [o, k] of refPlaces(config, path)) o[k] = f(o[k] as string);
  }
  return config;
}

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
  const issue = (message: string, path: string[] = []) =>
    ctx.addIssue({ code: "custom", path, message: `${e.name}: ${message}` });
  const want = (ref: string, kinds: NodeKind[], where: string) => {
    const node = e.nodes[ref];
    const expected = `expected a ${kinds.join("/")} node of this experiment`;
    if (!node || !kinds.includes(node.kind)) {
      issue(`${where} references "${ref}", ${expected}`, [where]);
    }
  };
  for (const [name, node] of Object.entries(e.nodes)) {
    for (const r of nodeRefs(node)) want(r.ref, r.kinds, `nodes.${name}.${r.path}`);
  }
  for (const row of e.table?.rows ?? []) {
    for (const [col, refs] of Object.entries(row.cells)) {
      for (const ref of refs) want(ref, ["eval"], `table.${row.label}.${col}`);
      if (!e.table!.columns.some((c) => c.key === col)) issue(`unknown table column "${col}"`);
    }
  }
  for (const col of e.chart?.columns ?? []) {
    if (!e.table?.columns.some((c) => c.key === col)) issue(`chart column "${col}" not in table`);
  }
  if (e.figure !== undefined) want(e.figure, ["features", "preview"], "figure");
}

// ---------------------------------------------------------------------------------------------
// Presets (their values are in `presets.ts`)

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
  test: VerificationConfigSchema.omit({ size: true, vary: true }),
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
  /**
   * Seed k > 1 of a cell also trains on its own draw of the cell's synthetic training set (the
   * dataset seed + k − 1; held-out test and validation sets never change). A set's draw moves LFW
   * accuracy as much as a training seed does or more (generator/EXPERIMENTS.md), so with it the
   * ± of a cell covers both; off, every seed trains on the same images.
   */
  redrawData: z.boolean(),
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
  const issue = (message: string) =>
    ctx.addIssue({ code: "custom", path: ["table3", "equalTotal"], message });
  if (a.ids * a.perId !== b.ids * b.perId) {
    issue(
      `equal-total cells must hold the same number of images, got ${a.ids}×${a.perId} and ` +
        `${b.ids}×${b.perId}`,
    );
  }
  if (a.ids === b.ids) issue("equal-total cells must differ in width");
});
/** A preset. */
export type Preset = z.infer<typeof PresetSchema>;

/** A validated plan: the preset it was built from and its experiments in report order. */
export const PlanSchema = z.strictObject({
  preset: PresetSchema,
  experiments: z.array(ExperimentSchema),
});
/** A plan. */
export type Plan = z.infer<typeof PlanSchema>;
