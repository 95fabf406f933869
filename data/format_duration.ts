/**
 * A duration in seconds for progress lines and reports: `4.3s`, `42s`, `3m05s`, `2h07m`; `?` when
 * not finite (an ETA before the first measurement).
 *
 * @example
 * ```ts
 * console.assert(formatDuration(125.2) === "2m05s");
 * ```
 */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.max(0, s);
  if (s < 9.95) return `${s.toFixed(1)}s`;
  // round to whole seconds first, so 2579.6 s is 43m00s, never 42m60s
  const whole = Math.round(s);
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole - m * 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m - h * 60).padStart(2, "0")}m`;
}
