/**
 * What the learned model's photos do not show (generator/backdrop.ts): push–pull fill against
 * hand-checked cases, the masks, the filled appearance, and where the rendered head and backdrop
 * read them.
 */
import assert from "node:assert/strict";
import { Rng } from "../data/rng.ts";
import {
  filledAppearance,
  foreheadWeight,
  HAIRLINE,
  keptTexels,
  PHOTO_FRAME,
  PHOTO_RAMP,
  photoWeight,
  pushPullFill,
} from "../generator/backdrop.ts";
import { canonicalMesh } from "../generator/build.ts";
import { buildGeometry } from "../generator/geometry.ts";
import { textureTaps } from "../generator/texture_taps.ts";
import { decodeAppearance, FaceGenerator, type Latents } from "../generator/mod.ts";
import { loose } from "./_helpers.ts";

Deno.test("backdrop: push-pull keeps known texels, fills within their range, is linear", () => {
  const R = 13, rng = Rng.fromSeed(4);
  const known = Float32Array.from({ length: R * R }, (_, i) => {
    const x = i % R, y = Math.floor(i / R);
    return Math.hypot(x - 6, y - 6) < 3.5 || y < 2 ? 0 : 1; // a hole and a blank top border
  });
  const a = rng.normals(R * R), b = rng.normals(R * R);
  const fa = pushPullFill(a, known, R), fb = pushPullFill(b, known, R);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < R * R; i++) {
    if (!known[i]) continue;
    assert.equal(fa[i], a[i], `known texel ${i} changed`);
    lo = Math.min(lo, a[i]);
    hi = Math.max(hi, a[i]);
  }
  for (let i = 0; i < R * R; i++) {
    assert.ok(fa[i] >= lo - 1e-6 && fa[i] <= hi + 1e-6, `fill ${fa[i]} outside [${lo}, ${hi}]`);
  }
  // linear: what makes fill(mean + z·basis) = fill(mean) + z·fill(basis) exact
  const mix = pushPullFill(a.map((v, i) => 2 * v - 3 * b[i]), known, R);
  for (let i = 0; i < R * R; i++) assert.ok(Math.abs(mix[i] - (2 * fa[i] - 3 * fb[i])) < 1e-5);
  // a constant stays constant; a hole in a left/right split takes both sides' values, in order
  const flat = pushPullFill(new Float32Array(R * R).fill(0.4), known, R);
  assert.ok(flat.every((v) => Math.abs(v - 0.4) < 1e-6));
  const split = pushPullFill(
    Float32Array.from({ length: R * R }, (_, i) => (i % R < 6 ? 0 : 1)),
    known,
    R,
  );
  const hole = split[6 * R + 6];
  assert.ok(hole > 0.2 && hole < 0.8, `hole centre ${hole}`);
  assert.ok(split[6 * R + 4] < split[6 * R + 8], "the fill keeps the left/right order");
});

const geo = buildGeometry(await canonicalMesh(new URL("../generator/model/", import.meta.url)));
const taps = textureTaps(geo, 96);
/** Index of the texel of an R×R texture under frame pixel (x, y). */
const texel = (R: number, x: number, y: number) =>
  Math.floor((y * R) / 112) * R + Math.floor((x * R) / 112);
/** Value of an R×R mask at frame pixel (x, y). */
const at = (mask: Float32Array, R: number, x: number, y: number) => mask[texel(R, x, y)];

Deno.test("backdrop: masks: the photos' frame, the face, the head's ramp", () => {
  const R = 96, photo = keptTexels(R), face = keptTexels(R, { geo, uv: taps.uv });
  for (
    const [x, y, want] of [[56, 60, 1], [56, PHOTO_FRAME.top - 2, 0], [4, 70, 0], [108, 70, 0]]
  ) {
    assert.equal(at(photo, R, x, y), want, `photos' frame at ${x}, ${y}`);
  }
  // around the face: the face and the border are filled, hair and background beside it kept
  assert.equal(at(face, R, 56, 60), 0, "face centre");
  assert.equal(at(face, R, 38, 52), 0, "an eye");
  assert.equal(at(face, R, 56, PHOTO_FRAME.top - 2), 0, "above the photos' frame");
  assert.equal(at(face, R, 12, 104), 1, "below the jaw, beside the neck");
  assert.equal(at(face, R, 100, 40), 1, "beside the temple");
  // the head: the photo down from the frame's top (no ramp there: that is forehead), ramps at
  // the sides; above the top, forehead fill below the hairline ramp and hair fill above it
  const w = photoWeight(R);
  assert.equal(at(w, R, 56, 70), 1);
  assert.equal(
    at(w, R, 56, PHOTO_FRAME.top + 1),
    1,
    "the photos' top rows are forehead, kept whole",
  );
  assert.equal(at(w, R, 56, PHOTO_FRAME.top - 1), 0);
  const side = at(w, R, PHOTO_FRAME.left + PHOTO_RAMP / 2, 60);
  assert.ok(side > 0.2 && side < 0.8, `half way along the side ramp: ${side}`);
  const a = foreheadWeight(R);
  assert.equal(at(a, R, 56, HAIRLINE.hair - 1), 0, "hair above the hairline ramp");
  assert.equal(at(a, R, 56, HAIRLINE.skin + 1), 1, "forehead below it");
  const halfway = at(a, R, 56, (HAIRLINE.hair + HAIRLINE.skin) / 2);
  assert.ok(halfway > 0.2 && halfway < 0.8, `half way down the hairline: ${halfway}`);
});

const app = decodeAppearance(
  await Deno.readFile(new URL("../generator/model/appearance.bin", import.meta.url)),
);

Deno.test("backdrop: the filled appearance keeps the photos and fills the rest from them", () => {
  const R = app.header.resolution, D = R * R * 3;
  const f = filledAppearance(app, geo, taps.uv), w = photoWeight(R);
  let same = 0, inPhoto = 0;
  for (let t = 0; t < R * R; t++) {
    for (let ch = 0; ch < 3; ch++) {
      const q = t * 3 + ch;
      if (w[t] === 1) {
        inPhoto++;
        if (f.head.mean[q] === app.mean[q] && f.head.basis[5 * D + q] === app.basis[5 * D + q]) {
          same++;
        }
      }
      if (f.backdrop.kept[t]) assert.equal(f.backdrop.mean[q], app.mean[q]);
    }
  }
  assert.equal(same, inPhoto, "inside the photos the head's texture is the PCA's");
  // above the photos, a sampled texture no longer has the continued edge's vertical streaks:
  // along a row, the fill wiggles much less from column to column than the PCA's sample there
  const z = Rng.fromSeed(11).normals(app.header.components);
  const sample = (mean: Float32Array, basis: Float32Array) =>
    Float32Array.from(mean, (v, q) => z.reduce((s, zk, k) => s + zk * basis[k * D + q], v));
  const rowJitter = (tex: Float32Array, y: number) => {
    const j = Math.floor((y * R) / 112);
    let s = 0;
    // second differences: streaks alternate from column to column, a smooth fill does not
    for (let i = 30; i < 66; i++) {
      const [l, m, r] = [i - 1, i, i + 1].map((k) => tex[(j * R + k) * 3]);
      s += Math.abs(r - 2 * m + l);
    }
    return s;
  };
  const streaks = rowJitter(sample(app.mean, app.basis), 8);
  const filled = rowJitter(sample(f.head.mean, f.head.basis), 8);
  assert.ok(filled < 0.3 * streaks, `row-to-row jitter ${filled} against ${streaks}`);
  // the upper forehead (centre, rows 17–22, above the photos) continues the photos' forehead
  // (rows 26–30), not the hair or background at the temples the top of the skull reads
  const lum = (tex: Float32Array, x: number, y0: number, y1: number) => {
    let s = 0, n = 0;
    for (let y = y0; y <= y1; y++) {
      const t = texel(R, x, y);
      s += tex[3 * t] + tex[3 * t + 1] + tex[3 * t + 2];
      n += 3;
    }
    return s / n;
  };
  const forehead = lum(app.mean, 56, 26, 30), upper = lum(f.head.mean, 56, 17, 22);
  const temples = (lum(f.backdrop.mean, 14, 26, 34) + lum(f.backdrop.mean, 98, 26, 34)) / 2;
  assert.ok(
    Math.abs(upper - forehead) < 0.25 * Math.abs(forehead - temples),
    `upper forehead ${upper}: the photos' forehead ${forehead}, the temples ${temples}`,
  );
  assert.ok(lum(f.head.mean, 56, 0, 3) < upper, "the top of the skull darker than the forehead");
});

loose.test("backdrop: the render's backdrop is another photo's frame, filled (no face, no streaks)", async () => {
  const gen = await FaceGenerator.load(undefined, { ep: "wasm" });
  try {
    const R = app.header.resolution, f = filledAppearance(app, geo, taps.uv);
    const lat: Latents = Object.fromEntries(
      gen.manifest.inputs.map((b) => [b.name, new Float32Array(b.size)]),
    );
    const img = await gen.generate(lat, 1);
    const px = (x: number, y: number, ch: number) => (img[(ch * 112 + y) * 112 + x] + 1) / 2;
    const texel = (tex: Float32Array, x: number, y: number, ch: number) =>
      tex[(Math.floor((y * R) / 112) * R + Math.floor((x * R) / 112)) * 3 + ch];
    // corners: the backdrop (another photo's frame at zero coefficients, all filled there)
    let eBack = 0, eRaw = 0, n = 0;
    for (const [x, y] of [[3, 3], [108, 3], [4, 108], [107, 107], [2, 56], [109, 56]]) {
      for (let ch = 0; ch < 3; ch++) {
        eBack += Math.abs(px(x, y, ch) - texel(f.backdrop.mean, x, y, ch));
        eRaw += Math.abs(px(x, y, ch) - texel(app.mean, x, y, ch));
        n++;
      }
    }
    assert.ok(eBack / n < 0.03, `backdrop: mean |render − filled| = ${eBack / n}`);
    assert.ok(
      eBack < eRaw,
      `closer to the filled frame (${eBack / n}) than to the PCA's (${eRaw / n})`,
    );
  } finally {
    await gen.close();
  }
});
