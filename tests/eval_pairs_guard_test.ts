import assert from "node:assert/strict";
import { encodePng } from "../data/mod.ts";
import { PairsFormatError, parseCsvPairs, parseLfwPairs, resolveImages } from "../eval/mod.ts";
import { runTask, temp } from "./_helpers.ts";

const isPairsError = (re: RegExp) => (e: Error) =>
  e instanceof PairsFormatError && re.test(e.message);

Deno.test("pairs guard: CSV paths that are absolute or climb out with .. are refused, naming the line", () => {
  const ok = "a/1.jpg,a/2.jpg,1\na/1.jpg,b/1.jpg,0\n";
  assert.equal(parseCsvPairs(ok, "p.csv").pairs.length, 2);
  assert.throws(
    () => parseCsvPairs("a/1.jpg,../outside/secret.jpg,1\na/1.jpg,b/1.jpg,0\n", "p.csv"),
    isPairsError(/^p\.csv:1: .*"\.\.\/outside\/secret\.jpg".*inside the images folder/),
  );
  assert.throws(
    () => parseCsvPairs("a/1.jpg,a/2.jpg,1\n/etc/passwd.jpg,b/1.jpg,0\n", "p.csv"),
    isPairsError(/^p\.csv:2: .*"\/etc\/passwd\.jpg"/),
  );
  assert.throws(
    () => parseCsvPairs("a/1.jpg,a/./x/../../../2.jpg,1\na/1.jpg,b/1.jpg,0\n", "p.csv"),
    isPairsError(/^p\.csv:1: /),
  );
});

Deno.test("pairs guard: LFW names with a path in them are refused, naming the line", () => {
  assert.throws(
    () => parseLfwPairs("1\n../outside 1 2\nA 1 B 1\n", "pairsDevTrain.txt"),
    isPairsError(/^pairsDevTrain\.txt:2: name "\.\.\/outside"/),
  );
  assert.throws(
    () => parseLfwPairs("1\nA 1 2\nA 1 .. 1\n", "pairsDevTrain.txt"),
    isPairsError(/^pairsDevTrain\.txt:3: name "\.\."/),
  );
});

temp.test("pairs guard: a folder symlinked out of --images is refused after symlinks", async (tmp) => {
  const img = encodePng({ height: 2, width: 2, channels: 3, data: new Uint8Array(12) });
  await Deno.mkdir(`${tmp}/outside`);
  await Deno.writeFile(`${tmp}/outside/secret.png`, img);
  await Deno.mkdir(`${tmp}/images/a`, { recursive: true });
  await Deno.writeFile(`${tmp}/images/a/1.png`, img);
  await Deno.symlink(`${tmp}/outside`, `${tmp}/images/evil`);
  const good = resolveImages(["a/1.png"], `${tmp}/images`);
  assert.equal(good.paths.get("a/1.png"), `${tmp}/images/a/1.png`);
  assert.throws(
    () => resolveImages(["a/1.png", "evil/secret.png"], `${tmp}/images`, (r) => `p.csv:7 (${r})`),
    isPairsError(/^p\.csv:7 \(evil\/secret\.png\): resolves to .*outside\/secret\.png, outside/),
  );
  // A linked image file inside a real sub-folder is fine (subsets made of links).
  await Deno.symlink(`${tmp}/outside/secret.png`, `${tmp}/images/a/2.png`);
  assert.ok(resolveImages(["a/2.png"], `${tmp}/images`).paths.has("a/2.png"));
  // The evaluate CLI: exit 2 with the file and line.
  await Deno.writeTextFile(`${tmp}/p.csv`, "a/1.png,a/1.png,1\na/1.png,../outside/secret.png,0\n");
  const r = await runTask(
    "evaluate",
    `--model pixels --pairs ${tmp}/p.csv --images ${tmp}/images --out ${tmp}/o --kfold 2`,
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /p\.csv:2: /);
});
