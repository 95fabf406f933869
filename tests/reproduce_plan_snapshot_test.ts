/**
 * Every preset's fully built plan, and every node's time estimate, against a recorded snapshot
 * (`fixtures/reproduce_plans.json`). The snapshot was recorded from the code before the plan was
 * split into schema, presets, builders and estimates, so a refactor that changes what any preset
 * runs fails here. After an intended change, re-record with
 * `SYNFACE_RECORD_PLANS=1 deno test -A tests/reproduce_plan_snapshot_test.ts` and review the diff.
 */
import assert from "node:assert/strict";
import {
  buildPlan,
  estimateSeconds,
  type Plan,
  PRESET_NAMES,
  PRESETS,
  resolvePreset,
} from "../tasks/reproduce/mod.ts";

const FIXTURE = new URL("./fixtures/reproduce_plans.json", import.meta.url);

/** Inputs that change a plan: real data, external val pairs, a non-default generator. */
const INPUTS = [{ real: false, val: false }, { real: true, val: true, generator: "learned-x@2" }];

function estimates(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of plan.experiments) {
    for (const [name, node] of Object.entries(e.nodes)) {
      out[`${e.name}/${name}`] = estimateSeconds(node, plan.preset, (r) => e.nodes[r]);
    }
  }
  return out;
}

function snapshot(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of PRESET_NAMES) {
    out[`preset:${name}`] = PRESETS[name];
    for (const inputs of INPUTS) {
      const plan = buildPlan(resolvePreset(name), inputs);
      out[`plan:${name}:${JSON.stringify(inputs)}`] = { plan, estimates: estimates(plan) };
    }
  }
  // a resolved override and an `only` filter, so both paths stay covered
  out["plan:smoke:overrides"] = buildPlan(
    resolvePreset("smoke", { realIds: 5, realPerId: [3], seeds: 2 }),
    { real: true, val: false },
    ["table2", "fig2"],
  );
  // JSON drops undefined fields (a row without a paper number), as the fixture does
  return JSON.parse(JSON.stringify(out));
}

Deno.test("every preset builds exactly the recorded plan and time estimates", async () => {
  const now = snapshot();
  if (Deno.env.get("SYNFACE_RECORD_PLANS") === "1") {
    const tmp = `${FIXTURE.pathname}.tmp`;
    // one line per key: a diff shows which preset and inputs changed, at a third of the size
    const lines = Object.entries(now).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    await Deno.writeTextFile(tmp, `{\n${lines.join(",\n")}\n}\n`);
    await Deno.rename(tmp, FIXTURE);
  }
  const recorded = JSON.parse(await Deno.readTextFile(FIXTURE));
  assert.deepEqual(Object.keys(now).sort(), Object.keys(recorded).sort());
  for (const key of Object.keys(recorded)) assert.deepEqual(now[key], recorded[key], key);
});
