/** Shared test helpers: where the real data lives, and skipping cleanly when it does not. */

/** `../shared/data` beside the checkout, resolved from this file (not from cwd). */
export const SHARED_DATA = new URL("../../shared/data/", import.meta.url);

/** True when `../shared/data/<sub>` exists; otherwise prints why the caller skips. */
export function hasSharedData(sub = ""): boolean {
  try {
    Deno.statSync(new URL(sub, SHARED_DATA));
    return true;
  } catch {
    console.log(`skipped: ../shared/data/${sub} is not present (users do not have it)`);
    return false;
  }
}
