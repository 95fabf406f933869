/**
 * The experiment plan of `deno task reproduce`, as data: which datasets to synthesise, which
 * models to train and which evaluations to run for each of the paper's tables and figures, at
 * the size a preset gives. Every size lives in `presets.ts`; everything here is derived from it.
 *
 * A plan is a list of experiments; each declares its nodes (dataset, verification, train, eval,
 * features, preview) under local names that reference each other. Identical nodes of different
 * experiments are the same work: `cache.ts` keys them by a hash of their config.
 */
import {
  type DatasetConfig,
  describeIssue,
  type EvalConfig,
  type Experiment,
  type ExperimentName,
  EXPERIMENTS,
  type FeaturesConfig,
  LongTailSchema,
  type Plan,
  type PlanNode,
  PlanSchema,
  type Preset,
  type RealSlice,
  type TableSpec,
} from "./plan_schema.ts";
import { trainSeeds } from "./presets.ts";
import { LEARNED_ID } from "../../generator/mod.ts";

/** Fig. 2's mild Identity Mixup strength: φ drawn from the grid values ≥ this. */
export const FIG2_MILD_PHI_MIN = 0.5;

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
export const DEFAULT_GENERATOR_ID: string = LEARNED_ID;

/** Seed of the realism meter's sampling. */
export const REALISM_SEED = 0;

/**
 * Build and validate the plan of a preset: its experiments (filtered by `only`), each with its
 * nodes, table and chart. Pure: the same arguments give the same plan.
 */
export function buildPlan(preset: Preset, inputs: PlanInputs, only?: ExperimentName[]): Plan {
  const names = preset.experiments.filter((n) => !only || only.includes(n));
  const experiments = names.map((n) => BUILDERS[n](preset, inputs));
  const r = PlanSchema.safeParse({ preset, experiments });
  if (!r.success) throw new Error(`plan ${preset.name}: ${describeIssue(r.error)}`);
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

type Nodes = Record<string, PlanNode>;

/** Shared building blocks: the test/validation sets, a dataset + its run + its evals. */
class Builder {
  nodes: Nodes = {};
  constructor(
    readonly experiment: ExperimentName,
    readonly p: Preset,
    readonly inputs: PlanInputs,
  ) {
    this.nodes.syntest = { kind: "verification", config: { ...p.test, size: p.size, vary: "all" } };
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
      this.dataset("synval", p.validation, { seed: p.validation.seed, heldOut: true });
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
   * The `i`-th redraw of dataset node `data` (its seed + i, same everything else), added once:
   * `data-drawN` with N = i + 1.
   */
  redrawn(data: string, i: number): string {
    const node = this.nodes[data];
    if (node?.kind !== "dataset") throw new Error(`plan: ${data} is not a dataset node`);
    const name = `${data}-draw${i + 1}`;
    this.nodes[name] ??= {
      kind: "dataset",
      config: { ...node.config, seed: node.config.seed + i },
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
      const runData = data !== null && i > 0 && this.p.redrawData ? this.redrawn(data, i) : data;
      this.nodes[run] = {
        kind: "train",
        config: {
          ...this.p.train,
          // photometric augmentation makes up for what renders lack; on real photos it cost the
          // real control 5 points (generator/EXPERIMENTS.md), so real-only runs go without
          photometric: data === null ? null : this.p.train.photometric,
          seed,
          batch: Math.min(this.p.train.batch, images),
          data: runData,
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

  /** The row of the synthetic base set (Tables 1 and 2): its dataset, runs and evals. */
  baseRow(): TableSpec["rows"][number] {
    const cells = this.evals(this.train("train-syn", this.dataset("syn", this.p.base), null));
    return { label: `synthetic ${cellName(this.p.base)}`, cells, paper: 88.98 };
  }

  /** Evals of each run on the synthetic test set and LFW: `{ syn: refs, lfw: refs }`. */
  evals(runs: string[]): { syn: string[]; lfw?: string[] } {
    const on = (test: EvalConfig["test"], at: string) =>
      runs.map((run) => {
        this.nodes[`${run}@${at}`] = { kind: "eval", config: { run, test } };
        return `${run}@${at}`;
      });
    const syn = on({ kind: "synthetic", set: "syntest" }, "syntest");
    const { lfwIn } = this.p;
    if (lfwIn !== "all" && !lfwIn.includes(this.experiment)) return { syn };
    return { syn, lfw: on({ kind: "lfw" }, "lfw") };
  }

  /** The experiment of ± IM rows (`pm`), charted on the synthetic test. */
  pmExperiment(
    o: { title: string; about: string; rowHeader: string; rows: TableSpec["rows"] },
  ): Experiment {
    return {
      name: this.experiment,
      title: o.title,
      about: o.about,
      nodes: this.nodes,
      table: { rowHeader: o.rowHeader, columns: PM_COLUMNS, rows: o.rows },
      chart: { columns: ["syn", "syn_im"], protocol: "synface" },
    };
  }

  /** Dataset + runs + evals, with and without Identity Mixup: the ± IM cells of a row. */
  pm(prefix: string, cell: { ids: number; perId: number }, o: Partial<DatasetConfig> = {}) {
    const arm = (name: string, im: boolean) =>
      this.evals(
        this.train(`train-${name}`, this.dataset(name, cell, { ...o, identityMixup: im }), null),
      );
    const plain = arm(prefix, false);
    const im = arm(`${prefix}-im`, true);
    const cells: Record<string, string[]> = { syn: plain.syn, syn_im: im.syn };
    if (plain.lfw && im.lfw) Object.assign(cells, { lfw: plain.lfw, lfw_im: im.lfw });
    return cells;
  }
}

const PM_COLUMNS = [
  { key: "syn", label: "synthetic test, no IM" },
  { key: "syn_im", label: "synthetic test, +IM" },
  { key: "lfw", label: "LFW, no IM" },
  { key: "lfw_im", label: "LFW, +IM" },
];
const TEST_COLUMNS = [{ key: "syn", label: "synthetic test" }, { key: "lfw", label: "LFW" }];

const cellName = (c: { ids: number; perId: number }) => `${c.ids}x${c.perId}`;

const BUILDERS: Record<ExperimentName, (p: Preset, inputs: PlanInputs) => Experiment> = {
  table1(p, inputs) {
    const b = new Builder("table1", p, inputs);
    const rows = [b.baseRow()];
    if (p.table1Real) {
      const real = p.table1Real === true
        ? { ids: p.real.ids, perId: Math.max(...p.real.perId) }
        : p.table1Real;
      // with the real set, synthetic faces at the control's own width and depth where the base
      // differs: the gap at equal shape, not only at equal image count (width alone moves LFW)
      if (inputs.real && (real.ids !== p.base.ids || real.perId !== p.base.perId)) {
        rows.push({
          label: `synthetic ${cellName(real)}`,
          cells: b.evals(b.train("train-syn-eq", b.dataset("syn-eq", real), null)),
        });
      }
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
      b.baseRow(),
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
    return b.pmExperiment({
      title: "Table 3: width (identities) × depth (images per identity)",
      about: "More identities and more images per identity both help; depth saturates near 20 " +
        "images/id; at equal total images width beats depth (paper: 4.37 points at 50K).",
      rowHeader: "identities × images/id",
      rows,
    });
  },

  fig5(p, inputs) {
    const b = new Builder("fig5", p, inputs);
    const rows = LongTailSchema.options.map((lt) => ({
      label: lt === "balanced" ? `balanced ${cellName(p.longTail)}` : `long-tail ${lt}`,
      cells: b.pm(`lt-${lt}-${cellName(p.longTail)}`, p.longTail, { longTail: lt }),
    }));
    return b.pmExperiment({
      title: "Fig. 5: long-tailed vs balanced identities at the same total",
      about: "Balanced data beats long-tailed data with the same number of images; IM helps in " +
        "every profile.",
      rowHeader: "profile",
      rows,
    });
  },

  fig6(p, inputs) {
    const b = new Builder("fig6", p, inputs);
    const factors = ["none", "expression", "pose", "illumination", "all"] as const;
    const rows = factors.map((f) => ({
      label: f === "none" ? "nothing varies" : f === "all" ? "all vary" : `${f} only`,
      cells: b.pm(`vary-${f}-${cellName(p.factors)}`, p.factors, { vary: f }),
    }));
    return b.pmExperiment({
      title: "Fig. 6: which variation within an identity matters",
      about: "Pose and illumination variation help far more than expression; nothing varying " +
        "is worst.",
      rowHeader: "within-identity variation",
      rows,
    });
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
