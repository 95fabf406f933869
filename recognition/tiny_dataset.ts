/**
 * A tiny, learnable stand-in dataset for tests, smoke runs and the training benchmark: each
 * class is a coloured shape (disc, square, ring, bar, cross) of its own colour on its own
 * background, and each image jitters the shape's position and size and adds pixel noise. Written
 * with `DatasetWriter`, so it is an ordinary `data/` dataset (no generator needed).
 */
import { DatasetWriter } from "../data/dataset.ts";
import { encodePng } from "../data/image.ts";
import { Rng } from "../data/rng.ts";

/** Options of {@link writeTinyDataset}. */
export interface TinyDatasetOptions {
  /** Number of classes (default 6). */
  classes?: number;
  /** Images per class (default 8). */
  perClass?: number;
  /** Image height (default 32). */
  height?: number;
  /** Image width (default 32). */
  width?: number;
  /** Seed of colours, shapes and noise (default 1). */
  seed?: number;
  /** Give every image a soft Identity-Mixup-style label with this partner weight (0 = one-hot). */
  mixWeight?: number;
}

/** Write (or resume) a tiny dataset in `dir`; returns the number of images. */
export async function writeTinyDataset(
  dir: string,
  opts: TinyDatasetOptions = {},
): Promise<number> {
  const { classes = 6, perClass = 8, height = 32, width = 32, seed = 1, mixWeight = 0 } = opts;
  const w = await DatasetWriter.open(dir, {
    kind: "header",
    schema_version: 1,
    image: { height, width, channels: 3 },
    layout: "class_dir",
    generator: "tiny-shapes@1",
    num_classes: classes,
    source: "synthetic",
  });
  const root = Rng.fromSeed(seed);
  for (let c = 0; c < classes; c++) {
    const cr = root.split("class", c);
    const fg = [cr.int(256), cr.int(256), cr.int(256)];
    const bg = [cr.int(256), cr.int(256), cr.int(256)];
    const shape = c % 5;
    for (let k = 0; k < perClass; k++) {
      const path = `${String(c).padStart(4, "0")}/${String(k).padStart(3, "0")}.png`;
      if (w.has(path)) continue;
      const r = root.split("image", c, k);
      const cy = height * (0.5 + r.range(-0.1, 0.1)), cx = width * (0.5 + r.range(-0.1, 0.1));
      const rad = Math.min(height, width) * r.range(0.22, 0.32);
      const data = new Uint8Array(height * width * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const dy = y - cy, dx = x - cx, d = Math.hypot(dx, dy);
          const inside = shape === 0
            ? d < rad
            : shape === 1
            ? Math.abs(dx) < rad && Math.abs(dy) < rad
            : shape === 2
            ? d < rad && d > rad * 0.55
            : shape === 3
            ? Math.abs(dy) < rad * 0.35 && Math.abs(dx) < rad * 1.2
            : (Math.abs(dy) < rad * 0.3 || Math.abs(dx) < rad * 0.3) && d < rad * 1.2;
          const col = inside ? fg : bg;
          for (let ch = 0; ch < 3; ch++) {
            const v = col[ch] + r.range(-20, 20);
            data[(y * width + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)));
          }
        }
      }
      const partner = (c + 1 + (k % (classes - 1))) % classes;
      const label: [number, number][] = mixWeight > 0 && classes > 1
        ? [[c, 1 - mixWeight], [partner, mixWeight]]
        : [[c, 1]];
      await w.write({ path, class: c, label }, encodePng({ channels: 3, height, width, data }));
    }
  }
  await w.close();
  return classes * perClass;
}
