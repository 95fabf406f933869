import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "../recognition/checkpoint.ts";

const ckpt: Checkpoint = {
  meta: { config: { arch: "ir_tiny" }, globalStep: 3, position: { epoch: 1, step: 0 }, state: {} },
  tensors: new Map([
    ["stem.conv.weight", { shape: [2, 1, 1, 1], data: Float32Array.of(1.5, -2) }],
    ["stem.conv.weight.momentum", { shape: [2, 1, 1, 1], data: Float32Array.of(0.25, 0) }],
  ]),
};

Deno.test("checkpoint: the SYNFCKPT file round-trips meta and tensors", () => {
  const bytes = encodeCheckpoint(ckpt);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "SYNFCKPT");
  assert.deepEqual(decodeCheckpoint(bytes, "a.ckpt"), ckpt);
});

Deno.test("checkpoint: damaged files are refused, naming the file and the problem", () => {
  const bytes = encodeCheckpoint(ckpt);
  const bad = (b: Uint8Array, re: RegExp) =>
    assert.throws(
      () => decodeCheckpoint(b, "a.ckpt"),
      (e) => e instanceof CheckpointError && re.test(e.message),
    );
  bad(
    bytes.slice(0, bytes.length - 4),
    /^a\.ckpt: truncated at tensor "stem\.conv\.weight\.momentum"/,
  );
  bad(Uint8Array.from([...bytes, 0, 0, 0, 0]), /^a\.ckpt: 4 trailing bytes/);
  bad(new Uint8Array(40), /^a\.ckpt: not a synface checkpoint/);
  const noStep = encodeCheckpoint({ ...ckpt, meta: { ...ckpt.meta, globalStep: -1 } });
  bad(noStep, /^a\.ckpt: bad meta/);
  assert.throws(
    () =>
      encodeCheckpoint({
        ...ckpt,
        tensors: new Map([["w", { shape: [3], data: new Float32Array(2) }]]),
      }),
    /tensor "w": shape \[3\] but 2 values/,
  );
});
