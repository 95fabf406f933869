/**
 * The report's grouped bar charts with error bars (Tables 2/3, Figs. 5/6), the one chart eval's
 * SVG kit (`eval/plot_svg.ts`: escaping, palette, ROC plots) does not draw.
 */
import { esc, PALETTE } from "../../eval/mod.ts";

/** One series of a bar chart: a value (and ±err) per group; null = no bar. */
export interface BarSeries {
  label: string;
  values: (number | null)[];
  errors?: (number | null)[];
}

/** Options of `barChartSvg`. */
export interface BarChartOptions {
  title: string;
  yLabel: string;
}

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();
const line = (x1: number | string, x2: number | string, y1: string, y2: string, stroke: string) =>
  `<line x1="${x1}" x2="${x2}" y1="${y1}" y2="${y2}" stroke="${stroke}"/>`;
/** A text element; `attrs` follow x and y as written (e.g. ` text-anchor="end"`). */
const text = (x: number | string, y: number | string, body: string, attrs = "") =>
  `<text x="${x}" y="${y}"${attrs}>${body}</text>`;

/** A grouped bar chart: one group per label, one bar per series, with error bars. */
export function barChartSvg(groups: string[], series: BarSeries[], o: BarChartOptions): string {
  const width = 720;
  const left = 56;
  const rows = legendRows(series.map((s) => s.label), width - 72, left);
  const gwGuess = (width - 72) / Math.max(1, groups.length);
  const labelLines = groups.map((g) => wrap(g, Math.max(6, Math.floor(gwGuess / 6.2))));
  const maxLines = Math.max(1, ...labelLines.map((l) => l.length));
  const m = { top: 40, right: 16, bottom: 24 + 14 * maxLines + 18 * rows.length, left };
  const height = 260 + m.bottom;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  // the axis: from a rounded-down minimum (at most 50) to 100
  const yMin = Math.min(50, Math.floor((Math.min(...all, 100) - 5) / 10) * 10), yMax = 100;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const y = (v: number) =>
    m.top + ph * (1 - (Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin));
  const gw = pw / Math.max(1, groups.length);
  const bw = Math.min(36, (gw * 0.8) / Math.max(1, series.length));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(width / 2, 20, esc(o.title), ' text-anchor="middle" font-size="14"'),
  ];
  for (let t = yMin; t <= yMax + 1e-9; t += tickStep(yMax - yMin)) {
    parts.push(
      line(m.left, width - m.right, f1(y(t)), f1(y(t)), "#ddd"),
      text(m.left - 6, f1(y(t) + 4), f1(t), ' text-anchor="end"'),
    );
  }
  parts.push(
    `<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${
      esc(o.yLabel)
    }</text>`,
  );
  groups.forEach((g, gi) => {
    const x0 = m.left + gi * gw + (gw - bw * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[gi];
      const x = x0 + si * bw;
      if (v === null || v === undefined) {
        parts.push(text(f1(x + bw / 2), f1(y(yMin) - 4), "–", ' text-anchor="middle" fill="#999"'));
        return;
      }
      const top = y(v);
      parts.push(
        `<rect class="bar" x="${f1(x + 1)}" y="${f1(top)}" width="${f1(bw - 2)}" height="${
          f1(y(yMin) - top)
        }" fill="${PALETTE[si % PALETTE.length]}"><title>${
          esc(`${g} · ${s.label}: ${v.toFixed(2)}`)
        }</title></rect>`,
      );
      const err = s.errors?.[gi];
      if (err) {
        parts.push(line(f1(x + bw / 2), f1(x + bw / 2), f1(y(v + err)), f1(y(v - err)), "#333"));
      }
    });
    const lx = f1(m.left + gi * gw + gw / 2);
    labelLines[gi].forEach((l, li) => {
      parts.push(text(lx, height - m.bottom + 16 + 14 * li, esc(l), ' text-anchor="middle"'));
    });
  });
  parts.push(line(m.left, width - m.right, f1(y(yMin)), f1(y(yMin)), "#333"));
  // the legend: a swatch and the label of each series, in rows
  const ly = height - 8 - 18 * (rows.length - 1);
  rows.forEach((row, r) => {
    for (const [i, l, x] of row) {
      const fill = PALETTE[i % PALETTE.length];
      parts.push(
        `<rect x="${x}" y="${ly + 18 * r - 9}" width="10" height="10" fill="${fill}"/>`,
        text(x + 14, ly + 18 * r, esc(l)),
      );
    }
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Legend entries (series index, label, x from `x0`) in rows that fit `width` (≈6 px per
 * character).
 */
function legendRows(labels: string[], width: number, x0: number): [number, string, number][][] {
  const rows: [number, string, number][][] = [[]];
  let x = 0;
  labels.forEach((l, i) => {
    const w = 24 + l.length * 6;
    if (x > 0 && x + w > width) {
      rows.push([]);
      x = 0;
    }
    rows[rows.length - 1].push([i, l, x0 + x]);
    x += w;
  });
  return rows;
}

/** Split a label into lines of at most `max` characters at spaces. */
function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const word of text.split(" ")) {
    if (cur && cur.length + 1 + word.length > max) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

function tickStep(range: number): number {
  return range > 40 ? 10 : range > 20 ? 5 : range > 8 ? 2 : 1;
}
