/**
 * Golden values: fixed references that any change to the PRNG streams or to the generator's
 * pixels breaks. Update them only on purpose (regenerate with the code in each test), and say so
 * in the commit message.
 */
import assert from "node:assert/strict";
import { openDataset, Rng, sha256Hex } from "../data/mod.ts";
import { synthesize } from "../synthesis/mod.ts";
import { loose, withTempDir } from "./_helpers.ts";

Deno.test("golden: PRNG draws", () => {
  const r = Rng.fromSeed(12345);
  assert.deepEqual(
    [r.uniform(), r.uniform(), r.int(1000), r.normal()],
    [0.9858160256498981, 0.4067238007914611, 536, 0.2607817754608597],
  );
  assert.deepEqual(
    Array.from(Rng.fromSeed(7).split("identity", 3).normals(3)),
    [1.2010191679000854, 0.6367176175117493, -0.9064031839370728],
  );
});

/** Each generated image as "path label file-sha256 pixel-sha256", 2 ids × 2 at seed 7 with IM. */
async function goldenImages(model?: URL): Promise<string[]> {
  return await withTempDir({ prefix: "golden_" }, async (dir) => {
    const opts = {
      ids: 2,
      perId: 2,
      seed: 7,
      identityMixup: true,
      workers: 0,
      ep: "wasm",
    } as const;
    await synthesize({ ...opts, out: dir, model, progress: false });
    const ds = await openDataset(dir);
    const got: string[] = [];
    for (const r of ds.records()) {
      const file = await sha256Hex(await Deno.readFile(`${dir}/${r.path}`));
      const pixels = await sha256Hex((await ds.readRaw(r)).data);
      got.push(`${r.path} ${JSON.stringify(r.label)} ${file} ${pixels}`);
    }
    return got;
  });
}

loose.test("golden: generated images at seed 7 (file sha256 and pixel sha256, embedded learned generator)", async () => {
  assert.deepEqual(await goldenImages(), [
    "id000000/id000000_0001.png [[1,1]] " +
    "2490b00e0710d19dab4b721020a0c2b131b9d6aa15fcaada727c032483dc6e2a " +
    "729b98bbb51b5124e01bc4c2aaca7126a7f47ddcd4888ae29e5b234f0cb8e3e6",
    "id000000/id000000_0002.png [[1,1]] " +
    "aadf01fcfee60e264a8b39ec169b0f82e1cfb343ec7da0dc7a7d667bb26a64e7 " +
    "7fb3f1866d3063c1fc438f7cc4ce89c0f0c02357a446e55cfdde9045728269bf",
    "id000001/id000001_0001.png [[1,0.15],[0,0.85]] " +
    "ab38f66f07f7686078f7de6b9143fca4d1e66641b3f579c65f77ecfe59f8e1f5 " +
    "4d886191d1008aaef9e6a88ee9e1375e9a0c73731ee9910c577ed2bf3b46286c",
    "id000001/id000001_0002.png [[1,0.25],[0,0.75]] " +
    "40992e33d0e742ee8fce7ec59d56d63d8ca7a5ddea3bc52a99bd9afbfe7a3205 " +
    "9fd766effb5c3761861e5056f4862aaff043d9af0dd133a81d55a23274d04bba",
  ]);
});

loose.test("golden: generated images at seed 7 (file sha256 and pixel sha256, procedural generator, unchanged by the learned one)", async () => {
  const procedural = new URL("../generator/model/procedural.json", import.meta.url);
  assert.deepEqual(await goldenImages(procedural), [
    "id000000/id000000_0001.png [[1,1]] " +
    "9018727473e062ead7b6dca025142212ff3ffe803b7dc3613c993b953698ba8d " +
    "4887918678cbf98284c4866e6ed969a20e81c5b0cce70068a0aa9cc85ac96c60",
    "id000000/id000000_0002.png [[1,1]] " +
    "30ad0c9bdc060810698aa0df1d6c6583f5af201eb66a794a865736a167181c5c " +
    "f5ddfc72fe3f369507000ff02f48d624f28763184636a40b41da3814c9c66f6f",
    "id000001/id000001_0001.png [[1,0.15],[0,0.85]] " +
    "6727b3e75b3f209ffaa005903a6c582b1e186892918e48ea036961609f23ec29 " +
    "e88e0997e0afd6e91f7bb2de43e2368a783e5b8d40b9cecd89af3b55b4bf91aa",
    "id000001/id000001_0002.png [[1,0.25],[0,0.75]] " +
    "66fa93f04ea65f90c1b0194827c6971bc8388408871eb92824de7b4a1c3bb073 " +
    "dca0be26ec842d92eb079c1e7c21298b869dbce4804299d4f5461e518e2c0cea",
  ]);
});
