/**
 * Tests that cannot fail are defects: a test that needs ../shared/data or a GPU must be skipped
 * with `ignore:` (the runner then reports it as ignored), never pass by returning early.
 */
import assert from "node:assert/strict";

const DIR = new URL("./", import.meta.url).pathname;

Deno.test("test hygiene: no test returns early when data or a GPU is missing", async () => {
  const offenders: string[] = [];
  for await (const e of Deno.readDir(DIR)) {
    if (!e.name.endsWith("_test.ts") || e.name === "test_hygiene_test.ts") continue;
    const text = await Deno.readTextFile(`${DIR}${e.name}`);
    const lines = text.split("\n");
    lines.forEach((l, i) => {
      const early = /if \(!?\s*hasSharedData\(.*\)\s*return\b/.test(l) ||
        // `console.log("skipped: …")` followed (within 3 lines) by a bare `return`
        (/console\.log\([`"']skipped/.test(l) &&
          lines.slice(i, i + 4).some((n) => /^\s*return;?\s*$/.test(n)));
      if (early) offenders.push(`${e.name}:${i + 1}: ${l.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `use ignore: instead:\n${offenders.join("\n")}`);
});
