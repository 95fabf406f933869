/**
 * `align` on native onnxruntime-node against onnxruntime-web's wasm: the same faces, boxes and
 * points, up to the rounding of native kernels. Generated faces (tests/_align_faces.ts) at
 * several places and sizes; the node half is skipped where the addon cannot load.
 */
import assert from "node:assert/strict";
import { FaceAligner } from "../align/mod.ts";
import { resizeBilinear } from "../align/pixels.ts";
import { nodeAvailable, type RawImage } from "../data/mod.ts";
import { canvas, faceTile } from "./_align_faces.ts";

const NODE = await nodeAvailable();

/** Five photos: faces of several rows of the sheet, shifted, scaled, and two side by side. */
function photos(): RawImage[] {
  const big = resizeBilinear(faceTile(3, 0), 160, 160, {
    left: 0,
    top: 0,
    width: 112,
    height: 112,
  });
  return [
    canvas(224, 224, [{ image: faceTile(2, 0), at: [56, 56] }]),
    canvas(250, 250, [{ image: faceTile(4, 0), at: [30, 90] }]),
    canvas(250, 250, [{ image: big, at: [45, 40] }]),
    canvas(200, 260, [{ image: faceTile(6, 0), at: [70, 20] }]),
    canvas(360, 200, [{ image: faceTile(0, 0), at: [10, 44] }, {
      image: faceTile(1, 0),
      at: [160, 44],
    }]),
  ];
}

Deno.test({
  name: "align: node and wasm find the same faces, points within 0.05 px, crops within 2 levels" +
    (NODE.available ? "" : ` (ignored: onnxruntime-node does not load: ${NODE.reason})`),
  ignore: !NODE.available,
  fn: async () => {
    const wasm = await FaceAligner.create({ ep: "wasm" });
    const node = await FaceAligner.create({ ep: "node", threads: 1 });
    try {
      assert.equal(wasm.ep, "wasm");
      assert.equal(node.ep, "node");
      let worstPoint = 0, worstScore = 0, worstLevel = 0, differing = 0, values = 0;
      for (const [i, photo] of photos().entries()) {
        const [a, b] = [await wasm.align(photo), await node.align(photo)];
        assert.ok(a && b, `photo ${i}: a face on both EPs`);
        assert.equal(a.faces, b.faces, `photo ${i}: faces`);
        assert.equal(a.framed, b.framed);
        worstScore = Math.max(worstScore, Math.abs(a.score - b.score));
        for (const k of ["x1", "y1", "x2", "y2"] as const) {
          worstPoint = Math.max(worstPoint, Math.abs(a.box[k] - b.box[k]));
        }
        for (const [j, p] of a.landmarks68.entries()) {
          worstPoint = Math.max(
            worstPoint,
            Math.hypot(p[0] - b.landmarks68[j][0], p[1] - b.landmarks68[j][1]),
          );
        }
        for (let j = 0; j < a.crop.data.length; j++) {
          const d = Math.abs(a.crop.data[j] - b.crop.data[j]);
          if (d) differing++;
          worstLevel = Math.max(worstLevel, d);
        }
        values += a.crop.data.length;
      }
      const [point, score] = [worstPoint, worstScore].map((v) => v.toExponential(2));
      const what = `worst point ${point} px, score ${score}, ` +
        `crop ${differing}/${values} values differ, worst by ${worstLevel}`;
      console.log(`align node vs wasm: ${what}`);
      assert.ok(worstPoint <= 0.05, what);
      assert.ok(worstScore <= 1e-3, what);
      assert.ok(worstLevel <= 2 && differing <= 0.01 * values, what);
    } finally {
      await wasm.dispose();
      await node.dispose();
    }
  },
});
