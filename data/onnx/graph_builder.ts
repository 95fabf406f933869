/**
 * Build an ONNX model from TypeScript: declare inputs, initializers and nodes, name the outputs,
 * and encode to bytes with no Python in the loop. Field numbers follow onnx.proto (ONNX ≥ 1.10).
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * const g = new GraphBuilder("affine");
 * const x = g.input("x", "float32", ["batch", 3]);
 * const w = g.initializer("w", new Float32Array([1, 0, 0, 1, 1, 1]), [3, 2]);
 * g.output(g.op("MatMul", [x, w]), "y", "float32", ["batch", 2]);
 * const bytes: Uint8Array = g.toBytes();
 * ```
 */
import { ProtoWriter } from "./protobuf.ts";

/** Element types we encode (ONNX TensorProto.DataType codes). */
export const DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 } as const;
/** A supported element type name. */
export type DType = keyof typeof DTYPE;
/** A dimension: a fixed size, or a symbolic name (e.g. "batch"). */
export type Dim = number | string;
/** Data accepted for initializers. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
/** Attribute values: numbers are INT when integral unless wrapped with {@link float}. */
export type AttrValue =
  | number
  | string
  | number[]
  | { float: number }
  | { floats: number[] }
  | { tensor: { data: TensorData; dims: number[] } };

/** Mark a number as a FLOAT attribute (plain integral numbers are encoded as INT). */
export function float(v: number): { float: number } {
  return { float: v };
}

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint8Array) return "uint8";
  return "int8";
}

function encodeTensor(name: string, data: TensorData, dims: readonly number[]): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`tensor "${name}": dims [${dims}] hold ${n} values, data has ${data.length}`);
  }
  const w = new ProtoWriter();
  if (dims.length) w.packedInts(1, dims);
  w.int(2, DTYPE[dtypeOf(data)]);
  w.string(8, name);
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w.finish();
}

function encodeValueInfo(name: string, dtype: DType, dims: readonly Dim[]): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d);
    else dim.string(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, DTYPE[dtype]).bytes(2, shape.finish()).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish();
  return new ProtoWriter().string(1, name).bytes(2, type).finish();
}

function encodeAttribute(name: string, v: AttrValue): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  if (typeof v === "number") {
    if (Number.isInteger(v)) w.int(3, v).int(20, 2);
    else w.float(2, v).int(20, 1);
  } else if (typeof v === "string") w.string(4, v).int(20, 3);
  else if (Array.isArray(v)) w.packedInts(8, v).int(20, 7);
  else if ("float" in v) w.float(2, v.float).int(20, 1);
  else if ("floats" in v) w.packedFloats(7, v.floats).int(20, 6);
  else w.bytes(5, encodeTensor("", v.tensor.data, v.tensor.dims)).int(20, 4);
  return w.finish();
}

/** Options of {@link GraphBuilder.op}. */
export interface OpOptions {
  /** Number of outputs (default 1) or their explicit names. */
  outputs?: number | string[];
  /** Node name (default: generated). */
  name?: string;
  /** Operator domain (default: the ONNX default domain). */
  domain?: string;
}

/** Accumulates an ONNX graph; every method returns value names to wire into later nodes. */
export class GraphBuilder {
  private nodes: Uint8Array[] = [];
  private inits: Uint8Array[] = [];
  private inputs: Uint8Array[] = [];
  private outputs: Uint8Array[] = [];
  private names = new Set<string>();
  private counter = 0;
  /** Bytes of initializer data so far (to keep an eye on model size). */
  initializerBytes = 0;

  constructor(readonly name = "graph", readonly opset = 17) {}

  /** An unused value name with the given prefix (claimed when a value takes it). */
  fresh(prefix = "t"): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.names.has(n));
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`GraphBuilder: value name "${name}" used twice`);
    this.names.add(name);
    return name;
  }

  /** Declare a graph input; returns its name. */
  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.inputs.push(encodeValueInfo(this.claim(name), dtype, dims));
    return name;
  }

  /** A constant tensor stored in the model; returns its name. */
  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    this.inits.push(encodeTensor(this.claim(name), data, dims));
    this.initializerBytes += data.byteLength;
    return name;
  }

  /** An auto-named constant: float32 unless `data` is a typed array of another type. */
  const(data: TensorData | number[] | number, dims?: readonly number[], prefix = "c"): string {
    const arr = typeof data === "number"
      ? new Float32Array([data])
      : Array.isArray(data)
      ? new Float32Array(data)
      : data;
    const d = dims ?? (typeof data === "number" ? [] : [arr.length]);
    return this.initializer(this.fresh(prefix), arr, d);
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(values: number[], dims?: readonly number[]): string {
    return this.const(BigInt64Array.from(values.map(BigInt)), dims ?? [values.length], "i");
  }

  /** Add a node; returns its output name (or names, when `outputs` asks for several). */
  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>): string;
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> | undefined,
    opts: OpOptions & { outputs: number | string[] },
  ): string[];
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: OpOptions = {},
  ): string | string[] {
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs.map((n) => this.claim(n))
      : Array.from({ length: opts.outputs ?? 1 }, () =>
        this.claim(this.fresh(opType.toLowerCase())));
    const w = new ProtoWriter();
    for (const i of inputs) w.string(1, i);
    for (const o of outs) w.string(2, o);
    w.string(3, opts.name ?? this.fresh(`n_${opType}`));
    w.string(4, opType);
    for (const [k, v] of Object.entries(attrs)) w.bytes(5, encodeAttribute(k, v));
    if (opts.domain) w.string(7, opts.domain);
    this.nodes.push(w.finish());
    return opts.outputs === undefined ? outs[0] : outs;
  }

  /** Expose `value` as a graph output named `name` (an Identity node renames it). */
  output(value: string, name: string, dtype: DType, dims: readonly Dim[]): string {
    if (value !== name) this.op("Identity", [value], {}, { outputs: [name] });
    this.outputs.push(encodeValueInfo(name, dtype, dims));
    return name;
  }

  /** Encode the ModelProto (ir_version 8, the default domain at `opset`). */
  toBytes(producer = "synface"): Uint8Array {
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.bytes(1, n);
    graph.string(2, this.name);
    for (const t of this.inits) graph.bytes(5, t);
    for (const i of this.inputs) graph.bytes(11, i);
    for (const o of this.outputs) graph.bytes(12, o);
    const opset = new ProtoWriter().string(1, "").int(2, this.opset).finish();
    return new ProtoWriter()
      .int(1, 8)
      .string(2, producer)
      .bytes(7, graph.finish())
      .bytes(8, opset)
      .finish();
  }
}
