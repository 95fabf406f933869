/**
 * `reproduce --align`: the real inputs (`--real`, `--lfw-images`, `--val-images`) are unaligned
 * photos; each is replaced by an aligned view (align/'s content-hash cache under
 * `<out>/align-cache`) before the plan is resolved, so fingerprints and stages see the crops.
 */
import { alignCached, listImages } from "../../align/mod.ts";
import { readPairs, resolveImages } from "../../eval/mod.ts";
import type { RunInputs } from "./run.ts";
import type { EpChoice } from "../../data/mod.ts";

/** The inputs with every real folder replaced by its aligned view. */
export async function alignInputs(
  inputs: RunInputs,
  cacheDir: string,
  workers: number,
  log: (line: string) => void = (l) => console.error(l),
  ep?: EpChoice,
): Promise<RunInputs> {
  const out = { ...inputs };
  const viewOfPairs = async (pairsFile: string, dir: string) => {
    const list = await readPairs(pairsFile);
    const found = resolveImages(list.pairs.flatMap((p) => [p.a, p.b]), dir);
    const base = dir.replace(/\/+$/, "") + "/";
    const files = [...found.paths.values()].map((p) => p.slice(base.length));
    const r = await alignCached({ inDir: dir, files, cacheDir, workers, ep });
    log(
      `align (${r.ep}): ${files.length} photos of ${pairsFile}: ${r.aligned} aligned now, ` +
        `${r.noFace.length} without a face (centre crop), ${r.bad.length} unreadable → ${r.dir}`,
    );
    return r.dir;
  };
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
