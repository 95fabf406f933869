/**
 * The learned appearance model: float16 storage, the `appearance.bin` format, and the PCA fit
 * (deterministic bytes; recovers a known low-rank structure).
 */
import assert from "node:assert/strict";
import { encodePng, Rng } from "../data/mod.ts";
import {
  type AppearanceModel,
  ARCFACE_TEMPLATE,
  decodeAppearance,
  encodeAppearance,
  fromHalf,
  toHalf,
} from "../generator/mod.ts";
import { fitAppearance, yawProxy } from "../tasks/appearance_fit.ts";
import { loose } from "./_helpers.ts";
import { faceShape } from "./_face_shape.ts";

Deno.test("appearance: float16 known values and round-to-nearest-even", () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(0.5), 0x3800);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(1e6), 0x7c00); // overflow → ∞
  assert.equal(toHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  for (const v of [0.1, -0.3337, 0.0001, 12.5, 1 / 3]) {
    assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= Math.abs(v) * 2 ** -11, `${v}`);
  }
});

/** An 8×8 model of `variances.length` components (mean and basis from `basis(i)`). */
function model(variances: number[], basis: (i: number) => number): AppearanceModel {
  const components = variances.length;
  return {
    header: {
      format: "synface-appearance/1",
      resolution: 8,
      components,
      variances,
      explained: 0.9,
      images: 10,
      source: "test",
      sourceHash: "x",
    },
    mean: Float32Array.from({ length: 192 }, (_, i) => i / 192),
    basis: Float32Array.from({ length: 192 * components }, (_, i) => basis(i) / 4),
  };
}

Deno.test("appearance: appearance.bin round trip; bad files are clear errors", () => {
  const m = model([2, 1], Math.sin);
  const bytes = encodeAppearance(m), back = decodeAppearance(bytes);
  assert.deepEqual(back.header, m.header);
  for (let i = 0; i < 384; i++) assert.ok(Math.abs(back.basis[i] - m.basis[i]) < 2e-4);
  assert.deepEqual(encodeAppearance(back), bytes); // float16 values survive exactly
  assert.throws(
    () => decodeAppearance(bytes.slice(0, bytes.length - 2), "a.bin"),
    /a.bin: payload/,
  );
  assert.throws(
    () => decodeAppearance(new Uint8Array(40), "b.bin"),
    /b.bin: not an appearance model/,
  );
  // a shape model round-trips; one whose variances do not match its rows is named
  const row = Array.from({ length: 136 }, (_, d) => d / 10);
  const shaped = {
    ...m,
    header: { ...m.header, shape: { mean: row, basis: [row], variances: [2] } },
  };
  assert.deepEqual(decodeAppearance(encodeAppearance(shaped)).header.shape, shaped.header.shape);
  const bad = { ...m, header: { ...m.header, shape: { mean: row, basis: [row], variances: [] } } };
  assert.throws(
    () => decodeAppearance(encodeAppearance(bad), "c.bin"),
    /c.bin: header.*shape.*variances.*one variance per basis row/s,
  );
});

Deno.test("appearance: a detail bank round-trips exactly; inconsistent headers are clear errors", () => {
  const plain = model([3, 2, 1], Math.cos);
  const m: AppearanceModel = {
    ...plain,
    header: { ...plain.header, details: 5, detailKeys: 2 },
    detail: {
      keys: Float32Array.from({ length: 10 }, (_, i) => fromHalf(toHalf(Math.sin(i)))),
      scale: Float32Array.from({ length: 5 }, (_, i) => fromHalf(toHalf(0.001 * (i + 1)))),
      residual: Int8Array.from({ length: 320 }, (_, i) => ((i * 37) % 255) - 127),
    },
  };
  const bytes = encodeAppearance(m), back = decodeAppearance(bytes);
  assert.deepEqual(back.header, m.header);
  assert.deepEqual(back.detail, m.detail);
  assert.deepEqual(encodeAppearance(back), bytes);
  // a model without a bank is the bank's header and payload less (older files still read)
  assert.equal(decodeAppearance(encodeAppearance(plain)).detail, undefined);
  assert.throws(
    () => decodeAppearance(bytes.slice(0, bytes.length - 1), "c.bin"),
    /c.bin: payload is \d+ bytes, expected \d+/,
  );
  assert.throws(
    () => encodeAppearance({ ...m, detail: { ...m.detail!, scale: new Float32Array(4) } }),
    /detail bank does not match details 5/,
  );
  const bad = new TextDecoder("latin1").decode(bytes).replace('"detailKeys":2', '"detailKeys":9');
  assert.throws(
    () => decodeAppearance(Uint8Array.from(bad, (ch) => ch.charCodeAt(0)), "d.bin"),
    /d.bin: header: field "detailKeys": a detail bank needs detailKeys ≤ components/,
  );
});

loose.test("appearance: PCA fit recovers a rank-3 photo set and is byte-deterministic", async (tmp) => {
  // 40 "photos" = grey mean + 3 smooth patterns × random coefficients (σ 30, 20, 10 in 0-255)
  const rng = Rng.fromSeed(5);
  const pat = (k: number, x: number, y: number) =>
    k === 0 ? Math.sin(x / 18) : k === 1 ? Math.cos(y / 15) : Math.sin((x + y) / 25);
  for (let n = 0; n < 40; n++) {
    const cf = [30, 20, 10].map((s) => s * rng.normal());
    const data = new Uint8Array(112 * 112 * 3);
    for (let y = 0; y < 112; y++) {
      for (let x = 0; x < 112; x++) {
        let v = 128;
        for (let k = 0; k < 3; k++) v += cf[k] * pat(k, x, y);
        for (let ch = 0; ch < 3; ch++) {
          data[(y * 112 + x) * 3 + ch] = Math.round(Math.max(0, Math.min(255, v)));
        }
      }
    }
    await Deno.writeFile(
      `${tmp}/p${n}.png`,
      encodePng({ width: 112, height: 112, channels: 3, data }),
    );
  }
  const opts = { dir: tmp, resolution: 16, mirror: false, progress: false } as const;
  const fit = () => fitAppearance({ ...opts, components: 5, source: "t" });
  const a = await fit();
  assert.equal(a.header.images, 40);
  assert.ok(a.header.explained > 0.99, `explained ${a.header.explained}`);
  // 3 real components, the rest is quantisation noise
  assert.ok(a.header.variances[2] > 50 * a.header.variances[3], `${a.header.variances}`);
  assert.deepEqual(encodeAppearance(await fit()), encodeAppearance(a));
  // with 2 components the third pattern is what they miss: every residual of the detail
  // bank is that pattern (±), keyed by the photo's 2 normalised coefficients
  const two = await fitAppearance({ ...opts, components: 2, details: 6, detailKeys: 2 });
  assert.equal(two.header.details, 6);
  const bank = two.detail!;
  const R = 16;
  const p2 = Array.from({ length: R * R }, (_, q) => {
    const x = ((q % R) + 0.5) * 7 - 0.5, y = (Math.floor(q / R) + 0.5) * 7 - 0.5;
    return pat(2, x, y);
  });
  for (let m = 0; m < 6; m++) {
    const r = Array.from(bank.residual.subarray(m * R * R, (m + 1) * R * R), (v) => v);
    const dot = r.reduce((s, v, q) => s + v * p2[q], 0);
    const n1 = Math.hypot(...r), n2 = Math.hypot(...p2);
    assert.ok(Math.abs(dot / (n1 * n2)) > 0.95, `residual ${m}: |corr| ${dot / (n1 * n2)}`);
    // int8 spans the residual: its largest magnitude is 127 steps
    assert.equal(Math.max(...r.map(Math.abs)), 127);
    const keys = bank.keys.subarray(2 * m, 2 * m + 2);
    assert.ok(keys.every((k) => Math.abs(k) < 5), `keys ${keys}`);
  }
});

Deno.test("appearance: yaw proxy is 0 for a frontal face and grows with the nose offset", () => {
  const eyes = { l0x: 40, l0y: 50, l1x: 80, l1y: 50 },
    mouth = { l3x: 45, l3y: 90, l4x: 75, l4y: 90 };
  const row = (l2x: number) => ({
    path: "a.jpg",
    score: 1,
    status: "ok",
    ...eyes,
    l2x,
    l2y: 70,
    ...mouth,
  });
  assert.equal(yawProxy(row(60)), 0);
  assert.equal(yawProxy(row(64)), 0.1);
});

loose.test("appearance: with 68 landmarks the textures are shape-free and the shapes get a PCA", async (tmp) => {
  // 30 photos, already on the template (the 5 points are the template's), each with a dark bar
  // across its mouth; the mouth (landmarks 48–67, and the bar) sits 4 px higher or lower per photo
  const rng = Rng.fromSeed(8).split("mouths");
  const base = faceShape();
  const rows: string[] = [];
  for (let n = 0; n < 30; n++) {
    const s = (rng.uniform() * 2 - 1) * 4;
    const data = new Uint8Array(112 * 112 * 3).fill(180);
    for (let y = 0; y < 112; y++) {
      for (let x = 44; x < 68; x++) {
        if (y + 0.5 >= 90 + s && y + 0.5 < 94 + s) {
          data.fill(20, (y * 112 + x) * 3, (y * 112 + x) * 3 + 3);
        }
      }
    }
    await Deno.writeFile(
      `${tmp}/p${n}.png`,
      encodePng({ width: 112, height: 112, channels: 3, data }),
    );
    const pts = Array.from(base, (v, d) => (d >= 96 && d % 2 === 1 ? v + s : v));
    rows.push([`p${n}.png`, ...ARCFACE_TEMPLATE.flat(), ...pts.map((v) => v.toFixed(3))].join(","));
  }
  const head = [
    "path",
    ..."01234".split("").flatMap((k) => [`l${k}x`, `l${k}y`]),
    ...Array.from({ length: 68 }, (_, i) => [`p${i}x`, `p${i}y`]).flat(),
  ];
  await Deno.writeTextFile(`${tmp}/faces.csv`, [head.join(","), ...rows].join("\n") + "\n");
  const opts = {
    dir: tmp,
    alignCsv: `${tmp}/faces.csv`,
    landmarks: true,
    resolution: 56,
    components: 3,
    details: 0,
    mirror: false,
    progress: false,
  } as const;
  const shapeFree = await fitAppearance({ ...opts, shapeComponents: 4 });
  // a landmark cell that is not a number is named, with its file and line
  const broken = [head.join(","), ...rows].join("\n").replace(
    /^(p3\.png(?:,[^,]*){15}),[^,]*/m,
    "$1,",
  );
  await Deno.writeTextFile(`${tmp}/broken.csv`, broken);
  await assert.rejects(
    () => fitAppearance({ ...opts, alignCsv: `${tmp}/broken.csv` }),
    /broken\.csv:5: p2y "": expected a number \(the 68 landmarks\)/,
  );
  const aligned = await fitAppearance({ ...opts, shapeComponents: 0 });
  assert.ok(shapeFree.header.shape && !aligned.header.shape);
  // the darkest mean texel down the face's middle column (texels of 2 px, the bar is 4 px high):
  // black where each bar was warped onto the mean mouth, grey where five points left them apart
  const R = 56;
  const darkest = (m: Float32Array) =>
    Math.min(...Array.from({ length: R }, (_, j) => m[(j * R + R / 2) * 3]));
  assert.ok(darkest(shapeFree.mean) < 0.15, `shape-free ${darkest(shapeFree.mean)}`);
  assert.ok(darkest(aligned.mean) > 0.25, `5-point ${darkest(aligned.mean)}`);
  // the shape model: one real direction (the mouth up and down; its mirror is the same), the rest
  // nothing; the mouth's y rows carry it
  const sh = shapeFree.header.shape!;
  assert.ok(sh.variances[0] > 100 * (sh.variances[1] + 1e-9), `${sh.variances}`);
  const row = sh.basis[0];
  const mouthY = row.filter((_, d) => d >= 96 && d % 2 === 1).map(Math.abs);
  assert.ok(Math.min(...mouthY) > 0.9 * Math.max(...row.map(Math.abs)), "the mouth moves as one");
  assert.ok(
    Math.abs(sh.mean[2 * 57 + 1] - 92 - 5) < 1.5,
    `mean lower lip y ${sh.mean[2 * 57 + 1]}`,
  );
});
