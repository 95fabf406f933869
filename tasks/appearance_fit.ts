/**
 * Learn the generator's appearance model (`generator/appearance.ts`) from a folder of real face
 * crops aligned to the ArcFace 112×112 template: keep well-detected near-frontal faces (when an
 * `align.csv` log is given), sample each on the R×R texture grid, and fit a K-component PCA by a
 * randomised SVD (Halko et al. 2011) whose large products run on the recogniser's CPU GEMM
 * (WebAssembly SIMD, one thread: the same photos give the same bytes).
 */
import { readImage, Rng } from "../data/mod.ts";
import { resize } from "../data/mod.ts";
import { eigSymmetric, listImageFiles } from "../eval/mod.ts";
import type { AppearanceModel } from "../generator/appearance.ts";
import { autodiff as ag } from "../recognition/mod.ts";
import { z } from "zod";

/** Options of {@link fitAppearance}. */
export interface FitAppearanceOptions {
  /** Folder of aligned 112×112 crops (recursive). */
  dir: string;
  /** Optional alignment log (`path,…,score,…,l0x,l0y,…,l4x,l4y,status,…`) used to filter. */
  alignCsv?: string;
  /** Texture grid side (default 80). */
  resolution?: number;
  /** Components (default 200). */
  components?: number;
  /** At most this many photos (a seeded sample; default 6000). */
  maxImages?: number;
  /** Minimum detection score (default 0.9) and maximum yaw proxy (default 0.12). */
  minScore?: number;
  maxYaw?: number;
  /** Provenance text for the header. */
  source?: string;
  progress?: boolean;
}

const rowSchema = z.object({
  path: z.string().min(1),
  score: z.coerce.number(),
  status: z.string(),
  l0x: z.coerce.number(),
  l0y: z.coerce.number(),
  l1x: z.coerce.number(),
  l1y: z.coerce.number(),
  l2x: z.coerce.number(),
  l2y: z.coerce.number(),
  l3x: z.coerce.number(),
  l4x: z.coerce.number(),
});

/**
 * Yaw proxy of 5 source landmarks: the nose tip's offset from the eye midpoint along the eye
 * axis, over the eye distance (0 frontal; ~0.1 at 15°).
 */
export function yawProxy(r: z.infer<typeof rowSchema>): number {
  const ex = r.l1x - r.l0x, ey = r.l1y - r.l0y;
  const d2 = ex * ex + ey * ey;
  const mx = (r.l0x + r.l1x) / 2, my = (r.l0y + r.l1y) / 2;
  return Math.abs(((r.l2x - mx) * ex + (r.l2y - my) * ey) / d2);
}

/** Which crops of `dir` to learn from (relative paths), per the alignment log's quality. */
export async function selectFaces(o: FitAppearanceOptions): Promise<string[]> {
  const root = o.dir.replace(/\/+$/, "");
  const all = (await listImageFiles(root)).map((p) => p.slice(root.length + 1));
  if (!o.alignCsv) return all;
  const text = await Deno.readTextFile(o.alignCsv);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const head = lines[0].split(",");
  const keep = new Set<string>();
  const have = new Set(all);
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(",");
    const rec = Object.fromEntries(head.map((h, k) => [h, cells[k]]));
    const r = rowSchema.safeParse(rec);
    if (!r.success) {
      const is = r.error.issues[0];
      throw new Error(`${o.alignCsv}:${i + 1}: field "${is.path.join(".")}": ${is.message}`);
    }
    const row = r.data;
    if (row.status !== "ok" || row.score < (o.minScore ?? 0.9)) continue;
    if (yawProxy(row) > (o.maxYaw ?? 0.12)) continue;
    const rel = have.has(row.path) ? row.path : all.find((p) => p.endsWith("/" + row.path));
    if (rel) keep.add(rel);
  }
  return all.filter((p) => keep.has(p));
}

async function hashFiles(root: string, files: string[]): Promise<string> {
  const text = files.map((f) => `${f}\t${Deno.statSync(`${root}/${f}`).size}`).join("\n");
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Orthonormal basis of the columns of `y` ([rows, cols] row-major) by Cholesky-free eigen-QR. */
function orthonormalize(y: Float32Array, rows: number, cols: number): Float32Array {
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const yi = y[o + i];
      for (let j = 0; j <= i; j++) g[i * cols + j] += yi * y[o + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[j * cols + i] = g[i * cols + j];
  const { values, vectors } = eigSymmetric(g, cols);
  // Q = Y V Λ^-½ (columns with tiny eigenvalues dropped to zero)
  const m = new Float64Array(cols * cols);
  const top = values[cols - 1];
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) {
      const l = values[j];
      m[i * cols + j] = l > top * 1e-10 ? vectors[i * cols + j] / Math.sqrt(l) : 0;
    }
  }
  const q = new Float32Array(rows * cols);
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const yi = y[o + i];
      if (yi === 0) continue;
      for (let j = 0; j < cols; j++) acc[j] += yi * m[i * cols + j];
    }
    for (let j = 0; j < cols; j++) q[o + j] = acc[j];
  }
  return q;
}

async function mm(
  a: ag.Tensor,
  b: ag.Tensor,
  opts: ag.MatmulOptions = {},
): Promise<Float32Array> {
  const t = ag.noGrad(() => ag.matmul(a, b, opts));
  const out = await t.toArray();
  t.dispose();
  return out;
}

/** Fit the appearance model (see the module comment). */
export async function fitAppearance(o: FitAppearanceOptions): Promise<AppearanceModel> {
  const R = o.resolution ?? 80;
  const K = o.components ?? 200;
  const root = o.dir.replace(/\/+$/, "");
  let files = await selectFaces(o);
  const max = o.maxImages ?? 6000;
  if (files.length > max) {
    files = Rng.fromSeed(0).split("appearance").shuffle([...files]).slice(0, max).sort();
  }
  const N = files.length;
  if (N < K + 20) {
    throw new Error(`${root}: ${N} usable faces, need at least ${K + 20} for ${K} components`);
  }
  const D = R * R * 3;
  const log = (s: string) => o.progress !== false && console.error(`appearance: ${s}`);
  log(`${N} faces → ${R}×${R} texture, ${K} components`);
  // ---- data matrix X [N, D] (HWC, [0, 1]) and its mean
  const X = new Float32Array(N * D);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const img = await readImage(`${root}/${files[i]}`);
    if (img.height !== 112 || img.width !== 112 || img.channels !== 3) {
      throw new Error(
        `${root}/${
          files[i]
        }: ${img.channels}×${img.height}×${img.width}, expected an aligned 3×112×112 crop`,
      );
    }
    const s = resize(img, R, R);
    const plane = R * R;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) X[i * D + p * 3 + c] = s.data[c * plane + p] * 0.5 + 0.5;
    }
    if (i % 500 === 499) {
      log(
        `read ${i + 1}/${N} (${((i + 1) / ((performance.now() - t0) / 1000)).toFixed(0)} images/s)`,
      );
    }
  }
  const mean = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) mean[j] += X[i * D + j];
  for (let j = 0; j < D; j++) mean[j] /= N;
  let total = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      const v = X[i * D + j] - mean[j];
      X[i * D + j] = v;
      total += v * v;
    }
  }
  total /= N - 1;
  // ---- randomised SVD with one power iteration: Y = X Ω, Q = orth(Y), Y = X Xᵀ Q, Q = orth(Y)
  ag.useBackend(await ag.CpuBackend.create({ threads: 1 }));
  const L = K + 24;
  const rng = Rng.fromSeed(0).split("appearance-omega");
  const xt = ag.tensor(X, [N, D]);
  const omega = ag.tensor(rng.normals(D * L), [D, L]);
  let y = await mm(xt, omega);
  omega.dispose();
  let q = orthonormalize(y, N, L);
  log("range found (1/3)");
  for (let it = 0; it < 1; it++) {
    const qt = ag.tensor(q, [N, L]);
    const z = ag.tensor(await mm(xt, qt, { transA: true }), [D, L]); // Xᵀ Q
    qt.dispose();
    y = await mm(xt, z);
    z.dispose();
    q = orthonormalize(y, N, L);
  }
  log("power iteration (2/3)");
  // B = Qᵀ X [L, D]; B Bᵀ = U S² Uᵀ; components = Bᵀ U S⁻¹
  const qt = ag.tensor(q, [N, L]);
  const b = await mm(qt, xt, { transA: true });
  qt.dispose();
  xt.dispose();
  const bbt = new Float64Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const oi = i * D, oj = j * D;
      for (let k = 0; k < D; k++) s += b[oi + k] * b[oj + k];
      bbt[i * L + j] = s;
      bbt[j * L + i] = s;
    }
  }
  const { values, vectors } = eigSymmetric(bbt, L);
  const basis = new Float32Array(K * D);
  const variances: number[] = [];
  let explained = 0;
  for (let k = 0; k < K; k++) {
    const col = L - 1 - k; // descending
    const s2 = Math.max(values[col], 0);
    const variance = s2 / (N - 1);
    variances.push(variance);
    explained += variance;
    // component = Bᵀ u / s; stored scaled by σ = s/√(N−1): row = Bᵀ u / √(N−1)
    const row = new Float64Array(D);
    for (let i = 0; i < L; i++) {
      const u = vectors[i * L + col];
      const oi = i * D;
      for (let j = 0; j < D; j++) row[j] += u * b[oi + j];
    }
    // sign convention: the largest-magnitude entry is positive (deterministic output)
    let big = 0;
    for (let j = 0; j < D; j++) if (Math.abs(row[j]) > Math.abs(big)) big = row[j];
    const sign = big < 0 ? -1 : 1;
    for (let j = 0; j < D; j++) basis[k * D + j] = (sign * row[j]) / Math.sqrt(N - 1);
  }
  log(`done: ${K} components explain ${(100 * explained / total).toFixed(1)} % of the variance`);
  return {
    header: {
      format: "synface-appearance/1",
      resolution: R,
      components: K,
      variances,
      explained: Math.min(1, explained / total),
      images: N,
      source: o.source ?? root,
      sourceHash: await hashFiles(root, files),
    },
    mean: Float32Array.from(mean),
    basis,
  };
}
