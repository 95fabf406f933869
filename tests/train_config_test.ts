import assert from "node:assert/strict";
import { centerCrop, flipHorizontal, resize } from "../data/transform.ts";
import { Rng } from "../data/rng.ts";
import {
  aspectWindow,
  augment,
  fitImage,
  gaussianBlur,
  photometric,
  randomErase,
} from "../recognition/augment.ts";
import { archByName, blocks, checkInput, featureSize } from "../recognition/arch.ts";
import {
  AugmentConfigSchema,
  baseLr,
  learningRate,
  parseTrainConfig,
  TrainConfigError,
} from "../recognition/config.ts";
import { backboneParams } from "../recognition/params.ts";
import { parseTrainArgs } from "../tasks/train.ts";

Deno.test("config: paper defaults and the multi-step schedule at 60/75/90%", () => {
  const c = parseTrainConfig({ data: "d", out: "o", batch: 512 });
  assert.equal(c.momentum, 0.9);
  assert.equal(c.weightDecay, 5e-4);
  assert.equal(baseLr(c), 0.1);
  assert.equal(c.loss.kind, "arcface");
  // 40 epochs of 10 steps: ×0.1 at epochs 24, 30, 36 (the paper's schedule).
  const total = 400;
  const at = (e: number) => learningRate(c, e * 10, total);
  assert.equal(at(23), 0.1);
  assert.ok(Math.abs(at(24) - 0.01) < 1e-12);
  assert.ok(Math.abs(at(29) - 0.01) < 1e-12);
  assert.ok(Math.abs(at(30) - 0.001) < 1e-12);
  assert.ok(Math.abs(at(36) - 0.0001) < 1e-12);
  const w = parseTrainConfig({ data: "d", out: "o", lr: 0.2, warmupSteps: 4 });
  const warm = [0, 1, 2, 3, 4].map((s) => learningRate(w, s, 100));
  [0.05, 0.1, 0.15, 0.2, 0.2].forEach((v, i) => assert.ok(Math.abs(warm[i] - v) < 1e-12));
});

Deno.test("config: errors name the field", () => {
  assert.throws(() => parseTrainConfig({ data: "d", out: "o", batch: 0 }), /field "batch"/);
  assert.throws(
    () => parseTrainConfig({ data: "d", out: "o", batch: 10, microBatch: 4 }),
    /microBatch.*does not divide/,
  );
  assert.throws(
    () => parseTrainConfig({ data: "d", out: "o", domainMixup: true }),
    TrainConfigError,
  );
  assert.throws(() => parseTrainConfig({ out: "o" }), /field "data"/);
});

Deno.test("cli: flags map onto the config", async () => {
  const { config, resume } = await parseTrainArgs(
    "--data=D --out=R --real=X --real-ids=2000 --real-per-id=10 --domain-mixup --loss=cosface --epochs=3 --batch=64 --micro-batch=16 --input=112x96 --resume"
      .split(" "),
  );
  assert.equal(resume, true);
  const c = parseTrainConfig(config);
  assert.deepEqual(c.real, { dir: "X", ids: 2000, perId: 10 });
  assert.equal(c.domainMixup, true);
  assert.equal(c.loss.kind, "cosface");
  assert.deepEqual([c.epochs, c.batch, c.microBatch], [3, 64, 16]);
  assert.deepEqual(c.input, { height: 112, width: 96 });
});

Deno.test("arch: LResNet50E-IR is [3,4,14,3] × 64/128/256/512, 512-d, 112×96 → 7×6", () => {
  const a = archByName("lresnet50e_ir");
  assert.deepEqual([a.stages, a.widths, a.embedding], [[3, 4, 14, 3], [64, 128, 256, 512], 512]);
  assert.deepEqual(a.input, { height: 112, width: 96 });
  assert.deepEqual(featureSize(a, 112, 96), [7, 6]);
  assert.equal(blocks(a).length, 24);
  const fc = backboneParams(a, a.input).find((p) => p.name === "head.fc.weight")!;
  assert.deepEqual(fc.shape, [512, 512 * 7 * 6]);
  const n = backboneParams(a, a.input).filter((p) => p.trainable)
    .reduce((s, p) => s + p.shape.reduce((x, y) => x * y, 1), 0);
  assert.ok(n > 40e6 && n < 45e6, `LResNet50E-IR has ${n} parameters`);
  assert.throws(() => checkInput(a, 100, 96), /multiples of 16/);
  assert.throws(() => archByName("resnet9000"), /expected one of/);
});

Deno.test("augment: flip, erasing and centred fit", () => {
  const img = { channels: 3, height: 8, width: 6, data: new Float32Array(144).map((_, i) => i) };
  const flipOnly = AugmentConfigSchema.parse({ resizeCrop: 0, flip: 1, erase: 0 });
  assert.deepEqual(augment(img, flipOnly, Rng.fromSeed(1)), flipHorizontal(img));
  const erased = randomErase(img, Rng.fromSeed(4));
  const zeros = erased.data.filter((v, i) => v !== img.data[i]).length;
  assert.ok(zeros > 0 && zeros % 3 === 0, `${zeros} values erased`);
  const crop = AugmentConfigSchema.parse({ resizeCrop: 1, flip: 0, erase: 0 });
  const a = augment(img, crop, Rng.fromSeed(2));
  assert.deepEqual([a.height, a.width], [8, 6]);
  assert.deepEqual(augment(img, crop, Rng.fromSeed(2)), a); // same stream, same pixels
  const big = { channels: 3, height: 112, width: 112, data: new Float32Array(3 * 112 * 112) };
  assert.deepEqual([fitImage(big, 112, 96, "center-crop", "f").width], [96]);
  assert.throws(() => fitImage(big, 112, 96, "exact", "f.png"), /f\.png: image is 112×112/);
  // resize: same aspect → plain resize; other aspect → centred window of that aspect first.
  const ramp = {
    channels: 1,
    height: 8,
    width: 8,
    data: new Float32Array(64).map((_, i) => i % 8),
  };
  assert.deepEqual(fitImage(ramp, 4, 4, "resize", "r"), resize(ramp, 4, 4));
  assert.deepEqual(aspectWindow(112, 112, 64, 48), [112, 84]);
  assert.deepEqual(fitImage(ramp, 4, 2, "resize", "r"), resize(centerCrop(ramp, 8, 4), 4, 2));
});

Deno.test("augment: photometric jitter, grey, blur and low resolution", () => {
  const hw = 8 * 8;
  const img = {
    channels: 3,
    height: 8,
    width: 8,
    data: new Float32Array(3 * hw).map((_, i) => Math.sin(i * 0.7) * 0.8),
  };
  const off = AugmentConfigSchema.parse({ resizeCrop: 0, erase: 0 });
  // off: the paper's augmentation draws exactly as before (no photometric draws)
  const a = Rng.fromSeed(3), b = Rng.fromSeed(3);
  augment(img, off, a);
  for (let k = 0; k < 3; k++) b.uniform();
  assert.equal(a.uniform(), b.uniform());
  const grey = photometric(img, AugmentConfigSchema.parse({ grey: 1 }), Rng.fromSeed(1));
  for (let p = 0; p < hw; p++) {
    const u = (c: number) => (img.data[c * hw + p] + 1) / 2;
    const want = (0.299 * u(0) + 0.587 * u(1) + 0.114 * u(2)) * 2 - 1;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(grey.data[c * hw + p] - want) < 1e-6);
  }
  const jitter = AugmentConfigSchema.parse({ colour: 1 });
  const j1 = photometric(img, jitter, Rng.fromSeed(5));
  assert.deepEqual(photometric(img, jitter, Rng.fromSeed(5)), j1); // same stream, same pixels
  assert.ok(j1.data.some((v, i) => Math.abs(v - img.data[i]) > 1e-3));
  assert.ok(j1.data.every((v) => v >= -1 && v <= 1));
  // blur: weights sum to one (a constant stays), and it is the separable Gaussian at one pixel
  const flat = { channels: 1, height: 5, width: 5, data: new Float32Array(25).fill(0.25) };
  assert.ok(gaussianBlur(flat, 1).data.every((v) => Math.abs(v - 0.25) < 1e-6));
  const dot = { channels: 1, height: 9, width: 9, data: new Float32Array(81) };
  dot.data[40] = 1;
  const g = (d: number) => Math.exp(-(d * d) / 2);
  let z = 0;
  for (let d = -3; d <= 3; d++) z += g(d);
  const blurred = gaussianBlur(dot, 1);
  assert.ok(Math.abs(blurred.data[40] - 1 / (z * z)) < 1e-6);
  assert.ok(Math.abs(blurred.data[41] - g(1) / (z * z)) < 1e-6);
  // low resolution: a round trip through fewer pixels loses detail, keeps the size
  const low = photometric(img, AugmentConfigSchema.parse({ lowRes: 1 }), Rng.fromSeed(2));
  assert.deepEqual([low.height, low.width], [8, 8]);
  assert.ok(low.data.some((v, i) => Math.abs(v - img.data[i]) > 0.05));
});

Deno.test("config: the shipped experiment configs parse", async () => {
  for (const name of ["paper.json", "cpu_fast.json"]) {
    const url = new URL(`../recognition/configs/${name}`, import.meta.url);
    const json = JSON.parse(await Deno.readTextFile(url));
    const c = parseTrainConfig({ ...json, data: "d", out: "o" }, name);
    assert.ok(c.batch % (c.microBatch ?? c.batch) === 0);
  }
  const { config } = await parseTrainArgs([
    "--config",
    new URL("../recognition/configs/paper.json", import.meta.url).pathname,
    "--data=D",
    "--out=R",
    "--epochs=2",
  ]);
  const c = parseTrainConfig(config);
  assert.deepEqual([c.arch, c.batch, c.epochs, c.loss.m], ["lresnet50e_ir", 512, 2, 0.5]);
});
