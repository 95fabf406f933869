/**
 * The ArcFace "IR" backbone family as data: stage depths, widths, embedding size and default
 * input. The engine model (`backbones.ts`) and the ONNX export (`export_onnx.ts`) both walk this
 * description, so they cannot disagree on the layer order or the parameter names.
 *
 * Layout (LResNet-E-IR, "L" = stride-1 3×3 stem for 112-pixel inputs, "E" = BN-Dropout-FC-BN):
 * stem conv3×3 → BN → PReLU; per stage, blocks of
 * BN → conv3×3 (stride 1) → BN → PReLU → conv3×3 (stride s) → BN, plus a shortcut
 * (identity, or conv1×1 stride s → BN when the shape changes), the first block of each stage
 * has stride 2; head BN → Dropout → Flatten → FC → BN1d.
 */
import { z } from "./deps.ts";

/** A backbone architecture (custom architectures are given as JSON in this shape). */
export const ArchSpecSchema = z.object({
  /** Registry name, e.g. "lresnet50e_ir". */
  name: z.string(),
  /** Blocks per stage. */
  stages: z.array(z.number().int().positive()).min(1),
  /** Output channels per stage. */
  widths: z.array(z.number().int().positive()).min(1),
  /** Stem channels. */
  stem: z.number().int().positive(),
  /** Embedding length. */
  embedding: z.number().int().positive(),
  /** Default input height×width. */
  input: z.object({ height: z.number().int().positive(), width: z.number().int().positive() }),
});
/** A backbone architecture. */
export type ArchSpec = z.infer<typeof ArchSpecSchema>;

/** An IR architecture whose stem is as wide as its first stage and whose embedding as its last. */
function ir(name: string, stages: number[], widths: number[], height = 112, width = 96): ArchSpec {
  const [stem, embedding] = [widths[0], widths[widths.length - 1]];
  return { name, stages, widths, stem, embedding, input: { height, width } };
}

/** The named architectures. */
export const ARCHS: Readonly<Record<string, ArchSpec>> = {
  /** The paper's LResNet50E-IR: [3,4,14,3], 64/128/256/512, 512-d, 112×96 (GPU runs). */
  lresnet50e_ir: ir("lresnet50e_ir", [3, 4, 14, 3], [64, 128, 256, 512]),
  /** IR-18 at half width (CPU preset for longer runs). */
  ir18_half: ir("ir18_half", [2, 2, 2, 2], [32, 64, 128, 256]),
  /** IR-10 at half width (CPU preset). */
  ir10_half: ir("ir10_half", [1, 1, 1, 1], [32, 64, 128, 256]),
  /** IR-10 at quarter width (fast CPU preset: ~¼ of ir10_half's FLOPs). */
  ir10_quarter: ir("ir10_quarter", [1, 1, 1, 1], [16, 32, 64, 128]),
  /** A tiny IR net for tests and smoke runs (32×32 input by default). */
  ir_tiny: ir("ir_tiny", [1, 1], [8, 16], 32, 32),
};

/** The architecture called `name`; the error lists the known names. */
export function archByName(name: string): ArchSpec {
  const spec = ARCHS[name];
  if (!spec) {
    throw new RangeError(
      `unknown architecture "${name}", expected one of: ${Object.keys(ARCHS).join(", ")}`,
    );
  }
  return spec;
}

/** Spatial size after the stages (each halves, rounding up as a 3×3 pad-1 stride-2 conv does). */
export function featureSize(spec: ArchSpec, height: number, width: number): [number, number] {
  let h = height, w = width;
  for (let i = 0; i < spec.stages.length; i++) {
    h = Math.floor((h - 1) / 2) + 1;
    w = Math.floor((w - 1) / 2) + 1;
  }
  return [h, w];
}

/** Check an input size for an architecture; divisible by 2^stages so no stage rounds. */
export function checkInput(spec: ArchSpec, height: number, width: number): void {
  const f = 2 ** spec.stages.length;
  if (height % f !== 0 || width % f !== 0 || height < f || width < f) {
    throw new RangeError(
      `${spec.name}: input ${height}×${width} does not fit the architecture: height and width must be positive multiples of ${f} (its ${spec.stages.length} stride-2 stages)`,
    );
  }
}

/** One IR block's shape. */
export interface BlockShape {
  /** Parameter-name prefix, e.g. "stage2.block0". */
  name: string;
  /** Input channels. */
  cIn: number;
  /** Output channels. */
  cOut: number;
  /** Stride of the second 3×3 conv (and of the projection shortcut). */
  stride: number;
  /** True when the shortcut is conv1×1 + BN (shape changes), false for identity. */
  project: boolean;
}

/** The blocks of an architecture in forward order. */
export function blocks(spec: ArchSpec): BlockShape[] {
  const out: BlockShape[] = [];
  let c = spec.stem;
  spec.stages.forEach((depth, s) => {
    for (let b = 0; b < depth; b++) {
      const stride = b === 0 ? 2 : 1;
      const cOut = spec.widths[s], name = `stage${s + 1}.block${b}`;
      out.push({ name, cIn: c, cOut, stride, project: stride !== 1 || c !== cOut });
      c = cOut;
    }
  });
  return out;
}

/**
 * What a walk of the backbone does at each layer; `T` is what flows between layers (a tensor,
 * an ONNX value name, or nothing when the walk only lists or builds layers).
 */
export interface BackboneOps<T> {
  /** Convolution k×k, padding (k−1)/2, no bias. */
  conv(x: T, name: string, cIn: number, cOut: number, k: number, stride: number): T;
  /** Batch norm over `c` channels. */
  bn(x: T, name: string, c: number): T;
  /** PReLU with `c` slopes. */
  prelu(x: T, name: string, c: number): T;
  /**
   * Optional: batch norm `bn` then PReLU `prelu` as one step (the engine fuses them in
   * training); without it the walk calls `bn`, then `prelu`.
   */
  bnPrelu?(x: T, bn: string, prelu: string, c: number): T;
  /** Residual sum. */
  add(a: T, b: T): T;
  /** Dropout before the FC (training only). */
  dropout(x: T): T;
  /** Flatten, then the fully connected layer `inF` → `outF`. */
  fc(x: T, name: string, inF: number, outF: number): T;
}

/**
 * The backbone's layers in forward order (see the module comment), with their parameter-name
 * prefixes: the one description that the parameter list, the engine module, its forward pass
 * and the ONNX export all walk, so they cannot disagree.
 */
export function walkBackbone<T>(
  spec: ArchSpec,
  input: { height: number; width: number },
  ops: BackboneOps<T>,
  x: T,
): T {
  const { conv, bn } = ops;
  const bnPrelu = ops.bnPrelu?.bind(ops) ??
    ((x: T, b: string, p: string, c: number) => ops.prelu(bn(x, b, c), p, c));
  x = bnPrelu(conv(x, "stem.conv", 3, spec.stem, 3, 1), "stem.bn", "stem.prelu", spec.stem);
  for (const { name, cIn, cOut, stride, project } of blocks(spec)) {
    let r = conv(bn(x, `${name}.bn1`, cIn), `${name}.conv1`, cIn, cOut, 3, 1);
    r = bnPrelu(r, `${name}.bn2`, `${name}.prelu`, cOut);
    r = bn(conv(r, `${name}.conv2`, cOut, cOut, 3, stride), `${name}.bn3`, cOut);
    const s = project
      ? bn(conv(x, `${name}.shortcut.conv`, cIn, cOut, 1, stride), `${name}.shortcut.bn`, cOut)
      : x;
    x = ops.add(r, s);
  }
  const c = spec.widths[spec.widths.length - 1];
  const [fh, fw] = featureSize(spec, input.height, input.width);
  x = ops.fc(ops.dropout(bn(x, "head.bn", c)), "head.fc", c * fh * fw, spec.embedding);
  return bn(x, "head.bn_emb", spec.embedding);
}
