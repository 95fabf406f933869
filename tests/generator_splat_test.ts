/**
 * generator/splat.ts: the renderer's point splatting against a plain JavaScript reference (each
 * point to its pixel, sums, the 3×3 binomial filter), with and without the anti-aliased outline;
 * the brightness sharpening against the same kind of reference.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web/webgpu";
import { GraphBuilder } from "../data/onnx/mod.ts";
import { graphOps, lcgUniform } from "../generator/graph_ops.ts";
import { sharpenLuma, splatPoints } from "../generator/splat.ts";

const H = 14, W = 14, B = 2;

/**
 * Two images of one depth: points on a half-pixel grid left of a slanted edge (image 1 mirrored,
 * so the batch index matters), each with its own grey-ish colour, as on a textured head.
 */
function scene(): { N: number; u: Float32Array; v: Float32Array; colour: Float32Array } {
  const grid: [number, number][] = [];
  for (let y = 0.25; y < H; y += 0.5) for (let x = 0.25; x < W; x += 0.5) grid.push([x, y]);
  const N = grid.length, rnd = lcgUniform(3);
  const u = new Float32Array(N * B), v = new Float32Array(N * B);
  const colour = new Float32Array(N * 3 * B);
  grid.forEach(([x, y], n) => {
    for (let b = 0; b < B; b++) {
      const inside = x < 5 + y / 3;
      // outside points go off-screen (they must land nowhere)
      u[n * B + b] = inside ? (b === 0 ? x : W - x) : -3;
      v[n * B + b] = y;
      for (let ch = 0; ch < 3; ch++) colour[(n * 3 + ch) * B + b] = 0.5 + 0.6 * rnd();
    }
  });
  return { N, u, v, colour };
}

async function render(smoothEdge: boolean) {
  const { N, u, v, colour } = scene();
  const g = new GraphBuilder("splat"), o = graphOps(g);
  const ins = {
    u: g.input("u", "float32", [N, 1, B]),
    v: g.input("v", "float32", [N, 1, B]),
    d: g.input("d", "float32", [N, 1, B]),
    colour: g.input("colour", "float32", [N, 3, B]),
  };
  const batchOf = g.input("batch", "float32", [B, 1]);
  const out = splatPoints(o, ins, batchOf, N, H, W, smoothEdge);
  g.output(out.fg, "fg", "float32", [B, 3, H, W]);
  g.output(out.alpha, "alpha", "float32", [B, 1, H, W]);
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ["wasm"] });
  try {
    const t = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);
    const r = await s.run({
      u: t(u, [N, 1, B]),
      v: t(v, [N, 1, B]),
      d: t(new Float32Array(N * B).fill(1), [N, 1, B]),
      colour: t(colour, [N, 3, B]),
      batch: t(new Float32Array(B), [B, 1]),
    });
    return { fg: r.fg.data as Float32Array, alpha: r.alpha.data as Float32Array };
  } finally {
    await s.release();
  }
}

/** The 3×3 binomial filter of one H×W plane, zero outside it or mirrored at its border. */
function blur(p: Float64Array, edges: "zero" | "reflect" = "zero"): Float64Array {
  const k = [1, 2, 1];
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          let yy = y + dy, xx = x + dx;
          if (edges === "reflect") [yy, xx] = [reflect(yy, H), reflect(xx, W)];
          if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += k[dy + 1] * k[dx + 1] * p[yy * W + xx];
        }
      }
      out[y * W + x] = s / 16;
    }
  }
  return out;
}

/** The reference: per image, planes r·w, g·w, b·w, w summed per pixel, then filtered. */
function reference(smoothEdge: boolean) {
  const { N, u, v, colour } = scene();
  const fg = new Float64Array(B * 3 * H * W), alpha = new Float64Array(B * H * W);
  for (let b = 0; b < B; b++) {
    const acc = Array.from({ length: 4 }, () => new Float64Array(H * W));
    for (let n = 0; n < N; n++) {
      const x = Math.floor(u[n * B + b]), y = Math.floor(v[n * B + b]);
      if (x < 0 || x >= W || y < 0 || y >= H) continue;
      for (let ch = 0; ch < 3; ch++) acc[ch][y * W + x] += colour[(n * 3 + ch) * B + b];
      acc[3][y * W + x] += 1;
    }
    const f = acc.map((p) => blur(p)), wide = f.map((p) => blur(p));
    const a = f[3].map((w) => Math.min(1, w / 0.3));
    const aOut = smoothEdge ? blur(a) : a;
    for (let p = 0; p < H * W; p++) {
      alpha[b * H * W + p] = aOut[p];
      for (let ch = 0; ch < 3; ch++) {
        const near = f[ch][p] / Math.max(f[3][p], 1e-4);
        const far = wide[ch][p] / Math.max(wide[3][p], 1e-4);
        fg[(b * 3 + ch) * H * W + p] = smoothEdge ? a[p] * near + (1 - a[p]) * far : near;
      }
    }
  }
  return { fg, alpha };
}

function assertClose(got: Float32Array, want: Float64Array, what: string) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst < 1e-5, `${what}: max |onnx − reference| = ${worst}`);
}

Deno.test("splat: the rendered colour and coverage match a plain reference, hard and smooth edges", async () => {
  for (const smoothEdge of [false, true]) {
    const got = await render(smoothEdge), want = reference(smoothEdge);
    assertClose(got.alpha, want.alpha, `alpha (smoothEdge ${smoothEdge})`);
    assertClose(got.fg, want.fg, `fg (smoothEdge ${smoothEdge})`);
  }
});

Deno.test("splat: the smooth edge is one pixel wider and takes the head's colour, not a few points'", async () => {
  const hard = await render(false), soft = await render(true);
  const partial = (a: Float32Array) => a.filter((x) => x > 0.01 && x < 0.99).length;
  // a staircase: one partly covered pixel per row at most, on each side of the two images
  assert.ok(partial(hard.alpha) <= B * H, `hard edge: ${partial(hard.alpha)} partial pixels`);
  assert.ok(
    partial(soft.alpha) >= 2 * partial(hard.alpha),
    `soft edge: ${partial(soft.alpha)} partial pixels against ${partial(hard.alpha)}`,
  );
  // inside, nothing changes
  const inside = (b: number, x: number, y: number) => b * H * W + y * W + (b === 0 ? x : W - 1 - x);
  for (let b = 0; b < B; b++) {
    for (let y = 1; y < H - 1; y++) {
      const p = inside(b, 2, y);
      assert.equal(soft.alpha[p], 1, `alpha inside, image ${b} row ${y}`);
      assert.equal(hard.alpha[p], 1);
      for (let ch = 0; ch < 3; ch++) {
        const q = (b * 3 + ch) * H * W + (p - b * H * W);
        assert.ok(Math.abs(soft.fg[q] - hard.fg[q]) < 1e-6, `fg inside, image ${b} row ${y}`);
      }
    }
  }
  // on the edge (partial hard coverage), the colour strays less from the points' mean (0.5)
  let strayHard = 0, straySoft = 0;
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < H * W; p++) {
      const a = hard.alpha[b * H * W + p];
      if (!(a > 0.01 && a < 0.99)) continue;
      for (let ch = 0; ch < 3; ch++) {
        const q = (b * 3 + ch) * H * W + p;
        strayHard += Math.abs(hard.fg[q] - 0.5);
        straySoft += Math.abs(soft.fg[q] - 0.5);
      }
    }
  }
  assert.ok(straySoft < 0.8 * strayHard, `edge colour strays ${straySoft} against ${strayHard}`);
});

Deno.test("splat: sharpenLuma adds amount × (luminance − its reflected 3×3 blur) to every channel", async () => {
  const g = new GraphBuilder("sharpen"), o = graphOps(g);
  const x = g.input("x", "float32", [B, 3, H, W]);
  g.output(sharpenLuma(o, x, 1.2), "y", "float32", [B, 3, H, W]);
  const rnd = lcgUniform(9);
  const img = Float32Array.from({ length: B * 3 * H * W }, () => 0.5 + rnd());
  img.fill(0.4, 3 * H * W); // image 1: flat, so nothing to sharpen, at the border either
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ["wasm"] });
  let y: Float32Array;
  try {
    y = (await s.run({ x: new ort.Tensor("float32", img, [B, 3, H, W]) })).y.data as Float32Array;
  } finally {
    await s.release();
  }
  const plane = H * W;
  for (let b = 0; b < B; b++) {
    const luma = new Float64Array(plane);
    for (let p = 0; p < plane; p++) {
      const at = (ch: number) => img[(b * 3 + ch) * plane + p];
      luma[p] = 0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2);
    }
    const soft = blur(luma, "reflect");
    for (let yy = 0; yy < H; yy++) {
      for (let xx = 0; xx < W; xx++) {
        const p = yy * W + xx, detail = luma[p] - soft[p];
        for (let ch = 0; ch < 3; ch++) {
          const q = (b * 3 + ch) * plane + p;
          const want = img[q] + 1.2 * detail;
          assert.ok(Math.abs(y[q] - want) < 1e-5, `image ${b} ch ${ch} (${xx}, ${yy}): ${y[q]}`);
          if (b === 1) assert.ok(Math.abs(y[q] - 0.4) < 1e-6, "a flat image stays flat");
        }
      }
    }
  }
});
