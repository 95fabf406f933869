/**
 * Baselines that need no model: raw pixels, and PCA of pixels ("eigenfaces"). They prove the
 * pipeline on real photos and set the floor any learned embedder must beat.
 */
import { type ImageTensor, resize } from "../data/mod.ts";
import type { Embedder } from "./embedder.ts";
import { fitPca, type Pca, projectPca } from "./linalg.ts";

/** Options shared by the pixel baselines. */
export interface PixelOptions {
  /** Input size the embedder accepts (default 112×112). */
  inputSize?: [number, number];
  /** Working resolution the pixels are downsampled to (default 56×56: 4× fewer values). */
  workSize?: [number, number];
  /** Average the channels to grey first (default true). */
  grey?: boolean;
}

/**
 * The pixel vector used by both baselines: downsampled (area filter), optionally grey, then
 * standardised per image (zero mean, unit variance) so global brightness and contrast do not count.
 */
export function pixelVector(image: ImageTensor, options: PixelOptions = {}): Float32Array {
  const [h, w] = options.workSize ?? [56, 56];
  const small = image.height === h && image.width === w ? image : resize(image, h, w);
  const plane = h * w;
  const grey = options.grey ?? true;
  const v = new Float32Array(grey ? plane : small.data.length);
  if (grey) {
    for (let c = 0; c < small.channels; c++) {
      for (let i = 0; i < plane; i++) v[i] += small.data[c * plane + i] / small.channels;
    }
  } else v.set(small.data);
  let m = 0;
  for (const x of v) m += x / v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2;
  const inv = s > 0 ? 1 / Math.sqrt(s / v.length) : 0;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] - m) * inv;
  return v;
}

/** The preprocessing fields of a pixel embedder's info. */
function pixelInfo(options: PixelOptions) {
  const [inputHeight, inputWidth] = options.inputSize ?? [112, 112];
  const [wh, ww] = options.workSize ?? [56, 56];
  return { inputHeight, inputWidth, workSize: `${wh}x${ww}`, grey: options.grey ?? true };
}

/** Raw-pixel embedder: the standardised pixel vector itself. */
export function createPixelEmbedder(options: PixelOptions = {}): Embedder {
  return {
    info: { kind: "pixels", name: "pixels", ...pixelInfo(options) },
    embed: (batch) => Promise.resolve(batch.map((img) => pixelVector(img, options))),
  };
}

/** Options of the PCA baseline. */
export interface PcaOptions extends PixelOptions {
  /** Number of principal components kept (default 128). */
  components?: number;
  /** Label for reports: what the PCA was fitted on. */
  fittedOn?: string;
}

/**
 * PCA-of-pixels embedder ("eigenfaces"), fitted on `fitImages` (which must not contain the test
 * images). Whitened: with cosine scores it helps a lot on LFW.
 */
export function fitPcaEmbedder(fitImages: ImageTensor[], options: PcaOptions = {}): Embedder {
  const k = options.components ?? 128;
  const pca: Pca = fitPca(fitImages.map((img) => pixelVector(img, options)), k);
  // whitened: each coordinate divided by the standard deviation along its component
  const scales = pca.variances.map((v) => 1 / Math.sqrt(Math.max(v, 1e-12)));
  return {
    info: {
      kind: "pca",
      name: "pca",
      ...pixelInfo(options),
      components: pca.components.length,
      whiten: true,
      fittedOn: options.fittedOn ?? `${fitImages.length} images`,
    },
    embed: (batch) =>
      Promise.resolve(batch.map((img) => {
        const p = projectPca(pca, pixelVector(img, options));
        for (let j = 0; j < p.length; j++) p[j] *= scales[j];
        return p;
      })),
  };
}
