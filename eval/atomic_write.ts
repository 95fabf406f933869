/** Atomic file writes live in the data floor; re-exported for `eval/`'s public API. */
export { writeFileAtomic } from "../data/atomic_write.ts";
