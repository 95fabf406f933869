/**
 * Preview sheets (PNG): identities × variations, an Identity Mixup strip per row (φ = 0 … 1,
 * the paper's Fig. 3), and one sweep per factor (pose, expression, illumination).
 */
import {
  contactSheet,
  encodePng,
  type ImageTensor,
  Rng,
  toRaw,
  writeFileAtomic,
} from "../data/mod.ts";
import { type Generator, type Latents, roleOf, sampleBlock } from "../generator/mod.ts";
import { imageJob, stackLatents } from "./synthesize.ts";

async function render(gen: Generator, rows: Latents[]): Promise<ImageTensor[]> {
  const m = gen.manifest;
  const [h, w] = m.imageSize;
  const out: ImageTensor[] = [];
  for (let s = 0; s < rows.length; s += 16) {
    const part = rows.slice(s, s + 16);
    const jobs = part.map((latents) => ({ identity: 0, index: 0, latents, label: [], meta: {} }));
    const imgs = await gen.generate(stackLatents(m, jobs, 16), 16);
    for (let r = 0; r < part.length; r++) {
      out.push({
        channels: 3,
        height: h,
        width: w,
        data: imgs.slice(r * 3 * h * w, (r + 1) * 3 * h * w),
      });
    }
  }
  return out;
}

async function writeSheet(path: string, images: ImageTensor[], cols: number): Promise<void> {
  const sheet = contactSheet(images, cols, { gap: 2, background: 1 });
  await writeFileAtomic(path, encodePng(toRaw(sheet)));
}

/** Write the preview sheets into `dir`; returns their paths. */
export async function writePreviews(
  gen: Generator,
  dir: string,
  seed: number,
  ids = 8,
  variations = 8,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const m = gen.manifest;
  const o = {
    seed,
    ids: Math.max(2, ids),
    identityMixup: false,
    vary: "all" as const,
    idOffset: 0,
  };
  /** `l` with every factor but identity and noise at its prior mean (frontal, neutral). */
  const neutral = (l: Latents): Latents => {
    for (const b of m.inputs) {
      if (roleOf(b) !== "identity" && roleOf(b) !== "noise") l[b.name] = new Float32Array(b.size);
    }
    return l;
  };
  const paths: string[] = [];
  // identities × variations (first column: every factor at its prior mean, i.e. frontal, neutral)
  const grid: Latents[] = [];
  for (let i = 0; i < ids; i++) {
    for (let k = 0; k < variations; k++) {
      const j = imageJob(m, o, i, k).latents;
      grid.push(k === 0 ? neutral(j) : j);
    }
  }
  paths.push(`${dir}/identities_x_variations.png`);
  await writeSheet(paths.at(-1)!, await render(gen, grid), variations);

  // Identity Mixup strips: identity i → its partner, φ = 1, 0.9, …, 0 (frontal, same factors)
  const strip: Latents[] = [];
  const idBlock = m.inputs.find((b) => roleOf(b) === "identity");
  if (idBlock) {
    for (let i = 0; i + 1 < Math.min(ids, 8); i += 2) {
      const a = imageJob(m, o, i, 0).latents, b = imageJob(m, o, i + 1, 0).latents;
      for (let s = 10; s >= 0; s--) {
        const phi = s / 10;
        const l: Latents = { ...a };
        l[idBlock.name] = a[idBlock.name].map((v, t) => phi * v + (1 - phi) * b[idBlock.name][t]);
        strip.push(neutral(l));
      }
    }
    paths.push(`${dir}/identity_mixup.png`);
    await writeSheet(paths.at(-1)!, await render(gen, strip), 11);
  }

  // one sweep per factor: rows = identities, columns = the factor moving, the rest neutral
  const rng = Rng.fromSeed(seed).split("preview");
  for (const role of ["pose", "expression", "illumination"] as const) {
    const block = m.inputs.find((b) => roleOf(b) === role);
    if (!block) continue;
    const rows: Latents[] = [];
    for (let i = 0; i < 4; i++) {
      const base = imageJob(m, o, i, 0).latents;
      for (let s = 0; s < 9; s++) {
        const l = neutral({ ...base });
        const v = new Float32Array(block.size);
        if (role === "pose") {
          v[0] = -2.25 + (4.5 * s) / 8; // yaw −45° … 45°
          if (block.size > 1) v[1] = i % 2 ? 1.5 * Math.sin(s) : 0;
        } else if (role === "expression") {
          if (s > 0) v[(s - 1) % block.size] = 2; // one blendshape per column
        } else v.set(sampleBlock(block, rng.split(role, s), 1).map((x) => x * 1.5));
        l[block.name] = v;
        rows.push(l);
      }
    }
    paths.push(`${dir}/sweep_${role}.png`);
    await writeSheet(paths.at(-1)!, await render(gen, rows), 9);
  }
  return paths;
}
