/**
 * `alignFace`: detect the faces of a photo, take the one nearest the image centre, find its 68
 * landmarks, reduce them to 5 points and warp the face onto the ArcFace template.
 * @module
 */
import { createSession, type Ep, type EpChoice, type RawImage } from "../data/mod.ts";
import {
  decodeDetections,
  DETECT_H,
  DETECT_THRESHOLD,
  DETECT_W,
  type Detection,
  detectorInput,
  nearestCentre,
} from "./detect.ts";
import {
  decodeLandmarks,
  fivePoints,
  LANDMARK_SIZE,
  landmarkInput,
  landmarkWindow,
} from "./landmarks.ts";
import { toRgb, warpAffineBilinear } from "./pixels.ts";
import { readModel, runSession, type Session } from "./session.ts";
import {
  cropGeometry,
  type CropSize,
  estimateSimilarity,
  inverseAffine,
  type Point,
} from "./similarity.ts";

/** One aligned face. */
export interface AlignedFace {
  /** The detector's box in source pixels. */
  box: { x1: number; y1: number; x2: number; y2: number };
  /** The detector's face score (0–1). */
  score: number;
  /** 68 landmarks (iBUG order) in source pixels. */
  landmarks68: [number, number][];
  /** Eye centres, nose tip, mouth corners (image-left first) in source pixels. */
  points5: [number, number][];
  /** The aligned RGB crop (8-bit HWC), 112×112 or 112×96. */
  crop: RawImage;
  /** Faces the detector found (the one returned is the nearest the image centre). */
  faces: number;
  /** True when the face was only found on the photo framed by a grey border (see `align`). */
  framed: boolean;
}

/**
 * `image` inside a grey (128) border `pad` pixels wide. Tight face crops (the face filling the
 * photo, as in UTKFace) are often missed by the detector, whose anchors expect some background.
 */
export function frame(image: RawImage, pad: number): RawImage {
  const c = image.channels, W = image.width + 2 * pad, H = image.height + 2 * pad;
  const data = new Uint8Array(W * H * c).fill(128);
  for (let y = 0; y < image.height; y++) {
    const src = y * image.width * c;
    data.set(image.data.subarray(src, src + image.width * c), ((y + pad) * W + pad) * c);
  }
  return { channels: c, height: H, width: W, data };
}

/** Options of {@link FaceAligner.create}. */
export interface FaceAlignerOptions {
  /** Detections scoring below this are ignored (default 0.65, faceplugin's threshold). */
  minScore?: number;
  /**
   * Execution provider (default `auto`: hardware WebGPU, else native onnxruntime-node, else
   * wasm). Native kernels round differently from wasm: points differ by hundredths of a pixel.
   */
  ep?: EpChoice;
  /** Intra-op threads per model on `node` (default 1). */
  threads?: number;
}

/** Options of {@link FaceAligner.align}. */
export interface AlignOptions {
  /** Output size (default `"112"`: 112×112; `"112x96"`). */
  size?: CropSize;
}

/** Warp `image` so that `points5` land on the template of `size` (bilinear, black outside). */
export function warpToTemplate(
  image: RawImage,
  points5: readonly Point[],
  size: CropSize = "112",
): RawImage {
  const { height, width, template } = cropGeometry(size);
  const sim = estimateSimilarity(points5, template);
  return warpAffineBilinear(toRgb(image), inverseAffine(sim), width, height);
}

/**
 * The detector and landmark models, loaded once. Not safe for concurrent `align` calls on one
 * instance (onnxruntime-web runs one session call at a time anyway); use one per worker.
 */
export class FaceAligner {
  private constructor(
    private detector: Session,
    private landmarker: Session,
    private minScore: number,
  ) {}

  /** Load both models from the installed faceplugin package. */
  static async create(options: FaceAlignerOptions = {}): Promise<FaceAligner> {
    const minScore = options.minScore ?? DETECT_THRESHOLD;
    if (!(minScore >= 0 && minScore <= 1)) {
      throw new RangeError(`minScore ${minScore}: expected a number in [0, 1]`);
    }
    const [det, lm] = await Promise.all([readModel("fr_detect"), readModel("fr_landmark")]);
    // one intra-op thread by default: the pool runs one process per core instead
    const at = { ep: options.ep ?? "auto", threads: options.threads ?? 1 };
    const detector = await createSession(det, { ...at, name: "fr_detect.onnx" });
    // the landmarker on the EP the detector resolved to, so `auto` resolves once
    const landmarker = await createSession(lm, {
      ...at,
      name: "fr_landmark.onnx",
      ep: detector.ep,
    });
    return new FaceAligner(detector, landmarker, minScore);
  }

  /** The execution provider both models run on. */
  get ep(): Ep {
    return this.detector.ep;
  }

  /** Every face the detector finds (after thresholding and suppression). */
  async detect(image: RawImage): Promise<Detection[]> {
    const out = await runSession(this.detector, detectorInput(image), [1, 3, DETECT_H, DETECT_W]);
    return decodeDetections(out.scores, out.boxes, image.width, image.height, this.minScore);
  }

  /** The 68 landmarks of the face in `det`, in source pixels. */
  async landmarks(image: RawImage, det: Detection): Promise<[number, number][]> {
    const win = landmarkWindow(det, image.width, image.height);
    const out = await runSession(this.landmarker, landmarkInput(image, win), [
      1,
      1,
      LANDMARK_SIZE,
      LANDMARK_SIZE,
    ]);
    return decodeLandmarks(out.output, win);
  }

  /**
   * Align the face nearest the image centre; `undefined` when there is no face. When the
   * detector finds nothing, it tries once more on the photo framed by a grey border a quarter of
   * its longer side wide (tight crops); boxes and points are still in the photo's own pixels.
   */
  async align(image: RawImage, options: AlignOptions = {}): Promise<AlignedFace | undefined> {
    let src = image, pad = 0;
    let dets = await this.detect(src);
    if (dets.length === 0) {
      pad = Math.round(0.25 * Math.max(image.width, image.height));
      src = frame(image, pad);
      dets = await this.detect(src);
    }
    const i = nearestCentre(dets, src.width, src.height);
    if (i < 0) return undefined;
    const d = dets[i];
    const landmarks68 = (await this.landmarks(src, d)).map(([x, y]) =>
      [x - pad, y - pad] as [number, number]
    );
    const points5 = fivePoints(landmarks68);
    return {
      box: { x1: d.x1 - pad, y1: d.y1 - pad, x2: d.x2 - pad, y2: d.y2 - pad },
      score: d.score,
      landmarks68,
      points5,
      crop: warpToTemplate(image, points5, options.size ?? "112"),
      faces: dets.length,
      framed: pad > 0,
    };
  }

  /** Release both sessions. */
  async dispose(): Promise<void> {
    await this.detector.release();
    await this.landmarker.release();
  }
}

/** Align one image with a fresh {@link FaceAligner} (load once and reuse it for many images). */
export async function alignFace(
  image: RawImage,
  options: AlignOptions & FaceAlignerOptions = {},
): Promise<AlignedFace | undefined> {
  const aligner = await FaceAligner.create(options);
  try {
    return await aligner.align(image, options);
  } finally {
    await aligner.dispose();
  }
}
