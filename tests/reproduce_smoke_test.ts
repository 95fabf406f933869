/**
 * `deno task reproduce --preset smoke` end to end (the CI run of issue 7): every experiment at toy
 * size through the real generator, trainer and evaluator, then a rerun that must find everything
 * cached, and `notebooks/smoke.ipynb` on that output. Adds `--real` when
 * `../shared/data/celeba-aligned` is present (Domain Mixup rows).
 * Takes ~3–4 minutes on 2 cores.
 */
import assert from "node:assert/strict";
import { hasSharedData, runDenoJson, runTask, SHARED_DATA, temp } from "./_helpers.ts";

temp.test("reproduce --preset smoke: every stage runs, the report is complete, a rerun is cached", async (out) => {
  const args = ["--preset", "smoke", "--out", out];
  const real = hasSharedData("celeba-aligned");
  if (real) args.push("--real", new URL("celeba-aligned", SHARED_DATA).pathname);
  const t0 = performance.now();
  const first = await runTask("reproduce", args);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`smoke preset: ${seconds.toFixed(0)} s (${real ? "with" : "without"} --real)`);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr.slice(-3000)}`);
  const lines = first.stderr.split("\n").filter((l) => /^reproduce \[\s*\d+\/\d+\]/.test(l));
  const cfg = JSON.parse(await Deno.readTextFile(`${out}/report/configs.json`));
  assert.equal(lines.length, cfg.stages.length, "one progress line per stage");
  for (const s of cfg.stages) {
    const ok = s.status === "done" ||
      (s.status === "needs-input" &&
        (s.message.includes("--lfw") || (!real && s.message.includes("--real"))));
    assert.ok(ok, `${s.label}: ${s.status} ${s.message ?? ""}`);
  }
  const md = await Deno.readTextFile(`${out}/report/README.md`);
  assert.match(md, /its numbers are meaningless/);
  const rows = ["synthetic 6x4", "\\+ Identity Mixup"];
  if (real) rows.push("\\+ IM \\+ Domain Mixup, real 6x2");
  const cell = "\\d+\\.\\d\\d ± \\d+\\.\\d\\d";
  for (const row of rows) {
    assert.match(md, new RegExp(`\\| ${row} \\| ${cell} \\| ${cell} \\|`), row);
  }
  const files = ["index.html", "table2.svg", "table3.svg", "fig5.svg", "fig6.svg"];
  for (const f of [...files, "figures/fig2-1.svg", "figures/fig3-1.png"]) {
    assert.ok((await Deno.stat(`${out}/report/${f}`)).size > 0, f);
  }

  const second = await runTask("reproduce", args);
  assert.equal(second.code, 0, second.stderr.slice(-3000));
  const again = JSON.parse(await Deno.readTextFile(`${out}/report/configs.json`));
  // Stages whose key is unchanged must be reused. (In a shared working tree another edit can
  // change a module's source between the two runs; its stages then rightly run again.)
  const before = new Set(cfg.stages.map((s: { dir: string }) => s.dir));
  const rerun = again.stages.filter((s: { dir: string; status: string }) =>
    before.has(s.dir) && s.status === "done"
  );
  assert.deepEqual(rerun.map((s: { label: string }) => s.label), [], "finished stages reused");

  // The notebook on the same, now cached, output: it must still run and show Table 2 and a figure.
  const nb = await runNotebook(new URL("../notebooks/smoke.ipynb", import.meta.url), out);
  assert.equal(nb.exitCode, 0);
  // its reproduce call finds the smoke run's stages finished (cached), and fails none
  assert.ok((nb.stages.cached ?? 0) > 0, JSON.stringify(nb.stages));
  for (const status of Object.keys(nb.stages)) {
    assert.ok(["cached", "done", "needs-input"].includes(status), JSON.stringify(nb.stages));
  }
  assert.equal(nb.shown.length, 2, JSON.stringify(nb.shown).slice(0, 500));
  assert.equal(nb.shown[0].kind, "md");
  assert.match(nb.shown[0].value, /^## Table 2[^]*\| synthetic 6x4 \|/);
  assert.doesNotMatch(nb.shown[0].value, /\n## (?!Table 2)/, "Table 2's section only");
  assert.deepEqual(nb.shown[1], { kind: "image", value: `${out}/report/figures/fig3-1.png` });
});

interface NotebookRun {
  exitCode: number;
  stages: Record<string, number>;
  shown: { kind: "md" | "svg" | "image"; value: string }[];
}

/**
 * Runs the code cells of the notebook at `path` as one module from its own folder (as the Deno
 * kernel does), writing to `out` instead of its `out/notebook-smoke`, with `Deno.jupyter`'s
 * display calls recorded: what it showed, and its reproduce's exit code and stage counts.
 */
async function runNotebook(path: URL, out: string): Promise<NotebookRun> {
  const nb = JSON.parse(await Deno.readTextFile(path)) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  let code = nb.cells.filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).join("\n");
  const outExpr = 'new URL("out/notebook-smoke", root).pathname';
  assert.ok(code.includes(outExpr), `${path.pathname}: expected its output folder as ${outExpr}`);
  code = code.replace(outExpr, JSON.stringify(out));
  const record = (kind: string, value: string) =>
    `shown.push({ kind: "${kind}", value: ${value} })`;
  const module = `const shown: unknown[] = [];
(Deno as unknown as { jupyter: unknown }).jupyter = {
  md: (s: TemplateStringsArray, ...v: unknown[]) => ${record("md", "String.raw(s, ...v)")},
  svg: (s: TemplateStringsArray, ...v: unknown[]) => ${record("svg", "String.raw(s, ...v)")},
  image: (p: string) => ${record("image", "p")},
};
${code}
console.log(JSON.stringify({ exitCode: result.exitCode, stages: counts, shown }));
`;
  const file = `${out}/notebook.ts`;
  await Deno.writeTextFile(file, module);
  const config = new URL("../deno.json", import.meta.url).pathname;
  return await runDenoJson<NotebookRun>(
    ["run", "-A", "--config", config, file],
    new URL(".", path).pathname,
  );
}
