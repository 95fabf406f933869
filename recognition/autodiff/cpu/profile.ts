/**
 * Per-kernel time profile of a backend whose kernels run synchronously (the `cpu` backend: each
 * kernel call returns when its work, workers included, is done, so the wall time of the call is
 * the kernel's share of the step). `profileBackend(be)` returns a stand-in backend that times
 * every call by kernel family (`conv2d`, `unary:relu`, `binary:add`, …), by pass (forward,
 * backward — a backward rule is running —, update: the optimizer) and by layer label (see
 * {@link labelLayers}). Used by `deno task bench autodiff --profile`.
 * @module
 */
import type { Backend, BinaryOp, UnaryOp } from "../backend.ts";
import type { Module } from "../nn.ts";
import { inBackwardPass, profileLabel, setProfileLabel } from "../tensor.ts";

/** Pass a kernel call belongs to. */
export type Pass = "forward" | "backward" | "update";

/** Accumulated time of one (pass, family, layer) cell. */
export interface ProfileCell {
  pass: Pass;
  family: string;
  /** Layer label current at the call ("" outside any labelled module). */
  layer: string;
  ms: number;
  calls: number;
}

/** A timed stand-in for a backend plus the accumulated cells. */
export interface BackendProfile {
  /** Use this in place of the profiled backend (`useBackend`, tensors' backend). */
  readonly backend: Backend;
  /** Zeroes the accumulated times (call after warm-up steps). */
  reset(): void;
  /** The accumulated cells. */
  cells(): ProfileCell[];
}

/** Calls that are bookkeeping, not kernels: timed anyway, under their own families. */
const OP_ARG: Record<string, true> = { unary: true, unaryBackward: true, binary: true };

/**
 * Wraps `target`: every method call is timed (methods run on the target itself, so a kernel
 * that calls another is counted once); getters and fields read through.
 */
export function profileBackend(target: Backend): BackendProfile {
  const cells = new Map<string, ProfileCell>();
  const wrapped = new Map<PropertyKey, unknown>();
  const time = (name: string, fn: (...a: unknown[]) => unknown) => (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return fn.apply(target, args);
    } finally {
      const ms = performance.now() - t0;
      const family = OP_ARG[name] ? `${name}:${args[0] as UnaryOp | BinaryOp}` : name;
      const pass: Pass = inBackwardPass() ? "backward" : name === "sgd" ? "update" : "forward";
      const layer = profileLabel() ?? "";
      const key = `${pass}\0${family}\0${layer}`;
      let c = cells.get(key);
      if (!c) cells.set(key, c = { pass, family, layer, ms: 0, calls: 0 });
      c.ms += ms;
      c.calls++;
    }
  };
  const backend = new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof v !== "function" || prop === "constructor") return v;
      let w = wrapped.get(prop);
      if (!w) wrapped.set(prop, w = time(String(prop), v as (...a: unknown[]) => unknown));
      return w;
    },
  });
  return {
    backend,
    reset: () => cells.clear(),
    cells: () => [...cells.values()],
  };
}

/**
 * Makes every module of `model` label the ops it records with its dotted name (the innermost
 * module wins; the root is `root`), so a profile can be split by layer. Returns a function that
 * restores the original `forward` methods.
 */
export function labelLayers(model: Module, root = "model"): () => void {
  const undo: (() => void)[] = [];
  for (const [name, m] of model.namedModules()) {
    const own = Object.prototype.hasOwnProperty.call(m, "forward");
    const orig = m.forward;
    const label = name || root;
    m.forward = function (this: Module, ...args: Parameters<Module["forward"]>) {
      const prev = profileLabel();
      setProfileLabel(label);
      try {
        return orig.apply(this, args);
      } finally {
        setProfileLabel(prev);
      }
    };
    undo.push(() => {
      if (own) m.forward = orig;
      else delete (m as Partial<Module>).forward;
    });
  }
  return () => undo.forEach((f) => f());
}

/** One row of a summary: a key, its milliseconds per step and share of the step. */
export interface ProfileRow {
  key: string;
  msPerStep: number;
  share: number;
  calls: number;
}

/**
 * Sums cells by `keyOf` into rows sorted by time, per step (`steps` timed steps of `stepMs`
 * wall time each on average), plus a row for the time outside kernels (engine, tape, JS).
 */
export function summarize(
  cells: ProfileCell[],
  steps: number,
  stepMs: number,
  keyOf: (c: ProfileCell) => string,
): ProfileRow[] {
  const acc = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const c of cells) {
    const k = keyOf(c);
    const a = acc.get(k) ?? { ms: 0, calls: 0 };
    a.ms += c.ms;
    a.calls += c.calls;
    acc.set(k, a);
    total += c.ms;
  }
  const rows = [...acc].map(([key, a]) => ({
    key,
    msPerStep: a.ms / steps,
    share: a.ms / steps / stepMs,
    calls: a.calls / steps,
  }));
  rows.sort((a, b) => b.msPerStep - a.msPerStep);
  const outside = stepMs - total / steps;
  rows.push({ key: "(outside kernels)", msPerStep: outside, share: outside / stepMs, calls: 0 });
  return rows;
}

/** Fixed-width text table of rows (rows under `minShare` folded into one "other" row). */
export function formatRows(title: string, rows: ProfileRow[], minShare = 0.005): string {
  const shown = rows.filter((r) => r.share >= minShare || r.key === "(outside kernels)");
  const rest = rows.filter((r) => !shown.includes(r));
  if (rest.length) {
    shown.splice(shown.length - 1, 0, {
      key: `other (${rest.length})`,
      msPerStep: rest.reduce((s, r) => s + r.msPerStep, 0),
      share: rest.reduce((s, r) => s + r.share, 0),
      calls: rest.reduce((s, r) => s + r.calls, 0),
    });
  }
  const w = Math.max(title.length, ...shown.map((r) => r.key.length));
  const lines = [`${title.padEnd(w)}  ms/step  share  calls/step`];
  for (const r of shown) {
    lines.push(
      `${r.key.padEnd(w)}  ${r.msPerStep.toFixed(1).padStart(7)}  ${
        (100 * r.share).toFixed(1).padStart(4)
      }%  ${r.calls ? r.calls.toFixed(0).padStart(10) : ""}`,
    );
  }
  return lines.join("\n");
}
