/**
 * One trainer per run folder: `RUN/.lock` holds an exclusive advisory lock (flock) for the whole
 * run and the holder's pid as its text. A second `train` into the same folder is refused with a
 * `TrainConfigError` (exit 2) naming that pid. The OS releases the lock when its process dies, so
 * the lock file of a killed run is stale and simply taken over.
 */
import { TrainConfigError } from "./config.ts";

/** A held run-folder lock. */
export interface RunLock {
  /** Release the lock (the file stays; its pid is then stale). */
  release(): void;
}

/** Take `dir/.lock` or throw a `TrainConfigError` naming the pid that holds it. */
export async function lockRunFolder(dir: string): Promise<RunLock> {
  const path = `${dir}/.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    const pid = (await Deno.readTextFile(path).catch(() => "")).trim() || "unknown";
    throw new TrainConfigError(
      `${dir}: another train (pid ${pid}) is using this run folder (${path}); ` +
        `wait for it, stop it, or choose another --out`,
    );
  }
  try {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (e) {
    file.close();
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      file.close();
    },
  };
}
