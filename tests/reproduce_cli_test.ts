import assert from "node:assert/strict";
import { formatDuration } from "../data/mod.ts";
import {
  jobLayout,
  parseReproduceArgs,
  reproduce,
  type ReproduceOptions,
  UsageError,
} from "../tasks/reproduce/cli.ts";
import { PRESETS } from "../tasks/reproduce/mod.ts";
import { createStages } from "../tasks/reproduce/stages.ts";
import { runTask, temp } from "./_helpers.ts";

/** `reproduce --dry-run` of a command line: its result and what it printed. */
async function dryRun(args: string) {
  const printed: string[] = [];
  const print = (l: string) => void printed.push(l);
  const r = await reproduce(opts(`--dry-run ${args}`), createStages(), { print });
  return { r, text: printed.join("\n") };
}

/** The options of a command line (flags and values separated by single spaces). */
function opts(args: string): ReproduceOptions {
  const o = parseReproduceArgs(args ? args.split(" ") : []);
  assert.notEqual(o, "help");
  return o as ReproduceOptions;
}

Deno.test("flags: defaults, overrides, and clear errors", () => {
  const d = opts("");
  assert.equal(d.preset, "default");
  assert.equal(d.out, "out/reproduce-default");
  assert.equal(d.dryRun, false);
  const s = opts(
    "--preset smoke --real /r --real-ids 20 --real-per-id 5,10 --only table2,fig6 " +
      "--workers 3 --jobs 2 --seeds 4 --redraw-data",
  );
  assert.deepEqual([s.jobs, s.seeds, d.jobs, d.seeds], [2, 4, undefined, undefined]);
  assert.deepEqual([s.redrawData, d.redrawData], [true, undefined]);
  assert.equal(opts("--no-redraw-data").redrawData, false);
  assert.equal(s.out, "out/reproduce-smoke");
  const real = [s.realIds, s.realPerId, s.only, s.workers];
  assert.deepEqual(real, [20, [5, 10], ["table2", "fig6"], 3]);
  const bad: [string[], RegExp][] = [
    [["--preset", "huge"], /unknown preset "huge"/],
    [["--lfw-pairs", "p.txt"], /--lfw-pairs and --lfw-images go together/],
    [["--val-pairs", "lfw/pairs.txt", "--val-images", "x"], /View 2 \(test pairs\)/],
    [["--real-ids", "3"], /need --real DIR/],
    [["--real", "r", "--real-per-id", "0"], /--real-per-id 0: expected an integer ≥ 1/],
    [["--only", "table7"], /unknown experiment "table7"/],
    [["--backend", "tpu"], /expected auto\|cpu\|webgpu/],
    [["--jobs", "0"], /--jobs 0: expected an integer ≥ 1/],
    [["--seeds", "1.5"], /--seeds 1\.5: expected an integer ≥ 1/],
    [["--frobnicate"], /frobnicate/],
  ];
  for (const [args, re] of bad) {
    assert.throws(
      () => parseReproduceArgs(args),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  }
  assert.equal(parseReproduceArgs(["--help"]), "help");
});

Deno.test("--dry-run prints every stage with its estimate, shared stages, and what is skipped", async () => {
  const { r, text } = await dryRun("--preset smoke --out /nonexistent/never-written");
  assert.equal(r.exitCode, 0);
  assert.equal(r.outcomes.length, 0);
  assert.match(text, /^preset smoke: .*\(numbers meaningless\)/);
  assert.match(text, /experiments: table1, table2, table3, fig5, fig6, fig2, fig3/);
  assert.match(
    text,
    /dataset +table1\/syn +datasets\/[0-9a-f]{16} +~[\d.]+s +6×4 vary=all balanced \(shared by \d\)/,
  );
  assert.match(text, /train +table2\/train-syn-im-dm2 .* — skipped: needs --real/);
  assert.match(text, /preview +fig3\/sheets/);
  const m = /(\d+) stages \((\d+) runnable\), estimated (\S+)( with \d+ trainings .*)?$/
    .exec(text)!;
  assert.equal(Number(m[1]), r.resolved.stages.length);
  assert.ok(Number(m[2]) < Number(m[1]));
});

Deno.test("the task runs as a command: --dry-run exits 0, a bad flag exits 2 with usage", async () => {
  const ok = await runTask("reproduce", "--preset default --dry-run --only table2");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /experiments: table2\n/);
  const bad = await runTask("reproduce", "--preset nope");
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /reproduce: --preset: unknown preset "nope"[\s\S]*usage: deno task reproduce/,
  );
});

temp.test("--dry-run estimates LFW evaluation from the images the pairs file names", async (dir) => {
  const pairs = `${dir}/pairs.txt`;
  // View 1 layout: 2 same + 2 different pairs, 6 distinct images
  await Deno.writeTextFile(pairs, "2\nA\t1\t2\nB\t1\t2\nA\t1\tC\t1\nB\t2\tD\t1\n");
  const estimate = async (file: string) => {
    const { r } = await dryRun(
      `--preset smoke --only table1 --out ${dir}/out --lfw-pairs ${file} --lfw-images ${dir}`,
    );
    const lfw = r.resolved.stages.find((s) => s.label === "table1/train-syn@lfw")!;
    return lfw.estimateS;
  };
  const small = await estimate(pairs);
  const e = PRESETS.smoke.estimate;
  assert.ok(Math.abs(small - (e.stageOverheadS + 2 * 6 / e.embedImgPerS)) < 1e-9, `${small}`);
  await Deno.writeTextFile(`${dir}/bad.txt`, "2\nA\t1\n");
  await assert.rejects(() => estimate(`${dir}/bad.txt`), UsageError);
});

Deno.test("durations round once: never 60 seconds in a minute", () => {
  assert.equal(formatDuration(2579.6), "43m00s");
  assert.equal(formatDuration(59.7), "1m00s");
  assert.equal(formatDuration(9.96), "10s");
  assert.equal(formatDuration(4.25), "4.3s");
  assert.equal(formatDuration(125.2), "2m05s");
  assert.equal(formatDuration(7260), "2h01m");
  assert.equal(formatDuration(NaN), "?");
  assert.equal(formatDuration(Infinity), "?", "an ETA before the first measurement");
  assert.equal(formatDuration(-0.4), "0.0s", "clock skew never prints a negative time");
});

Deno.test("jobs: one training per core (at most 4) on the cpu backend, one on a GPU; dry-run total", async () => {
  const cpu = () => Promise.resolve(false);
  const gpu = () => Promise.resolve(true);
  const at = (o: Partial<ReproduceOptions>, has = cpu) =>
    jobLayout({ backend: "auto", workers: 2, ...o }, has);
  assert.deepEqual(await at({}), { jobs: 2, threadsPerJob: 1, backend: "cpu" });
  assert.deepEqual(await at({ workers: 16 }), { jobs: 4, threadsPerJob: 4, backend: "cpu" });
  assert.deepEqual(await at({ workers: 1 }), { jobs: 1, threadsPerJob: 1, backend: "auto" });
  assert.deepEqual(await at({ jobs: 1 }), { jobs: 1, threadsPerJob: 2, backend: "auto" });
  assert.deepEqual(await at({}, gpu), { jobs: 1, threadsPerJob: 2, backend: "auto" });
  assert.deepEqual(await at({ jobs: 2 }, gpu), { jobs: 2, threadsPerJob: 1, backend: "webgpu" });
  const three = { jobs: 3, threadsPerJob: 1, backend: "cpu" };
  assert.deepEqual(await at({ backend: "cpu", workers: 3 }), three);

  // The dry run's total: training shrinks by the side-by-side rate, the rest is unchanged.
  const total = async (jobs: number) => {
    const { text } = await dryRun(`--only table2 --jobs ${jobs}`);
    const m = /estimated (\S+)/.exec(text.split("\n").at(-1)!)!;
    return { text, s: parseDuration(m[1]) };
  };
  const one = await total(1);
  const two = await total(2);
  const e = PRESETS.default.estimate;
  assert.ok(two.s < one.s, `${two.s} < ${one.s}`);
  assert.match(
    two.text,
    new RegExp(`with 2 trainings side by side \\(${e.trainImgPerSPerJob} img/s each\\)$`),
  );
  assert.doesNotMatch(one.text.split("\n").at(-1)!, /side by side/);
});

function parseDuration(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(s)!;
  return 3600 * Number(m[1] ?? 0) + 60 * Number(m[2] ?? 0) + Number(m[3] ?? 0);
}
