/**
 * The primitive ops: each defined once, forward and backward side by side, in one table typed
 * `{ [P in keyof Prims]: Rule<Prims[P]> }`, so a primitive without a backward rule fails the
 * type check. Forward rules call backend kernels; backward rules are written with the public
 * functions (the engine disables recording while they run). Everything else (linear, l2
 * normalise, dropout, mean, …) is composed in `functional.ts`.
 * @module
 */
import {
  type BatchNormAct,
  type BatchNormActGrad,
  type BinaryOp,
  type ConvSpec,
  type MarginSpec,
  type UnaryOp,
  type UnaryParams,
  withConvOutput,
} from "./backend.ts";
import {
  broadcastShapes,
  broadcastStrides,
  collapse,
  collapseReduce,
  denseStrides,
  normAxis,
} from "./shape.ts";
import { empty, record, ShapeError, shapeSize, type Tensor, uninit } from "./tensor.ts";

/** Arithmetic binary ops (differentiable). */
export type ArithOp = "add" | "sub" | "mul" | "div" | "max" | "min";
/** Comparison ops (1/0 results, no gradient). */
export type CompareOp = "gt" | "ge" | "lt" | "le" | "eq";

/** Parameters of every primitive. */
export interface Prims {
  unary: { op: UnaryOp; p: UnaryParams };
  binary: { op: ArithOp };
  compare: { op: CompareOp };
  where: Record<never, never>;
  reshape: { shape: number[] };
  permute: { perm: number[] };
  expand: { shape: number[] };
  sum: { axes: number[]; keepdim: boolean };
  matmul: { transA: boolean; transB: boolean };
  conv2d: { stride: [number, number]; padding: [number, number] };
  batchNorm: {
    runMean: Tensor;
    runVar: Tensor;
    eps: number;
    momentum: number;
    /** The activation after it (PReLU: its slopes are the 4th input). */
    act: "none" | "relu" | "prelu";
  };
  prelu: Record<never, never>;
  softmaxCrossEntropy: Record<never, never>;
  margin: { labels: Tensor; kind: MarginSpec["kind"]; s: number; m: number; easyMargin: boolean };
}

/** Forward result: the output and any extra tensors the backward rule needs. */
interface Fwd {
  out: Tensor;
  saved?: Tensor[];
}

/** A primitive: forward kernel call(s) and the matching vector-Jacobian product. */
interface Rule<P> {
  forward(xs: Tensor[], p: P): Fwd;
  backward(dy: Tensor, xs: Tensor[], out: Tensor, p: P, saved: Tensor[]): (Tensor | null)[];
}

function sameBackend(op: string, xs: readonly Tensor[]) {
  const be = xs[0].backend;
  for (const x of xs) {
    if (x.backend !== be) {
      throw new ShapeError(op, `inputs live on different backends`, xs.map((t) => t.shape));
    }
  }
  return be;
}

function binarySpec(a: readonly number[], b: readonly number[], out: readonly number[]) {
  const c = collapse(out, [broadcastStrides(a, out), broadcastStrides(b, out)]);
  return { shape: c.shape, aStrides: c.strides[0], bStrides: c.strides[1] };
}

function convSpec(x: Tensor, w: Tensor, p: Prims["conv2d"]): ConvSpec {
  const [n, cIn, h, wd] = x.shape;
  const [cOut, , kh, kw] = w.shape;
  const [strideH, strideW] = p.stride, [padH, padW] = p.padding;
  return withConvOutput({ n, cIn, h, w: wd, cOut, kh, kw, strideH, strideW, padH, padW });
}

/** a ∘ b on the backend's broadcasting binary kernel (arithmetic and comparisons alike). */
function broadcastBinary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape)!;
  const out = uninit(shape, a.backend);
  a.backend.binary(op, a.buf, b.buf, out.buf, binarySpec(a.shape, b.shape, shape));
  return out;
}

function channelSpec(x: Tensor) {
  const [n, c] = x.shape;
  return { n, c, hw: x.size / (n * c || 1) };
}

/** The primitive table. */
export const RULES: { [P in keyof Prims]: Rule<Prims[P]> } = {
  unary: {
    forward([x], { op, p }) {
      const out = uninit(x.shape, x.backend);
      x.backend.unary(op, x.buf, out.buf, x.size, p);
      return { out };
    },
    backward(dy, [x], out, { op, p }) {
      const dx = uninit(x.shape, x.backend);
      x.backend.unaryBackward(op, x.buf, out.buf, dy.buf, dx.buf, x.size, p);
      return [dx];
    },
  },
  binary: {
    forward: ([a, b], { op }) => ({ out: broadcastBinary(op, a, b) }),
    backward(dy, [a, b], out, { op }) {
      const ga = a.requiresGrad, gb = b.requiresGrad;
      switch (op) {
        case "add":
          return [ga ? sumTo(dy, a.shape) : null, gb ? sumTo(dy, b.shape) : null];
        case "sub":
          return [ga ? sumTo(dy, a.shape) : null, gb ? sumTo(neg(dy), b.shape) : null];
        case "mul":
          return [ga ? sumTo(mul(dy, b), a.shape) : null, gb ? sumTo(mul(dy, a), b.shape) : null];
        case "div":
          return [
            ga ? sumTo(div(dy, b), a.shape) : null,
            gb ? sumTo(neg(mul(dy, div(out, b))), b.shape) : null,
          ];
        case "max":
        case "min": {
          // ties go to a
          const mask = op === "max" ? compare("ge", a, b) : compare("le", a, b);
          return [
            ga ? sumTo(mul(dy, mask), a.shape) : null,
            gb ? sumTo(mul(dy, affine(mask, -1, 1)), b.shape) : null,
          ];
        }
      }
    },
  },
  compare: {
    forward: ([a, b], { op }) => ({ out: broadcastBinary(op, a, b) }),
    backward() {
      return [null, null];
    },
  },
  where: {
    forward([c, a, b]) {
      const shape = broadcastShapes(broadcastShapes(c.shape, a.shape)!, b.shape)!;
      const out = uninit(shape, a.backend);
      const k = collapse(shape, [c, a, b].map((t) => broadcastStrides(t.shape, shape)));
      const [condStrides, aStrides, bStrides] = k.strides;
      const spec = { shape: k.shape, condStrides, aStrides, bStrides };
      a.backend.where(c.buf, a.buf, b.buf, out.buf, spec);
      return { out };
    },
    backward(dy, [c, a, b]) {
      const zero = scalar(0, dy.backend);
      return [
        null,
        a.requiresGrad ? sumTo(where(c, dy, zero), a.shape) : null,
        b.requiresGrad ? sumTo(where(c, zero, dy), b.shape) : null,
      ];
    },
  },
  reshape: {
    forward([x], { shape }) {
      return { out: x.view(shape) };
    },
    backward(dy, [x]) {
      return [dy.view(x.shape)];
    },
  },
  permute: {
    forward([x], { perm }) {
      const shape = perm.map((d) => x.shape[d]);
      const ds = denseStrides(x.shape);
      const out = uninit(shape, x.backend);
      const k = collapse(shape, [perm.map((d) => ds[d])]);
      x.backend.strided(x.buf, out.buf, { shape: k.shape, strides: k.strides[0], offset: 0 });
      return { out };
    },
    backward(dy, _xs, _out, { perm }) {
      const inv = new Array(perm.length);
      perm.forEach((d, i) => (inv[d] = i));
      return [permute(dy, inv)];
    },
  },
  expand: {
    forward([x], { shape }) {
      const out = uninit(shape, x.backend);
      const k = collapse(shape, [broadcastStrides(x.shape, shape)]);
      x.backend.strided(x.buf, out.buf, { shape: k.shape, strides: k.strides[0], offset: 0 });
      return { out };
    },
    backward(dy, [x]) {
      return [sumTo(dy, x.shape)];
    },
  },
  sum: {
    forward([x], { axes, keepdim }) {
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const out = uninit(keepdim ? kept : x.shape.filter((_, i) => !axes.includes(i)), x.backend);
      x.backend.reduceSum(x.buf, out.buf, collapseReduce(x.shape, kept));
      return { out };
    },
    backward(dy, [x], _out, { axes }) {
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      return [expand(dy.view(kept), x.shape)];
    },
  },
  matmul: {
    forward([a, b], { transA, transB }) {
      const ra = a.shape.length, rb = b.shape.length;
      const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
      const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
      const batch = ra === 3 ? a.shape[0] : rb === 3 ? b.shape[0] : 1;
      const shape = ra === 3 || rb === 3 ? [batch, m, n] : [m, n];
      const out = uninit(shape, a.backend);
      const aBatchStride = ra === 3 ? m * k : 0, bBatchStride = rb === 3 ? k * n : 0;
      const spec = { batch, m, n, k, transA, transB, aBatchStride, bBatchStride };
      a.backend.matmul(a.buf, b.buf, out.buf, spec);
      return { out };
    },
    backward(dy, [a, b], _out, { transA, transB }) {
      const da = !a.requiresGrad
        ? null
        : transA
        ? matmul(b, dy, { transA: transB, transB: true })
        : matmul(dy, b, { transB: !transB });
      const db = !b.requiresGrad
        ? null
        : transB
        ? matmul(dy, a, { transA: true, transB: transA })
        : matmul(a, dy, { transA: !transA });
      return [da && sumTo(da, a.shape), db && sumTo(db, b.shape)];
    },
  },
  conv2d: {
    forward(xs, p) {
      const [x, w, bias] = xs;
      const s = convSpec(x, w, p);
      const out = uninit([s.n, s.cOut, s.outH, s.outW], x.backend);
      x.backend.conv2d(x.buf, w.buf, bias ? bias.buf : null, out.buf, s);
      return { out };
    },
    backward(dy, xs, _out, p) {
      const [x, w, bias] = xs;
      const s = convSpec(x, w, p);
      const be = x.backend;
      let dx: Tensor | null = null;
      if (x.requiresGrad) {
        dx = uninit(x.shape, be);
        be.conv2dBackwardInput(dy.buf, w.buf, dx.buf, s);
      }
      let dw: Tensor | null = null, db: Tensor | null = null;
      if (w.requiresGrad || bias?.requiresGrad) {
        dw = uninit(w.shape, be);
        db = bias ? uninit(bias.shape, be) : null;
        be.conv2dBackwardWeight(x.buf, dy.buf, dw.buf, db ? db.buf : null, s);
      }
      return bias ? [dx, dw, db] : [dx, dw];
    },
  },
  // with `act`, batch norm + ReLU or PReLU: one kernel each way where the backend fuses them
  // (`fusesBatchNormAct`), else the batch-norm kernel into a temporary and the activation's kernel
  // (and their gradients in turn: the same kernels as the unfused ops)
  batchNorm: {
    forward([x, gamma, beta, alpha], p) {
      const be = x.backend, cs = channelSpec(x), fused = p.act !== "none" && !!be.fusesBatchNormAct;
      const out = uninit(x.shape, be), pre = p.act === "none" || fused ? out : uninit(x.shape, be);
      const mu = uninit([cs.c], be), inv = uninit([cs.c], be);
      const { runMean: rm, runVar: rv } = p, s = { ...cs, eps: p.eps, momentum: p.momentum };
      const act: BatchNormAct | undefined = !fused
        ? undefined
        : p.act === "relu"
        ? { kind: "relu" }
        : { kind: "prelu", alpha: alpha.buf };
      be.batchNormTrain(
        x.buf,
        gamma.buf,
        beta.buf,
        rm.buf,
        rv.buf,
        pre.buf,
        mu.buf,
        inv.buf,
        s,
        act,
      );
      if (pre === out) return { out, saved: [mu, inv] };
      if (p.act === "prelu") {
        be.prelu(pre.buf, alpha.buf, out.buf, cs);
        return { out, saved: [mu, inv, pre] }; // PReLU's backward needs its input
      }
      be.unary("relu", pre.buf, out.buf, out.size, {});
      pre.dispose();
      return { out, saved: [mu, inv] };
    },
    backward(dy, [x, gamma, beta, alpha], out, p, [mean, inv, pre]) {
      const be = x.backend, cs = channelSpec(x), fused = p.act !== "none" && !!be.fusesBatchNormAct;
      const dx = uninit(x.shape, be), dg = uninit(gamma.shape, be), db = uninit(gamma.shape, be);
      const da = p.act === "prelu" ? uninit(alpha.shape, be) : null;
      // the activation's input gradient (composed), or dy (fused / none)
      const g = p.act === "none" || fused ? dy : uninit(x.shape, be);
      if (g !== dy && da) be.preluBackward(pre.buf, alpha.buf, dy.buf, g.buf, da.buf, cs);
      // out > 0 exactly where the ReLU's input was
      else if (g !== dy) be.unaryBackward("relu", out.buf, out.buf, dy.buf, g.buf, out.size, {});
      const act: BatchNormActGrad | undefined = !fused
        ? undefined
        : da
        ? { kind: "prelu", beta: beta.buf, alpha: alpha.buf, dalpha: da.buf }
        : { kind: "relu", beta: beta.buf };
      const bufs = [mean.buf, inv.buf, dx.buf, dg.buf, db.buf] as const;
      be.batchNormBackward(x.buf, g.buf, gamma.buf, ...bufs, cs, act);
      if (g !== dy) g.dispose();
      return da ? [dx, dg, db, da] : [dx, dg, db];
    },
  },
  prelu: {
    forward([x, alpha]) {
      const out = uninit(x.shape, x.backend);
      x.backend.prelu(x.buf, alpha.buf, out.buf, channelSpec(x));
      return { out };
    },
    backward(dy, [x, alpha]) {
      const dx = uninit(x.shape, x.backend), da = uninit(alpha.shape, x.backend);
      x.backend.preluBackward(x.buf, alpha.buf, dy.buf, dx.buf, da.buf, channelSpec(x));
      return [dx, da];
    },
  },
  softmaxCrossEntropy: {
    forward([z, t]) {
      const [rows, cols] = z.shape;
      const out = uninit([rows], z.backend), probs = uninit(z.shape, z.backend);
      z.backend.softmaxCrossEntropy(z.buf, t.buf, out.buf, probs.buf, { rows, cols });
      return { out, saved: [probs] };
    },
    backward(dy, [z, t], _out, _p, [probs]) {
      const [rows, cols] = z.shape;
      const dz = uninit(z.shape, z.backend);
      z.backend.softmaxCrossEntropyBackward(probs.buf, t.buf, dy.buf, dz.buf, { rows, cols });
      return [dz, null];
    },
  },
  margin: {
    forward([c], p) {
      const [rows, cols] = c.shape;
      const out = uninit(c.shape, c.backend);
      c.backend.margin(c.buf, p.labels.buf, out.buf, { ...p, rows, cols });
      return { out };
    },
    backward(dy, [c], _out, p) {
      const [rows, cols] = c.shape;
      const dc = uninit(c.shape, c.backend);
      c.backend.marginBackward(c.buf, p.labels.buf, dy.buf, dc.buf, { ...p, rows, cols });
      return [dc];
    },
  },
};

/** Applies a primitive: validates backends, runs forward, records the backward closure. */
export function apply<P extends keyof Prims>(op: P, xs: Tensor[], p: Prims[P]): Tensor {
  sameBackend(op, xs);
  const rule = RULES[op] as Rule<Prims[P]>;
  const { out, saved = [] } = rule.forward(xs, p);
  const label = "op" in p ? `${op}:${(p as { op: string }).op}` : op;
  record(label, xs, out, (dy) => rule.backward(dy, xs, out, p, saved));
  return out;
}

// ---------------------------------------------------------------- public primitive wrappers

/** A 0-d (shape []) constant on `backend` (default: the default backend). */
export function scalar(value: number, backend?: Tensor["backend"]): Tensor {
  const t = backend ? empty([], backend) : empty([]);
  if (value !== 0) t.backend.fill(t.buf, value, 1);
  return t;
}

function lift(x: Tensor | number, like: Tensor): Tensor {
  return typeof x === "number" ? scalar(x, like.backend) : x;
}

/** Elementwise unary op. */
export function unaryOp(op: UnaryOp, x: Tensor, p: UnaryParams = {}): Tensor {
  return apply("unary", [x], { op, p });
}

/** −x */
export const neg = (x: Tensor): Tensor => unaryOp("neg", x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unaryOp("relu", x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unaryOp("exp", x);
/** ln x */
export const log = (x: Tensor): Tensor => unaryOp("log", x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unaryOp("sqrt", x);
/** x² */
export const square = (x: Tensor): Tensor => unaryOp("square", x);
/** |x| */
export const abs = (x: Tensor): Tensor => unaryOp("abs", x);
/** min(max(x, lo), hi); gradient 1 inside [lo, hi]. */
export const clamp = (x: Tensor, lo: number, hi: number): Tensor =>
  unaryOp("clamp", x, { a: lo, b: hi });
/** a·x + b with scalars. */
export const affine = (x: Tensor, a: number, b: number): Tensor => unaryOp("affine", x, { a, b });

function arith(op: ArithOp, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === "number" && typeof b === "number") {
    throw new TypeError(`autodiff ${op}: at least one operand must be a tensor`);
  }
  // scalar fast paths through the affine unary kernel
  if (typeof b === "number" && (op === "add" || op === "sub" || op === "mul" || op === "div")) {
    const x = a as Tensor;
    if (op === "add") return affine(x, 1, b);
    if (op === "sub") return affine(x, 1, -b);
    if (op === "mul") return affine(x, b, 0);
    return affine(x, 1 / b, 0);
  }
  if (typeof a === "number" && (op === "add" || op === "mul" || op === "sub")) {
    const x = b as Tensor;
    if (op === "add") return affine(x, 1, a);
    if (op === "mul") return affine(x, a, 0);
    return affine(x, -1, a);
  }
  const ta = lift(a, b as Tensor), tb = lift(b, ta);
  if (!broadcastShapes(ta.shape, tb.shape)) {
    throw new ShapeError(op, "shapes do not broadcast", [ta.shape, tb.shape]);
  }
  return apply("binary", [ta, tb], { op });
}

/** a + b (broadcasting; either may be a number). */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => arith("add", a, b);
/** a − b */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => arith("sub", a, b);
/** a · b */
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => arith("mul", a, b);
/** a / b */
export const div = (a: Tensor | number, b: Tensor | number): Tensor => arith("div", a, b);
/** max(a, b) elementwise (gradient to a on ties). */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => arith("max", a, b);
/** min(a, b) elementwise (gradient to a on ties). */
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => arith("min", a, b);

/** Elementwise comparison, 1 where true else 0 (no gradient). */
export function compare(op: CompareOp, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = typeof a === "number" ? lift(a, b as Tensor) : a;
  const tb = lift(b, ta);
  if (!broadcastShapes(ta.shape, tb.shape)) {
    throw new ShapeError(op, "shapes do not broadcast", [ta.shape, tb.shape]);
  }
  return apply("compare", [ta, tb], { op });
}

/** cond ≠ 0 ? a : b, broadcasting (no gradient to cond). */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = lift(a, cond), tb = lift(b, cond);
  const s = broadcastShapes(cond.shape, ta.shape);
  if (!s || !broadcastShapes(s, tb.shape)) {
    throw new ShapeError("where", "shapes do not broadcast", [cond.shape, ta.shape, tb.shape]);
  }
  return apply("where", [cond, ta, tb], {});
}

/** Same data, new shape (one dimension may be −1). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const hole = s.indexOf(-1);
  if (hole >= 0) {
    const rest = shapeSize(s.filter((_, i) => i !== hole));
    s[hole] = rest === 0 ? 0 : x.size / rest;
  }
  if (!s.every((d) => Number.isInteger(d) && d >= 0) || shapeSize(s) !== x.size) {
    throw new ShapeError("reshape", `cannot reshape to [${shape}]`, [x.shape]);
  }
  return apply("reshape", [x], { shape: s });
}

/** Permutes dimensions (default: reverse them). Copies. */
export function permute(x: Tensor, perm?: readonly number[]): Tensor {
  const r = x.shape.length;
  const p = perm ? perm.map((d) => normAxis(d, r)) : [...Array(r).keys()].reverse();
  if (p.length !== r || new Set(p).size !== r) {
    throw new ShapeError("permute", `bad permutation [${perm}]`, [x.shape]);
  }
  return apply("permute", [x], { perm: p });
}

/** Swaps the last two dimensions. */
export function transpose(x: Tensor): Tensor {
  const r = x.shape.length;
  if (r < 2) throw new ShapeError("transpose", "needs rank ≥ 2", [x.shape]);
  const p = [...Array(r).keys()];
  [p[r - 2], p[r - 1]] = [p[r - 1], p[r - 2]];
  return permute(x, p);
}

/** Broadcasts to `shape` (copies). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const b = broadcastShapes(x.shape, shape);
  if (!b || b.join() !== shape.join()) {
    throw new ShapeError("expand", `cannot broadcast to [${shape}]`, [x.shape]);
  }
  return apply("expand", [x], { shape: [...shape] });
}

/** Sum over `axes` (default all). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const r = x.shape.length;
  const ax = axes === undefined
    ? [...Array(r).keys()]
    : (typeof axes === "number" ? [axes] : [...axes]).map((a) => normAxis(a, r));
  return apply("sum", [x], { axes: ax, keepdim });
}

/** Sums a broadcast gradient back to `shape` (right-aligned NumPy broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < g.shape.length; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  }
  return reshape(sum(g, axes, true), shape);
}

/** Options of {@link matmul}. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Matrix product of rank-2 or rank-3 (batched) tensors; a rank-2 operand is broadcast over
 * the other's batch. `transA`/`transB` read an operand as transposed without copying.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  const ra = a.shape.length, rb = b.shape.length;
  const ka = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const badRank = ra < 2 || ra > 3 || rb < 2 || rb > 3;
  if (badRank || ka !== kb || (ra === 3 && rb === 3 && a.shape[0] !== b.shape[0])) {
    throw new ShapeError(
      "matmul",
      `inner dimensions ${ka} and ${kb} (transA=${transA}, transB=${transB}) must agree`,
      [a.shape, b.shape],
    );
  }
  return apply("matmul", [a, b], { transA, transB });
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}

/** 2-D convolution, NCHW input, OIHW weights, optional bias (cOut). */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  opts: Conv2dOptions = {},
): Tensor {
  const st = opts.stride ?? 1, pd = opts.padding ?? 0;
  const stride: [number, number] = typeof st === "number" ? [st, st] : st;
  const padding: [number, number] = typeof pd === "number" ? [pd, pd] : pd;
  const shapes = bias ? [x.shape, w.shape, bias.shape] : [x.shape, w.shape];
  if (x.shape.length !== 4 || w.shape.length !== 4 || x.shape[1] !== w.shape[1]) {
    throw new ShapeError(
      "conv2d",
      "expected x (N,C,H,W) and w (O,C,kh,kw) with the same C",
      shapes,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== w.shape[0])) {
    throw new ShapeError("conv2d", "bias must have shape [O]", shapes);
  }
  const outH = Math.floor((x.shape[2] + 2 * padding[0] - w.shape[2]) / stride[0]) + 1;
  const outW = Math.floor((x.shape[3] + 2 * padding[1] - w.shape[3]) / stride[1]) + 1;
  if (outH < 1 || outW < 1) throw new ShapeError("conv2d", `empty output ${outH}×${outW}`, shapes);
  return apply("conv2d", bias ? [x, w, bias] : [x, w], { stride, padding });
}

/** Options of {@link batchNormTrain}. */
export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  /** A ReLU after the batch norm, fused into the op (one kernel each way on the cpu backend). */
  relu?: boolean;
  /**
   * A PReLU with these slopes ([C]) after the batch norm, fused into the op like `relu` (the
   * same result and gradients, slopes' included, as `prelu(batchNormTrain(…), alpha)`).
   */
  prelu?: Tensor;
}

/**
 * Training-mode batch norm over (N, C) or (N, C, H, W) with batch statistics; updates the
 * running statistics in place.
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  opts: BatchNormOptions = {},
): Tensor {
  const c = x.shape[1], { eps = 1e-5, momentum = 0.1, relu = false, prelu: alpha } = opts;
  const vecs = [gamma, beta, runMean, runVar, ...(alpha ? [alpha] : [])];
  const ok = (x.shape.length === 2 || x.shape.length === 4) &&
    vecs.every((t) => t.shape.length === 1 && t.shape[0] === c);
  if (!ok) {
    const shapes = [x, ...vecs].map((t) => t.shape);
    throw new ShapeError("batchNorm", "expected x (N,C[,H,W]) and per-channel vectors [C]", shapes);
  }
  if (relu && alpha) throw new TypeError("autodiff batchNorm: relu and prelu both given");
  const act = alpha ? "prelu" : relu ? "relu" : "none";
  const xs = alpha ? [x, gamma, beta, alpha] : [x, gamma, beta];
  return apply("batchNorm", xs, { runMean, runVar, eps, momentum, act });
}

/** PReLU with one slope per channel (dim 1). */
export function prelu(x: Tensor, alpha: Tensor): Tensor {
  if (x.shape.length < 2 || alpha.shape.length !== 1 || alpha.shape[0] !== x.shape[1]) {
    throw new ShapeError("prelu", "expected x (N,C,…) and alpha [C]", [x.shape, alpha.shape]);
  }
  return apply("prelu", [x, alpha], {});
}

/** Per-row softmax cross-entropy with soft targets (rows×cols each); returns [rows] losses. */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  if (logits.shape.length !== 2 || logits.shape.join() !== targets.shape.join()) {
    throw new ShapeError(
      "softmaxCrossEntropy",
      "expected logits and targets of the same (rows, cols) shape",
      [logits.shape, targets.shape],
    );
  }
  return apply("softmaxCrossEntropy", [logits, targets], {});
}

/** Options of {@link marginLogits}. */
export interface MarginOptions {
  kind: "arcface" | "cosface";
  /** Scale s (SynFace code: 30). */
  s: number;
  /** Margin m (ArcFace 0.5, CosFace 0.4 in SynFace's code). */
  m: number;
  /** ArcFace only: apply cos(θ+m) only when cos θ > 0 instead of the th/mm guard. */
  easyMargin?: boolean;
}

/**
 * Margin logits from cosines (rows×classes): s·cos off the label, s·φ(cos) at `labels[r]`
 * (a [rows] tensor of class indices as floats; −1 = no margin), see `MarginSpec`.
 */
export function marginLogits(cos: Tensor, labels: Tensor, opts: MarginOptions): Tensor {
  if (cos.shape.length !== 2 || labels.shape.join() !== String(cos.shape[0])) {
    const shapes = [cos.shape, labels.shape];
    throw new ShapeError("margin", "expected cos (rows, classes) and labels [rows]", shapes);
  }
  const { kind, s, m, easyMargin = false } = opts;
  return apply("margin", [cos], { labels, kind, s, m, easyMargin });
}
