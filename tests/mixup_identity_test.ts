/** Identity Mixup labels, partners, φ grid; factor flags; long-tail profiles (latent level). */
import assert from "node:assert/strict";
import { MIXUP_GRID, Rng } from "../data/rng.ts";
import { embeddedManifest } from "../generator/mod.ts";
import {
  drawMixup,
  imageJob,
  longTailCounts,
  mixCoefficients,
  mixupLabel,
  type Vary,
} from "../mixup/mod.ts";

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
  const m = embeddedManifest();
  const o = { seed: 9, ids: 10, identityMixup: true, vary: "all" as Vary, idOffset: 0 };
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
  const m = embeddedManifest();
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
