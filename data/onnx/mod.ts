/**
 * `data/onnx/`: write ONNX models from TypeScript. {@link GraphBuilder} declares inputs,
 * initializers, nodes and outputs and encodes a ModelProto (ir_version 8, opset 17 by default);
 * {@link ProtoWriter} is the protobuf wire encoder under it.
 * @module
 */
export * from "./graph_builder.ts";
export * from "./protobuf.ts";
export * from "./session.ts";
