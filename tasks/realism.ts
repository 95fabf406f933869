/**
 * `deno task realism --generated DIR --real DIR [--floor DIR] [--n 1500] [--reference MODEL]
 * [--pairs FILE] [--cache DIR] --out DIR`: the realism meter (eval/realism.ts). Writes
 * `realism.json` {fd, fd_floor, fd_ratio, identity_accuracy, mean_image_gap, colour, n, …} and
 * `mean_images.png` (generated, real, their difference, the floor). A meter only.
 */
import { exitUsage, intFlag, parseCliArgs, writeJsonAtomic } from "../data/mod.ts";
import { loadReferenceEmbedder, measureRealism } from "../eval/mod.ts";

const USAGE =
  `usage: deno task realism --generated DIR --real DIR [--floor DIR] [--n 1500] [--reference MODEL]
  [--pairs FILE] [--cache DIR] [--seed 0] --out DIR

  --generated  generated aligned 112x112 crops (recursive); its pairs.txt, if any, gives identity_accuracy
  --real       real aligned crops, e.g. ../shared/data/lfw-view1/aligned112
  --floor      a second real set measured against --real, e.g. ../shared/data/celeba-aligned
  --n          images sampled per set (default 1500)
  --reference  ONNX face embedder (default fr_feature.onnx of npm faceplugin-face-recognition-js@0.0.1,
               RGB, (x-127)/128, NCHW 112x112)
  --pairs      LFW-format pairs of the generated set (default DIR/pairs.txt when present)
  --cache      folder for cached features (default out/cache/realism)`;

const fail: (msg: string) => never = exitUsage("realism", USAGE);

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      generated: { type: "string" },
      real: { type: "string" },
      floor: { type: "string" },
      n: { type: "string", default: "1500" },
      reference: { type: "string" },
      pairs: { type: "string" },
      cache: { type: "string", default: "out/cache/realism" },
      seed: { type: "string", default: "0" },
      out: { type: "string" },
    },
  }, fail);
  if (!values.generated) fail("--generated DIR is required");
  if (!values.real) fail("--real DIR is required");
  if (!values.out) fail("--out DIR is required");
  const n = intFlag("--n", values.n, fail, 2);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) fail(`--seed ${values.seed}: expected an integer`);
  const reference = await loadReferenceEmbedder(values.reference);
  const r = await measureRealism({
    generated: values.generated,
    real: values.real,
    floor: values.floor,
    n,
    seed,
    reference,
    pairs: values.pairs,
    cacheDir: values.cache,
    meanImagesFile: `${values.out}/mean_images.png`,
  });
  await reference.dispose?.();
  await writeJsonAtomic(`${values.out}/realism.json`, r);
  const f = (x: number | undefined, d = 3) => (x === undefined ? "–" : x.toFixed(d));
  const idAcc = r.identity_accuracy === undefined ? "–" : f(100 * r.identity_accuracy, 2) + " %";
  console.log(
    `realism: fd ${f(r.fd)} · fd_floor ${f(r.fd_floor)} · fd_ratio ${f(r.fd_ratio, 2)} · ` +
      `identity_accuracy ${idAcc} · mean_image_gap ${f(r.mean_image_gap, 1)} · ` +
      `colour cast sd (r−g) ${f(r.colour.generated.rg_sd, 3)} against ${
        f(r.colour.real.rg_sd, 3)
      } · chroma_detail ${f(r.colour.generated.chroma_detail, 1)} against ${
        f(r.colour.real.chroma_detail, 1)
      } · luma_detail ${f(r.colour.generated.luma_detail, 1)} against ${
        f(r.colour.real.luma_detail, 1)
      } ` +
      `(n ${r.n}; ${values.out}/realism.json, mean_images.png)`,
  );
}

if (import.meta.main) await main(Deno.args);
