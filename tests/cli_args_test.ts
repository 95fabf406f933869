import assert from "node:assert/strict";
import { joinNegativeValues, parseCliArgs, parseShardFlag, parseSizeFlag } from "../data/mod.ts";
import { parseReproduceArgs } from "../tasks/reproduce/cli.ts";
import { parseTrainArgs } from "../tasks/train.ts";
import { runTask, temp } from "./_helpers.ts";

const usage = (msg: string): never => {
  throw new Error(`usage: ${msg}`);
};

Deno.test("cli args: a negative number after a string flag is its value", () => {
  const options = {
    lr: { type: "string" },
    v: { type: "boolean" },
    n: { type: "string", short: "n" },
  } as const;
  assert.deepEqual(
    joinNegativeValues(["--lr", "-1", "-n", "-.5", "--v", "--", "--lr", "-2"], options),
    ["--lr=-1", "-n=-.5", "--v", "--", "--lr", "-2"],
  );
  const { values } = parseCliArgs({ args: ["--lr", "-1e-3"], options }, usage);
  assert.equal(values.lr, "-1e-3");
  // A flag name after a string flag is still a missing value: usage, not a TypeError.
  assert.throws(() => parseCliArgs({ args: ["--lr", "--v"], options }, usage), /^Error: usage: /);
  assert.throws(() => parseCliArgs({ args: ["--nope"], options }, usage), /usage: .*--nope/);
});

Deno.test("cli args: train parses --lr -1 like --lr=-1 (config validation then refuses it)", async () => {
  const a = await parseTrainArgs(["--data", "d", "--out", "o", "--lr", "-1", "--seed", "-0"]);
  assert.equal(a.config.lr, -1);
  const b = await parseTrainArgs(["--data", "d", "--out", "o", "--lr=-1"]);
  assert.equal(b.config.lr, -1);
});

Deno.test("cli args: reproduce refuses --jobs -1 with its own message", () => {
  assert.throws(() => parseReproduceArgs(["--jobs", "-1"]), /--jobs -1: expected an integer ≥ 1/);
  assert.throws(() => parseReproduceArgs(["--bogus"]), { name: "UsageError" });
});

Deno.test("cli args: generate and evaluate answer a negative value with usage (exit 2)", async () => {
  const g = await runTask("generate", "--out /nonexistent/x --ids -3 --per-id 1");
  assert.equal(g.code, 2, g.stderr);
  assert.match(g.stderr, /--ids -3: expected a non-negative integer/);
  const e = await runTask("evaluate", "--model pixels --pairs p.txt --images i --out o --kfold -2");
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /--kfold -2: expected/);
  const t = await runTask("train", "--data d --out o --lr -1");
  assert.equal(t.code, 2, t.stderr);
  assert.doesNotMatch(t.stderr, /TypeError|ambiguous/);
});

temp.test("cli args: --out that is an existing file is refused in words (generate, evaluate)", async (dir) => {
  const file = `${dir}/taken`;
  await Deno.writeTextFile(file, "x");
  const g = await runTask("generate", `--out ${file} --ids 1 --per-id 1`);
  assert.equal(g.code, 2, g.stderr);
  assert.match(g.stderr, /--out .*taken: exists and is a file, expected a folder/);
  const g2 = await runTask("generate", `--out ${file}/sub --ids 1 --per-id 1`);
  assert.equal(g2.code, 2, g2.stderr);
  assert.match(g2.stderr, /taken is a file, so no folder can be made under it/);
  const evaluate = (flags: string) =>
    runTask("evaluate", `--model pixels --pairs ${dir}/missing.txt --images ${dir} ${flags}`);
  const e = await evaluate(`--out ${file}`);
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /exists and is a file/);
  // Flags are checked before the (missing) pairs file is read.
  const k = await evaluate(`--out ${dir}/o --kfold 1`);
  assert.equal(k.code, 2, k.stderr);
  assert.match(k.stderr, /--kfold 1: expected an integer ≥ 2/);
});

Deno.test("cli args: --shard i/n with 1 ≤ i ≤ n, anything else refused in words", () => {
  assert.deepEqual(parseShardFlag("2/3", usage), { index: 2, count: 3 });
  assert.throws(() => parseShardFlag("2", usage), /--shard 2: expected i\/n, e\.g\. 1\/4/);
  assert.throws(() => parseShardFlag("4/3", usage), /--shard 4\/3: expected 1 ≤ i ≤ n/);
  assert.throws(() => parseShardFlag("0/3", usage), /expected 1 ≤ i ≤ n/);
});

Deno.test("cli args: an HxW size, anything else refused in words", () => {
  assert.deepEqual(parseSizeFlag("--input", "112x96", usage), { height: 112, width: 96 });
  assert.throws(() => parseSizeFlag("--input", "112", usage), /--input 112: expected HxW/);
});
