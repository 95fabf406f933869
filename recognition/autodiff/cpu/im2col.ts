/**
 * im2col / col2im of one image on a float32 heap, for the portable JS-GEMM convolution (the wasm
 * SIMD path gathers inside its `conv` kernel, `gemm_wat.ts`). K = cIn·kh·kw rows of P = outH·outW columns.
 */
import type { ConvSpec } from "../backend.ts";

/** im2col of image `img` into col (K×P, K = cIn·kh·kw, P = outH·outW). */
export function im2col(heap: Float32Array, xOff: number, colOff: number, s: ConvSpec): void {
  const { cIn, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = s;
  const P = outH * outW;
  let row = colOff;
  for (let c = 0; c < cIn; c++) {
    const xc = xOff + c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row += P) {
        // valid output x range for this j: 0 ≤ ox·sw − pw + j < w
        const x0 = Math.max(0, Math.ceil((padW - j) / strideW));
        const x1 = Math.min(outW, Math.floor((w - 1 + padW - j) / strideW) + 1);
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + i;
          const r = row + oy * outW;
          if (iy < 0 || iy >= h || x1 <= x0) {
            heap.fill(0, r, r + outW);
            continue;
          }
          if (x0 > 0) heap.fill(0, r, r + x0);
          const src = xc + iy * w - padW + j;
          if (strideW === 1) heap.copyWithin(r + x0, src + x0, src + x1);
          else for (let ox = x0; ox < x1; ox++) heap[r + ox] = heap[src + ox * strideW];
          if (x1 < outW) heap.fill(0, r + x1, r + outW);
        }
      }
    }
  }
}

/** col2im: dx image += scatter of col (K×P). dx must be zeroed first. */
export function col2im(heap: Float32Array, colOff: number, dxOff: number, s: ConvSpec): void {
  const { cIn, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = s;
  const P = outH * outW;
  let row = colOff;
  for (let c = 0; c < cIn; c++) {
    const xc = dxOff + c * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row += P) {
        const x0 = Math.max(0, Math.ceil((padW - j) / strideW));
        const x1 = Math.min(outW, Math.floor((w - 1 + padW - j) / strideW) + 1);
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + i;
          if (iy < 0 || iy >= h) continue;
          const r = row + oy * outW;
          const dst = xc + iy * w - padW + j;
          for (let ox = x0; ox < x1; ox++) heap[dst + ox * strideW] += heap[r + ox];
        }
      }
    }
  }
}
