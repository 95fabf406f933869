/**
 * `deno task bench align [--images N] [--workers W] [--json]`: throughput of `deno task align`'s
 * per-photo work (read, decode, detect, 68 landmarks, warp, JPEG encode, atomic write) on
 * 250×250 photos: LFW View 1 images when ../shared/data is present, else generated faces pasted
 * on 250×250 canvases. Figures, side by side in one run: decoding alone (the baseline); on
 * `wasm`, one worker and W workers (default 2); on `node` (where onnxruntime-node loads), one
 * worker, W one-thread workers (the default) and one W-thread worker; the node/wasm ratio at W.
 * Each after a warm-up of 32 photos, worker start-up excluded.
 */
import { parseArgs } from "node:util";
import {
  decodeRaw,
  encodeJpeg,
  type Ep,
  listImages,
  nodeAvailable,
  type RawImage,
} from "../data/mod.ts";
import { AlignPool, decodePhoto } from "../align/mod.ts";

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
  const n = Number(values.images), workers = Number(values.workers);
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
    const rate = async (ep: Ep, w: number, threads = 1, list = timed) => {
      const pool = await AlignPool.create(w, 0.65, "112", { ep, threads });
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
        await run(warm, `warm-${ep}-${w}-${threads}`);
        t = performance.now();
        await run(list, `${ep}-${w}-${threads}-${list.length}`);
        return list.length / ((performance.now() - t) / 1000);
      } finally {
        await pool.close();
      }
    };
    const line = (label: string, r: number, base?: number) =>
      console.log(
        `${label}: ${r.toFixed(1)} images/s (${(1000 / r).toFixed(1)} ms/image` +
          `${base ? `, ${(r / base).toFixed(2)}× wasm` : ""})`,
      );
    // V8 shares compiled wasm across the workers of a process: a throwaway pool pays for the
    // tier-up once, so neither measured pool does.
    await rate("wasm", 1, 1, warm.concat(warm, warm));
    const many = await rate("wasm", workers), one = await rate("wasm", 1);
    line("wasm, 1 worker", one);
    line(`wasm, ${workers} workers`, many);
    const node = await nodeAvailable();
    let nodeRates: { one: number; many: number; threaded: number } | undefined;
    if (node.available) {
      nodeRates = {
        many: await rate("node", workers),
        threaded: await rate("node", 1, workers),
        one: await rate("node", 1),
      };
      line("node, 1 worker", nodeRates.one, one);
      line(`node, ${workers} one-thread workers (default)`, nodeRates.many, many);
      line(`node, 1 worker of ${workers} threads`, nodeRates.threaded, many);
      console.log(
        `node/wasm at ${workers} workers: ${(nodeRates.many / many).toFixed(2)}× (target ≥ 2)`,
      );
    } else console.log(`node: skipped (${node.reason})`);
    if (values.json) {
      const r2 = (x: number) => +x.toFixed(2);
      console.log(JSON.stringify({
        source,
        images: timed.length,
        workers,
        wasm: { images_per_s: r2(many), images_per_s_1_worker: r2(one) },
        node: nodeRates
          ? {
            images_per_s: r2(nodeRates.many),
            images_per_s_1_worker: r2(nodeRates.one),
            images_per_s_1_worker_threads: r2(nodeRates.threaded),
          }
          : { skipped: node.reason },
        node_over_wasm: nodeRates ? r2(nodeRates.many / many) : null,
        decode_images_per_s: r2(decode),
        cores: navigator.hardwareConcurrency,
      }));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
