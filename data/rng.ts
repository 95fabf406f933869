/**
 * A seeded, splittable, counter-based PRNG. Every stream is named by a path of keys from the
 * root seed (`rng.split("identity", 17)`), and draw n of a stream is a pure function of
 * (seed, path, n). So image k of identity i gets the same bytes whether it is generated alone,
 * in a shard, by a worker, or after a resume: derive it from `root.split(i, k)`, never from a
 * shared sequential stream.
 */

/** A 32-bit integer hash with good avalanche (Wellons' lowbias32). */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

function hashKey(key: number | string): number {
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key)) throw new RangeError(`Rng key ${key} is not a safe integer`);
    const lo = key >>> 0;
    const hi = Math.floor(key / 0x100000000) >>> 0;
    return mix32(lo ^ mix32(hi + 0x6a09e667));
  }
  let h = 0x811c9dc5; // FNV-1a, then mixed; strings and numbers live in different ranges
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return mix32(h ^ 0xbb67ae85);
}

/** Serializable state of a stream: its key words and how many 32-bit words it has drawn. */
export interface RngState {
  /** The stream's two 32-bit key words. */
  key: [number, number];
  /** 32-bit words drawn so far. */
  counter: number;
}

/** A counter-based random stream. */
export class Rng {
  private constructor(private k0: number, private k1: number, private counter = 0) {}

  /** The root stream of a seed (any safe integer). */
  static fromSeed(seed: number): Rng {
    const h = hashKey(seed);
    return new Rng(mix32(h ^ 0x3c6ef372), mix32(h + 0xa54ff53a));
  }

  /** Restore a stream saved with `state()`. */
  static fromState(state: RngState): Rng {
    return new Rng(state.key[0] >>> 0, state.key[1] >>> 0, state.counter);
  }

  /** The stream's state, for checkpoints. */
  state(): RngState {
    return { key: [this.k0, this.k1], counter: this.counter };
  }

  /** An independent child stream named by `keys`; does not advance this stream. */
  split(...keys: (number | string)[]): Rng {
    let k0 = this.k0, k1 = this.k1;
    for (const key of keys) {
      const h = hashKey(key);
      const n0 = mix32(k0 ^ mix32(h + 0x9e3779b9));
      const n1 = mix32(k1 + mix32(h ^ n0 ^ 0x510e527f));
      k0 = n0;
      k1 = n1;
    }
    return new Rng(k0, k1);
  }

  /** The next 32-bit unsigned word. */
  nextUint32(): number {
    const i = this.counter++;
    const lo = i >>> 0;
    const hi = Math.floor(i / 0x100000000) >>> 0;
    return mix32(mix32(lo ^ this.k0) + mix32(hi ^ this.k1) + this.k1);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isSafeInteger(n)) {
      throw new RangeError(`Rng.int: n=${n}, expected an integer ≥ 1`);
    }
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box–Muller, one value per two uniforms, no cached spare). */
  normal(): number {
    let u = this.uniform();
    while (u <= 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` standard normal draws. */
  normals(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
    return out;
  }

  /** A uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.choice: empty array");
    return items[this.int(items.length)];
  }

  /** Fisher–Yates shuffle, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** The mixup grid {0, 0.05, …, 1} (21 values), exact to two decimals. */
export const MIXUP_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);
