/**
 * Tensors, the tape and `backward()`. A tensor is a shape plus a reference-counted backend
 * buffer; every op that has an input requiring grad appends one node to the tape (a plain list,
 * already in topological order); `backward()` walks the list in reverse calling each op's
 * backward rule (see `ops.ts`). Memory: JS has no destructors, so tensors created inside
 * {@link scope} are freed when it returns (except what it returns); parameters live until
 * disposed.
 * @module
 */
import type { Backend, Buf } from "./backend.ts";

/** A buffer shared by a tensor and its views (reshape), freed when the last one is disposed. */
interface Storage {
  buf: Buf;
  refs: number;
  backend: Backend;
}

/** One recorded op application: enough to run its backward rule. */
export interface Node {
  op: string;
  inputs: readonly Tensor[];
  out: Tensor;
  /** Computes the gradients of the inputs (null where not needed) from the output gradient. */
  backward: (dy: Tensor) => (Tensor | null)[];
  /** Where the op was called from (only captured while tracing). */
  site?: string;
  /** The {@link profileLabel} current when the op was recorded (only while profiling). */
  label?: string;
}

/** Global engine state (one autodiff context per process/worker). */
const state = {
  backend: null as Backend | null,
  gradEnabled: true,
  tape: [] as Node[],
  scopes: [] as Tensor[][],
  trace: null as TraceEntry[] | null,
  inBackward: 0,
  label: null as string | null,
};

/**
 * Profiling hook (`cpu/profile.ts`): while set, recorded ops carry this label (a layer name),
 * and their backward rules run with it current again. null (the default) records nothing.
 */
export function setProfileLabel(label: string | null): void {
  state.label = label;
}

/** The current profiling label, see {@link setProfileLabel}. */
export function profileLabel(): string | null {
  return state.label;
}

/** True while a backward rule runs (kernels launched now belong to the backward pass). */
export function inBackwardPass(): boolean {
  return state.inBackward > 0;
}

/** A traced op output, for naming the op that produced a NaN/Inf. */
export interface TraceEntry {
  op: string;
  phase: "forward" | "backward";
  site: string;
  tensor: Tensor;
}

/** A dense float32 tensor on one backend. */
export class Tensor {
  /** Dimensions, row-major. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to (and are stored on) this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient (leaves that require grad, after `backward()`). */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor, if recorded. */
  node: Node | null = null;
  /** Optional name (parameters; used in error messages and state dicts). */
  name = "";
  /** Kept tensors (parameters, buffers, grads) are never freed by a scope. */
  kept = false;
  /** True while `grad` holds stale data that the next backward overwrites instead of adding to. */
  gradStale = true;
  private storage: Storage | null;

  /** Wraps an existing storage; use the factory functions instead. */
  constructor(storage: Storage, shape: readonly number[], requiresGrad = false) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.requiresGrad = requiresGrad;
    const top = state.scopes[state.scopes.length - 1];
    if (top) top.push(this);
  }

  private live(): Storage {
    if (!this.storage) throw new Error(`autodiff: tensor ${this.describe()} was disposed`);
    return this.storage;
  }

  /** The backend buffer (throws if disposed). */
  get buf(): Buf {
    return this.live().buf;
  }

  /** The backend holding this tensor. */
  get backend(): Backend {
    return this.live().backend;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.storage === null;
  }

  /** `name[2,3]` or `[2,3]`, for messages. */
  describe(): string {
    return `${this.name}[${this.shape.join(",")}]`;
  }

  /** A new tensor object sharing this storage with another shape (same size). */
  view(shape: readonly number[]): Tensor {
    const s = this.live();
    s.refs++;
    return new Tensor(s, shape);
  }

  /** Releases the storage once no view uses it. Idempotent. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    if (--s.refs === 0) s.backend.free(s.buf);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Downloads the data (float32). */
  toArray(): Promise<Float32Array> {
    return this.backend.download(this.buf);
  }

  /** Downloads a one-element tensor's value. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`autodiff item(): tensor ${this.describe()} has ${this.size} elements`);
    }
    return (await this.toArray())[0];
  }

  /** Reverse-mode gradient of this tensor, see {@link backward}. */
  backward(seed?: Tensor): void {
    backward(this, seed);
  }
}

/** Product of the dimensions. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`autodiff: bad shape [${shape}]`);
    n *= d;
  }
  return n;
}

/** Sets the default backend used by tensor factories. */
export function useBackend(backend: Backend): void {
  state.backend = backend;
}

/** The default backend (throws when none was set). */
export function getBackend(): Backend {
  if (!state.backend) {
    throw new Error("autodiff: no backend; call useBackend(await selectBackend()) first");
  }
  return state.backend;
}

/** A new tensor with fresh zeroed storage on `backend`. */
export function empty(shape: readonly number[], backend: Backend = getBackend()): Tensor {
  const buf = backend.alloc(shapeSize(shape));
  return new Tensor({ buf, refs: 1, backend }, shape);
}

/**
 * A new tensor whose contents are unspecified (backends without `allocUninit` zero it): for
 * op outputs that the kernel overwrites completely.
 */
export function uninit(shape: readonly number[], backend: Backend): Tensor {
  const n = shapeSize(shape);
  const buf = backend.allocUninit ? backend.allocUninit(n) : backend.alloc(n);
  return new Tensor({ buf, refs: 1, backend }, shape);
}

/** Runs `fn` without recording (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = false;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}

/** Marks tensors as kept: never freed by a scope (parameters, buffers, results to hold on to). */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

function collect(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (value instanceof Tensor) out.add(value);
  else if (depth < 4 && value && typeof value === "object") {
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      collect(v, out, depth + 1);
    }
  }
}

/**
 * Runs `fn` and frees every tensor it created except the ones it returns (found in the
 * result, arrays or plain objects) and kept ones. The outermost scope also clears the tape.
 */
export function scope<T>(fn: () => T): T {
  const mine: Tensor[] = [];
  state.scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } finally {
    state.scopes.pop();
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = state.scopes[state.scopes.length - 1];
  for (const t of mine) {
    if (survivors.has(t)) parent?.push(t);
    else if (!t.kept && !traced.has(t)) t.dispose();
  }
  if (state.scopes.length === 0 && state.inBackward === 0) clearTape();
  return result;
}

const traced = new Set<Tensor>();

/** Records a node if any input requires grad (and traces the output while tracing). */
export function record(
  op: string,
  inputs: readonly Tensor[],
  out: Tensor,
  backwardFn: (dy: Tensor) => (Tensor | null)[],
): void {
  if (state.trace) {
    state.trace.push({ op, phase: "forward", site: callSite(), tensor: out });
    traced.add(out);
  }
  if (!state.gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
  out.requiresGrad = true;
  const node: Node = { op, inputs, out, backward: backwardFn };
  if (state.label !== null) node.label = state.label;
  if (state.trace) node.site = state.trace[state.trace.length - 1].site;
  out.node = node;
  state.tape.push(node);
}

/** Number of nodes currently on the tape (tests, leak checks). */
export function tapeLength(): number {
  return state.tape.length;
}

/** Drops the tape without running backward. */
export function clearTape(): void {
  for (const n of state.tape) n.out.node = null;
  state.tape.length = 0;
}

/**
 * Reverse-mode accumulation from `root` (a scalar unless `seed`, the gradient of the root, is
 * given) through the tape. Leaves that require grad get `.grad` (added to unless stale, see
 * `zeroGrad`); intermediate gradients are freed as soon as they are used. Clears the tape.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error(`autodiff backward(): ${root.describe()} does not require grad`);
  }
  if (!seed && root.size !== 1) {
    throw new Error(
      `autodiff backward(): root ${root.describe()} is not a scalar; pass the seed gradient`,
    );
  }
  const prev = state.gradEnabled;
  state.gradEnabled = false;
  const grads = new Map<Tensor, Tensor>();
  try {
    const be = root.backend;
    let g0 = seed;
    if (!g0) {
      g0 = empty(root.shape, be);
      be.fill(g0.buf, 1, 1);
    }
    grads.set(root, g0);
    const tape = state.tape;
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i];
      const dy = grads.get(node.out);
      if (!dy) continue;
      grads.delete(node.out);
      state.inBackward++;
      const label = state.label;
      if (node.label !== undefined) state.label = node.label;
      let gs: (Tensor | null)[];
      try {
        gs = scope(() => node.backward(dy));
      } finally {
        state.inBackward--;
        state.label = label;
      }
      // Give every use its own tensor object (x + x returns dy twice), then drop dy: storage
      // reference counts now say which gradients share a buffer.
      gs = gs.map((g, j) => (g && (g === dy || gs.indexOf(g) !== j) ? g.view(g.shape) : g));
      if (dy !== seed) dy.dispose();
      for (let j = 0; j < node.inputs.length; j++) {
        const x = node.inputs[j];
        const g = gs[j];
        if (!g) continue;
        if (!x.requiresGrad) {
          g.dispose();
          continue;
        }
        if (g.shape.join() !== x.shape.join()) {
          throw new Error(
            `autodiff backward of ${node.op}: gradient shape [${g.shape}] ≠ input shape [${x.shape}]`,
          );
        }
        if (state.trace) {
          state.trace.push({ op: node.op, phase: "backward", site: node.site ?? "", tensor: g });
          traced.add(g);
        }
        if (x.node) {
          const old = grads.get(x);
          if (!old) grads.set(x, g);
          else if (refs(old) === 1) {
            be.accumulate(old.buf, g.buf, g.size, 1);
            g.dispose();
          } else {
            const c = empty(g.shape, be);
            be.copy(old.buf, c.buf, g.size, 0, 0);
            be.accumulate(c.buf, g.buf, g.size, 1);
            old.dispose();
            g.dispose();
            grads.set(x, c);
          }
        } else {
          addToLeafGrad(x, g);
          g.dispose();
        }
      }
    }
  } finally {
    state.gradEnabled = prev;
    for (const g of grads.values()) g.dispose();
    clearTape();
  }
}

function refs(t: Tensor): number {
  // deno-lint-ignore no-explicit-any
  return ((t as any).storage as Storage).refs;
}

function addToLeafGrad(x: Tensor, g: Tensor): void {
  const be = x.backend;
  if (!x.grad) {
    const prev = state.scopes;
    state.scopes = []; // the grad belongs to the leaf, not to any scope
    try {
      x.grad = keep(empty(x.shape, be));
    } finally {
      state.scopes = prev;
    }
    x.grad.name = `${x.name}.grad`;
    x.gradStale = true;
  }
  if (x.gradStale) {
    be.copy(g.buf, x.grad.buf, g.size, 0, 0);
    x.gradStale = false;
  } else be.accumulate(x.grad.buf, g.buf, g.size, 1);
}

/** Starts recording every op output (forward and backward) for {@link findNonFinite}. */
export function startTrace(): void {
  state.trace = [];
}

/**
 * Stops tracing and returns the first traced op output (in execution order) holding NaN/Inf,
 * or null. Frees the traced tensors that their scopes already released.
 */
export async function stopTrace(): Promise<TraceEntry | null> {
  const entries = state.trace ?? [];
  state.trace = null;
  let bad: TraceEntry | null = null;
  for (const e of entries) {
    if (!bad && !e.tensor.disposed && !(await e.tensor.toArray()).every(Number.isFinite)) bad = e;
  }
  const alive = new Set(state.scopes.flat());
  for (const t of traced) if (!alive.has(t) && !t.kept) t.dispose();
  traced.clear();
  return bad;
}

/** The first stack frame outside the autodiff engine: "file:line:col". */
export function callSite(): string {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    if (line.includes("/recognition/autodiff/")) continue;
    const m = line.match(/\(?((?:file|https?):[^\s)]+)\)?$/);
    if (m) return m[1];
  }
  return "unknown call site";
}

/** Thrown for inconsistent shapes; the message names the op, the shapes and the call site. */
export class ShapeError extends Error {
  constructor(op: string, detail: string, shapes: readonly (readonly number[])[]) {
    super(
      `autodiff ${op}: ${detail}; shapes ${
        shapes.map((s) => `[${s.join(",")}]`).join(" and ")
      } (called at ${callSite()})`,
    );
    this.name = "ShapeError";
  }
}
