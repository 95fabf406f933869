import assert from "node:assert/strict";
import { encodePng, ImageDecodeError, openImageFolder } from "../data/mod.ts";
import { temp } from "./_helpers.ts";

function png(v: number): Uint8Array {
  return encodePng({ height: 4, width: 4, channels: 3, data: new Uint8Array(48).fill(v) });
}

temp.test("image folder: symlinked image files and class folders are followed", async (tmp) => {
  // Originals elsewhere; the training folder holds only symlinks (a subset without copying).
  await Deno.mkdir(`${tmp}/orig/a`, { recursive: true });
  await Deno.mkdir(`${tmp}/orig/b`, { recursive: true });
  for (const [c, v] of [["a", 10], ["b", 200]] as const) {
    for (const k of [1, 2, 3]) await Deno.writeFile(`${tmp}/orig/${c}/${k}.png`, png(v + k));
  }
  await Deno.mkdir(`${tmp}/subset/a`, { recursive: true });
  await Deno.symlink(`${tmp}/orig/a/1.png`, `${tmp}/subset/a/1.png`);
  await Deno.symlink(`../../orig/a/3.png`, `${tmp}/subset/a/3.png`); // relative link
  await Deno.symlink(`${tmp}/orig/b`, `${tmp}/subset/b`); // a linked class folder
  const ds = await openImageFolder(`${tmp}/subset`);
  const paths = ["a/1.png", "a/3.png", "b/1.png", "b/2.png", "b/3.png"];
  assert.deepEqual(ds.records().map((r) => r.path), paths);
  assert.equal(ds.header.num_classes, 2);
  const img = await ds.readImage(ds.records()[1]);
  assert.equal(img.height, 4);
  // A dangling link is named, not skipped in silence.
  await Deno.symlink(`${tmp}/orig/a/9.png`, `${tmp}/subset/a/9.png`);
  await assert.rejects(
    openImageFolder(`${tmp}/subset`),
    (e: Error) => e instanceof ImageDecodeError && /a\/9\.png.*broken symlink/.test(e.message),
  );
});
