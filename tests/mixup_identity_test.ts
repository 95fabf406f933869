/** Identity Mixup labels, partners, φ grid; factor flags; long-tail profiles (latent level). */
import assert from "node:assert/strict";
import { MIXUP_GRID, Rng } from "../data/rng.ts";
import { embeddedManifest } from "../generator/mod.ts";
import { drawMixup, mixCoefficients, mixupGrid, mixupLabel } from "../mixup/mod.ts";
import { imageJob, longTailCounts, synthesize, type Vary } from "../synthesis/mod.ts";

const m = embeddedManifest();
/** Identity Mixup on 10 identities, every factor varying. */
const o = { seed: 9, ids: 10, identityMixup: true, vary: "all" as Vary, idOffset: 0 };
/** Options that fail validation before anything is written. */
const base = { out: "/nonexistent/never-written", ids: 3, perId: 1, seed: 0, progress: false };

Deno.test("identity mixup: labels are [[i, φ], [j, 1−φ]] with zero weights dropped, summing to 1", () => {
  assert.deepEqual(mixupLabel(3, 7, 0.35), [[3, 0.35], [7, 0.65]]);
  assert.deepEqual(mixupLabel(3, 7, 1), [[3, 1]]);
  assert.deepEqual(mixupLabel(3, 7, 0), [[7, 1]]);
  assert.deepEqual(mixupLabel(4, 4, 0.5), [[4, 1]]);
  for (const phi of MIXUP_GRID) {
    const sum = mixupLabel(0, 1, phi).reduce((s, [, w]) => s + w, 0);
    assert.equal(sum, 1, `φ=${phi}`);
  }
  assert.throws(() => mixupLabel(0, 1, 1.5), /expected a value in \[0, 1\]/);
});

Deno.test("identity mixup: partner ≠ i, uniform over the others; φ on the 21-value grid", () => {
  const root = Rng.fromSeed(5);
  const ids = 6;
  const partners = new Map<number, number>();
  const phis = new Set<number>();
  for (let k = 0; k < 3000; k++) {
    const i = k % ids;
    const { partner, phi } = drawMixup(root.split(k), i, ids);
    assert.notEqual(partner, i);
    assert.ok(partner >= 0 && partner < ids);
    assert.ok(MIXUP_GRID.includes(phi));
    partners.set(partner, (partners.get(partner) ?? 0) + 1);
    phis.add(phi);
  }
  assert.equal(partners.size, ids);
  for (const c of partners.values()) assert.ok(Math.abs(c - 500) < 90, `partner count ${c}`);
  assert.equal(phis.size, 21);
  assert.throws(() => drawMixup(root, 0, 1), /at least 2 identities/);
  assert.deepEqual(
    Array.from(mixCoefficients(new Float32Array([1, 2]), new Float32Array([3, 6]), 0.25)),
    [2.5, 5],
  );
});

Deno.test("identity mixup: images blend identity coefficients only, each with its own partner", () => {
  const plain = { ...o, identityMixup: false };
  for (let k = 0; k < 20; k++) {
    const job = imageJob(m, o, 2, k);
    const { partner, phi } = job.meta as { partner: number; phi: number };
    assert.notEqual(partner, 2);
    const own = imageJob(m, plain, 2, k).latents.identity;
    const other = imageJob(m, plain, partner, 0).latents.identity;
    const mixed = job.latents.identity;
    for (let t = 0; t < own.length; t++) {
      assert.ok(Math.abs(mixed[t] - (phi * own[t] + (1 - phi) * other[t])) < 1e-6);
    }
    assert.deepEqual(job.latents.pose, imageJob(m, plain, 2, k).latents.pose);
    assert.deepEqual(job.label, mixupLabel(2, partner, phi));
  }
});

Deno.test("vary flags: only the named factor changes within an identity", () => {
  const factors = ["expression", "pose", "illumination", "noise"];
  const cases: [Vary, string[]][] = [
    ["none", []],
    ["expression", ["expression"]],
    ["pose", ["pose"]],
    ["illumination", ["illumination"]],
    ["all", factors],
  ];
  for (const [vary, changing] of cases) {
    const o = { seed: 1, ids: 4, identityMixup: false, vary, idOffset: 0 };
    const a = imageJob(m, o, 1, 0).latents, b = imageJob(m, o, 1, 1).latents;
    assert.deepEqual(a.identity, b.identity);
    for (const f of factors) {
      const same = a[f].every((v, i) => v === b[f][i]);
      assert.equal(
        same,
        !changing.includes(f),
        `vary=${vary}: ${f} ${same ? "did not change" : "changed"}`,
      );
    }
    // another identity gets other fixed factors
    assert.notDeepEqual(imageJob(m, o, 2, 0).latents.identity, a.identity);
  }
});

Deno.test("long tail: profiles keep the total; documented 2K × 50 counts", () => {
  for (const p of ["balanced", "ub1", "ub2"] as const) {
    for (const [n, k] of [[2000, 50], [7, 3], [1, 5], [13, 1]]) {
      const c = longTailCounts(p, n, k);
      assert.equal(c.length, n);
      assert.equal(c.reduce((a, b) => a + b, 0), n * k, `${p} ${n}×${k}`);
      assert.ok(c.every((x) => x >= 1));
    }
  }
  const ub1 = longTailCounts("ub1", 2000, 50), ub2 = longTailCounts("ub2", 2000, 50);
  assert.deepEqual([ub1[0], ub1[999], ub1[1000], ub1[1999]], [75, 75, 25, 25]);
  assert.deepEqual([ub2[0], ub2[199], ub2[200], ub2[1999]], [275, 275, 25, 25]);
});

Deno.test("identity mixup strength: φ ≥ phiMin on the grid, both ends reached; 0 = full grid", () => {
  assert.equal(mixupGrid(0), MIXUP_GRID);
  assert.deepEqual(mixupGrid(0.5), MIXUP_GRID.slice(10));
  assert.deepEqual(mixupGrid(0.45), MIXUP_GRID.slice(9));
  assert.deepEqual(mixupGrid(0.51), MIXUP_GRID.slice(11));
  assert.deepEqual(mixupGrid(1), [1]);
  for (const phiMin of [0.05, 0.5, 0.85]) {
    const root = Rng.fromSeed(11);
    const seen = new Set<number>();
    for (let k = 0; k < 2000; k++) {
      const { partner, phi } = drawMixup(root.split(k), k % 5, 5, phiMin);
      assert.notEqual(partner, k % 5);
      assert.ok(phi >= phiMin - 1e-12, `φ=${phi} < phiMin=${phiMin}`);
      assert.ok(MIXUP_GRID.includes(phi), `φ=${phi} off the grid`);
      seen.add(phi);
    }
    assert.ok(seen.has(1), `phiMin=${phiMin}: φ=1 never drawn`);
    assert.ok(seen.has(Math.min(...mixupGrid(phiMin))), `phiMin=${phiMin}: lowest φ never drawn`);
    assert.equal(seen.size, mixupGrid(phiMin).length);
  }
  // default phiMin draws exactly what the full grid draws (bytes of default datasets unchanged)
  for (let k = 0; k < 50; k++) {
    const r = Rng.fromSeed(3).split(k);
    assert.deepEqual(drawMixup(r, 1, 7), drawMixup(Rng.fromSeed(3).split(k), 1, 7, 0));
  }
  for (let k = 0; k < 30; k++) {
    assert.deepEqual(imageJob(m, o, 2, k), imageJob(m, { ...o, phiMin: 0 }, 2, k));
    const phi = (imageJob(m, { ...o, phiMin: 0.5 }, 2, k).meta as { phi: number }).phi;
    assert.ok(phi >= 0.5, `image ${k}: φ=${phi}`);
  }
});

Deno.test("identity mixup strength: bad phiMin values are rejected with the option named", async () => {
  for (const bad of [-0.1, 1.5, NaN, Infinity]) {
    assert.throws(() => mixupGrid(bad), /phiMin=.*expected a number in \[0, 1\]/);
    assert.throws(() => drawMixup(Rng.fromSeed(1), 0, 3, bad), /phiMin/);
  }
  await assert.rejects(
    () => synthesize({ ...base, identityMixup: true, phiMin: 2 }),
    /--im-phi-min 2: expected a number in \[0, 1\]/,
  );
  await assert.rejects(() => synthesize({ ...base, phiMin: 0.5 }), /needs --identity-mixup/);
});

Deno.test("identity mixup blends: variance keeps N(0,1) spread at every φ, linear shrinks it", () => {
  const rng = Rng.fromSeed(4);
  const n = 20000;
  const a = Float32Array.from({ length: n }, (_, i) => rng.split("a", i).normal());
  const b = Float32Array.from({ length: n }, (_, i) => rng.split("b", i).normal());
  const variance = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0) / x.length;
  for (const phi of [0.1, 0.3, 0.5, 0.75]) {
    const linear = variance(mixCoefficients(a, b, phi));
    const kept = variance(mixCoefficients(a, b, phi, "variance"));
    const expected = phi * phi + (1 - phi) * (1 - phi);
    assert.ok(Math.abs(linear - expected) < 0.04, `linear φ=${phi}: ${linear} vs ${expected}`);
    assert.ok(Math.abs(kept - 1) < 0.04, `variance φ=${phi}: ${kept}`);
  }
  // same direction as the linear blend, and the ends are the identities themselves
  const half = mixCoefficients(new Float32Array([1, 2]), new Float32Array([3, 6]), 0.5, "variance");
  assert.ok(Math.abs(half[0] - 2 * Math.SQRT2) < 1e-6 && Math.abs(half[1] - 4 * Math.SQRT2) < 1e-6);
  assert.deepEqual(mixCoefficients(a, b, 1, "variance"), a);
  assert.deepEqual(mixCoefficients(a, b, 0, "variance"), b);
  assert.throws(
    () => mixCoefficients(a, b, 0.5, "cubic" as "linear"),
    /blend "cubic": expected linear or variance/,
  );
});

Deno.test("identity mixup blends: the variance blend is recorded and needs --identity-mixup", async () => {
  const job = imageJob(m, { ...o, imBlend: "variance" }, 2, 3);
  const linear = imageJob(m, o, 2, 3);
  const { phi } = job.meta as { phi: number };
  const gain = 1 / Math.sqrt(phi * phi + (1 - phi) * (1 - phi));
  job.latents.identity.forEach((v, t) => {
    assert.ok(Math.abs(v - gain * linear.latents.identity[t]) < 1e-5);
  });
  assert.deepEqual(job.label, linear.label);
  assert.deepEqual(job.latents.pose, linear.latents.pose);
  await assert.rejects(
    () => synthesize({ ...base, imBlend: "variance" }),
    /--im-blend variance needs --identity-mixup/,
  );
});
