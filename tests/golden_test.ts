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
    "11489c927d50cefe81a50ceb0b77a3a05426301835975682f278da2592095d57 " +
    "d8f0ca893ee633f09744ec984c75476bdad53fd66aefbe236f559ca01c2bc01e",
    "id000000/id000000_0002.png [[1,1]] " +
    "a94d08f48300b3e4c16cd86fae1d4806a718b3cf31cd5812e5eacc5d575aea12 " +
    "e65bb8f6657c90067dec9633834c47d45a6a63ffb61d256dd52cdb921e5bb14f",
    "id000001/id000001_0001.png [[1,0.15],[0,0.85]] " +
    "8c99474c7e15b8be918f004b60f50b0fde2db5d541aaee734109736ef90b7565 " +
    "82e64cffe6f5f54f52399e4f1f053a52c4cea5ec8617ba2f15a8ea74da4e6b98",
    "id000001/id000001_0002.png [[1,0.25],[0,0.75]] " +
    "0d5c68280c04bc012bcf526ae93603966980e747c8f2f0ca288ba73859a67f84 " +
    "c826ccb3921e33a55d7e8c26e6346e148427fb3950cf6a8a2cfadb7d6fc38880",
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
