/**
 * `deno task bench align [--images N] [--workers W] [--json]`: throughput of `deno task align`'s
 * per-photo work (read, decode, detect, 68 landmarks, warp, JPEG encode, atomic write) on
 * 250×250 photos: LFW View 1 images when ../shared/data is present, else generated faces pasted
 * on 250×250 canvases. Figures: decoding alone (the baseline), one worker, and W workers (default
 * 2), each after a warm-up of 32 photos, worker start-up excluded.
 */
import { parseArgs } from "node:util";
import { decodeRaw, encodeJpeg, type RawImage } from "../data/mod.ts";
import { AlignPool } from "../align/align_pool.ts";
import { decodePhoto, listImages } from "../align/mod.ts";

/** 250×250 grey canvases each holding one generated face (tiles of generator/preview.png). */
function syntheticPhotos(n: number): Uint8Array[] {
  const sheet = decodeRaw(
    Deno.readFileSync(new URL("../generator/preview.png", import.meta.url)),
    "preview.png",
  );
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = i % 8, c = Math.floor(i / 8) % 8;
    const ox = 40 + (i * 7) % 60, oy = 50 + (i * 13) % 50;
    const img: RawImage = {
      channels: 3,
      height: 250,
      width: 250,
      data: new Uint8Array(250 * 250 * 3).fill(128),
    };
    for (let y = 0; y < 112; y++) {
      const src = ((2 + r * 114 + y) * sheet.width + 2 + c * 114) * 3;
      img.data.set(sheet.data.subarray(src, src + 336), ((oy + y) * 250 + ox) * 3);
    }
    out.push(encodeJpeg(img));
  }
  return out;
}

/**
 * Photos each pool aligns before the clock starts. V8 first runs onnxruntime's wasm with its
 * baseline compiler and tiers up in the background, which takes many photos on a busy machine.
 */
const WARM = 32;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      images: { type: "string", default: "96" },
      workers: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
    },
  });
  const n = Number(values.images);
  const workers = Number(values.workers);
  if (!(n > 0 && workers > 0)) {
    console.error("bench align: --images and --workers must be positive integers");
    Deno.exit(2);
  }
  const tmp = await Deno.makeTempDir({ prefix: "synface-bench-align-" });
  try {
    const lfw = new URL("../../shared/data/lfw-view1/images", import.meta.url).pathname;
    let inDir = lfw;
    let files: string[] = [];
    let source = "LFW View 1 images (250×250)";
    try {
      files = (await listImages(lfw)).filter((_, i) => i % 7 === 0).slice(0, n + WARM);
    } catch { /* no shared data */ }
    if (files.length < n + WARM) {
      source = "generated faces on 250×250 canvases";
      inDir = `${tmp}/in`;
      await Deno.mkdir(inDir);
      files = syntheticPhotos(n + WARM).map((bytes, i) => {
        Deno.writeFileSync(`${inDir}/${i}.jpg`, bytes);
        return `${i}.jpg`;
      });
    }
    const [warm, timed] = [files.slice(0, WARM), files.slice(WARM, WARM + n)];
    let t = performance.now();
    for (const f of timed) decodePhoto(await Deno.readFile(`${inDir}/${f}`), f);
    const decode = timed.length / ((performance.now() - t) / 1000);
    console.log(`decode: ${decode.toFixed(1)} images/s (baseline)`);
    const rate = async (w: number, list = timed) => {
      const pool = await AlignPool.create(w, 0.65, "112");
      try {
        const run = async (list: string[], tag: string) => {
          let next = 0;
          const lane = async () => {
            while (next < list.length) {
              const f = list[next++];
              await pool.align(inDir, `${tmp}/out-${tag}/${f}`, f, "");
            }
          };
          await Promise.all(Array.from({ length: w * 2 }, lane));
        };
        await run(warm, `warm${w}`);
        t = performance.now();
        await run(list, `w${w}-${list.length}`);
        return list.length / ((performance.now() - t) / 1000);
      } finally {
        await pool.close();
      }
    };
    // V8 shares compiled wasm across the workers of a process: a throwaway pool pays for the
    // tier-up once, so neither measured pool does.
    await rate(1, warm.concat(warm, warm));
    const many = await rate(workers);
    const one = await rate(1);
    console.log(
      `align, 1 worker: ${one.toFixed(1)} images/s (${(1000 / one).toFixed(1)} ms/image)`,
    );
    console.log(
      `align, ${workers} workers: ${many.toFixed(1)} images/s (${
        (many / one).toFixed(2)
      }× one worker; target ≥ 20 on 2 cores)`,
    );
    if (values.json) {
      console.log(JSON.stringify({
        source,
        images: timed.length,
        workers,
        images_per_s: +many.toFixed(2),
        images_per_s_1_worker: +one.toFixed(2),
        decode_images_per_s: +decode.toFixed(2),
        cores: navigator.hardwareConcurrency,
      }));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
