import assert from "node:assert/strict";
import { BufferPool, sizeClass } from "../recognition/autodiff/webgpu/buffer_pool.ts";

/** A stand-in device: the pool only creates buffers and destroys them. */
function fakeDevice() {
  const destroyed: number[] = [];
  let next = 0;
  const device = {
    createBuffer({ size }: { size: number }) {
      const id = next++;
      return { size, id, destroy: () => destroyed.push(id) };
    },
  } as unknown as GPUDevice;
  return { device, destroyed };
}

Deno.test("webgpu pool: a buffer released over the cap is destroyed only after the next submit", () => {
  const { device, destroyed } = fakeDevice();
  const afterSubmit: (() => void)[] = [];
  const pool = new BufferPool(device, 1024, (destroy) => afterSubmit.push(destroy));
  const a = pool.acquire(1024).buffer, b = pool.acquire(1024).buffer;
  pool.release(a); // fits the cap: kept for reuse
  pool.release(b); // over the cap: a recorded dispatch may still bind it
  assert.deepEqual(destroyed, [], "destroyed before the commands using it were submitted");
  assert.equal(afterSubmit.length, 1);
  afterSubmit.forEach((destroy) => destroy());
  assert.deepEqual(destroyed, [1]);
  assert.equal(pool.acquire(1000).buffer, a, "the pooled buffer is reused");
  assert.equal(pool.stats.created, 2);
});

Deno.test("webgpu pool: size classes waste at most 25%", () => {
  for (const bytes of [1, 256, 257, 1000, 4097, 123457, 2 ** 20 + 1]) {
    const cls = sizeClass(bytes);
    assert.ok(cls >= bytes && cls <= Math.max(256, bytes * 1.25), `${bytes} -> ${cls}`);
  }
});
