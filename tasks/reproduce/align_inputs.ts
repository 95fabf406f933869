/**
 * `reproduce --align`: the real inputs (`--real`, `--lfw-images`, `--val-images`) are unaligned
 * photos; each is replaced by an aligned view (align/'s content-hash cache under
 * `<out>/align-cache`) before the plan is resolved, so fingerprints and stages see the crops.
 */
import { alignCached } from "../../align/mod.ts";
import { type PairList, readPairs, resolveImages } from "../../eval/mod.ts";
import type { RunInputs } from "./run.ts";
import { type EpChoice, listImages } from "../../data/mod.ts";

/**
 * The aligned view of the photos under `dir` that `list` names (align/'s content-hash cache under
 * `cacheDir`; a photo without a face gets its centre), with one line about it to `log`.
 */
export async function alignPairImages(
  list: PairList,
  dir: string,
  o: { cacheDir: string; workers?: number; ep?: EpChoice },
  log: (line: string) => void,
): Promise<string> {
  const found = resolveImages(list.pairs.flatMap((p) => [p.a, p.b]), dir);
  const base = dir.replace(/\/+$/, "") + "/";
  const files = [...found.paths.values()].map((p) => p.slice(base.length));
  const r = await alignCached({ inDir: dir, files, ...o });
  log(
    `align (${r.ep}): ${files.length} photos of ${list.file}: ${r.aligned} aligned now, ` +
      `${r.noFace.length} without a face (centre crop), ${r.bad.length} unreadable` +
      `${r.bad.length ? ` (first: ${r.bad[0].error})` : ""} → ${r.dir}`,
  );
  return r.dir;
}

/** The inputs with every real folder replaced by its aligned view. */
export async function alignInputs(
  inputs: RunInputs,
  cacheDir: string,
  workers: number,
  log: (line: string) => void = (l) => console.error(l),
  ep?: EpChoice,
): Promise<RunInputs> {
  const out = { ...inputs };
  const viewOfPairs = async (pairsFile: string, dir: string) =>
    alignPairImages(await readPairs(pairsFile), dir, { cacheDir, workers, ep }, log);
  if (inputs.lfwPairs && inputs.lfwImages) {
    out.lfwImages = await viewOfPairs(inputs.lfwPairs, inputs.lfwImages);
  }
  if (inputs.valPairs && inputs.valImages) {
    out.valImages = await viewOfPairs(inputs.valPairs, inputs.valImages);
  }
  if (inputs.real) {
    const files = await listImages(inputs.real);
    const r = await alignCached({
      inDir: inputs.real,
      files,
      cacheDir,
      workers,
      ep,
      noFace: "drop",
    });
    log(
      `align (${r.ep}): ${files.length} photos of --real ${inputs.real}: ${r.aligned} aligned now, ` +
        `${r.noFace.length} without a face and ${r.bad.length} unreadable left out → ${r.dir}`,
    );
    out.real = r.dir;
  }
  return out;
}
