/**
 * `deno task build-generator [--out DIR] [--faces DIR [--align-csv FILE | --landmarks FILE] [--components 200]
 * [--resolution 96] [--max-images 6000]]`: build the embedded generators (face.onnx +
 * generator.json: learned appearance, the default; procedural.onnx + procedural.json: painted
 * albedo, for comparison) into generator/model/ (or DIR). With `--faces`, first learn the
 * appearance model (`appearance.bin`) from a folder of face crops aligned to the ArcFace 112×112
 * template (`DIR/align.csv`, when present, filters them: status ok, score, near-frontal).
 * Deterministic: same photos → same bytes. Writes are atomic.
 */
import { exitUsage, intFlag, parseCliArgs, writeFileAtomic, writeJsonAtomic } from "../data/mod.ts";
import {
  buildEmbedded,
  decodeAppearance,
  EMBEDDED_MANIFESTS,
  type EmbeddedKind,
  encodeAppearance,
} from "../generator/mod.ts";
import { appearanceFacesCsv, chooseFaces, fitAppearance } from "./appearance_fit.ts";

const USAGE =
  `usage: deno task build-generator [--out DIR] [--faces DIR [--align-csv FILE | --landmarks FILE] [--components 200]
  [--resolution 96] [--max-images 6000] [--shape-components 40] [--source TEXT]]

  --faces       folder of face crops aligned to the ArcFace 112x112 template (recursive); learns
                appearance.bin from them (PCA, ~1-3 min on 2 cores) before building
  --align-csv   alignment log to filter the aligned crops by (default: DIR/align.csv when present)
  --landmarks   alignment log (deno task align: path, score, 5 points in source pixels, status) of
                the raw photos in --faces: align them here (edges continued), filtered by it; where
                it also has the 68 landmarks (p0x,p0y,…), each photo is warped onto their mean
                shape first (shape-free textures) and their PCA becomes the identity's shape
  --shape-components  components of that shape model (default 40; 0: 5-point alignment only)`;

const fail: (msg: string) => never = exitUsage("build-generator", USAGE);

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs({
    args,
    options: {
      out: { type: "string" },
      faces: { type: "string" },
      "align-csv": { type: "string" },
      landmarks: { type: "string" },
      components: { type: "string" },
      resolution: { type: "string" },
      "max-images": { type: "string" },
      "shape-components": { type: "string" },
      source: { type: "string" },
    },
  }, fail);
  const modelDir = new URL("../generator/model/", import.meta.url);
  // --out relative to the working directory, as a folder URL (trailing slash)
  const out = values.out
    ? new URL(values.out.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`)
    : modelDir;
  await Deno.mkdir(out, { recursive: true });
  const t0 = performance.now();
  let appearance;
  if (values.faces) {
    const dir = values.faces.replace(/\/+$/, "");
    let alignCsv = values.landmarks ?? values["align-csv"];
    if (alignCsv === undefined) {
      try {
        if (Deno.statSync(`${dir}/align.csv`).isFile) alignCsv = `${dir}/align.csv`;
      } catch { /* no log: every crop is used */ }
    }
    const fit = {
      dir,
      alignCsv,
      landmarks: values.landmarks !== undefined,
      components: intFlag("--components", values.components, fail),
      resolution: intFlag("--resolution", values.resolution, fail, 8),
      maxImages: intFlag("--max-images", values["max-images"], fail, 2),
      shapeComponents: intFlag("--shape-components", values["shape-components"], fail, 0),
      source: values.source ?? dir.split("/").pop(),
    };
    appearance = await fitAppearance(fit);
    if (fit.landmarks) {
      // which photos and points: rebuilds the same bytes with --landmarks this file
      await writeFileAtomic(
        new URL("appearance_faces.csv", out),
        appearanceFacesCsv(await chooseFaces(fit)),
      );
    }
    const bytes = encodeAppearance(appearance);
    await writeFileAtomic(new URL("appearance.bin", out), bytes);
    appearance = decodeAppearance(bytes); // build from what was stored (float16), as a load would
  } else if (out.href !== modelDir.href) {
    const bytes = await Deno.readFile(new URL("appearance.bin", modelDir));
    await writeFileAtomic(new URL("appearance.bin", out), bytes);
  }
  for (const kind of ["learned", "procedural"] as EmbeddedKind[]) {
    const { onnx, manifest } = await buildEmbedded(
      modelDir,
      kind,
      kind === "learned" ? appearance : undefined,
    );
    await writeFileAtomic(new URL(manifest.model, out), onnx);
    await writeJsonAtomic(new URL(EMBEDDED_MANIFESTS[kind], out), manifest);
    const path = new URL(manifest.model, out).pathname, mb = (onnx.length / 1e6).toFixed(2);
    console.error(`build-generator: wrote ${path} (${mb} MB) and ${EMBEDDED_MANIFESTS[kind]}`);
  }
  console.error(`build-generator: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (import.meta.main) await main(Deno.args);
