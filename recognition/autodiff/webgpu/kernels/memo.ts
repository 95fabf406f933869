/** Memoised kernel construction: one {@link Kernel} object per small key (op, rank, tuning). */

import type { Kernel } from "../pipeline_cache.ts";

const kernels = new Map<string, Kernel>();

/** The kernel for `key`, built by `make` on first use. */
export function memo(key: string, make: () => Kernel): Kernel {
  let k = kernels.get(key);
  if (!k) kernels.set(key, k = make());
  return k;
}
