/**
 * `deno task build-generator [--out DIR]`: build the embedded generator (face.onnx +
 * generator.json) into generator/model/ (or DIR). Writes are atomic.
 */
import { exitUsage, parseCliArgs } from "../data/mod.ts";
import { writeFileAtomic } from "../data/mod.ts";
import { buildEmbedded } from "../generator/build.ts";

export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs(
    { args, options: { out: { type: "string" } } },
    exitUsage("build-generator"),
  );
  const modelDir = new URL("../generator/model/", import.meta.url);
  const out = values.out
    ? new URL(
      `file://${values.out.startsWith("/") ? "" : Deno.cwd() + "/"}${
        values.out.replace(/\/?$/, "/")
      }`,
    )
    : modelDir;
  await Deno.mkdir(out, { recursive: true });
  const t0 = performance.now();
  const { onnx, manifest } = await buildEmbedded(modelDir);
  await writeFileAtomic(new URL("face.onnx", out), onnx);
  await writeFileAtomic(
    new URL("generator.json", out),
    new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"),
  );
  console.error(
    `build-generator: wrote ${new URL("face.onnx", out).pathname} (${
      (onnx.length / 1e6).toFixed(2)
    } MB) and generator.json in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

if (import.meta.main) await main(Deno.args);
