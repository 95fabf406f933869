/**
 * `deno task bench <name> [flags]`: calls `main(args)` of `tasks/bench_<name>.ts`, which prints figures and ratios
 * against a baseline measured in the same process (and with `--json`, one JSON line at the end).
 */
const [name, ...rest] = Deno.args;
const known = ["generator", "autodiff", "webgpu", "train", "jobs", "eval", "align"];
if (!name || !known.includes(name)) {
  console.error(`usage: deno task bench <${known.join("|")}> [--json] [flags]`);
  Deno.exit(2);
}
const url = new URL(`./bench_${name}.ts`, import.meta.url);
const bench = await import(url.href) as { main(args: string[]): Promise<void> };
await bench.main(rest);
