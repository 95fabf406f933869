/**
 * `tasks/`: the `deno task` entry points (reproduce, generate, align, build-generator, train,
 * evaluate, realism, inspect, bench). They are command-line scripts composed from the library modules and
 * export nothing of their own: import the modules (`mod.ts` at the root) instead.
 * @module
 */
export {};
