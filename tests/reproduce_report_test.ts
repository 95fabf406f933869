import assert from "node:assert/strict";
import { resolvePlan } from "../tasks/reproduce/cache.ts";
import { barChartSvg } from "../tasks/reproduce/charts.ts";
import {
  buildPlan,
  DEFAULT_GENERATOR_ID,
  type Preset,
  resolvePreset,
} from "../tasks/reproduce/mod.ts";
import {
  aggregateSeeds,
  buildReportModel,
  type EvalResults,
  fmtCell,
  fmtPaired,
  fmtSeeds,
  markdownTable,
  renderHtml,
  renderMarkdown,
  writeReport,
} from "../tasks/reproduce/mod.ts";
import type { Cell, Stage, StageOutcome } from "../tasks/reproduce/mod.ts";
import { CODE, META, outcomesOf } from "./_reproduce.ts";
import { withTempDir } from "./_helpers.ts";

/**
 * The report of a `preset` plan of `only`: the evals `results(table2 refs)` holds (by stage hash)
 * finished with those results, the other evals failed, every other stage cached (or `edit`ed).
 */
async function reportOf(
  preset: Preset,
  only: ("table2" | "fig3")[],
  results: (t2: Record<string, string>) => Record<string, EvalResults>,
  edit = (o: StageOutcome) => o,
) {
  const resolved = await resolvePlan(
    buildPlan(preset, { real: false, val: false }, only),
    {},
    CODE,
  );
  const acc = results(resolved.refs.table2);
  const status = (s: Stage) => s.hash in acc || s.kind !== "eval" ? "cached" : "failed";
  const outcomes = outcomesOf(resolved, status, 1.5).map(edit);
  const read = (s: Stage) => Promise.resolve(acc[s.hash] ?? null);
  return { resolved, outcomes, model: await buildReportModel(resolved, outcomes, META, read) };
}

function fixture() {
  const strip = { figures: [{ title: "Identity Mixup strip", file: "im_strip.png" }] };
  return reportOf(resolvePreset("smoke"), ["table2", "fig3"], (t2) => ({
    [t2["train-syn@syntest"]]: {
      synface: { accuracy: 0.7, std: 0.05, roc: { fpr: [0, 0.1, 1], tpr: [0, 0.6, 1] } },
      insightface: { accuracy: 0.725, std: 0.04 },
    },
    [t2["train-syn-im@syntest"]]: {
      synface: { accuracy: 0.8125, std: 0.0312 },
      insightface: { accuracy: 0.83, std: 0.02 },
    },
  }), (o) => o.stage.kind === "preview" ? { ...o, status: "done", wallS: 3, result: strip } : o);
}

Deno.test("report tables: both protocols, mean ± std in %, paper beside ours, missing cells say why", async () => {
  const { model } = await fixture();
  const t2 = model.experiments.find((e) => e.name === "table2")!;
  const md = markdownTable(t2.table!);
  const lines = md.split("\n");
  assert.equal(
    lines[0],
    "| training data | synthetic test (synface) | synthetic test (insightface) | LFW (synface) | LFW (insightface) | paper, LFW |",
  );
  assert.equal(
    lines[2],
    "| synthetic 6x4 | 70.00 ± 5.00 | 72.50 ± 4.00 | needs --lfw | needs --lfw | 88.98 |",
  );
  assert.equal(
    lines[3],
    "| + Identity Mixup | 81.25 ± 3.12 | 83.00 ± 2.00 | needs --lfw | needs --lfw | 91.97 |",
  );
  assert.match(
    lines[4],
    /^\| \+ IM \+ Domain Mixup, real 6x2 \| needs --real \| needs --real \| needs --real, --lfw/,
  );
  assert.equal(
    fmtCell({ kind: "missing", text: "needs generator/" }, "synface"),
    "needs generator/",
  );
});

Deno.test("report README/HTML: banner, command, hardware, charts, figures, configs; HTML escaped", async () => {
  const { model } = await fixture();
  const md = renderMarkdown(model);
  assert.match(
    md,
    /\*\*The `smoke` preset runs every stage at toy size: its numbers are meaningless\*\*/,
  );
  assert.match(md, /Command: `deno task reproduce --preset smoke`/);
  assert.match(md, /Hardware: Test CPU <x>, 2 cores, 24 GiB RAM/);
  assert.match(md, /our generator|Ours: the embedded 3DMM-style renderer/);
  assert.match(md, /!\[table2 bar chart\]\(table2\.svg\)/);
  assert.match(md, /!\[table2 ROC\]\(table2-roc\.svg\)/);
  assert.match(md, /!\[Identity Mixup strip\]\(figures\/fig3-1\.png\)/);
  assert.match(md, /"lresnet50e_ir"|"ir_tiny"/, "exact preset config is included");
  const html = renderHtml(model);
  assert.match(html, /Test CPU &lt;x&gt;/);
  assert.ok(!html.includes("Test CPU <x>"));
  assert.match(html, /<svg xmlns/);
  assert.match(html, /<td class="missing">needs --real<\/td>/);
  // the ONNX execution provider, when the run recorded one
  assert.ok(!md.includes("ONNX EP"));
  const withEp = { ...model, meta: { ...model.meta, ep: "node" } };
  assert.match(renderMarkdown(withEp), /backend `cpu`, ONNX EP `node`, 2 worker\(s\)/);
  assert.match(renderHtml(withEp), /ONNX EP <code>node<\/code>, 2 worker\(s\)/);
  // the generator of the data, when the run recorded it
  const gen = (generator: { id: string; manifest?: string }) =>
    renderMarkdown({ ...model, meta: { ...model.meta, generator } });
  assert.match(gen({ id: "g@1", manifest: "my/g.json" }), /Generator \(.*\): g@1 \(my\/g\.json\)/);
  assert.ok(
    gen({ id: DEFAULT_GENERATOR_ID }).includes(`: ${DEFAULT_GENERATOR_ID} (embedded default)`),
  );
});

Deno.test("writeReport writes README, index.html, charts, copied figures, configs.json atomically", async () => {
  const { model } = await fixture();
  await withTempDir({ prefix: "reproduce_report_test_" }, async (out) => {
    const fig3 = model.experiments.find((e) => e.name === "fig3")!;
    const src = `${out}/${fig3.figures[0].source}`;
    await Deno.mkdir(src.slice(0, src.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(src, new Uint8Array([137, 80, 78, 71]));
    const dir = await writeReport(out, model);
    const names = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
    const files = ["README.md", "configs.json", "figures", "index.html", "table2-roc.svg"];
    assert.deepEqual(names.sort(), [...files, "table2.svg"]);
    assert.deepEqual(
      await Deno.readFile(`${dir}/figures/fig3-1.png`),
      new Uint8Array([137, 80, 78, 71]),
    );
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/configs.json`));
    assert.equal(cfg.preset.name, "smoke");
    assert.equal(cfg.stages.length, model.stages.length);
  });
});

Deno.test("bar chart: one bar per value, error bars, gaps for missing", () => {
  const svg = barChartSvg(["a", "b & c"], [
    { label: "s1", values: [70, null], errors: [5, null] },
    { label: "s2", values: [80, 90] },
  ], { title: "T", yLabel: "%" });
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 3);
  assert.match(svg, /b &amp; c/);
  assert.equal((svg.match(/stroke="#333"\/>/g) ?? []).length, 2, "one error bar + the x axis");
  // 80% on a 50…100 axis sits 60% of the way down the plot area.
  const m =
    /<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#f28e2b"><title>a · s2: 80\.00/
      .exec(svg)!;
  const top = Number(m[1]);
  const h = Number(m[2]);
  assert.ok(Math.abs(h / (top + h - 40) - 0.6) < 0.01);
});

Deno.test("seeds: a cell is the mean over its training seeds, ± their sample std; per-seed table", async () => {
  const TAR = "tar_at_far_1e-3";
  const roc = (tpr: number) => ({ fpr: [0, 0.5, 1], tpr: [0, tpr, 1] });
  const a: EvalResults = {
    synface: { accuracy: 0.97, std: 0.01, threshold: 0.3, auc: 0.99, [TAR]: 0.5, roc: roc(0.8) },
    insightface: { accuracy: 0.96, std: 0.02 },
  };
  const b: EvalResults = {
    synface: { accuracy: 0.98, std: 0.03, threshold: 0.4, auc: 0.97, [TAR]: null, roc: roc(0.9) },
  };
  const c: EvalResults = { synface: { accuracy: 0.99, std: 0.0, threshold: 0.5 } };
  const ab = aggregateSeeds([a, b]);
  assert.ok(Math.abs(ab.synface!.accuracy - 0.975) < 1e-12);
  // sample std of 0.97, 0.98: sqrt(2 · 0.005² / 1)
  assert.ok(Math.abs(ab.synface!.std - Math.sqrt(2 * 0.005 ** 2)) < 1e-12);
  assert.ok(Math.abs(ab.synface!.threshold! - 0.35) < 1e-12);
  assert.ok(Math.abs(ab.synface!.auc! - 0.98) < 1e-12);
  assert.equal(ab.synface![TAR], undefined, "one seed has no TAR: no mean");
  const mean = ab.synface!.roc!;
  assert.deepEqual(mean.fpr, [0, 0.5, 1]);
  assert.deepEqual(mean.tpr.map((v) => Math.round(v * 1e9) / 1e9), [0, 0.85, 1], "mean curve");
  assert.equal(ab.insightface, undefined, "a protocol one seed lacks is left out");
  const abc = aggregateSeeds([a, b, c]);
  assert.ok(Math.abs(abc.synface!.accuracy - 0.98) < 1e-12);
  assert.ok(Math.abs(abc.synface!.std - 0.01) < 1e-12, "sample std of 0.97, 0.98, 0.99");
  assert.equal(abc.synface!.roc, undefined);
  assert.equal(aggregateSeeds([a]), a, "one seed: its own std over folds");
  assert.throws(() => aggregateSeeds([]), /no seeds/);

  // Through the report: Table 2 with two seeds per cell.
  const { model } = await reportOf(resolvePreset("smoke", { seeds: 2 }), ["table2"], (t2) => ({
    [t2["train-syn@syntest"]]: a,
    [t2["train-syn-seed2@syntest"]]: { ...b, insightface: { accuracy: 0.94, std: 0.01 } },
    [t2["train-syn-im@syntest"]]: c,
  }));
  const table = model.experiments[0].table!;
  const row = table.rows[0];
  assert.equal(fmtCell(row.cells.syn, "synface"), "97.50 ± 0.71");
  assert.equal(fmtCell(row.cells.syn, "insightface"), "95.00 ± 1.41");
  assert.equal(fmtSeeds(row.cells.syn, "synface"), "97.00 / 98.00");
  assert.equal(fmtCell(table.rows[1].cells.syn, "synface"), "failed", "a seed failed: no mean");
  const md = renderMarkdown(model);
  assert.match(md, /mean ± std over 2 training seeds \(1, 2;/);
  assert.match(md, /Each seed \(1, 2\):\n\n\| training data \| synthetic test \(synface\) \|/);
  assert.match(md, /\| synthetic 6x4 \| 97\.00 \/ 98\.00 \| 96\.00 \/ 94\.00 \|/);
  assert.match(renderHtml(model), /<td>97\.00 \/ 98\.00<\/td>/);
  // the paired table: IM's seeds failed here, so its differences are missing, not made up
  assert.match(md, /Each row against the first, seed by seed/);
  assert.match(md, /\| \+ Identity Mixup \| — \| — \|/);
  assert.match(md, /Stages: \d+, stage time [\d.]+s\.\n/, "one job: a plain sum");
  const side = renderMarkdown({ ...model, meta: { ...META, jobs: 2 } });
  assert.match(side, /2 trainings side by side/);
  assert.match(side, /stage time [\d.]+s \(summed over stages; trainings ran side by side\)/);
});

Deno.test("fmtPaired: seed-by-seed differences against a reference, hand-computed", () => {
  const cell = (acc: number[]): Cell => ({
    kind: "value",
    results: {},
    seeds: acc.map((a) => ({ synface: { accuracy: a, std: 0 } })),
  });
  // differences +1, +2, −0.5 points: mean 0.8333, sample std 1.2583, s.e. 0.7265, 2 of 3 above
  const ref = cell([0.75, 0.76, 0.77]);
  assert.equal(fmtPaired(cell([0.76, 0.78, 0.765]), ref, "synface"), "+0.83 ± 0.73 (2/3)");
  assert.equal(fmtPaired(ref, cell([0.76, 0.78, 0.765]), "synface"), "−0.83 ± 0.73 (1/3)");
  assert.equal(fmtPaired(ref, ref, "synface"), "+0.00 ± 0.00 (0/3)", "a tie is not above");
  assert.equal(fmtPaired(cell([0.8, 0.8]), ref, "synface"), "—", "seed counts differ");
  assert.equal(fmtPaired(cell([0.8]), cell([0.7]), "synface"), "—", "one seed: no error bar");
  assert.equal(fmtPaired(ref, ref, "insightface"), "—", "a protocol the seeds lack");
  assert.equal(fmtPaired({ kind: "missing", text: "failed" }, ref, "synface"), "—");
});

Deno.test("report: Table 2's rows against its first, paired by seed", async () => {
  const r = (synface: number) => ({ synface: { accuracy: synface, std: 0.01 } });
  const { model } = await reportOf(resolvePreset("smoke", { seeds: 2 }), ["table2"], (t2) => ({
    [t2["train-syn@syntest"]]: r(0.9),
    [t2["train-syn-seed2@syntest"]]: r(0.92),
    [t2["train-syn-im@syntest"]]: r(0.93),
    [t2["train-syn-im-seed2@syntest"]]: r(0.91),
  }));
  const md = renderMarkdown(model);
  // +3 and −1 points: mean +1, s.e. 2, above in 1 of 2
  assert.match(md, /\| training data, against "synthetic 6x4" \| synthetic test \(synface\) \|/);
  assert.match(md, /\| \+ Identity Mixup \| \+1\.00 ± 2\.00 \(1\/2\) \| — \|/);
  assert.match(renderHtml(model), /<td>\+1\.00 ± 2\.00 \(1\/2\)<\/td>/);
  const one = await reportOf(resolvePreset("smoke"), ["table2"], () => ({}));
  assert.doesNotMatch(renderMarkdown(one.model), /against the first/, "one seed: no paired table");
});
