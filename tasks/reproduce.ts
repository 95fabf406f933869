/**
 * `deno task reproduce [--preset smoke|default|cpu|paper] [--out DIR] [--real DIR …]
 * [--lfw-pairs FILE --lfw-images DIR] [--only …] [--dry-run]`: the paper's tables and figures
 * from one command. See `tasks/reproduce/cli.ts` and the README's "reproduce" section.
 */
import { parseReproduceArgs, reproduce, USAGE, UsageError } from "./reproduce/cli.ts";
import { createStages } from "./reproduce/stages.ts";

if (import.meta.main) {
  try {
    const o = parseReproduceArgs(Deno.args);
    if (o === "help") {
      console.log(USAGE);
    } else {
      const r = await reproduce(o, createStages(), {
        command: ["deno task reproduce", ...Deno.args].join(" "),
      });
      Deno.exitCode = r.exitCode;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`reproduce: ${e.message}\n\n${USAGE}`);
      Deno.exit(2);
    }
    throw e;
  }
}
