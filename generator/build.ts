/**
 * Build the embedded generator: canonical mesh → geometry → bases → ONNX graph, written with
 * its manifest. Deterministic: the same code gives the same bytes.
 */
import { buildBases } from "./bases.ts";
import { buildFaceGraph, IMAGE_SIZE, LATENT_BLOCKS } from "./face_graph.ts";
import { buildGeometry } from "./geometry.ts";
import type { GeneratorManifest } from "./manifest.ts";
import { type CanonicalMesh, FACE_MESH_PACKAGE, fetchCanonicalMesh } from "./mesh_extract.ts";

/** Version tag of the embedded model (bump when its output changes). */
export const EMBEDDED_ID = "embedded-3dmm@1";

/** The embedded model's manifest. */
export function embeddedManifest(model = "face.onnx"): GeneratorManifest {
  return {
    format: "synface-generator/1",
    id: EMBEDDED_ID,
    model,
    inputs: LATENT_BLOCKS.map((b) => ({
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
    notes:
      `3DMM-style face renderer built by generator/build.ts; geometry: MediaPipe canonical face mesh (${FACE_MESH_PACKAGE}, Apache-2.0)`,
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

/** Build the model bytes and manifest. */
export async function buildEmbedded(
  dir: URL,
): Promise<{ onnx: Uint8Array; manifest: GeneratorManifest }> {
  const geo = buildGeometry(await canonicalMesh(dir));
  return { onnx: buildFaceGraph(geo, buildBases(geo)), manifest: embeddedManifest() };
}
