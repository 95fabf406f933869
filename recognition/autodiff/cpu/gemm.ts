/**
 * The GEMM contract of the CPU backend, and its plain TypeScript implementation (fallback when
 * WebAssembly SIMD is unavailable, and the reference the SIMD kernel is tested against).
 * @module
 */

/**
 * C (M×N, row stride ldc) = A·B (or C += A·B when `accumulate`), everything addressed in
 * float32 elements of the backend's memory: A(i,p) at a + i·ars + p·acs, B(p,j) at
 * b + p·brs + j·bcs, so transposed operands are just swapped strides.
 */
export interface Gemm {
  readonly name: string;
  /** Floats at the start of the memory the implementation reserves (packing buffers). */
  readonly reservedFloats: number;
  gemm(
    M: number,
    N: number,
    K: number,
    a: number,
    ars: number,
    acs: number,
    b: number,
    brs: number,
    bcs: number,
    c: number,
    ldc: number,
    accumulate: boolean,
  ): void;
  /** Starts helper threads now and resolves when they are ready (optional). */
  warmup?(): Promise<void>;
  dispose?(): void;
}

/** The TypeScript GEMM (i-p-j order, row-contiguous inner loop when B is row-major). */
export function jsGemm(memory: WebAssembly.Memory): Gemm {
  let heap = new Float32Array(memory.buffer);
  return {
    name: "TypeScript GEMM (1 thread)",
    reservedFloats: 16,
    gemm(M, N, K, a, ars, acs, b, brs, bcs, c, ldc, accumulate) {
      if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
      const h = heap;
      for (let i = 0; i < M; i++) {
        const ci = c + i * ldc;
        if (!accumulate) h.fill(0, ci, ci + N);
        for (let p = 0; p < K; p++) {
          const av = h[a + i * ars + p * acs];
          if (av === 0) continue;
          const bp = b + p * brs;
          if (bcs === 1) { for (let j = 0; j < N; j++) h[ci + j] += av * h[bp + j]; }
          else for (let j = 0; j < N; j++) h[ci + j] += av * h[bp + j * bcs];
        }
      }
    },
  };
}
