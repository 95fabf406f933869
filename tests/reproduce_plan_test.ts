import assert from "node:assert/strict";
import {
  buildPlan,
  EXPERIMENTS,
  ExperimentSchema,
  parseOnly,
  PRESET_NAMES,
  PRESETS,
  PresetSchema,
  resolvePreset,
} from "../tasks/reproduce/mod.ts";

Deno.test("every preset is valid and builds a valid plan with and without real inputs", () => {
  for (const name of PRESET_NAMES) {
    assert.equal(PresetSchema.safeParse(PRESETS[name]).success, true, name);
    for (const real of [false, true]) {
      for (const val of [false, true]) {
        const plan = buildPlan(resolvePreset(name), { real, val });
        assert.deepEqual(plan.experiments.map((e) => e.name), PRESETS[name].experiments);
      }
    }
  }
});

Deno.test("smoke covers every experiment; default is Table 2 core + Table 1 with its equal-size real control", () => {
  assert.deepEqual(PRESETS.smoke.experiments, [...EXPERIMENTS]);
  assert.equal(PRESETS.smoke.meaningless, true);
  const plan = buildPlan(resolvePreset("default"), { real: false, val: false });
  assert.deepEqual(plan.experiments.map((e) => e.name), ["table1", "table2"]);
  const t1 = plan.experiments[0];
  // the real-trained control row at the synthetic base's image count (runs only with --real)
  assert.deepEqual(t1.table!.rows.map((r) => r.label), ["synthetic 100x30", "real 150x20"]);
  const b = PRESETS.default.base, c = PRESETS.default.table1Real;
  assert.ok(typeof c === "object" && c.ids * c.perId === b.ids * b.perId);
  // with the real set, also synthetic faces at the control's width and depth (it differs from
  // the base's), trained from their own dataset
  const withReal = buildPlan(resolvePreset("default"), { real: true, val: false }).experiments[0];
  assert.deepEqual(withReal.table!.rows.map((r) => r.label), [
    "synthetic 100x30",
    "synthetic 150x20",
    "real 150x20",
  ]);
  assert.deepEqual(
    [withReal.nodes["syn-eq"]].map((n) => n.kind === "dataset" && [n.config.ids, n.config.perId]),
    [[150, 20]],
  );
  // the smoke preset's base is its control's shape: no extra row
  const smoke = buildPlan(resolvePreset("smoke"), { real: true, val: false }, ["table1"]);
  assert.deepEqual(smoke.experiments[0].table!.rows.map((r) => r.label), [
    "synthetic 6x4",
    "real 6x4",
  ]);
  const t2 = plan.experiments[1];
  // syn, +IM, and one +IM+DM row per real size (the paper's 2K_10 and 2K_20, scaled).
  assert.equal(t2.table!.rows.length, 2 + PRESETS.default.real.perId.length);
  assert.deepEqual(t2.table!.rows.map((r) => r.paper), [88.98, 91.97, 95.78, 97.65]);
});

Deno.test("paper preset is the paper's scale", () => {
  const p = PRESETS.paper;
  assert.deepEqual(p.base, { ids: 10_000, perId: 50 });
  assert.equal(p.size, "112x96");
  assert.equal(p.train.arch, "lresnet50e_ir");
  assert.equal(p.train.epochs, 40);
  assert.deepEqual(p.real, { ids: 2000, perId: [10, 20] });
});

Deno.test("table3 holds the grid ± IM and two cells with equal total images", () => {
  for (const name of PRESET_NAMES) {
    const p = resolvePreset(name);
    if (!p.experiments.includes("table3")) continue;
    const plan = buildPlan(p, { real: false, val: false }, ["table3"]);
    const t3 = plan.experiments[0];
    const eq = t3.table!.rows.filter((r) => r.label.includes("equal total"));
    const eqIds = eq.map((r) => Number(r.label.split(" ")[0]));
    assert.deepEqual(eqIds.sort(), p.table3.equalTotal.map((c) => c.ids).sort(), name);
    const totals = p.table3.equalTotal.map((c) => {
      const ds = t3.nodes[`grid-${c.ids}x${c.perId}`];
      assert.equal(ds.kind, "dataset", name);
      return ds.kind === "dataset" ? ds.config.ids * ds.config.perId : 0;
    });
    assert.equal(totals[0], totals[1]);
    const keys = p.lfwIn === "all" ? ["lfw", "lfw_im", "syn", "syn_im"] : ["syn", "syn_im"];
    for (const r of t3.table!.rows) assert.deepEqual(Object.keys(r.cells).sort(), keys);
  }
});

Deno.test("model selection: synthetic validation set, or --val-pairs; never the test set", () => {
  const syn = buildPlan(resolvePreset("smoke"), { real: false, val: false }, ["table2"]);
  const ext = buildPlan(resolvePreset("smoke"), { real: false, val: true }, ["table2"]);
  for (const [plan, kind] of [[syn, "synthetic"], [ext, "external"]] as const) {
    for (const node of Object.values(plan.experiments[0].nodes)) {
      if (node.kind !== "train") continue;
      assert.equal(node.config.val.kind, kind);
      if (node.config.val.kind === "synthetic") assert.equal(node.config.val.set, "synval");
    }
  }
  assert.equal("synval" in ext.experiments[0].nodes, false);
});

Deno.test("fig2 adds the real set only with --real; fig6 has the five factors ± IM", () => {
  const p = resolvePreset("smoke");
  const without = buildPlan(p, { real: false, val: false }, ["fig2"]).experiments[0];
  const withReal = buildPlan(p, { real: true, val: false }, ["fig2"]).experiments[0];
  const sets = (e: typeof without) =>
    e.nodes.spread.kind === "features" ? e.nodes.spread.config.sets : [];
  assert.equal(sets(without).length, 3);
  assert.equal(sets(withReal).length, 4);
  // no IM, IM on the full grid, mild IM (φ ≥ 0.5); only the mild set records a strength
  const ims = sets(without).map((s) => {
    const n = "dataset" in s ? without.nodes[s.dataset] : undefined;
    return n?.kind === "dataset" ? [n.config.identityMixup, n.config.phiMin] : null;
  });
  assert.deepEqual(ims, [[false, undefined], [true, undefined], [true, 0.5]]);
  const f6 = buildPlan(p, { real: false, val: false }, ["fig6"]).experiments[0];
  const varies = Object.entries(f6.nodes).filter(([k]) => k !== "synval").map(([, n]) => n).flatMap(
    (n) => n.kind === "dataset" ? [`${n.config.vary}${n.config.identityMixup ? "+im" : ""}`] : [],
  );
  const factors = ["all", "expression", "illumination", "none", "pose"];
  assert.deepEqual(varies.sort(), factors.flatMap((f) => [f, `${f}+im`]));
});

Deno.test("schema rejects dangling references and unequal 'equal-total' cells", () => {
  const e =
    buildPlan(resolvePreset("smoke"), { real: false, val: false }, ["table2"]).experiments[0];
  const broken = structuredClone(e);
  const train = broken.nodes["train-syn"];
  if (train.kind === "train") train.config.data = "nope";
  const r = ExperimentSchema.safeParse(broken);
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0].message, /references "nope", expected a dataset node/);
  const p = structuredClone(PRESETS.smoke);
  p.table3.equalTotal = [{ ids: 6, perId: 2 }, { ids: 3, perId: 5 }];
  const pr = PresetSchema.safeParse(p);
  assert.equal(pr.success, false);
  assert.match(pr.error!.issues[0].message, /same number of images, got 6×2 and 3×5/);
});

Deno.test("--only, --real-ids/--real-per-id overrides, unknown names", () => {
  assert.deepEqual(parseOnly("table2, fig6"), ["table2", "fig6"]);
  assert.throws(() => parseOnly("table9"), /unknown experiment "table9"/);
  assert.throws(() => resolvePreset("huge"), /unknown preset "huge"/);
  const p = resolvePreset("default", { realIds: 50, realPerId: [3] });
  assert.deepEqual(p.real, { ids: 50, perId: [3] });
  assert.equal(PRESETS.default.real.ids, 100, "overrides do not mutate PRESETS");
  const t2 = buildPlan(p, { real: true, val: false }, ["table2"]).experiments[0];
  assert.equal(t2.table!.rows.length, 3);
  assert.equal(t2.table!.rows[2].paper, undefined, "paper numbers only for the paper's two sizes");
});

Deno.test("seeds: one run per seed and cell (seed, seed + 1, …); the first seed's run is unchanged", () => {
  const one = buildPlan(resolvePreset("smoke"), { real: true, val: false }, ["table2"]);
  const three = buildPlan(resolvePreset("smoke", { seeds: 3 }), { real: true, val: false }, [
    "table2",
  ]);
  const t2 = three.experiments[0];
  const seedOf = (n: string) => {
    const node = t2.nodes[n];
    assert.equal(node.kind, "train", n);
    return node.kind === "train" ? node.config.seed : NaN;
  };
  assert.deepEqual(["train-syn", "train-syn-seed2", "train-syn-seed3"].map(seedOf), [1, 2, 3]);
  assert.deepEqual(t2.table!.rows[1].cells.syn, [
    "train-syn-im@syntest",
    "train-syn-im-seed2@syntest",
    "train-syn-im-seed3@syntest",
  ]);
  assert.equal(t2.table!.rows[2].cells.syn.length, 3, "Domain Mixup rows too");
  // The first seed's run and eval are the nodes a one-seed plan has: its cache stays valid.
  const o = one.experiments[0].nodes;
  for (const n of ["train-syn", "train-syn@syntest", "train-syn-im-dm2"]) {
    assert.deepEqual(t2.nodes[n], o[n], n);
  }
  assert.deepEqual(one.experiments[0].table!.rows[0].cells.syn, ["train-syn@syntest"]);
  assert.throws(() => resolvePreset("smoke", { seeds: 0 }), /field "seeds"/);
});

Deno.test("--redraw-data: seed k trains on its own draw (data seed + k − 1); held-out sets and seed 1 unchanged", () => {
  const shared = buildPlan(resolvePreset("smoke", { seeds: 3 }), { real: true, val: false }, [
    "table2",
  ]).experiments[0].nodes;
  const redrawn = buildPlan(
    resolvePreset("smoke", { seeds: 3, redrawData: true }),
    { real: true, val: false },
    ["table2"],
  ).experiments[0].nodes;
  const dataOf = (n: string) => {
    const node = redrawn[n];
    return node.kind === "train" ? node.config.data : undefined;
  };
  const seedOfSet = (n: string | null | undefined) => {
    const node = n ? redrawn[n] : undefined;
    return node?.kind === "dataset" ? node.config.seed : NaN;
  };
  assert.deepEqual(
    ["train-syn", "train-syn-seed2", "train-syn-seed3"].map(dataOf),
    ["syn", "syn-draw2", "syn-draw3"],
  );
  assert.deepEqual(["syn", "syn-draw2", "syn-draw3"].map(seedOfSet), [1, 2, 3]);
  // Identity Mixup's seed k draws the same identities as the plain row's seed k (paired rows),
  // and Domain Mixup trains on IM's draw
  assert.deepEqual(
    ["train-syn-im", "train-syn-im-seed2", "train-syn-im-dm2-seed3"].map(dataOf),
    ["syn-im", "syn-im-draw2", "syn-im-draw3"],
  );
  assert.equal(seedOfSet("syn-im-draw3"), 3);
  const { seed: _a, ...draw3 } = redrawn["syn-draw3"].config as Record<string, unknown>;
  const { seed: _b, ...syn } = redrawn["syn"].config as Record<string, unknown>;
  assert.deepEqual(draw3, syn, "a redraw differs from its set only in the seed");
  // seed 1 and the held-out sets are the nodes of the shared plan: their caches stay valid
  for (const n of ["syn", "train-syn", "syntest", "synval", "train-syn-im-dm2"]) {
    assert.deepEqual(redrawn[n], shared[n], n);
  }
  // without the flag every seed trains on the one set
  const sharedData = (n: string) => {
    const node = shared[n];
    return node.kind === "train" ? node.config.data : undefined;
  };
  assert.deepEqual(["train-syn-seed2", "train-syn-seed3"].map(sharedData), ["syn", "syn"]);
  assert.equal(Object.keys(shared).some((n) => n.includes("-draw")), false);
  // `default` redraws its second seed unless told not to (`--no-redraw-data`)
  const dataOfDefault = (o: { redrawData?: boolean }) => {
    const n = buildPlan(resolvePreset("default", o), { real: false, val: false }, ["table2"])
      .experiments[0].nodes["train-syn-seed2"];
    return n.kind === "train" ? n.config.data : undefined;
  };
  assert.deepEqual([dataOfDefault({}), dataOfDefault({ redrawData: false })], [
    "syn-draw2",
    "syn",
  ]);
});
