/**
 * Build the embedded generators: canonical mesh → geometry → bases → ONNX graph, written with
 * its manifest. Two kinds share geometry, pose, expression, SH light, rasteriser and camera:
 * `learned` (the default: appearance from the PCA of real photos in `model/appearance.bin`) and
 * `procedural` (painted albedo from region masks, for comparison). Deterministic: the same code
 * and the same `appearance.bin` give the same bytes.
 */
import { type AppearanceModel, decodeAppearance } from "./appearance.ts";
import { buildBases } from "./bases.ts";
import { buildFaceGraph, IMAGE_SIZE, latentBlocks } from "./face_graph.ts";
import { buildGeometry } from "./geometry.ts";
import type { GeneratorManifest } from "./manifest.ts";
import { type CanonicalMesh, FACE_MESH_PACKAGE, fetchCanonicalMesh } from "./mesh_extract.ts";

/** Version tag of the procedural model (bump when its output changes). */
export const PROCEDURAL_ID = "embedded-3dmm@1";
/** Version tag of the learned-appearance model (bump when its output changes). */
export const LEARNED_ID = "embedded-aam@12";
/** Which embedded model. */
export type EmbeddedKind = "learned" | "procedural";
/** Manifest file of each kind in `generator/model/`. */
export const EMBEDDED_MANIFESTS: Record<EmbeddedKind, string> = {
  learned: "generator.json",
  procedural: "procedural.json",
};
/** Appearance components of the shipped model (the identity block is 80 shape + these). */
export const APPEARANCE_COMPONENTS = 200;

/**
 * Whether `manifest` is one of the project's own (`generator/model/`), whose missing model is
 * built from source on first load rather than an error.
 */
export function isEmbeddedManifest(manifest: URL): boolean {
  return Object.values(EMBEDDED_MANIFESTS).some((f) =>
    new URL(`./model/${f}`, import.meta.url).href === manifest.href
  );
}

/** The embedded kind of a generator id, or undefined. */
export function embeddedKind(id: string): EmbeddedKind | undefined {
  return id === LEARNED_ID ? "learned" : id === PROCEDURAL_ID ? "procedural" : undefined;
}

/** The embedded model's manifest (`components`: appearance components of the learned kind). */
export function embeddedManifest(
  kind: EmbeddedKind = "learned",
  components = APPEARANCE_COMPONENTS,
): GeneratorManifest {
  const learned = kind === "learned";
  return {
    format: "synface-generator/1",
    id: learned ? LEARNED_ID : PROCEDURAL_ID,
    model: learned ? "aam12.onnx" : "procedural.onnx",
    inputs: latentBlocks(learned ? components : undefined).map((b) => ({
      name: b.name,
      size: b.size,
      prior: "normal" as const,
      scale: 1,
      role: b.name,
    })),
    output: "image",
    landmarks: "landmarks",
    layout: "NCHW",
    valueRange: [-1, 1],
    imageSize: [IMAGE_SIZE, IMAGE_SIZE],
    aligned: true,
    notes: learned
      ? `3DMM-style face renderer built by generator/build.ts with appearance learned from real photos (PCA of UTKFace crops, non-commercial research terms; model/appearance.bin); geometry: MediaPipe canonical face mesh (${FACE_MESH_PACKAGE}, Apache-2.0)`
      : `3DMM-style face renderer built by generator/build.ts (procedural albedo); geometry: MediaPipe canonical face mesh (${FACE_MESH_PACKAGE}, Apache-2.0)`,
  };
}

/**
 * The extracted canonical mesh next to the model (read with `fetch`, so this also works when the
 * module is imported by https URL); extracted from the npm package (`npm pack`) if missing.
 */
export async function canonicalMesh(dir: URL): Promise<CanonicalMesh> {
  const file = new URL("canonical_face_mesh.json", dir);
  const res = await fetch(file).catch(() => undefined);
  if (res?.ok) return await res.json() as CanonicalMesh;
  await res?.body?.cancel();
  const mesh = await fetchCanonicalMesh();
  if (file.protocol === "file:") await Deno.writeTextFile(file, JSON.stringify(mesh));
  return mesh;
}

/** The appearance model beside the manifests (`appearance.bin`). */
export async function readAppearance(dir: URL): Promise<AppearanceModel> {
  const file = new URL("appearance.bin", dir);
  const res = await fetch(file).catch(() => undefined);
  if (!res?.ok) {
    await res?.body?.cancel();
    const status = res ? ` (HTTP ${res.status})` : "";
    throw new Error(
      `${file.href}: cannot read the appearance model${status}; ` +
        "rebuild it with deno task build-generator --faces DIR",
    );
  }
  return decodeAppearance(new Uint8Array(await res.arrayBuffer()), file.href);
}

/** Build the model bytes and manifest of one kind (`appearance` overrides `dir/appearance.bin`). */
export async function buildEmbedded(
  dir: URL,
  kind: EmbeddedKind = "learned",
  appearance?: AppearanceModel,
): Promise<{ onnx: Uint8Array; manifest: GeneratorManifest }> {
  const geo = buildGeometry(await canonicalMesh(dir));
  const app = kind === "learned" ? appearance ?? await readAppearance(dir) : undefined;
  return {
    onnx: buildFaceGraph(geo, buildBases(geo), app),
    manifest: embeddedManifest(kind, app?.header.components),
  };
}
