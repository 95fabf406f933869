/** A tiny training setup shared by the trainer guard tests: ir_tiny at 16×16 on a few classes. */
import type { TrainConfigInput } from "../recognition/config.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { withTempDir } from "./_helpers.ts";

/** ir_tiny at 16×16, batch 8, no augmentation, inline loader. */
export const TINY = {
  arch: "ir_tiny",
  input: { height: 16, width: 16 },
  batch: 8,
  augment: { enabled: false },
  workers: 0,
} satisfies Partial<TrainConfigInput>;

/** A two-step {@link TINY} config on `data` into `out`, with `extra` on top. */
export function tiny(
  data: string,
  out: string,
  extra: Partial<TrainConfigInput> = {},
): TrainConfigInput {
  return { data, out, ...TINY, steps: 2, ...extra };
}

/**
 * Flags of the train command (for `runTask("train", …)`) on the same setup (ir_tiny at 16×16,
 * batch 8) on `data` into `out`, then `extra` (steps, backend, …).
 */
export function tinyCliArgs(data: string, out: string, extra: string): string {
  return `--data ${data} --out ${out} --arch ir_tiny --input 16x16 --batch 8 ${extra}`;
}

/** Run `fn` with a temp folder holding a tiny dataset at `<tmp>/data`; the folder is removed after. */
export async function withTinyData(
  prefix: string,
  shape: { classes: number; perClass: number },
  fn: (tmp: string, data: string) => Promise<void>,
): Promise<void> {
  await withTempDir({ prefix }, async (tmp) => {
    const data = `${tmp}/data`;
    await writeTinyDataset(data, { ...shape, height: 16, width: 16 });
    await fn(tmp, data);
  });
}

/**
 * `dataset.test(name, fn)` for `const dataset = tinyData(shape)`: `Deno.test` whose `fn` gets
 * `{ tmp, data }`: a temp folder and the tiny dataset of `shape` at `data = <tmp>/data` in it.
 */
export function tinyData(shape: { classes: number; perClass: number }) {
  return {
    test: (name: string, fn: (dirs: { tmp: string; data: string }) => Promise<void>) =>
      Deno.test(name, () => withTinyData("synface-tiny-", shape, (tmp, data) => fn({ tmp, data }))),
  };
}
