/**
 * data/onnx/session.ts: one session interface on three execution providers. The `wasm` path is
 * always tested; `node` where onnxruntime-node's addon loads (skipped elsewhere); the fallback is
 * tested in a child process denied `--allow-ffi`, where the addon cannot load.
 */
import assert from "node:assert/strict";
import {
  createSession,
  EP_CHOICES,
  GraphBuilder,
  isEpChoice,
  nodeAvailable,
  probeWebGpu,
  resolveEp,
} from "../data/onnx/mod.ts";
import { runOutsideRepo } from "./_helpers.ts";

const NODE = await nodeAvailable();
/** Appended to a skipped test's name: why it is skipped. */
const SKIP = NODE.available ? "" : ` (ignored: onnxruntime-node does not load: ${NODE.reason})`;

/** y = Relu(x) · 2 + b (b = [0.5, −1, 0]) over [N, 3]; s = Shape(x) (int64). */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder("tiny");
  g.input("x", "float32", ["N", 3]);
  const r = g.op("Relu", ["x"]);
  const m = g.op("Mul", [r, g.const(2)]);
  const y = g.op("Add", [m, g.const([0.5, -1, 0], [3])]);
  g.output(y, "y", "float32", ["N", 3]);
  g.output(g.op("Shape", ["x"]), "s", "int64", [2]);
  return g.toBytes();
}

async function knownAnswer(ep: "wasm" | "node", threads?: number) {
  const s = await createSession(tinyModel(), { ep, threads, name: "tiny.onnx" });
  try {
    assert.equal(s.ep, ep);
    assert.deepEqual(s.inputs, [{ name: "x", type: "float32", shape: ["N", 3] }]);
    assert.deepEqual(s.outputs.map((o) => o.name), ["y", "s"]);
    const x = Float32Array.of(-1, 1, 2, 3, -4, 0.25);
    const out = await s.run({ x: { data: x, dims: [2, 3] } });
    assert.deepEqual([out.y.dims, out.y.type, out.s.type], [[2, 3], "float32", "int64"]);
    assert.deepEqual(Array.from(out.y.data as Float32Array), [0.5, 1, 4, 6.5, -1, 0.5]);
    assert.deepEqual(Array.from(out.s.data as BigInt64Array), [2n, 3n]);
    // only the asked-for output
    const only = await s.run({ x: { data: x.subarray(0, 3), dims: [1, 3] } }, ["y"]);
    assert.deepEqual(Object.keys(only), ["y"]);
    return s.threads;
  } finally {
    await s.release();
  }
}

Deno.test("onnx session: wasm runs a known answer on one thread", async () => {
  assert.equal(await knownAnswer("wasm"), 1);
});

Deno.test({
  name: "onnx session: node runs the same known answer with the asked threads" + SKIP,
  ignore: !NODE.available,
  fn: async () => {
    assert.equal(await knownAnswer("node", 2), 2);
    assert.equal(await knownAnswer("node", 1), 1);
  },
});

Deno.test("onnx session: auto = hardware WebGPU, else node where it loads, else wasm", async () => {
  const gpu = await probeWebGpu();
  const want = gpu.available && !gpu.software ? "webgpu" : NODE.available ? "node" : "wasm";
  assert.equal(await resolveEp("auto"), want);
  assert.equal(await resolveEp("wasm"), "wasm");
  if (NODE.available) assert.equal(await resolveEp("node"), "node");
  else await assert.rejects(() => resolveEp("node"), /--ep node: onnxruntime-node does not load/);
  if (!gpu.available) await assert.rejects(() => resolveEp("webgpu"), /--ep webgpu: no WebGPU/);
  assert.deepEqual(EP_CHOICES, ["auto", "webgpu", "node", "wasm"]);
  assert.ok(isEpChoice("node") && !isEpChoice("cpu") && !isEpChoice(undefined));
});

Deno.test("onnx session: errors name the model, the EP and what went wrong", async () => {
  await assert.rejects(
    () => createSession(Uint8Array.of(1, 2, 3), { ep: "wasm", name: "broken.onnx" }),
    /broken\.onnx: onnxruntime \(wasm\) could not load it/,
  );
  const s = await createSession(tinyModel(), { ep: "wasm", name: "tiny.onnx" });
  try {
    await assert.rejects(
      () => s.run({ x: { data: new Float32Array(4), dims: [1, 4] } }),
      /tiny\.onnx: run failed on wasm/,
    );
  } finally {
    await s.release();
  }
  if (NODE.available) {
    await assert.rejects(
      () => createSession(tinyModel(), { ep: "node", threads: 0 }),
      /threads 0: expected an integer ≥ 1/,
    );
  }
});

Deno.test({
  name: "onnx session: without --allow-ffi the addon cannot load and auto falls back to wasm" +
    SKIP,
  ignore: !NODE.available, // elsewhere every run is this fallback
  fn: async () => {
    const mod = new URL("../data/onnx/mod.ts", import.meta.url).href;
    const script = `
import * as m from ${JSON.stringify(mod)};
const g = new m.GraphBuilder();
g.input("x", "float32", [1, 2]);
g.output(g.op("Relu", ["x"]), "y", "float32", [1, 2]);
const s = await m.createSession(g.toBytes(), { ep: "auto" });
const { y } = await s.run({ x: { data: Float32Array.of(-3, 3), dims: [1, 2] } });
const node = await m.nodeAvailable();
console.log(JSON.stringify({ ep: s.ep, y: Array.from(y.data), node: node.available,
  reason: /ffi/.test(node.reason ?? "") }));
`;
    const file = await Deno.makeTempFile({ prefix: "synface-noffi-", suffix: ".ts" });
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      // `deno eval` would grant every permission; `run` with read + env only denies ffi
      args: ["run", "--allow-read", "--allow-env", file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output().finally(() => Deno.remove(file));
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `child failed:\n${stderr}`);
    const got = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(got, { ep: "wasm", y: [0, 3], node: false, reason: true });
  },
});

Deno.test("onnx session: works imported by URL, without our import map (wasm; auto where node loads)", async () => {
  const script = `
import { createSession, GraphBuilder } from ${
    JSON.stringify(new URL("../data/onnx/mod.ts", import.meta.url).href)
  };
const g = new GraphBuilder();
g.input("x", "float32", [1, 2]);
g.output(g.op("Relu", ["x"]), "y", "float32", [1, 2]);
const out = {};
for (const ep of ["wasm", "auto"]) {
  const s = await createSession(g.toBytes(), { ep });
  const { y } = await s.run({ x: { data: Float32Array.of(-3, 3), dims: [1, 2] } });
  out[ep] = [s.ep, Array.from(y.data)];
  await s.release();
}
console.log(JSON.stringify(out));
`;
  const got = await runOutsideRepo(script);
  assert.deepEqual(got, { wasm: ["wasm", [0, 3]], auto: [await resolveEp("auto"), [0, 3]] });
});
