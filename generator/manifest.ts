/**
 * `generator.json`: how to run a face generator ONNX model — its file, its latent input blocks
 * (name, size, prior, role), its output and what the output means (layout, value range, size).
 * The embedded model ships one; a user's own export (DiscoFaceGAN, StyleGAN, ...) needs one too.
 */
import { parseJsonText } from "../data/mod.ts";
import { z } from "./deps.ts";

/** What a latent block controls; Identity Mixup blends `identity`, `--vary` acts on the rest. */
const ROLES = ["identity", "expression", "pose", "illumination", "noise", "other"] as const;
/** Role of a latent block. */
export type LatentRoleName = (typeof ROLES)[number];
const latentRole = z.enum(ROLES);

/** One latent input of the model: `[batch, size]` float32. */
export const LatentBlockSchema = z.object({
  name: z.string().min(1),
  size: z.number().int().positive(),
  /** Prior to sample from: standard normal (× scale) or uniform in [−scale, scale]. */
  prior: z.enum(["normal", "uniform"]).default("normal"),
  scale: z.number().positive().default(1),
  /** Defaults to the block's name when that is a role, else "other". */
  role: latentRole.optional(),
});

/** The manifest (`generator.json`). */
export const GeneratorManifestSchema = z.object({
  format: z.literal("synface-generator/1"),
  /** Generator id recorded in datasets (e.g. "embedded-3dmm@1"). */
  id: z.string().min(1),
  /** ONNX file, relative to the manifest. */
  model: z.string().min(1),
  inputs: z.array(LatentBlockSchema).min(1),
  /** Name of the image output. */
  output: z.string().min(1),
  /** Optional output with the 5 alignment landmarks [B,5,2] in pixels. */
  landmarks: z.string().optional(),
  layout: z.enum(["NCHW", "NHWC"]),
  /** Value range of the output; mapped to [-1, 1] = `(x/255 − 0.5)/0.5`. */
  valueRange: z.tuple([z.number(), z.number()]),
  /** Output size [height, width]. */
  imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  /** Whether outputs are already aligned like ArcFace 112×112 crops. */
  aligned: z.boolean().default(false),
  /** Free-form notes (licence, provenance). */
  notes: z.string().optional(),
});

/** One latent input block (parsed: defaults filled in). */
export type LatentBlock = z.infer<typeof LatentBlockSchema>;
/** A parsed manifest (`generator.json`). */
export type GeneratorManifest = z.infer<typeof GeneratorManifestSchema>;

/** The role of a block (explicit, or its name when that names a role). */
export function roleOf(block: LatentBlock): LatentRoleName {
  if (block.role) return block.role;
  const r = latentRole.safeParse(block.name);
  return r.success ? r.data : "other";
}

/** Parse and validate manifest JSON text; errors name the file and the field. */
export function parseManifest(text: string, file = "generator.json"): GeneratorManifest {
  const manifest = parseJsonText(text, file, GeneratorManifestSchema);
  const names = new Set<string>();
  for (const b of manifest.inputs) {
    if (names.has(b.name)) {
      throw new Error(`${file}: field "inputs": block "${b.name}" appears twice`);
    }
    names.add(b.name);
  }
  return manifest;
}

/** True for a model or manifest that would be fetched over the network. */
export function isNetUrl(u: URL): boolean {
  return u.protocol === "http:" || u.protocol === "https:";
}

/**
 * Why the manifest at `manifestUrl` may not load its model from `modelUrl` as is, or undefined:
 * a model on the network is fetched only on request (`generate --allow-net-model`, which caches
 * it under the project's `out/cache/`), never silently at load.
 */
export function netModelProblem(manifestUrl: URL, modelUrl: URL): string | undefined {
  if (!isNetUrl(modelUrl)) return undefined;
  return `${manifestUrl.href}: field "model": ${modelUrl.href} is a URL; it is fetched only with ` +
    "generate --allow-net-model (cached under the project's out/cache/generator-models/)";
}
