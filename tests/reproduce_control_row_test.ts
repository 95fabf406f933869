/**
 * Table 1's real-trained control row (issue 14 item 4): with `--real DIR` it trains on real data
 * at the preset's control slice and the report shows it beside the synthetic row. Needs no
 * `../shared`: the "real" folder is a tiny class-folder tree of procedural renders (plain PNGs, no
 * manifest), which is all `--real` asks of a folder.
 */
import assert from "node:assert/strict";
import { synthesize } from "../synthesis/mod.ts";
import { loose, runTask } from "./_helpers.ts";

const PROCEDURAL = new URL("../generator/model/procedural.json", import.meta.url);

loose.test("reproduce --real: Table 1's real control row trains on the real folder and is reported", async (tmp) => {
  // 6 identities × 4 images: the smoke preset's control slice (real.ids × its largest perId)
  const opts = { ids: 6, perId: 4, seed: 77, model: PROCEDURAL.href, workers: 1, progress: false };
  await synthesize({ ...opts, out: `${tmp}/gen` });
  const real = `${tmp}/real`;
  for await (const e of Deno.readDir(`${tmp}/gen`)) {
    if (!e.isDirectory || e.name.startsWith(".")) continue;
    await Deno.mkdir(`${real}/${e.name}`, { recursive: true });
    for await (const f of Deno.readDir(`${tmp}/gen/${e.name}`)) {
      await Deno.copyFile(`${tmp}/gen/${e.name}/${f.name}`, `${real}/${e.name}/${f.name}`);
    }
  }
  const out = `${tmp}/out`;
  const r = await runTask(
    "reproduce",
    `--preset smoke --only table1 --real ${real} --out ${out}`,
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const cfg = JSON.parse(await Deno.readTextFile(`${out}/report/configs.json`));
  const stage = cfg.stages.find((s: { label: string }) => s.label.endsWith("train-real"));
  assert.ok(stage, `no train-real stage in ${cfg.stages.map((s: { label: string }) => s.label)}`);
  assert.equal(stage.status, "done", stage.message);
  const md = await Deno.readTextFile(`${out}/report/README.md`);
  // both rows carry a synthetic-test accuracy; LFW needs --lfw-*
  for (const row of ["synthetic 6x4", "real 6x4"]) {
    assert.match(md, new RegExp(`\\| ${row} \\| \\d+\\.\\d\\d`), `${row} in\n${md}`);
  }
});
