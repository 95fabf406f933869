/** Shared test helpers: where the real data lives, and skipping cleanly when it does not. */
import { encodePng } from "../data/mod.ts";

/** `../shared/data` beside the checkout, resolved from this file (not from cwd). */
export const SHARED_DATA = new URL("../../shared/data/", import.meta.url);

function sharedExists(sub: string): boolean {
  try {
    Deno.statSync(new URL(sub, SHARED_DATA));
    return true;
  } catch {
    return false;
  }
}

/** True when `../shared/data/<sub>` exists; otherwise prints why the caller skips. */
export function hasSharedData(sub = ""): boolean {
  if (sharedExists(sub)) return true;
  console.log(`skipped: ../shared/data/${sub} is not present (users do not have it)`);
  return false;
}

/**
 * For `Deno.test({ ignore: sharedMissing("orl"), … })`: true (the runner reports the test as
 * ignored) when any `../shared/data/<sub>` is absent, printing which; users do not have that data.
 */
export function sharedMissing(...subs: string[]): boolean {
  return !subs.every((sub) => hasSharedData(sub));
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `fn` with a new temp folder (made with `opts`), which is removed afterwards. */
export async function withTempDir<T>(
  opts: Deno.MakeTempOptions,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir(opts);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Run `script` as a fresh file in a temp folder outside the repo, with `--no-config --no-lock`
 * (so our import map and lock do not apply, as for a user importing by URL), and return the JSON
 * its last stdout line prints. Throws with the child's stderr when it exits non-zero.
 */
export async function runOutsideRepo<T>(script: string): Promise<T> {
  return await withTempDir({ prefix: "synface-child-" }, async (tmp) => {
    await Deno.writeTextFile(`${tmp}/main.ts`, script);
    return await runDenoJson<T>(["run", "-A", "--no-config", "--no-lock", "main.ts"], tmp);
  });
}

/**
 * `deno …args` in `cwd`, and the JSON its last stdout line prints. Throws with the child's stderr
 * when it exits non-zero.
 */
export async function runDenoJson<T>(args: string[], cwd: string): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (out.code !== 0) throw new Error(`child exited ${out.code}:\n${text(out.stderr)}`);
  return JSON.parse(text(out.stdout).trim().split("\n").at(-1)!);
}

/**
 * `deno run -A tasks/<task>.ts …args`; `args` as one string is split at spaces (flags and paths
 * without spaces in them). Output is piped by default; pass `"null"` for a child that is spawned
 * and never read (a full pipe would stall it).
 */
export function taskCommand(
  task: string,
  args: string | string[],
  output: "piped" | "null" = "piped",
): Deno.Command {
  const path = new URL(`../tasks/${task}.ts`, import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...(typeof args === "string" ? args.split(" ") : args)],
    stdout: output,
    stderr: output,
  });
}

/** Runs {@link taskCommand} to the end: its exit code, stdout and stderr as text. */
export async function runTask(task: string, args: string | string[]) {
  const r = await taskCommand(task, args).output();
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

/** A test body that gets one fresh temp folder per parameter it declares. */
type TempFn = (...dirs: string[]) => Promise<void>;

/** Runs `fn` with `fn.length` fresh temp folders, all removed afterwards (also when it throws). */
async function withTempDirs(fn: TempFn): Promise<void> {
  const dirs: string[] = [];
  try {
    while (dirs.length < fn.length) dirs.push(await Deno.makeTempDir({ prefix: "synface-test-" }));
    await fn(...dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

/** `temp.test(name, fn)`: `Deno.test` whose `fn` gets one fresh temp folder per parameter. */
export const temp = {
  test(name: string, fn: TempFn): void {
    Deno.test(name, () => withTempDirs(fn));
  },
};

/**
 * `loose.test(name, fn, opts?)`: `Deno.test` without the resource and op sanitizers, for tests
 * whose libraries (onnxruntime, worker threads) keep handles open past the test; `fn` gets one
 * fresh temp folder per parameter, as with `temp.test`; `opts` adds `ignore` and the like.
 */
export const loose = {
  test(name: string, fn: TempFn, opts: Omit<Deno.TestDefinition, "name" | "fn"> = {}): void {
    Deno.test({
      name,
      sanitizeResources: false,
      sanitizeOps: false,
      ...opts,
      fn: () => withTempDirs(fn),
    });
  },
};

/** Folder of `ids` × 2 tiny RGB PNGs `idN/idN_000k.png`; pixel values from `draw(id, k, i)`. */
export async function makeSet(
  dir: string,
  ids: number,
  draw: (id: number, k: number, i: number) => number,
) {
  for (let id = 0; id < ids; id++) {
    const name = `id${id}`;
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
    for (let k = 1; k <= 2; k++) {
      const data = new Uint8Array(8 * 8 * 3);
      for (let i = 0; i < data.length; i++) data[i] = draw(id, k, i);
      await Deno.writeFile(
        `${dir}/${name}/${name}_000${k}.png`,
        encodePng({ width: 8, height: 8, channels: 3, data }),
      );
    }
  }
}
