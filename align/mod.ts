/**
 * `align/`: real photos in. Detects faces, finds 68 landmarks and warps each face onto the
 * ArcFace template with the detector and landmark models of the npm package
 * `faceplugin-face-recognition-js@0.0.1` (MIT), run through `data/`'s ONNX session interface
 * (native onnxruntime-node, or onnxruntime-web's wasm/WebGPU). Depends only on `data/`.
 * @module
 */
export { type AlignedFace, alignFace, FaceAligner, warpToTemplate } from "./align_face.ts";
export type { AlignOptions, FaceAlignerOptions } from "./align_face.ts";
export { AlignPool, type AlignPoolOptions } from "./align_pool.ts";
export {
  applySimilarity,
  ARCFACE_TEMPLATE,
  cropGeometry,
  type CropSize,
  estimateSimilarity,
  type Point,
  type Similarity,
} from "./similarity.ts";
export { DETECT_THRESHOLD, type Detection } from "./detect.ts";
export { fivePoints } from "./landmarks.ts";
export {
  ALIGN_CSV_COLUMNS,
  ALIGN_STATUSES,
  type AlignRow,
  AlignRowSchema,
  type AlignStatus,
  parseAlignCsv,
} from "./align_csv.ts";
export {
  alignDirectory,
  type AlignDirectoryOptions,
  type AlignSummary,
  AlignUsageError,
} from "./align_dir.ts";
export { cropName, decodePhoto } from "./photo.ts";
export { modelUrl, readModel } from "./session.ts";
export { alignCached, type AlignCachedOptions, type AlignCachedResult } from "./align_cached.ts";
