/**
 * `parseCliArgs`: `node:util` parseArgs for the project's command lines, with two fixes. A
 * negative number after a string flag (`--lr -1`) is taken as that flag's value instead of an
 * "ambiguous argument" TypeError, and any parse error (unknown flag, missing value) goes to the
 * caller's `usage` handler (which exits 2) instead of escaping as an uncaught exception.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A value that looks like a negative number: `-1`, `-0.5`, `-1e-3`, `-.5`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Rewrite `--flag -1` into `--flag=-1` for flags of type "string" (long or short form), so a
 * negative number parses as the flag's value. Other arguments are returned unchanged.
 */
export function joinNegativeValues(
  args: readonly string[],
  options: ParseArgsConfig["options"],
): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options ?? {})) {
    if (o.type !== "string") continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (takesValue.has(a) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * `parseArgs(config)` with negative numbers accepted as values (see `joinNegativeValues`) and
 * parse errors handed to `usage(message)`, which must not return (print usage, exit 2).
 *
 * @example
 * ```ts
 * const { values } = parseCliArgs(
 *   { args: ["--lr", "-1"], options: { lr: { type: "string" } } },
 *   (msg) => { throw new Error(msg); },
 * );
 * console.assert(values.lr === "-1");
 * ```
 */
export function parseCliArgs<T extends ParseArgsConfig & { args: readonly string[] }>(
  config: T,
  usage: (message: string) => never,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs({ ...config, args: joinNegativeValues(config.args, config.options) });
  } catch (e) {
    return usage((e as Error).message);
  }
}

/** A `usage` handler for `parseCliArgs`: prints `<prefix>: <message>` (and `usage`) and exits 2. */
export function exitUsage(prefix: string, usage?: string): (message: string) => never {
  return (message) => {
    console.error(`${prefix}: ${message}${usage ? `\n\n${usage}` : ""}`);
    Deno.exit(2);
  };
}

/**
 * Why `path` cannot be an output folder, in words, or undefined when it can: it is an existing
 * file (not a folder), or a parent on its way is a file. A missing folder is fine (it is created).
 */
export function outDirProblem(path: string, flag = "--out"): string | undefined {
  let p = path.replace(/\/+$/, "") || "/";
  let first = true;
  while (true) {
    try {
      const st = Deno.statSync(p);
      if (st.isDirectory) return undefined;
      return first
        ? `${flag} ${path}: exists and is a file, expected a folder (or a path that does not exist yet)`
        : `${flag} ${path}: ${p} is a file, so no folder can be made under it`;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
        return `${flag} ${path}: cannot be used (${(e as Error).message})`;
      }
    }
    const up = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) || "/" : ".";
    if (up === p) return undefined;
    p = up;
    first = false;
  }
}

/**
 * An integer flag value ≥ `min` (default 1), undefined when the flag is absent; anything else goes
 * to `fail` naming the flag and what was expected: `--jobs 0: expected an integer ≥ 1`.
 */
export function intFlag<V extends string | undefined>(
  flag: string,
  value: V,
  fail: (message: string) => never,
  min = 1,
): V extends string ? number : number | undefined {
  type Out = V extends string ? number : number | undefined;
  if (value === undefined) return undefined as Out;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    fail(`${flag} ${value}: expected an integer ≥ ${min}`);
  }
  return n as Out;
}

/**
 * A number flag value, undefined when the flag is absent; with `range` it must lie in [lo, hi].
 * Anything else goes to `fail`: `--min-score 2: expected a number in [0, 1]`.
 */
export function numberFlag<V extends string | undefined>(
  flag: string,
  value: V,
  fail: (message: string) => never,
  range?: [number, number],
): V extends string ? number : number | undefined {
  type Out = V extends string ? number : number | undefined;
  if (value === undefined) return undefined as Out;
  const n = Number(value);
  if (value.trim() === "" || !(range ? n >= range[0] && n <= range[1] : Number.isFinite(n))) {
    fail(`${flag} ${value}: expected a number${range ? ` in [${range[0]}, ${range[1]}]` : ""}`);
  }
  return n as Out;
}

/** A flag value from `allowed`, undefined when absent; anything else goes to `fail` listing them. */
export function choiceFlag<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fail: (message: string) => never,
): T | undefined {
  if (value !== undefined && !allowed.includes(value as T)) {
    fail(`${flag} ${value}: expected one of ${allowed.join(", ")}`);
  }
  return value as T | undefined;
}

/** A `HxW` flag value (e.g. `112x96`) as `{ height, width }`; anything else goes to `fail`. */
export function parseSizeFlag(
  flag: string,
  value: string,
  fail: (message: string) => never,
): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) fail(`${flag} ${value}: expected HxW, e.g. 112x96`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

/** `--shard i/n` as `{ index: i, count: n }` (1 ≤ i ≤ n); anything else goes to `fail` in words. */
export function parseShardFlag(
  value: string,
  fail: (message: string) => never,
): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) fail(`--shard ${value}: expected i/n, e.g. 1/4`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index < 1 || shard.index > shard.count) {
    fail(`--shard ${value}: expected 1 ≤ i ≤ n`);
  }
  return shard;
}
