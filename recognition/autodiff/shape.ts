/**
 * Shape arithmetic for the frontend: NumPy broadcasting, dense strides, and collapsing
 * adjacent dimensions so that backend kernels see rank 1–3 in the common cases.
 * @module
 */

/** Dense row-major strides of a shape. */
export function denseStrides(shape: readonly number[]): number[] {
  const s = new Array(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** NumPy broadcast of two shapes, or null when incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array(r);
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Element strides of `shape` (dense) read as broadcast to `out` (0 on broadcast dims). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const dense = denseStrides(shape);
  const r = out.length, off = r - shape.length;
  const s = new Array(r).fill(0);
  for (let d = 0; d < shape.length; d++) s[d + off] = shape[d] === 1 ? 0 : dense[d];
  return s;
}

/**
 * Drops size-1 dims and merges dimension d into d+1 wherever every stride list is contiguous
 * across them (stride[d] = stride[d+1]·shape[d+1]). Same element mapping, lower rank.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[d] * shape[d])) {
      sh[last] *= shape[d];
      strides.forEach((s, k) => (st[k][last] = s[d]));
    } else {
      sh.push(shape[d]);
      strides.forEach((s, k) => st[k].push(s[d]));
    }
  }
  if (sh.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: sh, strides: st };
}

/**
 * Collapses a reduction: merges runs of adjacent dims that are all reduced or all kept, drops
 * size-1 dims. Returns same-rank in/out shapes.
 */
export function collapseReduce(
  inShape: readonly number[],
  outShape: readonly number[],
): { inShape: number[]; outShape: number[] } {
  const i: number[] = [], o: number[] = [];
  let prevReduced: boolean | null = null;
  for (let d = 0; d < inShape.length; d++) {
    if (inShape[d] === 1) continue;
    const reduced = outShape[d] === 1;
    if (prevReduced === reduced) {
      i[i.length - 1] *= inShape[d];
      o[o.length - 1] *= reduced ? 1 : inShape[d];
    } else {
      i.push(inShape[d]);
      o.push(reduced ? 1 : inShape[d]);
    }
    prevReduced = reduced;
  }
  if (i.length === 0) return { inShape: [1], outShape: [1] };
  return { inShape: i, outShape: o };
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
