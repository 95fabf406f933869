/**
 * A tiny SVG plotting kit (no browser needed): linear/log scales, nice ticks, framed axes with
 * grid, lines, bars, markers and a legend. The ROC, histogram and embedding plots build on it.
 */

/** Ten distinguishable colours (Tableau 10). */
export const PALETTE: readonly string[] =
  "#4e79a7 #f28e2b #e15759 #76b7b2 #59a14f #edc948 #b07aa1 #ff9da7 #9c755f #bab0ac".split(" ");

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escape text for SVG. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ENTITIES[c]);
}

/** Round, human-friendly tick values covering [min, max] (about `count` of them). */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Format a tick label compactly. */
export function tickLabel(v: number, log = false): string {
  if (log) {
    const e = Math.round(Math.log10(v));
    return Math.abs(e) <= 2 ? String(Number(v.toPrecision(3))) : `1e${e}`;
  }
  return String(Number(v.toPrecision(6)));
}

/** An axis: domain → pixel range, linear or log10. */
export interface Axis {
  min: number;
  max: number;
  log?: boolean;
  label: string;
}

/** Options of a plot frame. */
export interface FrameOptions {
  width?: number;
  height?: number;
  /** Space right of the frame (default 20; widen it for an `outside` legend). */
  right?: number;
  title?: string;
  x: Axis;
  y: Axis;
}

/** A plot frame being drawn: scales, element list and `toString()` for the final SVG. */
export class SvgPlot {
  readonly width: number;
  readonly height: number;
  readonly left = 64;
  readonly right: number;
  readonly top: number;
  readonly bottom = 52;
  private readonly body: string[] = [];
  private readonly overlay: string[] = [];

  constructor(readonly options: FrameOptions) {
    this.width = options.width ?? 560;
    this.height = options.height ?? 420;
    this.right = options.right ?? 20;
    this.top = options.title ? 36 : 16;
  }

  private t(axis: Axis, v: number): number {
    if (axis.log) {
      return (Math.log10(Math.max(v, 1e-300)) - Math.log10(axis.min)) /
        (Math.log10(axis.max) - Math.log10(axis.min));
    }
    return (v - axis.min) / (axis.max - axis.min);
  }

  /** Pixel x of data value `v`. */
  px(v: number): number {
    return this.left + this.t(this.options.x, v) * (this.width - this.left - this.right);
  }

  /** Pixel y of data value `v`. */
  py(v: number): number {
    return this.height - this.bottom -
      this.t(this.options.y, v) * (this.height - this.top - this.bottom);
  }

  /** A polyline through data points (NaN/out-of-domain log points dropped). */
  line(
    xs: ArrayLike<number>,
    ys: ArrayLike<number>,
    color: string,
    opts: { width?: number; dash?: string } = {},
  ): void {
    const pts: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) continue;
      if (this.options.x.log && xs[i] <= 0) continue;
      if (this.options.y.log && ys[i] <= 0) continue;
      pts.push(`${this.px(xs[i]).toFixed(1)},${this.py(ys[i]).toFixed(1)}`);
    }
    if (pts.length < 2) return;
    const points = pts.join(" "), width = opts.width ?? 2;
    const dash = opts.dash ? ` stroke-dasharray="${opts.dash}"` : "";
    this.body.push(
      `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="${width}"${dash} stroke-linejoin="round"/>`,
    );
  }

  /** A filled area between a step outline and y = 0 (histograms). */
  area(xs: number[], ys: number[], color: string, opacity = 0.35): void {
    const y0 = this.py(Math.max(this.options.y.min, 0)).toFixed(1);
    const pts = xs.map((x, i) => `${this.px(x).toFixed(1)},${this.py(ys[i]).toFixed(1)}`);
    const [first, last] = [xs[0], xs[xs.length - 1]].map((x) => `${this.px(x).toFixed(1)},${y0}`);
    const points = [first, ...pts, last].join(" ");
    this.body.push(
      `<polygon points="${points}" fill="${color}" fill-opacity="${opacity}" stroke="${color}" stroke-width="1.5"/>`,
    );
  }

  /** A marker at a data point: circle, triangle, square or diamond. */
  marker(x: number, y: number, color: string, shape: MarkerShape = "circle", r = 4): void {
    this.body.push(markerSvg(this.px(x), this.py(y), color, shape, r));
  }

  /** A vertical line at data x with a label. */
  vline(x: number, color: string, label?: string): void {
    const X = this.px(x).toFixed(1), bottom = this.height - this.bottom;
    this.body.push(
      `<line x1="${X}" x2="${X}" y1="${this.top}" y2="${bottom}" stroke="${color}" stroke-width="1.5" stroke-dasharray="5,4"/>`,
    );
    if (label) {
      const [tx, ty, text] = [Number(X) - 5, this.top + 14, esc(label)];
      this.body.push(
        `<text x="${tx}" y="${ty}" text-anchor="end" font-size="11" fill="${color}" stroke="white" stroke-width="3" paint-order="stroke">${text}</text>`,
      );
    }
  }

  /** A legend box in a corner. */
  legend(
    entries: { label: string; color: string; shape?: "line" | MarkerShape }[],
    corner: "bottom-right" | "top-right" | "top-left" | "outside" = "bottom-right",
  ): void {
    if (entries.length === 0) return;
    const rowH = 17;
    const w = 26 + Math.max(...entries.map((e) => e.label.length)) * 6.4;
    const h = entries.length * rowH + 8;
    const x = corner === "top-left"
      ? this.left + 10
      : corner === "outside"
      ? this.width - this.right + 10
      : this.width - this.right - w - 10;
    const y = corner === "bottom-right"
      ? this.height - this.bottom - h - 10
      : corner === "outside"
      ? this.top
      : this.top + 10;
    const box = `x="${x}" y="${y}" width="${w.toFixed(0)}" height="${h}"`;
    const out = [`<rect ${box} fill="white" fill-opacity="0.9" stroke="#bbb"/>`];
    entries.forEach((e, i) => {
      const cy = y + 4 + rowH * i + rowH / 2;
      if (!e.shape || e.shape === "line") {
        const [lx1, lx2] = [x + 6, x + 20];
        out.push(
          `<line x1="${lx1}" x2="${lx2}" y1="${cy}" y2="${cy}" stroke="${e.color}" stroke-width="3"/>`,
        );
      } else out.push(markerSvg(x + 13, cy, e.color, e.shape, 4));
      out.push(`<text x="${x + 25}" y="${cy + 4}" font-size="11.5">${esc(e.label)}</text>`);
    });
    this.overlay.push(out.join(""));
  }

  /** Ticks of an axis. */
  private ticks(axis: Axis): number[] {
    if (!axis.log) return niceTicks(axis.min, axis.max);
    const out: number[] = [];
    for (let e = Math.ceil(Math.log10(axis.min) - 1e-9); e <= Math.log10(axis.max) + 1e-9; e++) {
      out.push(10 ** e);
    }
    return out;
  }

  /** The finished SVG document. */
  toString(): string {
    const { x, y, title } = this.options, W = this.width, H = this.height;
    const x0 = this.left, x1 = W - this.right, y0 = this.top, y1 = H - this.bottom;
    const frame = `x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"`;
    const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
    const yLabel = esc(y.label), titleText = esc(title ?? ""), titleX = W / 2;
    const grid: string[] = [], labels: string[] = [];
    for (const v of this.ticks(x)) {
      const X = this.px(v).toFixed(1);
      grid.push(`<line x1="${X}" x2="${X}" y1="${y0}" y2="${y1}" stroke="#e6e6e6"/>`);
      grid.push(`<line x1="${X}" x2="${X}" y1="${y1}" y2="${y1 + 5}" stroke="#333"/>`);
      const [ty, label] = [y1 + 18, tickLabel(v, x.log)];
      labels.push(`<text x="${X}" y="${ty}" text-anchor="middle" font-size="11">${label}</text>`);
    }
    for (const v of this.ticks(y)) {
      const Y = this.py(v).toFixed(1);
      grid.push(`<line x1="${x0}" x2="${x1}" y1="${Y}" y2="${Y}" stroke="#e6e6e6"/>`);
      grid.push(`<line x1="${x0 - 5}" x2="${x0}" y1="${Y}" y2="${Y}" stroke="#333"/>`);
      const [tx, ty, label] = [x0 - 8, Number(Y) + 4, tickLabel(v, y.log)];
      labels.push(`<text x="${tx}" y="${ty}" text-anchor="end" font-size="11">${label}</text>`);
    }
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
      `<rect width="${W}" height="${H}" fill="white"/>`,
      `<clipPath id="frame"><rect ${frame}/></clipPath>`,
      ...grid,
      `<g clip-path="url(#frame)">`,
      ...this.body,
      `</g>`,
      `<rect ${frame} fill="none" stroke="#333"/>`,
      ...labels,
      `<text x="${cx}" y="${H - 12}" text-anchor="middle" font-size="13">${esc(x.label)}</text>`,
      `<text transform="translate(16,${cy}) rotate(-90)" text-anchor="middle" font-size="13">${yLabel}</text>`,
      title
        ? `<text x="${titleX}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${titleText}</text>`
        : "",
      ...this.overlay,
      `</svg>`,
      "",
    ].join("\n");
  }
}

/** Marker shapes of scatter plots and legends (one per group of points). */
export type MarkerShape = "circle" | "triangle" | "square" | "diamond";

function markerSvg(x: number, y: number, color: string, shape: MarkerShape, r: number): string {
  const style = `fill="${color}" fill-opacity="0.8" stroke="white" stroke-width="0.6"`;
  const f = (v: number) => v.toFixed(1);
  if (shape === "circle") return `<circle cx="${f(x)}" cy="${f(y)}" r="${r}" ${style}/>`;
  if (shape === "square") {
    return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" ${style}/>`;
  }
  const points = (pts: [number, number][]) =>
    `<polygon points="${pts.map(([px, py]) => `${f(px)},${f(py)}`).join(" ")}" ${style}/>`;
  const d = r * 1.3, h = r * 1.2;
  return shape === "diamond"
    ? points([[x, y - d], [x + d, y], [x, y + d], [x - d, y]])
    : points([[x, y - h], [x - h, y + h * 0.8], [x + h, y + h * 0.8]]);
}
