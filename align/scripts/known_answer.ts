/**
 * Known-answer check of `align/` against the shared data (manual; needs ../shared/data):
 *
 *   deno task align --in ../shared/data/lfw-view1/images --out out/lfw-view1-aligned112 --workers 2
 *   deno run -A align/scripts/known_answer.ts out/lfw-view1-aligned112 [../shared/data/lfw-view1/aligned112.csv]
 *
 * Prints the mean distance (px, over the 5 points) between our points and the CSV's (the 5
 * points the same two models gave when the shared crops were made), its spread, and the box
 * error. `check_known_answer.sh` adds the fr_feature.onnx verification score of our crops.
 */
import { parseAlignCsv } from "../mod.ts";

const [ours = "out/lfw-view1-aligned112", ref = "../shared/data/lfw-view1/aligned112.csv"] =
  Deno.args;
const rows = parseAlignCsv(await Deno.readTextFile(`${ours}/align.csv`), `${ours}/align.csv`);
const refLines = (await Deno.readTextFile(ref)).trim().split("\n");
const header = refLines[0].split(",");
const col = (name: string) => header.indexOf(name);
const refMap = new Map(
  refLines.slice(1).map((l) => {
    const f = l.split(",");
    return [f[col("path")], f] as const;
  }),
);
const errs: number[] = [];
let boxErr = 0, missing = 0, noFace = 0;
for (const r of rows) {
  const f = refMap.get(r.path);
  if (!f) {
    missing++;
    continue;
  }
  if (!r.points5 || !r.box) {
    noFace++;
    continue;
  }
  let e = 0;
  for (let k = 0; k < 5; k++) {
    const x = Number(f[col(`l${k}x`)]), y = Number(f[col(`l${k}y`)]);
    e += Math.hypot(r.points5[k][0] - x, r.points5[k][1] - y) / 5;
  }
  errs.push(e);
  boxErr += ["x1", "y1", "x2", "y2"].reduce(
    (s, c, i) => s + Math.abs(r.box![i] - Number(f[col(c)])) / 4,
    0,
  );
}
errs.sort((a, b) => a - b);
const n = errs.length;
const mean = errs.reduce((s, v) => s + v, 0) / n;
console.log(JSON.stringify({
  images: rows.length,
  compared: n,
  not_in_reference: missing,
  no_face: noFace,
  mean_point_error_px: +mean.toFixed(3),
  median_px: +errs[n >> 1].toFixed(3),
  p95_px: +errs[Math.floor(n * 0.95)].toFixed(3),
  max_px: +errs[n - 1].toFixed(3),
  over_1_5px: errs.filter((e) => e > 1.5).length,
  mean_box_error_px: +(boxErr / n).toFixed(3),
}));
