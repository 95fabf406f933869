import assert from "node:assert/strict";
import { listImages, Rng } from "../data/mod.ts";
import {
  createPixelEmbedder,
  frechetDistance,
  gaussianStats,
  meanImage,
  meanImageGap,
  measureRealism,
  pixelSummary,
  referenceFeatures,
  sampleFiles,
} from "../eval/mod.ts";
import { makeSet, temp } from "./_helpers.ts";

temp.test("realism: FD of a set against itself is 0, a shifted set is farther; ratio, cache and identity accuracy", async (tmp) => {
  const rng = Rng.fromSeed(3);
  const noise = Array.from({ length: 40 * 2 * 192 }, () => rng.uniform());
  // "real" and "generated": identical pictures (an identity = a fixed pattern, two noisy views)
  const pattern = (id: number, k: number, i: number) =>
    Math.round(
      40 + 170 * (((id * 37 + i * 11) % 23) / 23) + 20 * noise[(id * 2 + k - 1) * 192 + i],
    );
  await makeSet(`${tmp}/real`, 40, pattern);
  await makeSet(`${tmp}/gen`, 40, pattern);
  // floor: another distribution (different patterns)
  await makeSet(`${tmp}/floor`, 40, (id, k, i) => pattern(id + 1000, k, (i * 7) % 192));
  await Deno.writeTextFile(
    `${tmp}/gen/pairs.txt`,
    "2\t2\nid0\t1\t2\nid1\t1\t2\nid0\t1\tid1\t1\nid2\t1\tid3\t2\n" +
      "id2\t1\t2\nid3\t1\t2\nid4\t1\tid5\t1\nid6\t2\tid7\t1\n",
  );
  const reference = createPixelEmbedder({ inputSize: [8, 8], workSize: [2, 2] });
  const options = {
    generated: `${tmp}/gen`,
    real: `${tmp}/real`,
    floor: `${tmp}/floor`,
    n: 80,
    reference,
    cacheDir: `${tmp}/cache`,
    progress: false,
  };
  const r = await measureRealism(options);
  assert.ok(Math.abs(r.fd) < 1e-6, `fd ${r.fd}`); // singular Σ: √ of round-off
  assert.ok(r.fd_floor! > 0.01, `fd_floor ${r.fd_floor}`);
  assert.equal(r.fd_ratio, r.fd / r.fd_floor!);
  assert.deepEqual(r.images, { generated: 80, real: 80, floor: 80 });
  // identical pictures: equal mean images; the floor's patterns differ
  assert.equal(r.mean_image_gap, 0);
  assert.ok(r.mean_image_gap_floor! > 1, `mean_image_gap_floor ${r.mean_image_gap_floor}`);
  assert.ok(
    r.identity_accuracy !== undefined && r.identity_accuracy >= 0 && r.identity_accuracy <= 1,
  );
  // the floor by hand: same features, same formula
  const files = async (dir: string) => (await listImages(dir)).map((f) => `${dir}/${f}`);
  const f = await referenceFeatures(reference, await files(`${tmp}/floor`), { progress: false });
  const g = await referenceFeatures(reference, await files(`${tmp}/real`), { progress: false });
  const want = frechetDistance(gaussianStats(f, 4), gaussianStats(g, 4)).fd;
  assert.ok(Math.abs(r.fd_floor! - want) < 1e-9);
  // the mean images of the embedding pass (one decode per file) are the standalone ones
  const wantGap = meanImageGap(
    await meanImage(await files(`${tmp}/floor`)),
    await meanImage(await files(`${tmp}/real`)),
  );
  assert.ok(Math.abs(r.mean_image_gap_floor! - wantGap) < 1e-9);
  const floorColour = (await pixelSummary(await files(`${tmp}/floor`))).colour;
  for (const [k, v] of Object.entries(floorColour)) {
    const got = r.colour.floor![k as keyof typeof floorColour];
    assert.ok(
      Math.abs(got - v) < 1e-5 * Math.max(1, Math.abs(v)),
      `floor colour ${k}: ${got} vs ${v}`,
    );
  }
  assert.deepEqual(r.colour.generated, r.colour.real, "identical pictures, identical colour");
  // cached features and mean images are read back identically; a cache from before the mean
  // images were cached gets them added
  const cached = (await Array.fromAsync(Deno.readDir(`${tmp}/cache`))).map((e) => e.name).sort();
  assert.equal(cached.filter((n) => n.endsWith(".pixels.f32")).length, 3, cached.join(", "));
  const again = await measureRealism({ ...options, pairs: "" });
  assert.equal(again.fd_floor, r.fd_floor);
  assert.equal(again.mean_image_gap_floor, r.mean_image_gap_floor);
  assert.deepEqual(again.colour, r.colour);
  for (const n of cached) if (n.endsWith(".pixels.f32")) await Deno.remove(`${tmp}/cache/${n}`);
  const rebuilt = await measureRealism({ ...options, pairs: "" });
  assert.equal(rebuilt.mean_image_gap_floor, r.mean_image_gap_floor);
  assert.deepEqual(rebuilt.colour, r.colour);
  assert.equal(rebuilt.fd_floor, r.fd_floor);
});

Deno.test("realism: sampleFiles is a deterministic sorted subset", () => {
  const files = Array.from({ length: 100 }, (_, i) => `f${String(i).padStart(3, "0")}.png`);
  const a = sampleFiles(files, 10), b = sampleFiles(files, 10);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(a, [...a].sort());
  assert.deepEqual(sampleFiles(files.slice(0, 5), 10), files.slice(0, 5));
});
