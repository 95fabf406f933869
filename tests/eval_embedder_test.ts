import assert from "node:assert/strict";
import type { ImageTensor } from "../data/mod.ts";
import {
  createOnnxEmbedder,
  createPixelEmbedder,
  type Embedder,
  embedWithFlip,
  fitPcaEmbedder,
  fuseFlip,
  l2normalize,
  loadEmbedder,
  ModelShapeError,
  parseEmbedderConfig,
  pixelVector,
  sqdistNormalized,
} from "../eval/mod.ts";
import { channelMeanModel } from "./_eval_tiny_onnx.ts";
import { close } from "./_heads.ts";
import { withTempDir } from "./_helpers.ts";

/** A 3×h×w image whose channel c is the constant `values[c]` (normalised units). */
function flat(values: number[], h = 4, w = 4): ImageTensor {
  const data = new Float32Array(3 * h * w);
  values.forEach((v, c) => data.fill(v, c * h * w, (c + 1) * h * w));
  return { channels: 3, height: h, width: w, data };
}

Deno.test("eval embedder: flip fusion sums then L2-normalises", () => {
  close(fuseFlip(Float32Array.of(3, 0), Float32Array.of(1, 3)), [0.8, 0.6]);
  close(l2normalize(Float32Array.of(0, 0)), [0, 0]);
  // Squared distance of normalised vectors is 2 − 2·cos.
  assert.ok(Math.abs(sqdistNormalized(Float32Array.of(1, 0), Float32Array.of(0, 2)) - 2) < 1e-6);
});

Deno.test("eval embedder: embedWithFlip feeds the mirrored image", async () => {
  // Embedding = the first pixel row, so the flipped embedding is that row reversed.
  const rowEmbedder: Embedder = {
    info: { kind: "test", name: "row", inputHeight: 1, inputWidth: 3 },
    embed: (batch) => Promise.resolve(batch.map((img) => img.data.slice(0, 3))),
  };
  const img: ImageTensor = {
    channels: 3,
    height: 1,
    width: 3,
    data: Float32Array.from([1, 2, 4, 0, 0, 0, 0, 0, 0]),
  };
  const { plain, fused } = await embedWithFlip(rowEmbedder, [img]);
  close(plain[0], [1, 2, 4]);
  close(fused[0], l2normalize(Float32Array.of(5, 4, 5)));
});

Deno.test("eval embedder: ONNX NCHW input gets (x − mean)/std in the asked channel order", async () => {
  const model = channelMeanModel(["N", 3, 4, 4], [2, 3], ["N", 3]);
  const img = flat([-1, 0, 1]); // pixels 0, 127.5, 255
  const rgb = await createOnnxEmbedder(model);
  assert.equal(rgb.info.layout, "nchw");
  assert.deepEqual([rgb.info.inputHeight, rgb.info.inputWidth], [4, 4]);
  const [e] = await rgb.embed([img]);
  close(e, [-1, 0, 1]);
  const bgr = await createOnnxEmbedder(model, { channelOrder: "bgr", mean: 127, std: 128 });
  const out = await bgr.embed([img, flat([0, 0, 0])]);
  close(out[0], [(255 - 127) / 128, (127.5 - 127) / 128, (0 - 127) / 128]);
  assert.equal(out.length, 2);
  await rgb.dispose?.();
  await bgr.dispose?.();
});

Deno.test("eval embedder: ONNX NHWC layout is detected from the input shape; fixed batch 1 works", async () => {
  const nhwc = await createOnnxEmbedder(channelMeanModel([1, 4, 4, 3], [1, 2], [1, 3]));
  assert.equal(nhwc.info.layout, "nhwc");
  assert.equal(nhwc.info.batchSize, 1);
  const out = await nhwc.embed([flat([0.5, -0.5, 0.25]), flat([1, 1, 1])]);
  close(out[0], [0.5, -0.5, 0.25]);
  close(out[1], [1, 1, 1]);
});

Deno.test("eval embedder: wrong input size, image size and output shape are clear errors", async () => {
  const model = channelMeanModel(["N", 3, 4, 4], [2, 3], ["N", 3]);
  await assert.rejects(
    () => createOnnxEmbedder(model, { inputSize: [112, 112], name: "tiny.onnx" }),
    (e: Error) =>
      e instanceof ModelShapeError &&
      /tiny\.onnx: input "x" has shape \["N", 3, 4, 4\] \(4×4\), but input size 112×112/.test(
        e.message,
      ),
  );
  await assert.rejects(
    () => createOnnxEmbedder(model, { layout: "nhwc", name: "tiny.onnx" }),
    /expected 3 channels at axis 3 for NHWC/,
  );
  const e = await createOnnxEmbedder(model, { name: "tiny.onnx" });
  await assert.rejects(
    () => e.embed([flat([0, 0, 0], 5, 5)]),
    /image 0 of the batch is 3×5×5, the model takes 3×4×4/,
  );
  const rank3 = await createOnnxEmbedder(channelMeanModel(["N", 3, 4, 4], [3], ["N", 3, 4]), {
    name: "r3.onnx",
  });
  await assert.rejects(
    () => rank3.embed([flat([0, 0, 0])]),
    /r3\.onnx: output "y" is float32 \[1, 3, 4\], expected float32 \[1, D\]/,
  );
  const dim = await createOnnxEmbedder(model, { embeddingDim: 512, name: "tiny.onnx" });
  await assert.rejects(() => dim.embed([flat([0, 0, 0])]), /embedding length 3, expected 512/);
});

Deno.test("eval embedder: run folder with embedder.json", async () => {
  await withTempDir({}, async (dir) => {
    await Deno.writeFile(`${dir}/model.onnx`, channelMeanModel(["N", 3, 4, 4], [2, 3], ["N", 3]));
    await Deno.writeTextFile(
      `${dir}/embedder.json`,
      JSON.stringify({ inputSize: [4, 4], channelOrder: "bgr" }),
    );
    const e = await loadEmbedder(dir);
    assert.equal(e.info.channelOrder, "bgr");
    close((await e.embed([flat([-1, 0, 1])]))[0], [1, 0, -1]);
    await Deno.writeTextFile(`${dir}/embedder.json`, JSON.stringify({ inputsize: [4, 4] }));
    await assert.rejects(() => loadEmbedder(dir), /embedder\.json: .*inputsize/);
  });
  assert.throws(() => parseEmbedderConfig(`{"mean": "x"}`, "e.json"), /e\.json: field "mean": /);
  assert.deepEqual(parseEmbedderConfig("{}").inputSize, [112, 112]);
});

Deno.test("eval embedder: pixel vector is standardised; PCA separates two prototypes", async () => {
  const v = pixelVector(gradient(8, 0), { workSize: [4, 4] });
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const s = v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
  assert.ok(Math.abs(m) < 1e-6 && Math.abs(s - 1) < 1e-5);
  const pix = createPixelEmbedder({ inputSize: [8, 8], workSize: [4, 4] });
  assert.equal((await pix.embed([gradient(8, 0)]))[0].length, 16);
  // Images near two prototypes (horizontal vs vertical gradient) plus small noise.
  const fit = Array.from({ length: 20 }, (_, i) => gradient(8, i % 2, 0.05 * Math.sin(i)));
  const pca = fitPcaEmbedder(fit, { inputSize: [8, 8], workSize: [8, 8], components: 4 });
  const [a, b, c] = await pca.embed([
    gradient(8, 0, 0.01),
    gradient(8, 0, -0.02),
    gradient(8, 1, 0.01),
  ]);
  const cos = (x: Float32Array, y: Float32Array) => {
    let d = 0;
    for (let i = 0; i < x.length; i++) d += x[i] * y[i];
    return d / Math.hypot(...x) / Math.hypot(...y);
  };
  assert.ok(cos(a, b) > cos(a, c), `same-prototype cosine ${cos(a, b)} should beat ${cos(a, c)}`);
});

/** An n×n RGB image with a horizontal (dir 0) or vertical (dir 1) ramp plus a wobble. */
function gradient(n: number, dir: number, wobble = 0): ImageTensor {
  const data = new Float32Array(3 * n * n);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        data[(c * n + y) * n + x] = ((dir ? y : x) / (n - 1)) * 2 - 1 +
          wobble * Math.cos(x * 3 + y * 5 + c);
      }
    }
  }
  return { channels: 3, height: n, width: n, data };
}
