/**
 * A tiny module system: a {@link Module} registers named parameters, buffers and children;
 * layers (Conv2d, BatchNorm2d/1d, PReLU, ReLU, Linear, Dropout, Sequential) build on
 * the functional ops. `train()`/`eval()` switch batch norm and dropout.
 * @module
 */
import { Rng } from "../../data/rng.ts";
import { batchNorm, dropout, linear, tensor } from "./functional.ts";
import { kaimingNormal, kaimingUniform, nextInitRng, uniform } from "./init.ts";
import { conv2d, prelu, relu } from "./ops.ts";
import { keep, type Tensor } from "./tensor.ts";

/** A trainable tensor: requires grad, kept (never freed by scopes). */
export function parameter(data: ArrayLike<number>, shape: readonly number[]): Tensor {
  return keep(tensor(data, shape, { requiresGrad: true }));
}

/** A non-trainable persistent tensor (running statistics). */
export function buffer(data: ArrayLike<number>, shape: readonly number[]): Tensor {
  return keep(tensor(data, shape));
}

function childPrefix(prefix: string, name: string): string {
  return name ? `${prefix}${name}.` : prefix;
}

/** Base class of layers and models. */
export abstract class Module {
  /** Training mode (batch statistics, dropout on). */
  training = true;
  private readonly _params: [string, Tensor][] = [];
  private readonly _buffers: [string, Tensor][] = [];
  private readonly _children: [string, Module][] = [];

  /** Computes the output. */
  abstract forward(x: Tensor): Tensor;

  /** Registers a parameter under `name`; returns it. */
  protected param(name: string, t: Tensor): Tensor {
    t.name = name;
    this._params.push([name, t]);
    return t;
  }
  /** Registers a buffer under `name`; returns it. */
  protected buffer(name: string, t: Tensor): Tensor {
    t.name = name;
    this._buffers.push([name, t]);
    return t;
  }
  /** Registers a child module under `name` ("" keeps its tensors' names unprefixed); returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    this._children.push([name, m]);
    return m;
  }

  /** Parameters with dotted names ("layer1.0.conv1.weight"). */
  namedParameters(prefix = ""): [string, Tensor][] {
    return this.named("_params", prefix);
  }
  /** Buffers with dotted names. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    return this.named("_buffers", prefix);
  }
  /** Parameters, then buffers, with dotted names: everything a state dict holds. */
  namedTensors(): [string, Tensor][] {
    return [...this.namedParameters(), ...this.namedBuffers()];
  }
  private named(kind: "_params" | "_buffers", prefix: string): [string, Tensor][] {
    const out = this[kind].map(([n, t]): [string, Tensor] => [prefix + n, t]);
    for (const [n, c] of this._children) out.push(...c.named(kind, childPrefix(prefix, n)));
    return out;
  }
  /** This module ("" or `prefix` without its dot) and every descendant, with dotted names. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ""), this]];
    for (const [n, c] of this._children) out.push(...c.namedModules(childPrefix(prefix, n)));
    return out;
  }
  /** All parameters. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Sets training mode recursively; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const [, c] of this._children) c.train(mode);
    return this;
  }
  /** Evaluation mode (running statistics, no dropout). */
  eval(): this {
    return this.train(false);
  }
  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedTensors()) t.dispose();
  }
}

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  /** Initial weights (cOut·cIn·k·k values) instead of the Kaiming draw. */
  weight?: ArrayLike<number>;
}

/** 2-D convolution; weights Kaiming-normal (fan_out, ReLU gain) as in ResNets. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  constructor(cIn: number, cOut: number, k: number, opts: Conv2dLayerOptions = {}) {
    super();
    const rng = nextInitRng(), shape = [cOut, cIn, k, k];
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    const w = opts.weight ?? kaimingNormal(shape, rng.split("w"), { mode: "fanOut" });
    this.weight = this.param("weight", parameter(w, shape));
    this.bias = opts.bias ? this.param("bias", parameter(new Float32Array(cOut), [cOut])) : null;
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/**
 * Batch norm over dim 1 of (N, C) or (N, C, H, W), with learnable γ, β; with `relu`, followed by
 * a ReLU (one fused op in training). `forward(x, act)` follows it by the PReLU module `act`
 * instead (one fused op in training; `act` keeps its own slopes and parameter name).
 */
export class BatchNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(c: number, readonly opts: { eps?: number; momentum?: number; relu?: boolean } = {}) {
    super();
    const ones = new Float32Array(c).fill(1);
    this.weight = this.param("weight", parameter(ones, [c]));
    this.bias = this.param("bias", parameter(new Float32Array(c), [c]));
    this.runningMean = this.buffer("running_mean", buffer(new Float32Array(c), [c]));
    this.runningVar = this.buffer("running_var", buffer(ones, [c]));
  }
  forward(x: Tensor, act?: PReLU): Tensor {
    const { weight, bias, runningMean, runningVar, training } = this;
    const opts = { ...this.opts, training, ...(act ? { prelu: act.weight } : {}) };
    return batchNorm(x, weight, bias, runningMean, runningVar, opts);
  }
}

/** Batch norm for (N, C, H, W). */
export class BatchNorm2d extends BatchNorm {}
/** Batch norm for (N, C). */
export class BatchNorm1d extends BatchNorm {}

/** PReLU with one slope per channel (PyTorch init 0.25). */
export class PReLU extends Module {
  readonly weight: Tensor;
  constructor(c: number) {
    super();
    this.weight = this.param("weight", parameter(new Float32Array(c).fill(0.25), [c]));
  }
  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}

/** ReLU. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** A bias (default true): `true` for the default init, or its initial values. */
  bias?: boolean | ArrayLike<number>;
  /** Initial weights (out·in values) instead of the default draw. */
  weight?: ArrayLike<number>;
}

/** y = x·Wᵀ + b, W (out, in); PyTorch default init U(±1/√in). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inF: number, outF: number, opts: LinearOptions = {}) {
    super();
    const rng = nextInitRng(), shape = [outF, inF];
    const w = opts.weight ?? kaimingUniform(shape, rng.split("w"), { gain: Math.sqrt(1 / 3) });
    this.weight = this.param("weight", parameter(w, shape));
    const b = 1 / Math.sqrt(inF), bias = opts.bias ?? true;
    const bv = bias === true ? uniform(outF, -b, b, rng.split("b")) : bias;
    this.bias = bv ? this.param("bias", parameter(bv, [outF])) : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Inverted dropout; draws masks from its own stream, split per call. */
export class Dropout extends Module {
  private calls = 0;
  constructor(readonly p: number, readonly rng: Rng = Rng.fromSeed(0).split("dropout")) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, this.rng.split(this.calls++), true);
  }
}

/** Applies children in order. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }
  forward(x: Tensor): Tensor {
    for (const m of this.layers) x = m.forward(x);
    return x;
  }
}
