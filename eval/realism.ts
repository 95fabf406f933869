/**
 * The realism meter: how far a set of generated faces is from real faces, as seen by a face model
 * trained on real photographs. Fréchet distance between the L2-normalised reference-embedder
 * features of `n` generated and `n` real aligned crops, beside the same distance for a second
 * real set (the floor), and the reference's verification accuracy on a generated pairs set; beside
 * them, how far the sets' mean images lie apart (mean_image.ts: where in the crop the renders
 * differ) and the colour statistics of their faces (cast spread, fine colour detail). A meter
 * only: nothing is trained or selected on it.
 */
import {
  type EpChoice,
  listImages,
  readRawImage,
  Rng,
  sha256Hex,
  toTensor,
  writeFileAtomic,
} from "../data/mod.ts";
import { REFERENCE_PACKAGE } from "./deps.ts";
import { type Embedder, l2normalize } from "./embedder.ts";
import { evaluatePairs } from "./evaluate.ts";
import { type FrechetDistance, frechetDistance, gaussianStats } from "./frechet.ts";
import { preprocessImage } from "./images.ts";
import {
  type ColourStats,
  MEAN_IMAGE_SIZE,
  meanImageGap,
  meanImagesPng,
  pixelSummary,
  PixelSummarySum,
} from "./mean_image.ts";
import { createOnnxEmbedder } from "./onnx_embedder.ts";
import { readPairs } from "./pairs.ts";

/** Path of the default reference embedder, `fr_feature.onnx` of the npm package (installed). */
export function defaultReferenceModel(): string {
  return new URL(import.meta.resolve(`${REFERENCE_PACKAGE}/model/fr_feature.onnx`)).pathname;
}

/** {@link defaultReferenceModel} when the npm package is installed there, else undefined. */
export async function installedReferenceModel(): Promise<string | undefined> {
  try {
    const path = defaultReferenceModel();
    return (await Deno.stat(path)).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default reference: `fr_feature.onnx`, RGB, `(x − 127)/128`, NCHW 112×112, on the given
 * execution provider (default `auto`).
 */
export async function loadReferenceEmbedder(
  model: string = defaultReferenceModel(),
  options: { executionProvider?: EpChoice } = {},
): Promise<Embedder> {
  return await createOnnxEmbedder(model, {
    mean: 127,
    std: 128,
    name: model.split("/").pop(),
    ...(options.executionProvider ? { executionProvider: options.executionProvider } : {}),
  });
}

/** A deterministic sample of `n` paths (all when fewer), in path order. */
export function sampleFiles(files: string[], n: number, seed = 0): string[] {
  if (files.length <= n) return [...files];
  return Rng.fromSeed(seed).shuffle([...files]).slice(0, n).sort();
}

/** Options of {@link measureRealism}. */
export interface RealismOptions {
  /** Folder of generated aligned crops (searched recursively). */
  generated: string;
  /** Folder of real aligned crops (e.g. LFW View 1 `aligned112`). */
  real: string;
  /** A second real folder (e.g. `celeba-aligned`) measured against `real`: the floor. */
  floor?: string;
  /** Images per set (default 1500). */
  n?: number;
  /** Reference embedder (default `fr_feature.onnx`). */
  reference?: Embedder;
  /** LFW-format pairs of the generated set for `identity_accuracy` (default `generated/pairs.txt` when present). */
  pairs?: string;
  /** Folder where features are cached by (model, files) so a rerun does not embed again. */
  cacheDir?: string;
  /** Sampling seed (default 0). */
  seed?: number;
  /**
   * Real images to leave out of the sample: paths relative to `real` without the extension
   * (`Name/Name_0001`, as a pairs file names them), e.g. every image of LFW View 2.
   */
  excludeReal?: Set<string>;
  /** Progress on stderr (default true). */
  progress?: boolean;
  /** Where to write the sets' mean images side by side (PNG, {@link meanImagesPng}); none if absent. */
  meanImagesFile?: string;
}

/** The content of `realism.json`. */
export interface RealismResult {
  /** Fréchet distance generated vs real (L2-normalised reference features). */
  fd: number;
  /** Fréchet distance floor vs real (absent without a floor set). */
  fd_floor?: number;
  /** `fd / fd_floor`. */
  fd_ratio?: number;
  /** Reference verification accuracy (synface protocol) on the generated pairs. */
  identity_accuracy?: number;
  /** Mean absolute difference (0–255 levels) of the generated and real sets' mean images. */
  mean_image_gap: number;
  /** The same for the floor set against the real one (absent without a floor set). */
  mean_image_gap_floor?: number;
  /** Colour statistics of each set's face centre (mean_image.ts: cast spread, fine colour detail). */
  colour: { generated: ColourStats; real: ColourStats; floor?: ColourStats };
  /** Images per set. */
  n: number;
  parts: { generated: FrechetDistance; floor?: FrechetDistance };
  sets: { generated: string; real: string; floor?: string; pairs?: string };
  images: { generated: number; real: number; floor?: number };
  reference: string;
  seconds: number;
  note: string;
}

/** L2-normalised features of `files`, cached in `cacheDir` under a hash of model + files + sizes. */
export async function referenceFeatures(
  embedder: Embedder,
  files: string[],
  opts: { cacheDir?: string; label?: string; progress?: boolean } = {},
): Promise<Float32Array[]> {
  return (await embedSet(embedder, files, opts, false)).features;
}

/** A set's pixel summary: its mean image and colour statistics (mean_image.ts). */
type PixelSummary = { mean: Float32Array<ArrayBufferLike>; colour: ColourStats };
const COLOUR_KEYS = [
  "rg_mean",
  "rg_sd",
  "bg_mean",
  "bg_sd",
  "chroma_detail",
  "luma_detail",
] as const;
const MEAN_LENGTH = 3 * MEAN_IMAGE_SIZE * MEAN_IMAGE_SIZE;

/**
 * Features of `files` and, with `withPixels`, their pixel summary, from one decode of each file;
 * both cached in `cacheDir` (`<key>.f32`; `<key>.pixels.f32`: the mean image, then the colour
 * statistics in {@link COLOUR_KEYS} order).
 */
async function embedSet(
  embedder: Embedder,
  files: string[],
  opts: { cacheDir?: string; label?: string; progress?: boolean },
  withPixels: boolean,
): Promise<{ features: Float32Array[]; pixels?: PixelSummary }> {
  const { inputHeight: h, inputWidth: w } = embedder.info;
  let cacheFile: string | undefined;
  if (opts.cacheDir) {
    const key = JSON.stringify([embedder.info, files.map((f) => [f, Deno.statSync(f).size])]);
    cacheFile = `${opts.cacheDir}/${(await sha256Hex(key)).slice(0, 24)}.f32`;
  }
  const pixelsFile = cacheFile?.replace(/\.f32$/, ".pixels.f32");
  const cachedFeatures = cacheFile ? await readF32(cacheFile) : undefined;
  const cachedPixels = withPixels && pixelsFile ? await readF32(pixelsFile) : undefined;
  let pixels: PixelSummary | undefined = cachedPixels?.length === MEAN_LENGTH + COLOUR_KEYS.length
    ? {
      mean: cachedPixels.slice(0, MEAN_LENGTH),
      colour: Object.fromEntries(
        COLOUR_KEYS.map((k, i) => [k, cachedPixels[MEAN_LENGTH + i]]),
      ) as unknown as ColourStats,
    }
    : undefined;
  const savePixels = async (p: PixelSummary) => {
    if (!pixelsFile) return;
    const flat = new Float32Array(MEAN_LENGTH + COLOUR_KEYS.length);
    flat.set(p.mean);
    COLOUR_KEYS.forEach((k, i) => flat[MEAN_LENGTH + i] = p.colour[k]);
    await writeFileAtomic(pixelsFile, new Uint8Array(flat.buffer));
  };
  const d = cachedFeatures ? cachedFeatures.length / files.length : 0;
  if (cachedFeatures && Number.isInteger(d) && d > 0) {
    const features = files.map((_, i) => cachedFeatures.slice(i * d, (i + 1) * d));
    if (withPixels && !pixels) await savePixels(pixels = await pixelSummary(files));
    return { features, pixels };
  }
  const out: Float32Array[] = [];
  const sum = withPixels ? new PixelSummarySum() : undefined;
  const t0 = performance.now();
  let last = t0;
  const batch = 32;
  for (let i = 0; i < files.length; i += batch) {
    const imgs = await Promise.all(
      files.slice(i, i + batch).map(async (f) => {
        const raw = await readRawImage(f);
        return { raw, tensor: preprocessImage(toTensor(raw), h, w, "auto", f), file: f };
      }),
    );
    // in file order, so the colour statistics' sums do not depend on which decode ends first
    for (const im of imgs) sum?.add(im.raw, im.file);
    for (const e of await embedder.embed(imgs.map((im) => im.tensor))) out.push(l2normalize(e));
    const now = performance.now();
    if (opts.progress !== false && (now - last > 2000 || out.length === files.length)) {
      last = now;
      const rate = out.length / ((now - t0) / 1000);
      const eta = Math.round((files.length - out.length) / rate);
      console.error(
        `realism: ${opts.label ?? "embedding"} ${out.length}/${files.length} ` +
          `(${rate.toFixed(1)} images/s, ETA ${eta} s)`,
      );
    }
  }
  pixels = sum?.summary();
  if (cacheFile) {
    const flat = new Float32Array(out.length * out[0].length);
    out.forEach((v, i) => flat.set(v, i * v.length));
    await writeFileAtomic(cacheFile, new Uint8Array(flat.buffer));
    if (pixels) await savePixels(pixels);
  }
  return { features: out, pixels };
}

/** A cached Float32 file, or undefined where there is none yet. */
async function readF32(file: string): Promise<Float32Array | undefined> {
  try {
    const bytes = await Deno.readFile(file);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Measure a generated set against real faces (see the module comment). */
export async function measureRealism(o: RealismOptions): Promise<RealismResult> {
  const t0 = performance.now();
  const n = o.n ?? 1500, seed = o.seed ?? 0;
  const reference = o.reference ?? await loadReferenceEmbedder();
  const feats = async (dir: string, label: string, exclude?: Set<string>) => {
    const root = dir.replace(/\/+$/, "");
    const all = (await listImages(root)).filter((f) => !exclude?.has(f.replace(/\.[^./]+$/, "")))
      .map((f) => `${root}/${f}`);
    if (all.length < 2) {
      throw new Error(`${dir}: expected aligned face images, found ${all.length}`);
    }
    const files = sampleFiles(all, n, seed);
    const set = await embedSet(
      reference,
      files,
      { cacheDir: o.cacheDir, label, progress: o.progress },
      true,
    );
    const f = set.features;
    return {
      stats: gaussianStats(f, f[0].length),
      count: files.length,
      mean: set.pixels!.mean,
      colour: set.pixels!.colour,
    };
  };
  const real = await feats(o.real, "real", o.excludeReal);
  const gen = await feats(o.generated, "generated");
  const partsGen = frechetDistance(gen.stats, real.stats);
  let floor: Awaited<ReturnType<typeof feats>> | undefined;
  let partsFloor: FrechetDistance | undefined;
  if (o.floor) {
    floor = await feats(o.floor, "floor");
    partsFloor = frechetDistance(floor.stats, real.stats);
  }
  if (o.progress !== false) {
    const floor = partsFloor ? `, fd_floor ${partsFloor.fd.toFixed(4)}` : "";
    console.error(
      `realism: fd ${partsGen.fd.toFixed(4)}${floor} (identity accuracy next, if pairs)`,
    );
  }
  let pairsFile = o.pairs;
  if (pairsFile === undefined) {
    const p = `${o.generated.replace(/\/+$/, "")}/pairs.txt`;
    try {
      if (Deno.statSync(p).isFile) pairsFile = p;
    } catch { /* no pairs: no identity accuracy */ }
  }
  let identityAccuracy: number | undefined;
  if (pairsFile) {
    const ev = await evaluatePairs({
      embedder: reference,
      pairs: await readPairs(pairsFile),
      imagesDir: o.generated,
      protocols: ["synface"],
      progress: o.progress === false ? false : undefined,
    });
    identityAccuracy = ev.results.synface!.accuracy;
  }
  if (!o.reference) await reference.dispose?.();
  if (o.meanImagesFile) {
    await writeFileAtomic(o.meanImagesFile, meanImagesPng(gen.mean, real.mean, floor?.mean));
  }
  return {
    fd: partsGen.fd,
    ...(partsFloor ? { fd_floor: partsFloor.fd, fd_ratio: partsGen.fd / partsFloor.fd } : {}),
    ...(identityAccuracy !== undefined ? { identity_accuracy: identityAccuracy } : {}),
    mean_image_gap: meanImageGap(gen.mean, real.mean),
    ...(floor ? { mean_image_gap_floor: meanImageGap(floor.mean, real.mean) } : {}),
    colour: { generated: gen.colour, real: real.colour, ...(floor ? { floor: floor.colour } : {}) },
    n,
    parts: { generated: partsGen, ...(partsFloor ? { floor: partsFloor } : {}) },
    sets: {
      generated: o.generated,
      real: o.real,
      ...(o.floor ? { floor: o.floor } : {}),
      ...(pairsFile ? { pairs: pairsFile } : {}),
    },
    images: { generated: gen.count, real: real.count, ...(floor ? { floor: floor.count } : {}) },
    reference: reference.info.name,
    seconds: (performance.now() - t0) / 1000,
    note:
      "Fréchet distance between L2-normalised reference-embedder features (a meter only: never used to train or choose a model); identity_accuracy: synface protocol on the generated pairs; mean_image_gap: mean absolute difference of the sets' mean images (0–255); colour: per set, the face centre's chromaticity (r − g, b − g over the mean level) mean and spread over images, chroma_detail and luma_detail, the mean |Laplacian| of r − g and of the luminance (0–255)",
  };
}
