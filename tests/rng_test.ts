import assert from "node:assert/strict";
import { MIXUP_GRID, Rng } from "../data/mod.ts";

Deno.test("rng: same seed and path give the same draws", () => {
  const a = Rng.fromSeed(7).split("identity", 3), b = Rng.fromSeed(7).split("identity", 3);
  assert.deepEqual(a.normals(16), b.normals(16));
  assert.notDeepEqual(
    Rng.fromSeed(7).split("identity", 4).normals(4),
    Rng.fromSeed(7).split("identity", 3).normals(4),
  );
  assert.notDeepEqual(
    Rng.fromSeed(8).split("identity", 3).normals(4),
    Rng.fromSeed(7).split("identity", 3).normals(4),
  );
});

Deno.test("rng: splitting does not depend on what the parent drew (shard/resume safe)", () => {
  const root = Rng.fromSeed(1);
  const before = root.split(5).uniform();
  for (let i = 0; i < 100; i++) root.uniform();
  assert.equal(root.split(5).uniform(), before);
});

Deno.test("rng: state round trip resumes the exact sequence", () => {
  const r = Rng.fromSeed(42).split("x");
  r.uniform();
  const saved = JSON.parse(JSON.stringify(r.state()));
  const expected = [r.uniform(), r.normal(), r.int(10)];
  const resumed = Rng.fromState(saved);
  assert.deepEqual([resumed.uniform(), resumed.normal(), resumed.int(10)], expected);
});

Deno.test("rng: uniform, normal and int have the right moments and ranges", () => {
  const r = Rng.fromSeed(3), n = 20000;
  let su = 0, sn = 0, sn2 = 0;
  const counts = new Array(5).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = r.normal();
    sn += z;
    sn2 += z * z;
    counts[r.int(5)]++;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.01, `uniform mean ${su / n}`);
  assert.ok(Math.abs(sn / n) < 0.03, `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 0.04, `normal var ${sn2 / n}`);
  for (const c of counts) assert.ok(Math.abs(c / n - 0.2) < 0.015, `int counts ${counts}`);
});

Deno.test("rng: shuffle is a permutation and choice picks members", () => {
  const r = Rng.fromSeed(9);
  const xs = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...xs].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(xs, Array.from({ length: 50 }, (_, i) => i));
  assert.ok(["a", "b"].includes(r.choice(["a", "b"])));
  assert.throws(() => r.choice([]), /empty/);
});

Deno.test("rng: mixup grid is 21 values 0..1 step 0.05", () => {
  assert.equal(MIXUP_GRID.length, 21);
  assert.equal(MIXUP_GRID[0], 0);
  assert.equal(MIXUP_GRID[20], 1);
  assert.equal(MIXUP_GRID[7], 0.35);
});
