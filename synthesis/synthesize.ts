/**
 * Dataset synthesis: drive a generator over identities × images and write a `data/` dataset,
 * optionally with Identity Mixup, a factor study (`vary`) and a long-tail profile.
 *
 * Determinism: every latent of image k of identity i is drawn from `Rng.fromSeed(seed).split(…)`
 * keyed by (i, k), and an image's pixels do not depend on its batch (size, position, mates), so
 * the bytes do not depend on shards, workers or resumes. Work is cut into chunks of
 * {@link CHUNK} consecutive images of the global (identity-major) order.
 * Shard s/n renders the chunks c with c mod n = s−1; a resumed run skips chunks already written.
 */
import {
  type DatasetHeader,
  DatasetWriter,
  encodePng,
  type RawImage,
  Rng,
  type Shard,
} from "../data/mod.ts";
import {
  cropWidth,
  type EpChoice,
  FaceGenerator,
  type Generator,
  type GeneratorManifest,
  GeneratorPool,
  type Latents,
  resolveEp,
  roleOf,
  sampleBlock,
} from "../generator/mod.ts";
import {
  drawMixup,
  mixCoefficients,
  MIXUP_BLENDS,
  type MixupBlend,
  mixupLabel,
} from "../mixup/mod.ts";

/**
 * Images per generator call and unit of sharding/resume. An image's pixels do not depend on the
 * batch it is rendered in (tested), so this is scheduling only; 32 runs ~20 % faster than 16.
 */
export const CHUNK = 32;
/** What changes within an identity (the paper's factor study); the rest is fixed per identity. */
export type Vary = "all" | "none" | "expression" | "pose" | "illumination";
/** Images-per-identity profile. */
export type LongTail = "balanced" | "ub1" | "ub2";
/** Output crop. */
export type SizeOption = "112" | "112x96";

/**
 * Images per identity for a profile, same total `ids × perId` for all profiles:
 * `balanced` = perId each; `ub1` = the first half of the identities 1.5·perId, the rest
 * 0.5·perId; `ub2` = the first 10 % 5.5·perId, the rest 0.5·perId (counts rounded, at least 1,
 * the rounding remainder added to/taken from the first identities so the total is exact).
 * 2000 × 50: ub1 = 1000 × 75 + 1000 × 25, ub2 = 200 × 275 + 1800 × 25 (all 100 000 images).
 */
export function longTailCounts(profile: LongTail, ids: number, perId: number): number[] {
  const head = profile === "ub1" ? Math.ceil(ids / 2) : profile === "ub2" ? Math.ceil(ids / 10) : 0;
  const [hi, lo] = profile === "ub1" ? [1.5, 0.5] : profile === "ub2" ? [5.5, 0.5] : [1, 1];
  const counts = Array.from(
    { length: ids },
    (_, i) => Math.max(1, Math.round((i < head ? hi : lo) * perId)),
  );
  let diff = ids * perId - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; diff !== 0 && ids > 0; i = (i + 1) % ids) {
    if (diff > 0) {
      counts[i]++;
      diff--;
    } else if (counts[i] > 1) {
      counts[i]--;
      diff++;
    }
  }
  return counts;
}

/** Options of {@link synthesize}. */
export interface SynthesizeOptions {
  /** Output dataset folder. */
  out: string;
  ids: number;
  perId: number;
  seed: number;
  size?: SizeOption;
  shard?: Shard;
  identityMixup?: boolean;
  /**
   * IM strength: φ is drawn from the grid values ≥ phiMin (default 0 = the paper's full grid;
   * 0.5 = mild). Only meaningful with `identityMixup`; recorded in the header config when > 0.
   */
  phiMin?: number;
  /**
   * How identities are blended (default `linear`, the paper's); recorded in the header config
   * only when not linear.
   */
  imBlend?: MixupBlend;
  vary?: Vary;
  longTail?: LongTail;
  /** Generator manifest (default: the embedded model). */
  model?: string | URL;
  /** Worker count for the wasm pool; 0 = one in-process wasm session. */
  workers?: number;
  /** Intra-op threads of the `node` EP (default: one per core). */
  threads?: number;
  /**
   * Execution provider (default `auto`); the one used is recorded in the header config as `ep`
   * unless it is `wasm` (absent = wasm, as in datasets made before EPs were recorded).
   */
  ep?: EpChoice;
  /** Identities are numbered from `idOffset` in the random streams (held-out sets use 10⁹). */
  idOffset?: number;
  /** Class directory/file naming prefix (default "id"). */
  prefix?: string;
  /** An already open generator (tests, previews); not closed here. */
  generator?: Generator;
  /** Progress lines to stderr (default true). */
  progress?: boolean;
}

/** What a run did. */
export interface SynthesizeResult {
  written: number;
  skipped: number;
  total: number;
  seconds: number;
}

/** Class directory name of identity i. */
export function className(i: number, prefix = "id"): string {
  return `${prefix}${String(i).padStart(6, "0")}`;
}

/** Relative path of image k (0-based) of identity i: LFW-style `<cls>/<cls>_NNNN.png` (1-based). */
export function imagePath(i: number, k: number, prefix = "id"): string {
  const c = className(i, prefix);
  return `${c}/${c}_${String(k + 1).padStart(4, "0")}.png`;
}

/** One image to render: its identity, index and latents. */
export interface ImageJob {
  identity: number;
  index: number;
  latents: Latents;
  label: [number, number][];
  meta: Record<string, unknown>;
}

/** The latents, label and provenance of image k of identity i (pure function of the inputs). */
export function imageJob(
  manifest: GeneratorManifest,
  o: {
    seed: number;
    ids: number;
    identityMixup: boolean;
    vary: Vary;
    idOffset: number;
    phiMin?: number;
    imBlend?: MixupBlend;
  },
  i: number,
  k: number,
): ImageJob {
  const root = Rng.fromSeed(o.seed);
  const g = o.idOffset + i;
  const latents: Latents = {};
  const meta: Record<string, unknown> = { seed: o.seed, identity: i, index: k, vary: o.vary };
  let label: [number, number][] = [[i, 1]];
  for (const b of manifest.inputs) {
    const role = roleOf(b);
    if (role === "identity") {
      const own = sampleBlock(b, root.split("identity", g, b.name));
      if (o.identityMixup) {
        const { partner, phi } = drawMixup(
          root.split("mixup", g, k),
          i,
          o.ids,
          o.phiMin ?? 0,
        );
        const other = sampleBlock(b, root.split("identity", o.idOffset + partner, b.name));
        latents[b.name] = mixCoefficients(own, other, phi, o.imBlend ?? "linear");
        label = mixupLabel(i, partner, phi);
        meta.partner = partner;
        meta.phi = phi;
      } else latents[b.name] = own;
    } else {
      const varies = o.vary === "all" || o.vary === role;
      latents[b.name] = sampleBlock(
        b,
        varies ? root.split("image", g, k, b.name) : root.split("fixed", g, b.name),
      );
    }
  }
  return { identity: i, index: k, latents, label, meta };
}

/** Stack jobs' latents into batch tensors (padding to `n` rows with zeros). */
export function stackLatents(
  manifest: GeneratorManifest,
  jobs: ImageJob[],
  n = jobs.length,
): Latents {
  const out: Latents = {};
  for (const b of manifest.inputs) {
    const t = new Float32Array(n * b.size);
    jobs.forEach((j, r) => t.set(j.latents[b.name], r * b.size));
    out[b.name] = t;
  }
  return out;
}

/** NCHW [-1,1] image r of a batch → 8-bit RGB (`round((x+1)/2·255)`). */
export function toRawImage(images: Float32Array, r: number, h: number, w: number): RawImage {
  const hw = h * w;
  const data = new Uint8Array(hw * 3);
  const base = r * 3 * hw;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = Math.round((images[base + ch * hw + p] + 1) * 127.5);
      data[p * 3 + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { channels: 3, height: h, width: w, data };
}

/**
 * Open the generator an options object asks for: the EP resolved (`auto`: hardware WebGPU, else
 * native `node`, else `wasm`). On `wasm`, and on `node` unless `threads` is given, a pool of
 * `workers` one-thread workers (0 = one in-process session); else one in-process session (`node`
 * with `threads` intra-op threads, or WebGPU). On the idle 2-core VM (`deno task bench
 * generator`, learned model, batch 32) two one-thread node workers made 689 images/s, one node
 * session 498 (1 thread) and 423 (2 threads), the wasm pool 333.
 */
export async function openGenerator(
  o: { model?: string | URL; workers?: number; threads?: number; ep?: EpChoice },
): Promise<Generator> {
  const ep = await resolveEp(o.ep ?? "auto");
  const workers = o.workers ?? (navigator.hardwareConcurrency || 1);
  const pooled = ep === "wasm" || (ep === "node" && o.threads === undefined);
  if (pooled && workers > 0) return await GeneratorPool.create(o.model, workers, ep);
  return await FaceGenerator.load(o.model, { ep, threads: o.threads });
}

/** Render and write a dataset (see the module doc for determinism, shards and resume). */
export async function synthesize(opts: SynthesizeOptions): Promise<SynthesizeResult> {
  const t0 = performance.now();
  const o = {
    seed: opts.seed,
    ids: opts.ids,
    identityMixup: opts.identityMixup ?? false,
    vary: opts.vary ?? "all",
    idOffset: opts.idOffset ?? 0,
    phiMin: opts.phiMin ?? 0,
    imBlend: opts.imBlend ?? "linear",
  };
  const size = opts.size ?? "112";
  const longTail = opts.longTail ?? "balanced";
  const prefix = opts.prefix ?? "id";
  if (!(Number.isSafeInteger(opts.ids) && opts.ids >= 1)) {
    throw new RangeError(`--ids ${opts.ids}: expected an integer ≥ 1`);
  }
  if (!(Number.isSafeInteger(opts.perId) && opts.perId >= 1)) {
    throw new RangeError(`--per-id ${opts.perId}: expected an integer ≥ 1`);
  }
  if (o.identityMixup && opts.ids < 2) throw new RangeError("--identity-mixup needs --ids ≥ 2");
  if (typeof o.phiMin !== "number" || !(o.phiMin >= 0 && o.phiMin <= 1)) {
    throw new RangeError(`--im-phi-min ${o.phiMin}: expected a number in [0, 1]`);
  }
  if (o.phiMin > 0 && !o.identityMixup) {
    throw new RangeError(`--im-phi-min ${o.phiMin} needs --identity-mixup`);
  }
  if (!MIXUP_BLENDS.includes(o.imBlend)) {
    throw new RangeError(`--im-blend ${o.imBlend}: expected ${MIXUP_BLENDS.join(" or ")}`);
  }
  if (o.imBlend !== "linear" && !o.identityMixup) {
    throw new RangeError(`--im-blend ${o.imBlend} needs --identity-mixup`);
  }
  if (opts.shard && !(opts.shard.index >= 1 && opts.shard.index <= opts.shard.count)) {
    throw new RangeError(`--shard ${opts.shard.index}/${opts.shard.count}: expected 1 ≤ i ≤ n`);
  }
  const gen = opts.generator ?? await openGenerator(opts);
  try {
    const m = gen.manifest;
    const [h, w] = m.imageSize;
    const outW = size === "112x96" ? 96 : w;
    if (size === "112x96" && (h !== 112 || w !== 112)) {
      throw new Error(`--size 112x96 crops 112×112 outputs; ${m.id} makes ${h}×${w}`);
    }
    const counts = longTailCounts(longTail, opts.ids, opts.perId);
    const header: DatasetHeader = {
      kind: "header",
      schema_version: 1,
      image: { height: h, width: outW, channels: 3 },
      layout: "class_dir",
      generator: m.id,
      num_classes: opts.ids,
      source: "synthetic",
      config: {
        seed: o.seed,
        ids: opts.ids,
        per_id: opts.perId,
        long_tail: longTail,
        identity_mixup: o.identityMixup,
        vary: o.vary,
        size,
        id_offset: o.idOffset,
        prefix,
        // only when set, so default datasets keep their header (and resume) unchanged
        ...(o.phiMin > 0 ? { im_phi_min: o.phiMin } : {}),
        ...(o.imBlend !== "linear" ? { im_blend: o.imBlend } : {}),
        // native kernels round differently from wasm: the EP is part of the dataset's identity
        ...(gen.ep !== "wasm" ? { ep: gen.ep } : {}),
      },
    };
    // One blank render first: a model whose output does not match the manifest (e.g. a wrong
    // imageSize) fails here, before the dataset header or .tmp/ is written into --out.
    await gen.generate(
      Object.fromEntries(m.inputs.map((b) => [b.name, new Float32Array(b.size)])),
      1,
    );
    const writer = await DatasetWriter.open(
      opts.out,
      header,
      opts.shard ? { shard: opts.shard } : {},
    );
    // global identity-major order, cut into fixed chunks
    const order: [number, number][] = [];
    counts.forEach((c, i) => {
      for (let k = 0; k < c; k++) order.push([i, k]);
    });
    const chunks: [number, number][][] = [];
    for (let c = 0; c * CHUNK < order.length; c++) {
      if (opts.shard && c % opts.shard.count !== opts.shard.index - 1) continue;
      chunks.push(order.slice(c * CHUNK, (c + 1) * CHUNK));
    }
    const mine = chunks.reduce((s, c) => s + c.length, 0);
    const todo = chunks.filter((c) => c.some(([i, k]) => !writer.has(imagePath(i, k, prefix))));
    const skipped = mine - todo.reduce((s, c) => s + c.length, 0);
    let written = 0;
    const progress = opts.progress ?? true;
    let lastLog = 0;
    const tStart = performance.now();
    const log = (force = false) => {
      const now = performance.now();
      if (!progress || (!force && now - lastLog < 2000)) return;
      lastLog = now;
      const rate = written / Math.max(1e-9, (now - tStart) / 1000);
      const left = mine - skipped - written;
      console.error(
        `generate: ${skipped + written}/${mine} images, ${rate.toFixed(1)} img/s, ETA ${
          rate > 0 ? Math.ceil(left / rate) : "?"
        } s`,
      );
    };
    const inFlight = gen instanceof GeneratorPool ? gen.size + 1 : 1;
    let next = 0;
    const runChunk = async (chunk: [number, number][]) => {
      const jobs = chunk.map(([i, k]) => imageJob(m, o, i, k));
      let images = await gen.generate(stackLatents(m, jobs), jobs.length);
      if (outW !== w) images = cropWidth(images, jobs.length, h, w, outW);
      for (let r = 0; r < jobs.length; r++) {
        const j = jobs[r];
        const path = imagePath(j.identity, j.index, prefix);
        if (writer.has(path)) continue;
        await writer.write(
          { path, class: j.identity, label: j.label, latent: j.meta },
          encodePng(toRawImage(images, r, h, outW)),
        );
        written++;
      }
      log();
    };
    const lanes = Array.from({ length: inFlight }, async () => {
      while (next < todo.length) await runChunk(todo[next++]);
    });
    await Promise.all(lanes);
    await writer.close();
    log(true);
    return {
      written,
      skipped: mine - written,
      total: mine,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    if (!opts.generator) await gen.close();
  }
}
