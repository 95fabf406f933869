/**
 * Look at a dataset folder (manifest or plain image folder): header, counts, soft labels;
 * optionally verify every file and write a contact sheet.
 *
 *   deno task inspect DIR [--verify] [--sheet out.png] [--count 64] [--columns 8]
 *
 * Exits 1 with the error (naming file, line and field) when the set is malformed.
 * @module
 */
import {
  contactSheet,
  encodePng,
  exitUsage,
  formatDuration,
  openAnyDataset,
  parseCliArgs,
  resize,
  toRaw,
  writeFileAtomic,
} from "../data/mod.ts";

/** Run the inspector on command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs({
    args,
    allowPositionals: true,
    options: {
      verify: { type: "boolean", default: false },
      sheet: { type: "string" },
      count: { type: "string", default: "64" },
      columns: { type: "string", default: "8" },
      help: { type: "boolean", short: "h", default: false },
    },
  }, exitUsage("inspect"));
  if (values.help || positionals.length !== 1) {
    console.error(
      "usage: deno task inspect DIR [--verify] [--sheet out.png] [--count 64] [--columns 8]",
    );
    return values.help ? 0 : 2;
  }
  const dir = positionals[0];
  try {
    const ds = await openAnyDataset(dir);
    const records = ds.records();
    const perClass = Map.groupBy(records, (r) => r.class);
    const soft = records.filter((r) => r.label.length > 1).length;
    const counts = [...perClass.values()].map((rs) => rs.length).sort((a, b) => a - b);
    const { image } = ds.header;
    console.log(
      `${dir}: ${ds.kind} dataset, ${ds.header.source}, generator ${ds.header.generator}`,
    );
    console.log(`  images ${ds.size}, ${image.height}×${image.width}×${image.channels}`);
    console.log(
      `  classes ${ds.header.num_classes} (${perClass.size} with images; ` +
        `per class min ${counts[0]}, median ${counts[counts.length >> 1]}, max ${counts.at(-1)})`,
    );
    console.log(`  soft labels ${soft} (${((100 * soft) / Math.max(1, ds.size)).toFixed(1)}%)`);
    if (values.verify) {
      const t0 = performance.now();
      await ds.verify({
        onProgress: (done, total) => {
          if (done % 1000 !== 0 && done !== total) return;
          const s = (performance.now() - t0) / 1000;
          const rate = done / s, eta = formatDuration((total - done) / rate);
          Deno.stderr.writeSync(new TextEncoder().encode(
            `\r  verify ${done}/${total}  ${rate.toFixed(0)} img/s  ETA ${eta}`,
          ));
        },
      });
      console.error();
      console.log(
        ds.kind === "manifest"
          ? "  verify: every file present, hash, size and channels as the manifest says"
          : "  verify: every file present and decodes at the header's size",
      );
    }
    if (values.sheet) {
      const n = Math.min(Number(values.count), ds.size);
      const step = Math.max(1, Math.floor(ds.size / n));
      const tiles = [];
      for (let i = 0; i < n; i++) {
        const img = await ds.readImage(records[i * step]);
        tiles.push(resize(img, image.height, image.width));
      }
      const sheet = contactSheet(tiles, Number(values.columns));
      await writeFileAtomic(values.sheet, encodePng(toRaw(sheet)));
      console.log(`  sheet: ${values.sheet} (${n} images, every ${step}th)`);
    }
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
