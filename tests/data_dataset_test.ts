import assert from "node:assert/strict";
import {
  type DatasetHeader,
  DatasetHeaderSchema,
  type DatasetRecordInput,
  DatasetRecordSchema,
  DatasetWriter,
  decodeRaw,
  encodePng,
  openAnyDataset,
  openDataset,
  openImageFolder,
  Rng,
  toRaw,
} from "../data/mod.ts";
import { main as inspect } from "../tasks/inspect.ts";
import { temp } from "./_helpers.ts";

const HEADER: DatasetHeader = {
  kind: "header",
  schema_version: 1,
  image: { height: 4, width: 5, channels: 3 },
  layout: "class_dir",
  generator: "test@1",
  num_classes: 3,
  source: "synthetic",
  config: { b: 2, a: [1, 2] },
};

/** Deterministic image `k`: bytes depend only on k (as a generator's would). */
function item(k: number): { record: DatasetRecordInput; bytes: Uint8Array } {
  const cls = k % 3;
  const rng = Rng.fromSeed(11).split("img", k);
  const data = new Uint8Array(4 * 5 * 3).map(() => rng.int(256));
  const label: [number, number][] = k % 4 === 0 ? [[cls, 0.7], [(cls + 1) % 3, 0.3]] : [[cls, 1]];
  return {
    record: {
      path: `${String(cls).padStart(3, "0")}/${String(k).padStart(4, "0")}.png`,
      class: cls,
      label,
      latent: { seed: 11, identity: cls, index: k },
    },
    bytes: encodePng({ channels: 3, height: 4, width: 5, data }),
  };
}

async function writeAll(dir: string, ks: number[], shard?: { index: number; count: number }) {
  const w = await DatasetWriter.open(dir, HEADER, { shard });
  for (const k of ks) {
    const { record, bytes } = item(k);
    if (!w.has(record.path)) await w.write(record, bytes);
  }
  await w.close();
}

async function snapshot(dir: string) {
  const ds = await openDataset(dir);
  const images = [];
  for (const r of ds.records()) images.push(await ds.readBytes(r));
  return { header: ds.header, records: ds.records(), images };
}

const KS = Array.from({ length: 12 }, (_, k) => k);

// Child mode for the kill test: write items 0, 1, 2… forever, printing each committed index.
if (Deno.env.get("SYNFACE_DATASET_CHILD")) {
  const w = await DatasetWriter.open(Deno.env.get("SYNFACE_DATASET_CHILD")!, HEADER);
  for (let k = 0;; k++) {
    const { record, bytes } = item(k % 600);
    if (!w.has(record.path)) await w.write(record, bytes);
    console.log(k);
  }
}

temp.test("dataset: manifest round trip (records, bytes, pixels, canonical order)", async (dir) => {
  await writeAll(dir, [...KS].reverse());
  const ds = await openDataset(dir);
  assert.equal(ds.kind, "manifest");
  assert.deepEqual(ds.header, HEADER);
  assert.equal(ds.size, 12);
  const recs = ds.records();
  // Canonical order: class, then path, whatever the write order was.
  const order = recs.map((r) => [r.class, r.path] as const);
  assert.deepEqual(order, [...order].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)));
  assert.deepEqual(recs[0].label, [[0, 0.7], [1, 0.3]]); // k = 0: a mixup soft label survives
  assert.deepEqual(recs[0].latent, { seed: 11, identity: 0, index: 0 });
  for (const r of recs) DatasetRecordSchema.parse(r);
  const k = recs[3].latent!.index as number;
  assert.deepEqual(await ds.readBytes(recs[3]), item(k).bytes);
  const img = await ds.readImage(recs[3], { verifyHash: true });
  assert.equal(img.channels, 3);
  assert.deepEqual(toRaw(img).data, (await ds.readRaw(recs[3])).data);
  await ds.verify();
  assert.deepEqual(ds.classNames(), ["000", "001", "002"]);
  assert.equal((await openAnyDataset(dir)).kind, "manifest");
  // Nothing left behind but images and the manifest.
  const top = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
  assert.deepEqual(top.sort(), ["000", "001", "002", "manifest.jsonl"]);
});

temp.test("dataset: shards 1/2 + 2/2 (concurrent) read exactly like a single run", async (tmp) => {
  const single = `${tmp}/single`, sharded = `${tmp}/sharded`;
  await writeAll(single, KS);
  await Promise.all([
    writeAll(sharded, KS.filter((k) => k % 2 === 0), { index: 1, count: 2 }),
    writeAll(sharded, KS.filter((k) => k % 2 === 1), { index: 2, count: 2 }),
  ]);
  assert.deepEqual(await snapshot(sharded), await snapshot(single));
  await (await openDataset(sharded)).verify();
  // A missing shard is an error, not a silently smaller set.
  await Deno.remove(`${sharded}/manifest.shard-2-of-2.jsonl`);
  await assert.rejects(openDataset(sharded), /manifest\.shard-2-of-2\.jsonl is missing/);
});

temp.test("dataset: resume after a kill (torn last line, orphan image, stale temp)", async (tmp) => {
  const ref = `${tmp}/ref`, dir = `${tmp}/dir`;
  await writeAll(ref, KS);
  await writeAll(dir, KS.slice(0, 5));
  // Simulate a kill: half a manifest line, an image whose line never came, a stale temp file.
  const orphan = item(5);
  await Deno.mkdir(`${dir}/${orphan.record.path.split("/")[0]}`, { recursive: true });
  await Deno.writeFile(`${dir}/${orphan.record.path}`, orphan.bytes.subarray(0, 10));
  await Deno.writeTextFile(`${dir}/manifest.jsonl`, '{"kind":"image","path":"00', { append: true });
  await Deno.mkdir(`${dir}/.tmp`);
  await Deno.writeFile(`${dir}/.tmp/manifest-dead.part`, new Uint8Array(3));
  // A reader ignores the uncommitted tail.
  assert.equal((await openDataset(dir)).size, 5);
  const w = await DatasetWriter.open(dir, HEADER);
  assert.equal(w.size, 5);
  assert.ok(w.has(item(4).record.path));
  assert.ok(!w.has(orphan.record.path));
  await w.close();
  await writeAll(dir, KS);
  assert.deepEqual(await snapshot(dir), await snapshot(ref));
  await (await openDataset(dir)).verify();
  await assert.rejects(Deno.stat(`${dir}/.tmp`)); // removed when empty
});

temp.test("dataset: concurrent write() calls on one writer read like sequential ones", async (tmp) => {
  const seq = `${tmp}/seq`, par = `${tmp}/par`;
  await writeAll(seq, KS);
  const w = await DatasetWriter.open(par, HEADER);
  await Promise.all(KS.map((k) => w.write(item(k).record, item(k).bytes)));
  await w.close();
  assert.deepEqual(await snapshot(par), await snapshot(seq));
  const lines = (await Deno.readTextFile(`${par}/manifest.jsonl`)).split("\n");
  assert.equal(lines.length, 1 + KS.length + 1); // header, one whole line each, final newline
});

temp.test("dataset: SIGKILL a writing process, resume, get the same set", async (ref, dir) => {
  const all = Array.from({ length: 40 }, (_, k) => k);
  await writeAll(ref, all);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname],
    env: { SYNFACE_DATASET_CHILD: dir },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let seen = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    seen += chunk;
    if (seen.split("\n").length > 15) break; // ~15 images committed, more in flight
  }
  child.kill("SIGKILL");
  await child.status;
  const before = (await openDataset(dir)).size;
  assert.ok(before >= 14 && before < 600, `${before} committed before the kill`);
  await writeAll(dir, all);
  const after = await snapshot(dir), want = await snapshot(ref);
  // The child may have got further than 40: compare the first 40 items only.
  const first40 = (s: typeof after) => {
    const keep = s.records.map((r, i) => [r, i] as const).filter(([r]) =>
      (r.latent!.index as number) < 40
    );
    return {
      header: s.header,
      records: keep.map(([r]) => r),
      images: keep.map(([, i]) => s.images[i]),
    };
  };
  assert.deepEqual(first40(after), want);
  await (await openDataset(dir)).verify();
});

temp.test("dataset: one writer per manifest (advisory lock)", async (dir) => {
  const a = await DatasetWriter.open(dir, HEADER);
  await assert.rejects(DatasetWriter.open(dir, HEADER), /another writer has this manifest open/);
  const b = await DatasetWriter.open(dir, HEADER, { shard: { index: 1, count: 2 } }); // other file
  await b.close();
  await a.close();
  await (await DatasetWriter.open(dir, HEADER)).close(); // released on close
});

temp.test("dataset: a different dataset in the folder is an error that touches nothing", async (plain) => {
  const dir = `${plain}/dataset`;
  await writeAll(dir, KS.slice(0, 3));
  const before = await Deno.readTextFile(`${dir}/manifest.jsonl`);
  await assert.rejects(
    DatasetWriter.open(dir, { ...HEADER, num_classes: 4 }),
    /holds a different dataset \(field "num_classes": on disk 3, given 4\)/,
  );
  await assert.rejects(
    DatasetWriter.open(dir, { ...HEADER, generator: "other" }, { shard: { index: 1, count: 2 } }),
    /different dataset/,
  );
  assert.equal(await Deno.readTextFile(`${dir}/manifest.jsonl`), before);
  await assert.rejects(Deno.stat(`${dir}/manifest.shard-1-of-2.jsonl`));
  // Same header with keys in another order, and a shard: accepted.
  const { config: _c, ...rest } = HEADER;
  const w = await DatasetWriter.open(dir, { config: { a: [1, 2], b: 2 }, ...rest }, {
    shard: { index: 1, count: 1 },
  });
  assert.equal(w.size, 3);
  await w.close();
  // A non-empty folder without manifest is refused.
  await Deno.writeTextFile(`${plain}/notes.txt`, "x");
  await assert.rejects(DatasetWriter.open(plain, HEADER), /not empty and has no manifest/);
});

temp.test("dataset: writer rejects bad records before writing anything", async (dir) => {
  const w = await DatasetWriter.open(dir, HEADER);
  const { record, bytes } = item(1);
  const png = (channels: 1 | 3, height: number) =>
    encodePng({ channels, height, width: 5, data: new Uint8Array(channels * height * 5) });
  const bad: [Partial<DatasetRecordInput>, Uint8Array, RegExp][] = [
    [{ label: [[1, 0.5], [2, 0.2]] }, bytes, /field "label": weights sum to 0\.7, expected 1/],
    [{ class: 3 }, bytes, /field "class": 3 out of range/],
    [{ label: [[1, 1.5], [2, -0.5]] }, bytes, /field "label\.0\.1": .*<=1/],
    [{ label: [[1, 0.5], [1, 0.5]] }, bytes, /twice/],
    [{ label: [[5, 1]] }, bytes, /field "label": class 5 out of range/],
    [{ path: "../x.png" }, bytes, /field "path"/],
    [{ path: "001/x.jpg" }, bytes, /bytes are png/],
    [{}, png(3, 2), /image is 2×5, the header says 4×5/],
    [{}, png(1, 4), /1 channel\(s\), the header says 3/],
  ];
  for (const [change, b, error] of bad) {
    await assert.rejects(w.write({ ...record, ...change }, b), error);
  }
  await w.write({ ...record, label: [[1, 1], [2, 0]] }, bytes); // φ = 1 on the mixup grid
  await assert.rejects(w.write(record, bytes), /already in the dataset/);
  await w.close();
  const ds = await openDataset(dir);
  assert.equal(ds.size, 1);
});

temp.test("dataset: manifest errors name file, line and field", async (dir) => {
  await writeAll(dir, KS.slice(0, 3));
  const path = `${dir}/manifest.jsonl`;
  const lines = (await Deno.readTextFile(path)).split("\n");
  const bad = JSON.parse(lines[2]);
  bad.label = [[bad.class, 0.7]];
  await Deno.writeTextFile(path, [lines[0], lines[1], JSON.stringify(bad), ""].join("\n"));
  await assert.rejects(
    openDataset(dir),
    /manifest\.jsonl:3: field "label": weights sum to 0\.7, expected 1/,
  );
  await Deno.writeTextFile(path, [lines[0], "{oops", ""].join("\n"));
  await assert.rejects(openDataset(dir), /manifest\.jsonl:2: not valid JSON/);
  const h = JSON.parse(lines[0]);
  h.schema_version = 2;
  await Deno.writeTextFile(path, [JSON.stringify(h), lines[1], ""].join("\n"));
  await assert.rejects(openDataset(dir), /manifest\.jsonl:1: header: field "schema_version"/);
  await assert.rejects(openDataset(`${dir}/000`), /no manifest\.jsonl/);
});

temp.test("dataset: verify and readImage name the bad file", async (dir) => {
  await writeAll(dir, KS.slice(0, 3));
  const ds = await openDataset(dir);
  const [r0, r1] = ds.records();
  const f0 = `${dir}/${r0.path}`;
  const bytes = await Deno.readFile(f0);
  bytes[bytes.length - 20] ^= 0xff;
  await Deno.writeFile(f0, bytes);
  await assert.rejects(
    ds.verify(),
    (e: Error) => e.message.includes(f0) && /sha256/.test(e.message),
  );
  await assert.rejects(ds.readImage(r0, { verifyHash: true }), /does not match the manifest/);
  await Deno.remove(`${dir}/${r1.path}`);
  await assert.rejects(
    ds.readImage(r1),
    (e: Error) => e.message.startsWith(`${dir}/${r1.path}: file not found`),
  );
});

temp.test("dataset: plain image folder (one sub-folder per class, sorted, one-hot)", async (dir) => {
  const png = (v: number) =>
    encodePng({ channels: 1, height: 3, width: 2, data: new Uint8Array(6).fill(v) });
  for (
    const [cls, files] of [["b", ["2.png", "10.png"]], ["a", ["x.png"]], ["empty", []]] as const
  ) {
    await Deno.mkdir(`${dir}/${cls}`);
    for (const f of files) await Deno.writeFile(`${dir}/${cls}/${f}`, png(f.length));
  }
  await Deno.writeTextFile(`${dir}/b/notes.txt`, "ignored");
  await Deno.writeTextFile(`${dir}/README`, "ignored");
  const ds = await openAnyDataset(dir);
  assert.equal(ds.kind, "folder");
  assert.deepEqual(ds.header.image, { height: 3, width: 2, channels: 1 });
  assert.equal(ds.header.num_classes, 2);
  assert.deepEqual(ds.classNames(), ["a", "b"]);
  assert.deepEqual(
    ds.records().map((r) => [r.path, r.class, r.label, r.source]),
    [
      ["a/x.png", 0, [[0, 1]], "a/x.png"],
      ["b/10.png", 1, [[1, 1]], "b/10.png"],
      ["b/2.png", 1, [[1, 1]], "b/2.png"],
    ],
  );
  const img = await ds.readImage(ds.records()[1]);
  assert.equal(img.channels, 3); // grey → RGB
  assert.ok(img.data.every((v) => v === Math.fround((6 - 127.5) / 127.5)));
  await ds.verify();
  await Deno.writeFile(`${dir}/a/x.png`, new Uint8Array([1, 2, 3]));
  await assert.rejects(ds.verify(), new RegExp(`${dir}/a/x.png: .*wrong magic`));
  await assert.rejects(openImageFolder(`${dir}/empty`), /no images found/);
});

Deno.test("dataset: header schema rejects nonsense with the field name", () => {
  const r = DatasetHeaderSchema.safeParse({
    ...HEADER,
    image: { height: 0, width: 5, channels: 3 },
  });
  assert.ok(!r.success);
  assert.deepEqual(r.error.issues[0].path, ["image", "height"]);
});

temp.test("inspect CLI: summary, verify, contact sheet; exit 1 naming the bad line", async (dir) => {
  await writeAll(dir, KS);
  const sheet = `${dir}/sheet.png`;
  const out: string[] = [];
  const { log, error } = console;
  console.log = console.error = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    const args = [dir, "--verify", "--sheet", sheet, "--count", "6", "--columns", "3"];
    assert.equal(await inspect(args), 0);
    assert.ok(out.some((l) => l.includes("images 12, 4×5×3")), out.join("\n"));
    assert.ok(out.some((l) => l.includes("soft labels 3 (25.0%)")), out.join("\n"));
    const raw = decodeRaw(await Deno.readFile(sheet), sheet);
    // 2 rows × 3 columns of 4×5 tiles with 2-pixel gaps.
    assert.deepEqual([raw.height, raw.width], [2 * 4 + 3 * 2, 3 * 5 + 4 * 2]);
    await Deno.remove(sheet);
    await Deno.writeTextFile(`${dir}/manifest.jsonl`, '{"kind":"image"}\n', { append: true });
    assert.equal(await inspect([dir]), 1);
    assert.match(out.at(-1)!, /^error: .*manifest\.jsonl:14: field "path"/);
    assert.equal(await inspect([]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
});
