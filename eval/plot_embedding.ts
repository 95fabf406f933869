/**
 * 2-D view of a few identities' embeddings (the paper's Fig. 2: how tightly each identity's
 * features cluster, e.g. synthetic vs real), by PCA of the L2-normalised features.
 */
import { l2normalize } from "./embedder.ts";
import { fitPca, projectPca } from "./linalg.ts";
import { PALETTE, SvgPlot } from "./plot_svg.ts";

/** Features of one identity, optionally tagged with a group (e.g. "synthetic", "real"). */
export interface IdentityFeatures {
  identity: string;
  group?: string;
  features: Float32Array[];
}

/** 2-D PCA coordinates of L2-normalised features (rows in input order). */
export function pca2d(features: Float32Array[]): [number, number][] {
  const rows = features.map(l2normalize);
  const pca = fitPca(rows, 2, { iterations: 10 });
  return rows.map((r) => {
    const p = projectPca(pca, r, 2);
    return [p[0], p[1] ?? 0];
  });
}

const SHAPES = ["circle", "triangle", "square", "diamond"] as const;

/** SVG scatter: colour = identity, marker shape = group. */
export function embeddingSvg(sets: IdentityFeatures[], options: { title?: string } = {}): string {
  const flat = sets.flatMap((s, i) => s.features.map((f) => ({ f, i })));
  const xy = flat.length >= 3
    ? pca2d(flat.map((p) => p.f))
    : flat.map((): [number, number] => [0, 0]);
  const xs = xy.map((p) => p[0]), ys = xy.map((p) => p[1]);
  const pad = (lo: number, hi: number): [number, number] => {
    const m = (hi - lo) * 0.08 || 1;
    return [lo - m, hi + m];
  };
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const longest = Math.max(
    ...sets.map((s) => s.identity.length + (s.group ? s.group.length + 3 : 0)),
  );
  const legendWidth = 50 + longest * 6.4;
  const plot = new SvgPlot({
    title: options.title ?? "embeddings (PCA of L2-normalised features)",
    x: { min: x0, max: x1, label: "PC 1" },
    y: { min: y0, max: y1, label: "PC 2" },
    width: 640 + legendWidth,
    height: 480,
    right: legendWidth,
  });
  const groups = [...new Set(sets.map((s) => s.group ?? ""))];
  flat.forEach((p, k) => {
    const g = groups.indexOf(sets[p.i].group ?? "");
    plot.marker(xs[k], ys[k], PALETTE[p.i % PALETTE.length], SHAPES[g % SHAPES.length]);
  });
  plot.legend(
    sets.map((s, i) => ({
      label: `${s.identity}${s.group ? ` (${s.group})` : ""}`,
      color: PALETTE[i % PALETTE.length],
      shape: SHAPES[groups.indexOf(s.group ?? "") % SHAPES.length],
    })),
    "outside",
  );
  return plot.toString();
}
