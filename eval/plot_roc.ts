/** ROC curves of one or several runs on one plot. */
import { PALETTE, SvgPlot } from "./plot_svg.ts";

/** One ROC curve: points in any order (they are sorted by FPR). */
export interface RocCurve {
  label: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
}

/**
 * SVG of ROC curves (TAR vs FAR). `logFar` draws FAR on a log axis from 1e-4 (where verification
 * systems differ); otherwise both axes are linear and the chance diagonal is shown.
 */
export function rocSvg(
  curves: RocCurve[],
  options: { title?: string; logFar?: boolean } = {},
): string {
  const log = options.logFar ?? false;
  // On the log-FAR plot, zoom TAR to the range the curves use above FAR = 1e-4 (good models sit
  // near the top, where the differences are).
  let yMin = 0;
  if (log) {
    let lowest = 1;
    for (const c of curves) {
      for (let k = 0; k < c.fpr.length; k++) {
        if (c.fpr[k] >= 1e-4) lowest = Math.min(lowest, c.tpr[k]);
      }
    }
    yMin = Math.max(0, Math.floor(lowest * 10 - 1e-9) / 10);
  }
  const plot = new SvgPlot({
    title: options.title ?? "ROC",
    x: { min: log ? 1e-4 : 0, max: 1, log, label: "false accept rate (FAR)" },
    y: { min: yMin, max: 1, label: "true accept rate (TAR)" },
  });
  if (!log) plot.line([0, 1], [0, 1], "#999", { width: 1, dash: "4,4" });
  curves.forEach((c, i) => {
    const pts = Array.from({ length: c.fpr.length }, (_, k) => [c.fpr[k], c.tpr[k]]);
    pts.push([0, 0], [1, 1]);
    pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    plot.line(pts.map((p) => p[0]), pts.map((p) => p[1]), PALETTE[i % PALETTE.length]);
  });
  plot.legend(curves.map((c, i) => ({ label: c.label, color: PALETTE[i % PALETTE.length] })));
  return plot.toString();
}
