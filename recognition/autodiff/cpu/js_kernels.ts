/**
 * Plain TypeScript kernels over dense typed arrays (float32 or float64). They are the
 * reference implementation of every {@link Backend} kernel (the `ref64` backend runs them on
 * float64) and the CPU backend's kernels for everything except GEMM/convolution.
 * Semantics are documented on the `Backend` interface in `../backend.ts`.
 * @module
 */
import type {
  BatchNormSpec,
  BinaryOp,
  BinarySpec,
  ChannelSpec,
  ConvSpec,
  MarginSpec,
  MatmulSpec,
  ReduceSpec,
  RowSpec,
  SgdSpec,
  StridedSpec,
  UnaryOp,
  UnaryParams,
  WhereSpec,
} from "../backend.ts";
import { BINARY_JS, UNARY_JS } from "../unary.ts";

/** A dense float array of either precision. */
export type F = Float32Array | Float64Array;

/**
 * Calls `row(o0, o1, o2, o3)` for every index of `shape` minus its last dimension, with the
 * element offset of that row's first element in the output (dense) and up to three inputs.
 * Inner loops over the last dimension then run without any index arithmetic.
 */
function forRows(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  row: (o: number, i0: number, i1: number, i2: number) => void,
): void {
  const r = shape.length;
  if (r === 0) {
    row(0, 0, 0, 0);
    return;
  }
  const last = shape[r - 1];
  let rows = 1;
  for (let d = 0; d < r - 1; d++) rows *= shape[d];
  if (rows === 0 || last === 0) return;
  const idx = new Array(r - 1).fill(0);
  const s0 = strides[0] ?? [], s1 = strides[1] ?? [], s2 = strides[2] ?? [];
  let i0 = 0, i1 = 0, i2 = 0;
  for (let q = 0; q < rows; q++) {
    row(q * last, i0, i1, i2);
    // odometer increment over dims r-2 … 0
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      i0 += s0[d] ?? 0;
      i1 += s1[d] ?? 0;
      i2 += s2[d] ?? 0;
      if (idx[d] < shape[d]) break;
      i0 -= (s0[d] ?? 0) * shape[d];
      i1 -= (s1[d] ?? 0) * shape[d];
      i2 -= (s2[d] ?? 0) * shape[d];
      idx[d] = 0;
    }
  }
}

/** Dense strided gather, see `StridedSpec`. */
export function strided(x: F, out: F, spec: StridedSpec): void {
  const { shape, strides, offset } = spec;
  const r = shape.length;
  const last = r ? shape[r - 1] : 1;
  const ls = r ? strides[r - 1] : 0;
  forRows(shape, [strides], (o, i0) => {
    let p = offset + i0;
    for (let j = 0; j < last; j++, p += ls) out[o + j] = x[p];
  });
}

/** dst += alpha·src. */
export function accumulate(dst: F, src: F, n: number, alpha: number): void {
  if (alpha === 1) { for (let i = 0; i < n; i++) dst[i] += src[i]; }
  else for (let i = 0; i < n; i++) dst[i] += alpha * src[i];
}

/** out = f(x), the loop generated from `../unary.ts`. */
export function unary(op: UnaryOp, x: F, out: F, n: number, p: UnaryParams): void {
  UNARY_JS[op].fwd(x, out, n, p.a ?? 0, p.b ?? 0);
}

/** dx = dy·f'(x), see `Backend.unaryBackward`; the loop generated from `../unary.ts`. */
export function unaryBackward(
  op: UnaryOp,
  x: F,
  y: F,
  dy: F,
  dx: F,
  n: number,
  p: UnaryParams,
): void {
  UNARY_JS[op].grad(x, y, dy, dx, n, p.a ?? 0, p.b ?? 0);
}

/** Broadcasting binary op, the row loop generated from `../unary.ts`. */
export function binary(op: BinaryOp, a: F, b: F, out: F, spec: BinarySpec): void {
  const { shape, aStrides, bStrides } = spec;
  const r = shape.length;
  const n = r ? shape[r - 1] : 1;
  const as = r ? aStrides[r - 1] : 0, bs = r ? bStrides[r - 1] : 0;
  const row = BINARY_JS[op];
  forRows(shape, [aStrides, bStrides], (o, ia, ib) => row(a, b, out, o, ia, ib, n, as, bs));
}

/** out = cond ≠ 0 ? a : b, broadcasting. */
export function where(cond: F, a: F, b: F, out: F, spec: WhereSpec): void {
  const { shape, condStrides, aStrides, bStrides } = spec;
  const r = shape.length;
  const n = r ? shape[r - 1] : 1;
  const cs = r ? condStrides[r - 1] : 0, as = r ? aStrides[r - 1] : 0;
  const bs = r ? bStrides[r - 1] : 0;
  forRows(shape, [condStrides, aStrides, bStrides], (o, ic, ia, ib) => {
    for (let j = 0; j < n; j++) {
      out[o + j] = cond[ic + j * cs] !== 0 ? a[ia + j * as] : b[ib + j * bs];
    }
  });
}

/** Sum over the dims where outShape is 1. */
export function reduceSum(x: F, out: F, spec: ReduceSpec): void {
  const { inShape, outShape } = spec;
  const r = inShape.length;
  let outSize = 1;
  for (const d of outShape) outSize *= d;
  out.fill(0, 0, outSize);
  // out strides (dense), 0 on reduced dims; walk the input densely.
  const os = new Array(r).fill(0);
  let s = 1;
  for (let d = r - 1; d >= 0; d--) {
    os[d] = outShape[d] === 1 && inShape[d] !== 1 ? 0 : s;
    s *= outShape[d];
  }
  const n = r ? inShape[r - 1] : 1;
  const ls = r ? os[r - 1] : 0;
  forRows(inShape, [os], (o, io) => {
    if (ls === 0) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += x[o + j];
      out[io] += acc;
    } else {
      for (let j = 0; j < n; j++) out[io + j] += x[o + j];
    }
  });
}

/** Reference batched GEMM (i-p-j loop order), see `MatmulSpec`. */
export function matmul(a: F, b: F, out: F, spec: MatmulSpec): void {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = spec;
  // element (i, p) of op(A) is at ai·i + ap·p; (p, j) of op(B) at bp·p + bj·j
  const ai = transA ? 1 : k, ap = transA ? m : 1;
  const bp = transB ? 1 : n, bj = transB ? k : 1;
  for (let t = 0; t < batch; t++) {
    const a0 = t * aBatchStride, b0 = t * bBatchStride, c0 = t * m * n;
    out.fill(0, c0, c0 + m * n);
    for (let i = 0; i < m; i++) {
      const ci = c0 + i * n;
      for (let p = 0; p < k; p++) {
        const av = a[a0 + i * ai + p * ap];
        if (av === 0) continue;
        const bo = b0 + p * bp;
        for (let j = 0; j < n; j++) out[ci + j] += av * b[bo + j * bj];
      }
    }
  }
}

/** Reference direct convolution (seven nested loops), see `ConvSpec`. */
export function conv2d(x: F, w: F, bias: F | null, out: F, s: ConvSpec): void {
  const { n, cIn, h, w: W, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = s;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < cOut; o++) {
      const ob = ((b * cOut + o) * outH) * outW;
      const bv = bias ? bias[o] : 0;
      for (let q = 0; q < outH * outW; q++) out[ob + q] = bv;
      for (let c = 0; c < cIn; c++) {
        const xb = (b * cIn + c) * h * W;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wv = w[((o * cIn + c) * kh + i) * kw + j];
            for (let y = 0; y < outH; y++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < outW; xx++) {
                const ix = xx * strideW - padW + j;
                if (ix < 0 || ix >= W) continue;
                out[ob + y * outW + xx] += wv * x[xb + iy * W + ix];
              }
            }
          }
        }
      }
    }
  }
}

/** Reference convolution input gradient. */
export function conv2dBackwardInput(dy: F, w: F, dx: F, s: ConvSpec): void {
  const { n, cIn, h, w: W, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = s;
  dx.fill(0, 0, n * cIn * h * W);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < cOut; o++) {
      const ob = ((b * cOut + o) * outH) * outW;
      for (let c = 0; c < cIn; c++) {
        const xb = (b * cIn + c) * h * W;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wv = w[((o * cIn + c) * kh + i) * kw + j];
            for (let y = 0; y < outH; y++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < outW; xx++) {
                const ix = xx * strideW - padW + j;
                if (ix < 0 || ix >= W) continue;
                dx[xb + iy * W + ix] += wv * dy[ob + y * outW + xx];
              }
            }
          }
        }
      }
    }
  }
}

/** Reference convolution weight (and bias) gradient. */
export function conv2dBackwardWeight(x: F, dy: F, dw: F, dbias: F | null, s: ConvSpec): void {
  const { n, cIn, h, w: W, cOut, kh, kw, strideH, strideW, padH, padW, outH, outW } = s;
  dw.fill(0, 0, cOut * cIn * kh * kw);
  if (dbias) dbias.fill(0, 0, cOut);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < cOut; o++) {
      const ob = ((b * cOut + o) * outH) * outW;
      if (dbias) { for (let q = 0; q < outH * outW; q++) dbias[o] += dy[ob + q]; }
      for (let c = 0; c < cIn; c++) {
        const xb = (b * cIn + c) * h * W;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            let acc = 0;
            for (let y = 0; y < outH; y++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < outW; xx++) {
                const ix = xx * strideW - padW + j;
                if (ix < 0 || ix >= W) continue;
                acc += x[xb + iy * W + ix] * dy[ob + y * outW + xx];
              }
            }
            dw[((o * cIn + c) * kh + i) * kw + j] += acc;
          }
        }
      }
    }
  }
}

/** Training-mode batch norm, see `Backend.batchNormTrain`. */
export function batchNormTrain(
  x: F,
  gamma: F,
  beta: F,
  runMean: F,
  runVar: F,
  out: F,
  saveMean: F,
  saveInvStd: F,
  s: BatchNormSpec,
): void {
  const { n, c, hw, eps, momentum } = s;
  const cnt = n * hw;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) sum += x[o + q];
    }
    const mean = sum / cnt;
    let ss = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) {
        const d = x[o + q] - mean;
        ss += d * d;
      }
    }
    const v = ss / cnt;
    const inv = 1 / Math.sqrt(v + eps);
    saveMean[ch] = mean;
    saveInvStd[ch] = inv;
    runMean[ch] = (1 - momentum) * runMean[ch] + momentum * mean;
    runVar[ch] = (1 - momentum) * runVar[ch] + momentum * (cnt > 1 ? (ss / (cnt - 1)) : v);
    const g = gamma[ch] * inv, sh = beta[ch] - mean * g;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) out[o + q] = x[o + q] * g + sh;
    }
  }
}

/** Training-mode batch-norm gradients. */
export function batchNormBackward(
  x: F,
  dy: F,
  gamma: F,
  saveMean: F,
  saveInvStd: F,
  dx: F,
  dgamma: F,
  dbeta: F,
  s: ChannelSpec,
): void {
  const { n, c, hw } = s;
  const cnt = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const mean = saveMean[ch], inv = saveInvStd[ch];
    let sdy = 0, sdyx = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) {
        sdy += dy[o + q];
        sdyx += dy[o + q] * (x[o + q] - mean);
      }
    }
    dbeta[ch] = sdy;
    dgamma[ch] = sdyx * inv;
    // dx = γ·inv·(dy − mean(dy) − x̂·mean(dy·x̂))
    const k = gamma[ch] * inv;
    const mdy = sdy / cnt, mdyx = (sdyx * inv * inv) / cnt;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let q = 0; q < hw; q++) {
        dx[o + q] = k * (dy[o + q] - mdy - (x[o + q] - mean) * mdyx);
      }
    }
  }
}

/** PReLU forward. */
export function prelu(x: F, alpha: F, out: F, s: ChannelSpec): void {
  const { n, c, hw } = s;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const o = (b * c + ch) * hw, al = alpha[ch];
      for (let q = 0; q < hw; q++) {
        const v = x[o + q];
        out[o + q] = v > 0 ? v : al * v;
      }
    }
  }
}

/** PReLU backward. */
export function preluBackward(x: F, alpha: F, dy: F, dx: F, dalpha: F, s: ChannelSpec): void {
  const { n, c, hw } = s;
  dalpha.fill(0, 0, c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const o = (b * c + ch) * hw, al = alpha[ch];
      let da = 0;
      for (let q = 0; q < hw; q++) {
        const v = x[o + q], g = dy[o + q];
        if (v > 0) dx[o + q] = g;
        else {
          dx[o + q] = al * g;
          da += g * v;
        }
      }
      dalpha[ch] += da;
    }
  }
}

/** Row-wise softmax cross-entropy with soft targets. */
export function softmaxCrossEntropy(z: F, t: F, loss: F, probs: F, s: RowSpec): void {
  const { rows, cols } = s;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (z[o + j] > mx) mx = z[o + j];
    let se = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(z[o + j] - mx);
      probs[o + j] = e;
      se += e;
    }
    const lse = mx + Math.log(se);
    let l = 0;
    for (let j = 0; j < cols; j++) {
      probs[o + j] /= se;
      const tv = t[o + j];
      if (tv !== 0) l += tv * (lse - z[o + j]);
    }
    loss[r] = l;
  }
}

/** Soft-target cross-entropy backward. */
export function softmaxCrossEntropyBackward(p: F, t: F, dloss: F, dz: F, s: RowSpec): void {
  const { rows, cols } = s;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let st = 0;
    for (let j = 0; j < cols; j++) st += t[o + j];
    const g = dloss[r];
    for (let j = 0; j < cols; j++) dz[o + j] = g * (st * p[o + j] - t[o + j]);
  }
}

/** φ(c) and φ'(c) of a margin head at the label, see `MarginSpec`. */
export function marginPhi(c: number, s: MarginSpec): [number, number] {
  if (s.kind === "cosface") return [c - s.m, 1];
  const cm = Math.cos(s.m), sm = Math.sin(s.m);
  const sin = Math.sqrt(Math.max(0, 1 - c * c));
  const phi = c * cm - sin * sm;
  const dphi = cm + (sm * c) / Math.max(sin, 1e-6);
  if (s.easyMargin) return c > 0 ? [phi, dphi] : [c, 1];
  const th = Math.cos(Math.PI - s.m), mm = Math.sin(Math.PI - s.m) * s.m;
  return c > th ? [phi, dphi] : [c - mm, 1];
}

/** Margin logits. */
export function margin(cos: F, labels: F, out: F, s: MarginSpec): void {
  const { rows, cols } = s;
  for (let i = 0; i < rows * cols; i++) out[i] = s.s * cos[i];
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (y < 0) continue;
    const i = r * cols + y;
    out[i] = s.s * marginPhi(cos[i], s)[0];
  }
}

/** Margin backward. */
export function marginBackward(cos: F, labels: F, dout: F, dcos: F, s: MarginSpec): void {
  const { rows, cols } = s;
  for (let i = 0; i < rows * cols; i++) dcos[i] = s.s * dout[i];
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (y < 0) continue;
    const i = r * cols + y;
    dcos[i] = s.s * marginPhi(cos[i], s)[1] * dout[i];
  }
}

/** Fused SGD with momentum and weight decay. */
export function sgd(param: F, grad: F, mom: F, n: number, s: SgdSpec): void {
  const { lr, momentum, weightDecay } = s;
  for (let i = 0; i < n; i++) {
    const g = grad[i] + weightDecay * param[i];
    const v = momentum * mom[i] + g;
    mom[i] = v;
    param[i] -= lr * v;
  }
}
