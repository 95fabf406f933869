/**
 * `ref64`: every kernel in plain TypeScript on float64 storage. Slow and simple; the gradient
 * tests run on it (central finite differences need float64) and the CPU backend is compared
 * against it.
 * @module
 */
import type { Buf } from "../backend.ts";
import { ArrayBackend } from "./array_backend.ts";

interface Buf64 extends Buf {
  data: Float64Array | null;
}

/** The float64 reference backend. */
export class Ref64Backend extends ArrayBackend {
  readonly name = "ref64";
  readonly info = "float64 TypeScript reference kernels";

  /** The buffer's float64 elements. */
  view(b: Buf): Float64Array {
    const d = (b as Buf64 | null)?.data;
    if (!d) throw new Error("ref64: buffer is missing or was freed");
    return d;
  }

  /** Synchronous float64 read (tests). */
  read64(buf: Buf): Float64Array {
    return this.view(buf).slice();
  }

  alloc(size: number): Buf {
    return { size, data: new Float64Array(size) } as Buf64;
  }
  free(buf: Buf): void {
    (buf as Buf64).data = null;
  }
}
