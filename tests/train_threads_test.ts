/**
 * `--threads` with the default backend, and a cpu backend whose results do not depend on its
 * thread count or on which threads happen to be idle (fixed split of the weight gradient over
 * images, fixed order of summing the partials).
 */
import assert from "node:assert/strict";
import { hasHardwareGpu } from "../recognition/autodiff/backends.ts";
import { CpuBackend } from "../recognition/autodiff/cpu/cpu_backend.ts";
import { type ConvSpec, withConvOutput } from "../recognition/autodiff/backend.ts";
import { readCheckpoint } from "../recognition/checkpoint.ts";
import { train } from "../recognition/trainer.ts";
import { writeTinyDataset } from "../recognition/tiny_dataset.ts";
import { tiny, withTinyData } from "./_train_tiny.ts";
import { loose } from "./_helpers.ts";

const gpu = await hasHardwareGpu();
const cores = Math.min(16, navigator.hardwareConcurrency || 1);

Deno.test({
  name: "threads: the default (auto) backend honours --threads and config.json records the count",
  ignore: gpu,
  fn: () =>
    withTinyData("train_threads_", { classes: 3, perClass: 4 }, async (tmp, data) => {
      for (const [threads, want] of [[1, 1], [undefined, cores]] as const) {
        const out = `${tmp}/run${threads ?? "default"}`;
        await train(tiny(data, out, { steps: 1, threads }), { progressBar: false, noExport: true });
        const cfg = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
        assert.equal(cfg.backend, "auto");
        assert.equal(cfg.threads, want, `--threads ${threads}: config.json says ${cfg.threads}`);
        const run = JSON.parse((await Deno.readTextFile(`${out}/metrics.jsonl`)).split("\n")[0]);
        assert.equal(run.kind, "run");
        assert.match(run.backend, new RegExp(`${want} threads?\\b`));
      }
    }),
});

/** Random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  });
}

async function weightGrad(be: CpuBackend, s: ConvSpec, x: Float32Array, dy: Float32Array) {
  const xb = be.alloc(x.length), dyb = be.alloc(dy.length);
  const dw = be.alloc(s.cOut * s.cIn * s.kh * s.kw);
  be.upload(xb, x);
  be.upload(dyb, dy);
  be.conv2dBackwardWeight(xb, dyb, dw, null, s);
  const out = await be.download(dw);
  for (const b of [xb, dyb, dw]) be.free(b);
  return new Uint32Array(out.buffer);
}

loose.test("threads: the conv weight gradient is bit-identical at 1, 2 and 3 threads, call after call", async () => {
  // Large enough that the work is split over threads.
  const same3x3 = { kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 };
  const s = withConvOutput({ n: 12, cIn: 16, h: 20, w: 20, cOut: 24, ...same3x3 });
  const x = rand(s.n * s.cIn * s.h * s.w, 1);
  const dy = rand(s.n * s.cOut * s.outH * s.outW, 2);
  const results: Uint32Array[] = [];
  for (const threads of [1, 2, 3]) {
    const be = await CpuBackend.create({ threads });
    await be.warmup();
    try {
      for (let k = 0; k < 3; k++) results.push(await weightGrad(be, s, x, dy));
    } finally {
      be.dispose();
    }
  }
  for (let i = 1; i < results.length; i++) {
    assert.deepEqual(results[i], results[0], `result ${i} differs from the 1-thread one`);
  }
});

loose.test("threads: training with 1 and with 2 threads gives the same weights, bit for bit", async (tmp) => {
  await writeTinyDataset(`${tmp}/data`, { classes: 4, perClass: 6, height: 32, width: 32 });
  const bits: Uint32Array[][] = [];
  for (const threads of [1, 2]) {
    const backend = await CpuBackend.create({ threads });
    try {
      const out = `${tmp}/t${threads}`;
      const net = { arch: "ir_tiny", input: { height: 32, width: 32 }, batch: 12, workers: 0 };
      const config = { ...net, data: `${tmp}/data`, out, steps: 4, dropout: 0.1 };
      await train(config, { backend, progressBar: false, noExport: true });
      const ck = await readCheckpoint(`${out}/last.ckpt`);
      bits.push([...ck.tensors.values()].map((t) => new Uint32Array(t.data.buffer)));
    } finally {
      backend.dispose();
    }
  }
  bits[0].forEach((t, i) => assert.deepEqual(bits[1][i], t, `tensor ${i}`));
});
