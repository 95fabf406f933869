/**
 * What the two host backends share: every kernel of `js_kernels.ts` run on the typed-array view
 * of its buffers. `ref64` is this over float64 arrays; `cpu` is this over views of one shared
 * WebAssembly memory, overriding the kernels it has faster versions of.
 * @module
 */
import type * as B from "../backend.ts";
import * as K from "./js_kernels.ts";

/** A backend whose buffers are host typed arrays, with the plain TypeScript kernels. */
export abstract class ArrayBackend implements B.Backend {
  abstract readonly name: string;
  abstract readonly info: string;
  abstract alloc(size: number): B.Buf;
  abstract free(buf: B.Buf): void;
  /** Synchronous view of a buffer's elements (throws once it was freed). */
  abstract view(buf: B.Buf): K.F;

  private opt(b: B.Buf | null): K.F | null {
    return b ? this.view(b) : null;
  }

  upload(buf: B.Buf, data: Float32Array | Float64Array, offset = 0): void {
    this.view(buf).set(data, offset);
  }
  download(buf: B.Buf): Promise<Float32Array> {
    const v = this.view(buf);
    return Promise.resolve(v instanceof Float32Array ? v.slice() : Float32Array.from(v));
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  dispose(): void {}

  fill(out: B.Buf, value: number, n: number): void {
    this.view(out).fill(value, 0, n);
  }
  copy(src: B.Buf, dst: B.Buf, n: number, srcOffset: number, dstOffset: number): void {
    this.view(dst).set(this.view(src).subarray(srcOffset, srcOffset + n), dstOffset);
  }
  strided(x: B.Buf, out: B.Buf, spec: B.StridedSpec): void {
    K.strided(this.view(x), this.view(out), spec);
  }
  accumulate(dst: B.Buf, src: B.Buf, n: number, alpha: number): void {
    K.accumulate(this.view(dst), this.view(src), n, alpha);
  }
  unary(op: B.UnaryOp, x: B.Buf, out: B.Buf, n: number, p: B.UnaryParams): void {
    K.unary(op, this.view(x), this.view(out), n, p);
  }
  unaryBackward(
    op: B.UnaryOp,
    x: B.Buf,
    y: B.Buf,
    dy: B.Buf,
    dx: B.Buf,
    n: number,
    p: B.UnaryParams,
  ) {
    K.unaryBackward(op, this.view(x), this.view(y), this.view(dy), this.view(dx), n, p);
  }
  binary(op: B.BinaryOp, a: B.Buf, b: B.Buf, out: B.Buf, spec: B.BinarySpec): void {
    K.binary(op, this.view(a), this.view(b), this.view(out), spec);
  }
  where(cond: B.Buf, a: B.Buf, b: B.Buf, out: B.Buf, spec: B.WhereSpec): void {
    K.where(this.view(cond), this.view(a), this.view(b), this.view(out), spec);
  }
  reduceSum(x: B.Buf, out: B.Buf, spec: B.ReduceSpec): void {
    K.reduceSum(this.view(x), this.view(out), spec);
  }
  matmul(a: B.Buf, b: B.Buf, out: B.Buf, spec: B.MatmulSpec): void {
    K.matmul(this.view(a), this.view(b), this.view(out), spec);
  }
  conv2d(x: B.Buf, w: B.Buf, bias: B.Buf | null, out: B.Buf, spec: B.ConvSpec): void {
    K.conv2d(this.view(x), this.view(w), this.opt(bias), this.view(out), spec);
  }
  conv2dBackwardInput(dy: B.Buf, w: B.Buf, dx: B.Buf, spec: B.ConvSpec): void {
    K.conv2dBackwardInput(this.view(dy), this.view(w), this.view(dx), spec);
  }
  conv2dBackwardWeight(x: B.Buf, dy: B.Buf, dw: B.Buf, db: B.Buf | null, s: B.ConvSpec): void {
    K.conv2dBackwardWeight(this.view(x), this.view(dy), this.view(dw), this.opt(db), s);
  }
  batchNormTrain(...args: Parameters<B.Backend["batchNormTrain"]>): void {
    const [x, gamma, beta, rMean, rVar, out, sMean, sInv, spec] = args;
    const v = (b: B.Buf) => this.view(b);
    K.batchNormTrain(v(x), v(gamma), v(beta), v(rMean), v(rVar), v(out), v(sMean), v(sInv), spec);
  }
  batchNormBackward(...args: Parameters<B.Backend["batchNormBackward"]>): void {
    const [x, dy, gamma, sMean, sInv, dx, dgamma, dbeta, spec] = args;
    const v = (b: B.Buf) => this.view(b);
    K.batchNormBackward(v(x), v(dy), v(gamma), v(sMean), v(sInv), v(dx), v(dgamma), v(dbeta), spec);
  }
  prelu(x: B.Buf, alpha: B.Buf, out: B.Buf, spec: B.ChannelSpec): void {
    K.prelu(this.view(x), this.view(alpha), this.view(out), spec);
  }
  preluBackward(x: B.Buf, a: B.Buf, dy: B.Buf, dx: B.Buf, da: B.Buf, spec: B.ChannelSpec): void {
    K.preluBackward(this.view(x), this.view(a), this.view(dy), this.view(dx), this.view(da), spec);
  }
  softmaxCrossEntropy(z: B.Buf, t: B.Buf, loss: B.Buf, probs: B.Buf, spec: B.RowSpec): void {
    K.softmaxCrossEntropy(this.view(z), this.view(t), this.view(loss), this.view(probs), spec);
  }
  softmaxCrossEntropyBackward(p: B.Buf, t: B.Buf, dl: B.Buf, dz: B.Buf, spec: B.RowSpec): void {
    K.softmaxCrossEntropyBackward(this.view(p), this.view(t), this.view(dl), this.view(dz), spec);
  }
  margin(cos: B.Buf, labels: B.Buf, out: B.Buf, spec: B.MarginSpec): void {
    K.margin(this.view(cos), this.view(labels), this.view(out), spec);
  }
  marginBackward(cos: B.Buf, labels: B.Buf, dout: B.Buf, dcos: B.Buf, spec: B.MarginSpec): void {
    K.marginBackward(this.view(cos), this.view(labels), this.view(dout), this.view(dcos), spec);
  }
  sgd(param: B.Buf, grad: B.Buf, mom: B.Buf, n: number, spec: B.SgdSpec): void {
    K.sgd(this.view(param), this.view(grad), this.view(mom), n, spec);
  }
}
