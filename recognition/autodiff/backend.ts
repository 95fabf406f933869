/**
 * The kernel interface every autodiff backend implements (`cpu`: WebAssembly SIMD + JS;
 * `webgpu`: WGSL compute shaders; `ref64`: float64 JS reference used by the gradient tests).
 *
 * Rules every backend follows, so that a GPU backend can run a whole training step as one
 * queue submission:
 * - It is buffer-level: storage is an opaque {@link Buf} of `size` float32 elements; every
 *   kernel gets its dimensions explicitly (the frontend does all shape logic and validation).
 *   Labels/class indices travel as float32 too (exact below 2^24).
 * - Kernels only *enqueue* work and return nothing; the only read-back is {@link Backend.download}
 *   (async). A CPU backend may run kernels immediately.
 * - Outputs never alias inputs (WebGPU forbids a writable binding aliasing another binding),
 *   except where a kernel says "in place" (accumulate, sgd, batch-norm running statistics).
 * - Outputs are fully overwritten (no read-modify-write) unless the kernel says otherwise.
 * - Layouts are dense, row-major; images are NCHW, conv weights are OIHW.
 * - Elementwise broadcasting is described by an output `shape` and per-input element
 *   `strides` (0 on broadcast dimensions), with rank ≤ {@link MAX_RANK}; the frontend collapses
 *   adjacent dimensions first, so most calls have rank 1–3.
 * @module
 */

/** Largest rank an elementwise/reduce/strided-copy kernel is asked to handle. */
export const MAX_RANK = 6;

/** Opaque storage handle: `size` float32 elements living on one backend. */
export interface Buf {
  /** Number of float32 elements. */
  readonly size: number;
}

/** y = f(x), elementwise. `clamp` uses `a`=lo, `b`=hi; `affine` is y = a·x + b. */
export type UnaryOp =
  | "neg"
  | "relu"
  | "exp"
  | "log"
  | "sqrt"
  | "square"
  | "abs"
  | "clamp"
  | "affine";

/** Scalar parameters of a unary op (`clamp`: a=lo, b=hi; `affine`: y = a·x + b). */
export interface UnaryParams {
  a?: number;
  b?: number;
}

/** out = a ∘ b with broadcasting. Comparisons return 1 or 0. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "max"
  | "min"
  | "gt"
  | "ge"
  | "lt"
  | "le"
  | "eq";

/** Broadcast layout of a binary op: `out` is dense with `shape`; input element strides. */
export interface BinarySpec {
  shape: readonly number[];
  aStrides: readonly number[];
  bStrides: readonly number[];
}

/** Broadcast layout of `where`: out = cond ≠ 0 ? a : b. */
export interface WhereSpec {
  shape: readonly number[];
  condStrides: readonly number[];
  aStrides: readonly number[];
  bStrides: readonly number[];
}

/**
 * Strided gather into a dense output: out[i0..ir] = x[offset + Σ i_d·strides[d]] for the
 * output index over `shape`. Covers transpose, expand (stride 0) and slicing.
 */
export interface StridedSpec {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

/**
 * Sum reduction: `inShape` and `outShape` have the same rank, `outShape[d]` is either
 * `inShape[d]` or 1 (reduced). `out` is dense with `outShape`.
 */
export interface ReduceSpec {
  inShape: readonly number[];
  outShape: readonly number[];
}

/**
 * Batched matrix product: for each b < batch, C_b (m×n) = op(A_b) · op(B_b), where
 * op(A_b) is m×k (A stored k×m when transA) and op(B_b) is k×n (B stored n×k when transB).
 * A_b starts at element b·aBatchStride (0 broadcasts one matrix over the batch), likewise B;
 * C is dense batch×m×n.
 */
export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

/**
 * 2-D convolution (cross-correlation, no groups, no dilation), NCHW input, OIHW weights:
 * out[n,o,y,x] = bias[o] + Σ_{c,i,j} in[n,c,y·strideH−padH+i, x·strideW−padW+j]·w[o,c,i,j]
 * with zero padding. `outH = ⌊(h + 2·padH − kh)/strideH⌋ + 1`, likewise `outW`.
 */
export interface ConvSpec {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  outH: number;
  outW: number;
}

/** `g` with its output size: outH = ⌊(h + 2·padH − kh)/strideH⌋ + 1, likewise outW. */
export function withConvOutput(g: Omit<ConvSpec, "outH" | "outW">): ConvSpec {
  return {
    ...g,
    outH: Math.floor((g.h + 2 * g.padH - g.kh) / g.strideH) + 1,
    outW: Math.floor((g.w + 2 * g.padW - g.kw) / g.strideW) + 1,
  };
}

/** A convolution's geometry as the flat argument list the wasm and WGSL kernels take. */
export function convDims(s: ConvSpec): number[] {
  return [
    s.cIn,
    s.h,
    s.w,
    s.cOut,
    s.kh,
    s.kw,
    s.strideH,
    s.strideW,
    s.padH,
    s.padW,
    s.outH,
    s.outW,
  ];
}

/** Per-channel layout shared by batch norm and PReLU: x is (n, c, hw) dense; 1-D BN has hw=1. */
export interface ChannelSpec {
  n: number;
  c: number;
  hw: number;
}

/** Batch-norm forward settings (PyTorch semantics). */
export interface BatchNormSpec extends ChannelSpec {
  eps: number;
  /** Running-statistics update: r = (1−momentum)·r + momentum·batchStat (PyTorch default 0.1). */
  momentum: number;
}

/**
 * An activation fused after a training batch norm, given only to a backend whose
 * `fusesBatchNormAct` is true (`ops.ts` composes the kernels on the others): ReLU,
 * out = max(y, 0), or PReLU, out = y > 0 ? y : alpha[c]·y, of y = γ·x̂ + β.
 */
export type BatchNormAct = { kind: "relu" } | { kind: "prelu"; alpha: Buf };

/**
 * The backward of a fused batch norm + activation: β (the activation's input γ·x̂ + β is
 * recomputed as the forward computed it) and, for PReLU, its slopes and where their gradient
 * dalpha[c] = Σ_{y ≤ 0} dy·y goes.
 */
export type BatchNormActGrad =
  | { kind: "relu"; beta: Buf }
  | { kind: "prelu"; beta: Buf; alpha: Buf; dalpha: Buf };

/** Softmax cross-entropy layout: logits and targets are rows×cols. */
export interface RowSpec {
  rows: number;
  cols: number;
}

/**
 * Margin logits (ArcFace/CosFace) from cosines, see `../shared/PAPER.md`:
 * out[r,j] = s·cos[r,j] for j ≠ label[r], and s·φ(cos[r,label[r]]) at the label, where
 * CosFace φ(c) = c − m; ArcFace φ(c) = cos(θ+m) = c·cos m − sin θ·sin m (sin θ = √(max(0, 1−c²)))
 * applied when c > th (th = cos(π−m)), else c − mm (mm = sin(π−m)·m); with `easyMargin`,
 * ArcFace applies cos(θ+m) when c > 0, else c. A label < 0 means "no margin on this row".
 */
export interface MarginSpec extends RowSpec {
  kind: "arcface" | "cosface";
  s: number;
  m: number;
  easyMargin: boolean;
}

/** The spec of one (batch 1) product of an m×k and a k×n matrix, each possibly transposed. */
export function gemmSpec(
  m: number,
  n: number,
  k: number,
  t: { transA?: boolean; transB?: boolean } = {},
): MatmulSpec {
  const { transA = false, transB = false } = t;
  return { batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0 };
}

/** Fused SGD (PyTorch semantics, no dampening, no Nesterov). */
export interface SgdSpec {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** A compute backend. See the module comment for the aliasing/overwrite rules. */
export interface Backend {
  /** "cpu", "webgpu", "ref64", … */
  readonly name: string;
  /** Human-readable device description (adapter name, thread count, SIMD…). */
  readonly info: string;

  // ---- storage ----
  /** A new buffer of `size` float32 elements, contents zero. `size` may be 0. */
  alloc(size: number): Buf;
  /**
   * Optional: a new buffer whose contents are unspecified, for outputs a kernel overwrites
   * completely (saves zeroing pooled memory). Callers fall back to {@link Backend.alloc}.
   */
  allocUninit?(size: number): Buf;
  /** Release a buffer (the backend may pool it). Using it afterwards is an error. */
  free(buf: Buf): void;
  /**
   * Copy host data into `buf` starting at element `offset` (default 0). Float64 data is
   * rounded to the backend's precision (the `ref64` test backend keeps it).
   */
  upload(buf: Buf, data: Float32Array | Float64Array, offset?: number): void;
  /** Read the whole buffer back (waits for all queued work that writes it). */
  download(buf: Buf): Promise<Float32Array>;
  /** Submit queued work and wait until the device is idle (timing, end of step). */
  flush(): Promise<void>;
  /** Release every resource; the backend is unusable afterwards. */
  dispose(): void;

  // ---- data movement ----
  /** out[0..n) = value. */
  fill(out: Buf, value: number, n: number): void;
  /** dst[dstOffset + i] = src[srcOffset + i] for i < n (src ≠ dst). */
  copy(src: Buf, dst: Buf, n: number, srcOffset: number, dstOffset: number): void;
  /** Dense out = strided gather of x (see {@link StridedSpec}). */
  strided(x: Buf, out: Buf, spec: StridedSpec): void;
  /** In place: dst[i] += alpha·src[i] for i < n. */
  accumulate(dst: Buf, src: Buf, n: number, alpha: number): void;

  // ---- elementwise ----
  /** out[i] = f(x[i]) for i < n. */
  unary(op: UnaryOp, x: Buf, out: Buf, n: number, p: UnaryParams): void;
  /**
   * dx[i] = dy[i] · f'(x[i]) for i < n, where the derivative may use x (input) or y (the
   * forward output f(x)); each op's derivative is in the table `UNARY` (`unary.ts`).
   */
  unaryBackward(op: UnaryOp, x: Buf, y: Buf, dy: Buf, dx: Buf, n: number, p: UnaryParams): void;
  /** Broadcasting binary op, see {@link BinarySpec}. */
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, spec: BinarySpec): void;
  /** Broadcasting select, see {@link WhereSpec}. */
  where(cond: Buf, a: Buf, b: Buf, out: Buf, spec: WhereSpec): void;
  /** Sum over the dimensions where outShape is 1, see {@link ReduceSpec}. */
  reduceSum(x: Buf, out: Buf, spec: ReduceSpec): void;

  // ---- dense linear algebra ----
  /** Batched GEMM, see {@link MatmulSpec}. */
  matmul(a: Buf, b: Buf, out: Buf, spec: MatmulSpec): void;
  /** Convolution forward; `bias` (cOut) may be null. out is n×cOut×outH×outW. */
  conv2d(x: Buf, w: Buf, bias: Buf | null, out: Buf, spec: ConvSpec): void;
  /** dx (n×cIn×h×w) from dy (n×cOut×outH×outW) and w. */
  conv2dBackwardInput(dy: Buf, w: Buf, dx: Buf, spec: ConvSpec): void;
  /** dw (cOut×cIn×kh×kw) from x and dy; dbias (cOut) = Σ_{n,y,x} dy when not null. */
  conv2dBackwardWeight(x: Buf, dy: Buf, dw: Buf, dbias: Buf | null, spec: ConvSpec): void;

  // ---- normalisation and activations with per-channel parameters ----
  /**
   * Training-mode batch norm over (n, hw) per channel: out = γ·(x−μ)·invStd + β with the biased
   * batch variance; writes `saveMean`/`saveInvStd` (c) for the backward pass and updates
   * `runMean`/`runVar` in place (running variance uses the unbiased estimate n·hw/(n·hw−1)).
   */
  batchNormTrain(
    x: Buf,
    gamma: Buf,
    beta: Buf,
    runMean: Buf,
    runVar: Buf,
    out: Buf,
    saveMean: Buf,
    saveInvStd: Buf,
    spec: BatchNormSpec,
    act?: BatchNormAct,
  ): void;
  /**
   * Training-mode batch-norm gradients: dx, dgamma (c), dbeta (c). With `act` (that of a forward
   * run with an activation; only where `fusesBatchNormAct`), dy is the gradient of the fused
   * activation's output: it first goes through that activation's backward (at γ·x̂ + β, as the
   * forward computed it), which also writes PReLU's dalpha.
   */
  batchNormBackward(
    x: Buf,
    dy: Buf,
    gamma: Buf,
    saveMean: Buf,
    saveInvStd: Buf,
    dx: Buf,
    dgamma: Buf,
    dbeta: Buf,
    spec: ChannelSpec,
    act?: BatchNormActGrad,
  ): void;
  /** Whether the batch-norm kernels take `act` (batch norm + ReLU / PReLU, one kernel each way). */
  readonly fusesBatchNormAct?: boolean;
  /** out = x > 0 ? x : alpha[channel]·x. */
  prelu(x: Buf, alpha: Buf, out: Buf, spec: ChannelSpec): void;
  /** dx = dy·(x > 0 ? 1 : alpha[c]); dalpha[c] = Σ_{x ≤ 0} dy·x. */
  preluBackward(x: Buf, alpha: Buf, dy: Buf, dx: Buf, dalpha: Buf, spec: ChannelSpec): void;

  // ---- losses and heads ----
  /**
   * Row-wise softmax cross-entropy with soft targets: loss[r] = Σ_j t[r,j]·(lse_r − z[r,j]);
   * also writes probs = softmax(z) (rows×cols) for the backward pass.
   */
  softmaxCrossEntropy(logits: Buf, targets: Buf, loss: Buf, probs: Buf, spec: RowSpec): void;
  /** dlogits[r,j] = dloss[r]·((Σ_j t[r,j])·p[r,j] − t[r,j]). */
  softmaxCrossEntropyBackward(
    probs: Buf,
    targets: Buf,
    dloss: Buf,
    dlogits: Buf,
    spec: RowSpec,
  ): void;
  /** Margin logits, see {@link MarginSpec}; labels has `rows` class indices. */
  margin(cos: Buf, labels: Buf, out: Buf, spec: MarginSpec): void;
  /**
   * dcos from dout: s·dout off the label, s·φ'(c)·dout at the label, φ' of the branch taken
   * (ArcFace cos(θ+m) branch: φ' = cos m + sin m·c / max(sin θ, 1e-6); other branches: 1).
   */
  marginBackward(cos: Buf, labels: Buf, dout: Buf, dcos: Buf, spec: MarginSpec): void;

  // ---- optimiser ----
  /**
   * In place, n elements: g = grad + wd·param; mom = momentum·mom + g; param −= lr·mom.
   */
  sgd(param: Buf, grad: Buf, mom: Buf, n: number, spec: SgdSpec): void;
}
