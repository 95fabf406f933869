/**
 * Z-buffered point splatting: the generator's renderer. Each dense point lands on its nearest
 * pixel, the nearest surface wins (ScatterND max for depth, ScatterND add for colour), and a 3×3
 * reconstruction filter anti-aliases the result.
 */
import type { GraphOps } from "./graph_ops.ts";

/**
 * The 3×3 binomial filter over each of `ch` channels of an [B,ch,H,W] image, zero outside it or,
 * with `edges` "reflect", mirrored at its border (so a flat image stays flat up to the edge).
 */
export function blur3(
  o: GraphOps,
  x: string,
  ch: number,
  edges: "zero" | "reflect" = "zero",
): string {
  const reflect = edges === "reflect";
  const input = reflect
    ? o.op("Pad", [x, o.g.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: "reflect" })
    : x;
  const k3 = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((x) => x / 16);
  return o.op("Conv", [input, o.c(Array.from({ length: ch }, () => k3).flat(), [ch, 1, 3, 3])], {
    group: ch,
    pads: reflect ? [0, 0, 0, 0] : [1, 1, 1, 1],
  });
}

/**
 * Render N points (pixel position `u`, `v`, depth `d`: [N,1,B]; linear `colour` [N,3,B]) into
 * an H×W frame: the foreground colour [B,3,H,W] and its coverage `alpha` [B,1,H,W]. `batchOf` is
 * any [B,…] tensor (it gives the batch size).
 *
 * `smoothEdge` anti-aliases the outline: the coverage goes through the filter once more (one
 * pixel of soft edge instead of a staircase), and where coverage is partial the colour comes from
 * a wider filter of the same splats, so the soft edge fades from the head's own colour rather than
 * from the thin, dark average of a few stray points.
 */
export function splatPoints(
  o: GraphOps,
  points: { u: string; v: string; d: string; colour: string },
  batchOf: string,
  N: number,
  H: number,
  W: number,
  smoothEdge = false,
): { fg: string; alpha: string } {
  const { g, c, op, mul, add, sub, div, slice, reshape, concat, clip } = o;
  const { u, v, d, colour } = points;
  const HW = H * W;
  // ---- z-buffered splatting: each point to its nearest pixel of a [B·(H·W+1)] buffer (slot H·W
  // of each image takes what falls off-screen); a point survives if within 2 px of the front.
  const X = op("Floor", [u]), Y = op("Floor", [v]);
  const valid = op("And", [
    op("Equal", [clip(X, 0, W - 1), X]),
    op("Equal", [clip(Y, 0, H - 1), Y]),
  ]);
  const batchN = op("Gather", [op("Shape", [batchOf]), g.ints([0])]);
  const batchIdx = reshape(
    op("Cast", [op("Range", [g.ints([0], []), op("Squeeze", [batchN]), g.ints([1], [])])], {
      to: 1,
    }),
    [1, 1, -1],
  );
  const pixel = add(op("Where", [valid, add(mul(Y, c(W)), X), c(HW)]), mul(batchIdx, c(HW + 1))); // [N,1,B]
  const idxFlat = op("Cast", [reshape(pixel, [-1])], { to: 7 }); // [M], point-major
  const idxND = op("Unsqueeze", [idxFlat, g.ints([1])]);
  const dFlat = reshape(d, [-1]);
  const bufLen = mul(batchN, g.ints([HW + 1]));
  const zbuf = op("ScatterND", [op("Expand", [c(-1e9), bufLen]), idxND, dFlat], {
    reduction: "max",
  });
  // depth test against the 3×3 max of the z-buffer, so a sparse front surface still hides
  // what is behind it (points are splatted to one pixel but drawn with a 3×3 footprint)
  const zImg = reshape(slice(reshape(zbuf, [-1, 1, HW + 1]), 0, HW, 2), [-1, 1, H, W]);
  const zDil = op("MaxPool", [zImg], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
  const zBuf2 = reshape(op("Pad", [reshape(zDil, [-1, HW]), g.ints([0, 0, 0, 1]), c(-1e9)]), [-1]);
  const vis = reshape(
    op("Cast", [
      op("GreaterOrEqual", [dFlat, sub(op("Gather", [zBuf2, idxFlat], { axis: 0 }), c(6.0))]),
    ], { to: 1 }),
    [N, 1, -1],
  );
  // (r·w, g·w, b·w, w) rows. The Reshape pair keeps onnxruntime's transpose optimizer from
  // pushing this Transpose up into the colour math, which then ran in a slow [N,B,3] layout.
  const cw = reshape(reshape(concat([mul(colour, vis), vis], 1), [N, -1]), [N, 4, -1]);
  const upd = reshape(op("Transpose", [cw], { perm: [0, 2, 1] }), [-1, 4]);
  const acc = op("ScatterND", [
    op("Expand", [c(0), op("Concat", [bufLen, g.ints([4])], { axis: 0 })]),
    idxND,
    upd,
  ], { reduction: "add" });
  const accImg = op("Transpose", [
    reshape(slice(reshape(acc, [-1, HW + 1, 4]), 0, HW, 1), [-1, H, W, 4]),
  ], { perm: [0, 3, 1, 2] });
  const accB = blur3(o, accImg, 4);
  const wsum = slice(accB, 3, 4, 1);
  const fg = div(slice(accB, 0, 3, 1), op("Max", [wsum, c(1e-4)]));
  const alpha = clip(mul(wsum, c(1 / 0.3)), 0, 1);
  if (!smoothEdge) return { fg, alpha };
  const accWide = blur3(o, accB, 4), wsumWide = slice(accWide, 3, 4, 1);
  const fgWide = div(slice(accWide, 0, 3, 1), op("Max", [wsumWide, c(1e-4)]));
  return { fg: add(mul(fg, alpha), mul(fgWide, sub(c(1), alpha))), alpha: blur3(o, alpha, 1) };
}

/**
 * Unsharp masking of the brightness of an [B,3,H,W] image: `amount` × (luminance − its 3×3
 * binomial blur, edges reflected) added to each channel. The learned texture is resampled from a
 * 96² model and carries less fine brightness detail than photos (the realism meter's
 * `luma_detail`); colour, which already has more than photos, gets none.
 */
export function sharpenLuma(o: GraphOps, img: string, amount: number): string {
  const { c, op, add, mul, sub } = o;
  const luma = op("Conv", [img, c([0.299, 0.587, 0.114], [1, 3, 1, 1])]);
  return add(img, mul(c(amount), sub(luma, blur3(o, luma, 1, "reflect"))));
}
