/**
 * `ref64`: every kernel in plain TypeScript on float64 storage. Slow and simple; the gradient
 * tests run on it (central finite differences need float64) and the CPU backend is compared
 * against it.
 * @module
 */
import type {
  Backend,
  BatchNormSpec,
  BinaryOp,
  BinarySpec,
  Buf,
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
import * as K from "./js_kernels.ts";

interface Buf64 extends Buf {
  data: Float64Array | null;
}

/** The float64 reference backend. */
export class Ref64Backend implements Backend {
  readonly name = "ref64";
  readonly info = "float64 TypeScript reference kernels";

  private a(b: Buf | null): Float64Array {
    const d = (b as Buf64 | null)?.data;
    if (!d) throw new Error("ref64: buffer is missing or was freed");
    return d;
  }
  private o(b: Buf | null): Float64Array | null {
    return b ? this.a(b) : null;
  }

  /** Synchronous float64 read (tests). */
  read64(buf: Buf): Float64Array {
    return this.a(buf).slice();
  }

  alloc(size: number): Buf {
    return { size, data: new Float64Array(size) } as Buf64;
  }
  free(buf: Buf): void {
    (buf as Buf64).data = null;
  }
  upload(buf: Buf, data: Float32Array | Float64Array, offset = 0): void {
    this.a(buf).set(data, offset);
  }
  download(buf: Buf): Promise<Float32Array> {
    return Promise.resolve(Float32Array.from(this.a(buf)));
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  dispose(): void {}

  fill(out: Buf, value: number, n: number): void {
    this.a(out).fill(value, 0, n);
  }
  copy(src: Buf, dst: Buf, n: number, srcOffset: number, dstOffset: number): void {
    this.a(dst).set(this.a(src).subarray(srcOffset, srcOffset + n), dstOffset);
  }
  strided(x: Buf, out: Buf, spec: StridedSpec): void {
    K.strided(this.a(x), this.a(out), spec);
  }
  accumulate(dst: Buf, src: Buf, n: number, alpha: number): void {
    K.accumulate(this.a(dst), this.a(src), n, alpha);
  }
  unary(op: UnaryOp, x: Buf, out: Buf, n: number, p: UnaryParams): void {
    K.unary(op, this.a(x), this.a(out), n, p);
  }
  unaryBackward(op: UnaryOp, x: Buf, y: Buf, dy: Buf, dx: Buf, n: number, p: UnaryParams): void {
    K.unaryBackward(op, this.a(x), this.a(y), this.a(dy), this.a(dx), n, p);
  }
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, spec: BinarySpec): void {
    K.binary(op, this.a(a), this.a(b), this.a(out), spec);
  }
  where(cond: Buf, a: Buf, b: Buf, out: Buf, spec: WhereSpec): void {
    K.where(this.a(cond), this.a(a), this.a(b), this.a(out), spec);
  }
  reduceSum(x: Buf, out: Buf, spec: ReduceSpec): void {
    K.reduceSum(this.a(x), this.a(out), spec);
  }
  matmul(a: Buf, b: Buf, out: Buf, spec: MatmulSpec): void {
    K.matmul(this.a(a), this.a(b), this.a(out), spec);
  }
  conv2d(x: Buf, w: Buf, bias: Buf | null, out: Buf, spec: ConvSpec): void {
    K.conv2d(this.a(x), this.a(w), this.o(bias), this.a(out), spec);
  }
  conv2dBackwardInput(dy: Buf, w: Buf, dx: Buf, spec: ConvSpec): void {
    K.conv2dBackwardInput(this.a(dy), this.a(w), this.a(dx), spec);
  }
  conv2dBackwardWeight(x: Buf, dy: Buf, dw: Buf, dbias: Buf | null, spec: ConvSpec): void {
    K.conv2dBackwardWeight(this.a(x), this.a(dy), this.a(dw), this.o(dbias), spec);
  }
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
  ): void {
    K.batchNormTrain(
      this.a(x),
      this.a(gamma),
      this.a(beta),
      this.a(runMean),
      this.a(runVar),
      this.a(out),
      this.a(saveMean),
      this.a(saveInvStd),
      spec,
    );
  }
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
  ): void {
    K.batchNormBackward(
      this.a(x),
      this.a(dy),
      this.a(gamma),
      this.a(saveMean),
      this.a(saveInvStd),
      this.a(dx),
      this.a(dgamma),
      this.a(dbeta),
      spec,
    );
  }
  prelu(x: Buf, alpha: Buf, out: Buf, spec: ChannelSpec): void {
    K.prelu(this.a(x), this.a(alpha), this.a(out), spec);
  }
  preluBackward(x: Buf, alpha: Buf, dy: Buf, dx: Buf, dalpha: Buf, spec: ChannelSpec): void {
    K.preluBackward(this.a(x), this.a(alpha), this.a(dy), this.a(dx), this.a(dalpha), spec);
  }
  softmaxCrossEntropy(logits: Buf, targets: Buf, loss: Buf, probs: Buf, spec: RowSpec): void {
    K.softmaxCrossEntropy(this.a(logits), this.a(targets), this.a(loss), this.a(probs), spec);
  }
  softmaxCrossEntropyBackward(
    probs: Buf,
    targets: Buf,
    dloss: Buf,
    dlogits: Buf,
    spec: RowSpec,
  ): void {
    K.softmaxCrossEntropyBackward(
      this.a(probs),
      this.a(targets),
      this.a(dloss),
      this.a(dlogits),
      spec,
    );
  }
  margin(cos: Buf, labels: Buf, out: Buf, spec: MarginSpec): void {
    K.margin(this.a(cos), this.a(labels), this.a(out), spec);
  }
  marginBackward(cos: Buf, labels: Buf, dout: Buf, dcos: Buf, spec: MarginSpec): void {
    K.marginBackward(this.a(cos), this.a(labels), this.a(dout), this.a(dcos), spec);
  }
  sgd(param: Buf, grad: Buf, mom: Buf, n: number, spec: SgdSpec): void {
    K.sgd(this.a(param), this.a(grad), this.a(mom), n, spec);
  }
}
