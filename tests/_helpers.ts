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

/**
 * For `Deno.test({ ignore: sharedMissing("orl"), … })`: true (the runner reports the test as
 * ignored) when any `../shared/data/<sub>` is absent; users do not have that data.
 */
export function sharedMissing(...subs: string[]): boolean {
  return subs.some((sub) => {
    try {
      Deno.statSync(new URL(sub, SHARED_DATA));
      return false;
    } catch {
      return true;
    }
  });
}
