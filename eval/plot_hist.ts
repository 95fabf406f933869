/** Score histograms: same-identity vs different-identity pairs, with the decision threshold. */
import { PALETTE, SvgPlot } from "./plot_svg.ts";

/** Options of `histogramSvg`. */
export interface HistogramOptions {
  title?: string;
  /** Axis label of the score, e.g. "cosine similarity". */
  scoreLabel?: string;
  /** Score range (default: the data range). */
  range?: [number, number];
  /** Draw the threshold as a dashed line. */
  threshold?: number;
}

/** Bin counts normalised to densities (area 1). */
export function histogram(
  values: ArrayLike<number>,
  lo: number,
  hi: number,
  bins: number,
): number[] {
  const counts = new Array(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((values[i] - lo) / width)));
    counts[b]++;
  }
  return counts.map((c) => c / Math.max(values.length, 1) / width);
}

/** SVG of overlaid same/different score densities. */
export function histogramSvg(
  same: ArrayLike<number>,
  different: ArrayLike<number>,
  options: HistogramOptions = {},
): string {
  const all = [...Array.from(same), ...Array.from(different)];
  let [lo, hi] = options.range ?? [Math.min(...all), Math.max(...all)];
  if (!(hi > lo)) [lo, hi] = [lo - 1, lo + 1];
  const bins = 50;
  const hs = histogram(same, lo, hi, bins), hd = histogram(different, lo, hi, bins);
  const top = Math.max(...hs, ...hd) * 1.1 || 1;
  const plot = new SvgPlot({
    title: options.title ?? "pair scores",
    x: { min: lo, max: hi, label: options.scoreLabel ?? "score" },
    y: { min: 0, max: top, label: "density" },
  });
  const width = (hi - lo) / bins;
  const step = (h: number[]) => {
    const xs: number[] = [], ys: number[] = [];
    h.forEach((v, b) => {
      xs.push(lo + b * width, lo + (b + 1) * width);
      ys.push(v, v);
    });
    return { xs, ys };
  };
  const d = step(hd), s = step(hs);
  plot.area(d.xs, d.ys, PALETTE[2]);
  plot.area(s.xs, s.ys, PALETTE[0]);
  if (options.threshold !== undefined) {
    plot.vline(options.threshold, "#333", `threshold ${options.threshold.toFixed(3)}`);
  }
  plot.legend([
    { label: `same (${same.length})`, color: PALETTE[0], shape: "square" },
    { label: `different (${different.length})`, color: PALETTE[2], shape: "square" },
  ], "top-right");
  return plot.toString();
}
