/**
 * Learn the generator's appearance model (`generator/appearance.ts`) from a folder of real face
 * crops aligned to the ArcFace 112×112 template: keep well-detected near-frontal faces (when an
 * `align.csv` log is given), sample each on the R×R texture grid, and fit a K-component PCA by a
 * randomised SVD (Halko et al. 2011) whose large products run on the recogniser's CPU GEMM
 * (WebAssembly SIMD, one thread: the same photos give the same bytes).
 */
import { ALIGN_CSV_COLUMNS } from "../align/mod.ts";
import {
  describeIssue,
  type ImageTensor,
  listImages,
  readImage,
  resize,
  Rng,
  sha256Hex,
} from "../data/mod.ts";
import { eigSymmetric } from "../eval/mod.ts";
import { type AppearanceModel, type DetailBank, fromHalf, toHalf } from "../generator/mod.ts";
import { autodiff as ag } from "../recognition/mod.ts";
import { z } from "zod";
import {
  fitShapeModel,
  mapPoints,
  type ShapeModel,
  ShapeWarp,
  similarityToTemplate,
} from "./appearance_shape.ts";

/** Options of {@link fitAppearance}. */
export interface FitAppearanceOptions {
  /**
   * Folder of face photos (recursive). Without `landmarks`: crops already aligned to the
   * ArcFace 112×112 template. With it: the photos the log's 5 points (source pixels) refer to.
   */
  dir: string;
  /** Optional alignment log (`path,…,score,…,l0x,l0y,…,l4x,l4y,status,…`) used to filter. */
  alignCsv?: string;
  /**
   * Align the photos of `dir` here by the 5 points of `alignCsv` (a least-squares similarity onto
   * the template, sampled with clamped borders so that what a tight photo lacks at the crop's
   * edges — hair above, background at the sides — continues the photo's edge instead of black).
   */
  landmarks?: boolean;
  /** Texture grid side (default 96). */
  resolution?: number;
  /** Components (default 200). */
  components?: number;
  /**
   * Detail bank: luminance residuals of this many (seeded) photos after the K-component
   * reconstruction, each keyed by its first `detailKeys` normalised coefficients (defaults 800,
   * 16; 0 = none). The generator adds the nearest key's residual: PCA samples are smooth, and a
   * real photo's fine detail on them is most of the way to a photo for a real-face embedder.
   */
  details?: number;
  detailKeys?: number;
  /** At most this many photos (a seeded sample; default 6000). */
  maxImages?: number;
  /** Also learn from each crop's mirror image (default true: twice the data, a symmetric model). */
  mirror?: boolean;
  /**
   * Components of the shape model (default 40; 0 = none). Where every chosen face has its 68
   * landmarks in the log, each photo is warped piecewise-affinely onto the shapes' mean before
   * the PCA (shape-free textures, sharp where 5-point alignment averages features apart), and
   * the shapes' own PCA is stored for the geometry.
   */
  shapeComponents?: number;
  /** Provenance text for the header. */
  source?: string;
  progress?: boolean;
}

/** The leading columns of an alignment log (`deno task align`), then the 68 points. */
export const ALIGN_COLUMNS: string[] = ALIGN_CSV_COLUMNS.slice(
  0,
  ALIGN_CSV_COLUMNS.indexOf("status") + 1,
);

const rowSchema = z.object({
  path: z.string().min(1),
  // absent in a list of chosen faces (`appearanceFacesCsv`): those passed already
  score: z.coerce.number().default(1),
  status: z.string().default("ok"),
  l0x: z.coerce.number(),
  l0y: z.coerce.number(),
  l1x: z.coerce.number(),
  l1y: z.coerce.number(),
  l2x: z.coerce.number(),
  l2y: z.coerce.number(),
  l3x: z.coerce.number(),
  l3y: z.coerce.number(),
  l4x: z.coerce.number(),
  l4y: z.coerce.number(),
});
const LANDMARK_COLUMNS = Array.from({ length: 68 }, (_, i) => [`p${i}x`, `p${i}y`]).flat();

/** A log row's 68 landmarks; `where` (file:line) names a cell that is not a number. */
function landmarksOf(rec: Record<string, string | undefined>, where: string): [number, number][] {
  const v = LANDMARK_COLUMNS.map((h) => {
    const cell = rec[h]?.trim() ?? "";
    const n = Number(cell);
    if (cell === "" || !Number.isFinite(n)) {
      throw new Error(
        `${where}: ${h} ${JSON.stringify(cell)}: expected a number (the 68 landmarks)`,
      );
    }
    return n;
  });
  return Array.from({ length: 68 }, (_, k) => [v[2 * k], v[2 * k + 1]]);
}

/** One usable face: its file (relative to the folder) and, from a log, its 5 source points. */
export interface FaceEntry {
  path: string;
  points?: [number, number][];
  /** The 68 landmarks (iBUG order, source pixels), where the log has them. */
  landmarks68?: [number, number][];
}

/**
 * Warp `image` so its 5 `points` land on the ArcFace template (least-squares similarity), into
 * an `size × size` crop of the 112×112 frame (size 224 = 2× supersampled), bilinear, with
 * the photo's edge pixels continued outside it. With `sources` ([size², 2], 112 units, from
 * {@link ShapeWarp.sources}) pixel p reads the aligned photo at `sources[p]` instead of at itself.
 */
export function alignByPoints(
  image: ImageTensor,
  points: [number, number][],
  size = 112,
  sources?: Float64Array,
): ImageTensor {
  const k = size / 112;
  const { a, b, tx: tu, ty: tv } = similarityToTemplate(points, k);
  const n2 = a * a + b * b;
  // u = a x − b y + tu, v = b x + a y + tv  ⇒  x = (a(u−tu) + b(v−tv))/n2, y = (−b(u−tu) + a(v−tv))/n2
  const { width: W, height: H, channels: C } = image;
  // outside the photo: its edge continued (tight crops end in hair or background there)
  const clampTo = (t: number, n: number) => Math.min(n - 1, Math.max(0, t));
  const out = new Float32Array(C * size * size);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const p = j * size + i;
      const du = (sources ? sources[2 * p] * k : i + 0.5 * (1 - 1 / k)) - tu;
      const dv = (sources ? sources[2 * p + 1] * k : j + 0.5 * (1 - 1 / k)) - tv;
      const x = clampTo((a * du + b * dv) / n2, W), y = clampTo((-b * du + a * dv) / n2, H);
      const x0 = Math.min(W - 2, Math.floor(x)), y0 = Math.min(H - 2, Math.floor(y));
      const fx = x - x0, fy = y - y0;
      for (let c = 0; c < C; c++) {
        const o = c * W * H;
        const p00 = image.data[o + y0 * W + x0], p01 = image.data[o + y0 * W + x0 + 1];
        const p10 = image.data[o + (y0 + 1) * W + x0], p11 = image.data[o + (y0 + 1) * W + x0 + 1];
        out[c * size * size + j * size + i] = (1 - fy) * ((1 - fx) * p00 + fx * p01) +
          fy * ((1 - fx) * p10 + fx * p11);
      }
    }
  }
  return { channels: C, height: size, width: size, data: out };
}

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

/** Which photos of `dir` to learn from, per the alignment log's quality (sorted by path). */
export async function selectFaces(o: FitAppearanceOptions): Promise<FaceEntry[]> {
  const root = o.dir.replace(/\/+$/, "");
  const all = await listImages(root);
  if (!o.alignCsv) {
    if (o.landmarks) throw new Error("fitAppearance: landmarks need an alignment log (alignCsv)");
    return all.map((path) => ({ path }));
  }
  const text = await Deno.readTextFile(o.alignCsv);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  // a header line names the columns; a headerless log (the align journal) has ALIGN_COLUMNS
  const hasHeader = lines[0].startsWith("path,");
  const head = hasHeader ? lines[0].split(",") : ALIGN_COLUMNS;
  const keep = new Map<string, FaceEntry>();
  const have = new Set(all);
  // a log that names the 68 landmarks must give all of them for every face it keeps
  const with68 = LANDMARK_COLUMNS.every((h) => head.includes(h));
  for (let i = hasHeader ? 1 : 0; i < lines.length; i++) {
    const cells = lines[i].split(",");
    const rec = Object.fromEntries(head.map((h, k) => [h, cells[k]]));
    const r = rowSchema.safeParse(rec);
    if (!r.success) throw new Error(`${o.alignCsv}:${i + 1}: ${describeIssue(r.error)}`);
    const row = r.data;
    // well detected (score ≥ 0.9) and near frontal (yaw proxy ≤ 0.12)
    if (row.status !== "ok" || row.score < 0.9 || yawProxy(row) > 0.12) continue;
    const rel = have.has(row.path) ? row.path : all.find((p) => p.endsWith("/" + row.path));
    const landmarks68 = with68 ? landmarksOf(rec, `${o.alignCsv}:${i + 1}`) : undefined;
    if (rel) {
      keep.set(rel, {
        path: rel,
        ...(landmarks68 ? { landmarks68 } : {}),
        points: [
          [row.l0x, row.l0y],
          [row.l1x, row.l1y],
          [row.l2x, row.l2y],
          [row.l3x, row.l3y],
          [row.l4x, row.l4y],
        ],
      });
    }
  }
  return all.filter((p) => keep.has(p)).map((p) => keep.get(p)!);
}

async function hashFiles(root: string, files: FaceEntry[]): Promise<string> {
  const text = files.map((f) =>
    [
      f.path,
      Deno.statSync(`${root}/${f.path}`).size,
      f.points?.flat().join(",") ?? "",
      ...(f.landmarks68 ? [f.landmarks68.flat().join(",")] : []),
    ].join("\t")
  ).join("\n");
  return await sha256Hex(text);
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

async function mm(a: ag.Tensor, b: ag.Tensor, opts: ag.MatmulOptions = {}): Promise<Float32Array> {
  const t = ag.noGrad(() => ag.matmul(a, b, opts));
  const out = await t.toArray();
  t.dispose();
  return out;
}

/** The faces a fit learns from: {@link selectFaces}, then a seeded `maxImages` of them. */
export async function chooseFaces(o: FitAppearanceOptions): Promise<FaceEntry[]> {
  const files = await selectFaces(o);
  const max = o.maxImages ?? 6000;
  if (files.length <= max) return files;
  return Rng.fromSeed(0).split("appearance").shuffle([...files]).slice(0, max)
    .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/**
 * The chosen faces as a compact alignment log (`path,l0x,l0y,…,l4x,l4y`): shipped beside
 * `appearance.bin`, it rebuilds the same bytes from the photos alone (`--landmarks` this file).
 */
export function appearanceFacesCsv(faces: FaceEntry[]): string {
  const with68 = faces.length > 0 && faces.every((f) => f.landmarks68);
  const head = [
    "path",
    ..."01234".split("").flatMap((k) => [`l${k}x`, `l${k}y`]),
    ...(with68 ? LANDMARK_COLUMNS : []),
  ].join(",");
  const row = (f: FaceEntry) =>
    [f.path, ...(f.points?.flat() ?? []), ...(with68 ? f.landmarks68!.flat() : [])].join(",");
  return [head, ...faces.map(row)].join("\n") + "\n";
}

/** Fit the appearance model (see the module comment). */
export async function fitAppearance(o: FitAppearanceOptions): Promise<AppearanceModel> {
  const R = o.resolution ?? 96, K = o.components ?? 200;
  const root = o.dir.replace(/\/+$/, "");
  const files = await chooseFaces(o);
  const mirror = o.mirror ?? true;
  const N = files.length * (mirror ? 2 : 1);
  if (N < K + 20) {
    throw new Error(`${root}: ${N} usable faces, need at least ${K + 20} for ${K} components`);
  }
  const D = R * R * 3;
  const log = (s: string) => o.progress !== false && console.error(`appearance: ${s}`);
  log(`${files.length} faces${mirror ? " (+ mirrors)" : ""} → ${R}×${R} texture, ${K} components`);
  // ---- the shapes: 68 landmarks in the frame, their PCA, and the warp onto their mean
  const S = Math.min(o.shapeComponents ?? 40, 136);
  let shape: ShapeModel | undefined, warp: ShapeWarp | undefined, own: Float64Array[] = [];
  if (o.landmarks && S > 0 && files.every((f) => f.landmarks68)) {
    own = files.map((f) => mapPoints(similarityToTemplate(f.points!), f.landmarks68!));
    shape = fitShapeModel(own, S);
    warp = new ShapeWarp(shape.mean, 224);
    log(`shape model: ${S} components of 68 landmarks; textures warped onto the mean shape`);
  }
  // ---- data matrix X [N, D] (HWC, [0, 1]) and its mean
  const X = new Float32Array(N * D);
  const t0 = performance.now();
  for (let f = 0; f < files.length; f++) {
    const raw = await readImage(`${root}/${files[f].path}`);
    const img = o.landmarks
      ? alignByPoints(raw, files[f].points!, 224, warp?.sources(own[f]))
      : raw;
    if (!o.landmarks && (img.height !== 112 || img.width !== 112 || img.channels !== 3)) {
      const { channels: c, height: h, width: w } = img;
      throw new Error(
        `${root}/${files[f].path}: ${c}×${h}×${w}, expected an aligned 3×112×112 crop`,
      );
    }
    const s = resize(img, R, R);
    const plane = R * R;
    const i = mirror ? 2 * f : f;
    for (let p = 0; p < plane; p++) {
      const pm = p - (p % R) + (R - 1 - (p % R)); // same row, mirrored column
      for (let c = 0; c < 3; c++) {
        const v = s.data[c * plane + p] * 0.5 + 0.5;
        X[i * D + p * 3 + c] = v;
        if (mirror) X[(i + 1) * D + pm * 3 + c] = v;
      }
    }
    if (f % 500 === 499) {
      const rate = (f + 1) / ((performance.now() - t0) / 1000);
      log(`read ${f + 1}/${files.length} (${rate.toFixed(0)} images/s)`);
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
  const M = Math.min(o.details ?? 800, N), KEYS = Math.min(o.detailKeys ?? 16, K);
  const detail = M > 0 ? await detailBank(X, N, D, basis, variances, M, KEYS) : undefined;
  if (detail) log(`detail bank: ${M} residuals keyed by ${KEYS} coefficients`);
  return {
    header: {
      format: "synface-appearance/1",
      resolution: R,
      components: K,
      variances,
      explained: Math.min(1, explained / total),
      images: files.length,
      source: o.source ?? root,
      sourceHash: await hashFiles(root, files),
      ...(detail ? { details: M, detailKeys: KEYS } : {}),
      ...(shape ? { shape } : {}),
    },
    mean: Float32Array.from(mean),
    basis,
    ...(detail ? { detail } : {}),
  };
}

/**
 * Residuals of M seeded rows of the centred data `X` [N, D] (HWC texels) after projection on
 * `basis` (rows scaled by σ), as luminance (channel mean) quantised to int8 per row, keyed by
 * each row's first `keys` normalised coefficients (x·row/σ²). Products on the one-thread GEMM.
 */
async function detailBank(
  X: Float32Array,
  N: number,
  D: number,
  basis: Float32Array,
  variances: number[],
  M: number,
  keys: number,
): Promise<DetailBank> {
  const K = variances.length, T = D / 3;
  const rows = Rng.fromSeed(0).split("appearance-detail")
    .shuffle(Array.from({ length: N }, (_, i) => i)).slice(0, M).sort((a, b) => a - b);
  const sel = new Float32Array(M * D);
  rows.forEach((r, i) => sel.set(X.subarray(r * D, (r + 1) * D), i * D));
  const xs = ag.tensor(sel, [M, D]), bt = ag.tensor(basis, [K, D]);
  const proj = await mm(xs, bt, { transB: true }); // [M, K] = x·row
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) proj[i * K + k] /= variances[k] || 1;
  const zt = ag.tensor(proj, [M, K]);
  const recon = await mm(zt, bt); // [M, D]
  xs.dispose();
  bt.dispose();
  zt.dispose();
  const out: DetailBank = {
    keys: new Float32Array(M * keys),
    scale: new Float32Array(M),
    residual: new Int8Array(M * T),
  };
  const lum = new Float32Array(T);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < keys; k++) out.keys[i * keys + k] = proj[i * K + k];
    let big = 1e-6;
    for (let p = 0; p < T; p++) {
      const o = i * D + p * 3;
      const l = (sel[o] - recon[o] + sel[o + 1] - recon[o + 1] + sel[o + 2] - recon[o + 2]) / 3;
      lum[p] = l;
      big = Math.max(big, Math.abs(l));
    }
    // the scale is stored as float16: quantise with that value, so decoding gives these steps
    const step = fromHalf(toHalf(big / 127));
    out.scale[i] = step;
    for (let p = 0; p < T; p++) {
      out.residual[i * T + p] = Math.max(-127, Math.min(127, Math.round(lum[p] / step)));
    }
  }
  return out;
}
