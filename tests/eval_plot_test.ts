import assert from "node:assert/strict";
import { embeddingSvg } from "../eval/plot_embedding.ts";

Deno.test("embedding plot: four groups get four marker shapes (Fig. 2 with real data)", () => {
  const groups = ["syn", "im", "im-mild", "real"];
  const sets = groups.map((group, g) => ({
    identity: `id${g}`,
    group,
    features: [0, 1].map((k) => Float32Array.from([1 + g, k, g * k, 1])),
  }));
  const svg = embeddingSvg(sets);
  assert.match(svg, /<circle /);
  assert.match(svg, /<rect /);
  const polygons = [...svg.matchAll(/<polygon points="([^"]+)"/g)].map((m) =>
    m[1].split(" ").length
  );
  assert.ok(polygons.includes(3), "triangle markers");
  assert.ok(polygons.includes(4), "diamond markers");
});
