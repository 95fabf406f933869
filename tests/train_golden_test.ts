/**
 * Golden training arithmetic: two tiny runs on the cpu backend whose per-step losses, validation
 * accuracy and final weights (sha256 of the checkpoint's tensors) are pinned. A refactor of the
 * model stack, the trainer or an op that changes any float of training fails here; update the
 * values only on purpose (rerun with `GOLDEN_PRINT=1` to print them) and say why in the commit.
 * The GEMM uses relaxed-SIMD FMA where the CPU has it, so the values hold for x86-64 with FMA.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../data/mod.ts";
import { CpuBackend } from "../recognition/autodiff/mod.ts";
import {
  readCheckpoint,
  train,
  type TrainConfigInput,
  writeTinyDataset,
} from "../recognition/mod.ts";
import { withTempDir } from "./_helpers.ts";

// One thread: the cpu backend gives the same bits at any count, but one is cheapest here.
const backend = await CpuBackend.create({ threads: 1 });

interface Golden {
  losses: number[];
  accuracy?: number;
  weights: string;
  momenta: string;
}

/** sha256 over the checkpoint's tensors (name, then float32 bytes) in name order. */
async function digest(tensors: Map<string, { data: Float32Array }>, momenta: boolean) {
  const names = [...tensors.keys()].filter((n) => n.endsWith(".momentum") === momenta).sort();
  const parts: Uint8Array[] = [];
  for (const n of names) {
    const d = tensors.get(n)!.data;
    parts.push(new TextEncoder().encode(n), new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) (all.set(p, off), off += p.length);
  return `${names.length}:${await sha256Hex(all)}`;
}

async function run(extra: Partial<TrainConfigInput>, real: boolean): Promise<Golden> {
  return await withTempDir({ prefix: "train_golden_" }, async (tmp) => {
    const shape = { height: 16, width: 16 };
    await writeTinyDataset(`${tmp}/data`, { classes: 4, perClass: 4, mixWeight: 0.3, ...shape });
    await writeTinyDataset(`${tmp}/val`, { classes: 3, perClass: 4, seed: 2, ...shape });
    if (real) await writeTinyDataset(`${tmp}/real`, { classes: 3, perClass: 3, seed: 3, ...shape });
    const net = { arch: "ir_tiny", input: shape, batch: 8, lr: 0.1, workers: 0, logEvery: 1 };
    const run = { ...net, data: `${tmp}/data`, out: `${tmp}/run` };
    const val = { data: `${tmp}/val`, numPairs: 20 };
    const dm = real ? { real: { dir: `${tmp}/real` }, domainMixup: true } : {};
    await train({ ...run, val, ...dm, ...extra }, { backend, progressBar: false, noExport: true });
    const metrics = (await Deno.readTextFile(`${tmp}/run/metrics.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    const ck = await readCheckpoint(`${tmp}/run/last.ckpt`);
    return {
      losses: metrics.filter((m) => m.kind === "step").map((m) => m.loss),
      accuracy: metrics.filter((m) => m.kind === "epoch").at(-1)?.val?.[0]?.accuracy,
      weights: await digest(ck.tensors, false),
      momenta: await digest(ck.tensors, true),
    };
  });
}

function check(got: Golden, want: Golden) {
  if (Deno.env.get("GOLDEN_PRINT")) console.log(JSON.stringify(got));
  assert.deepEqual(got, want);
}

Deno.test("golden training: ArcFace, soft labels, dropout, micro-batches, augmentation", async () => {
  check(
    await run({
      steps: 6,
      microBatch: 4,
      dropout: 0.2,
      loss: { kind: "arcface", s: 16, m: 0.2 },
      augment: { enabled: true },
      milestones: [0.5],
    }, false),
    {
      losses: [
        6.278286933898926,
        6.206630706787109,
        2.908196449279785,
        6.003142356872559,
        3.497850179672241,
        5.354937553405762,
      ],
      accuracy: 0.85,
      weights: "57:5b87f587cdf0dd1501f7338cc274ee1833c402fcba59778aff46d87fe1e2f75f",
      momenta: "35:c36a4968e938735b1399a0892e07bfcd7bbe2c31ebfd76f206d11b5a68d40bfa",
    },
  );
});

Deno.test("golden training: softmax head with Domain Mixup", async () => {
  check(
    await run({ steps: 3, loss: { kind: "softmax" }, augment: { enabled: false } }, true),
    {
      losses: [2.243548631668091, 1.9620544910430908, 2.832066059112549],
      accuracy: 0.8,
      weights: "58:990b0a70d55c5d1677b76f542a5221539fd023c33b60a1f571b0c7a3b55d40fd",
      momenta: "36:07ee63a114c2fdf5f8751dc786e4fecfb6f95b98c4b956f3e377d79facbafbd5",
    },
  );
});
