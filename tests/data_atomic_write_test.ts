import assert from "node:assert/strict";
import { writeFileAtomic } from "../data/mod.ts";
import { temp } from "./_helpers.ts";

temp.test("writeFileAtomic: creates parents, replaces content, takes URLs, leaves no temp files", async (dir) => {
  const path = `${dir}/a/b/out.txt`;
  await writeFileAtomic(path, "one");
  await writeFileAtomic(path, "two");
  assert.equal(await Deno.readTextFile(path), "two");
  const url = new URL(`file://${dir}/c/bytes.bin`);
  await writeFileAtomic(url, new Uint8Array([1, 2, 3]));
  assert.deepEqual(await Deno.readFile(url), new Uint8Array([1, 2, 3]));
  const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
  assert.deepEqual(names, ["out.txt"]);
});

temp.test("writeFileAtomic: a failed rename keeps what was there and removes the temp file", async (dir) => {
  await Deno.mkdir(`${dir}/target/inside`, { recursive: true }); // a non-empty folder: rename fails
  await assert.rejects(writeFileAtomic(`${dir}/target`, "x"));
  assert.ok(Deno.statSync(`${dir}/target/inside`).isDirectory);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
});
