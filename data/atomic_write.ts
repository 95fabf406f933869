/**
 * Atomic file writes: a uniquely named temp file beside the target, then a rename, so readers,
 * resumes and concurrent writers never see half a file, and a failed write (disk full, kill)
 * leaves the previous content in place.
 * @module
 */

/** Whether `path` exists (false only when it is not found; other errors are thrown). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Write `data` (text or bytes) to `path` atomically, creating its parent folder. `sync` fsyncs the
 * temp file before the rename (durable across a crash); `write` replaces how the temp file is
 * written (tests: simulate a full disk).
 */
export async function writeFileAtomic(
  path: string | URL,
  data: string | Uint8Array,
  opts: { sync?: boolean; write?: (tmp: string | URL, data: Uint8Array) => Promise<void> } = {},
): Promise<void> {
  const suffix = `.${crypto.randomUUID().slice(0, 13)}.tmp`;
  let tmp: string | URL;
  if (path instanceof URL) {
    await Deno.mkdir(new URL("./", path), { recursive: true });
    tmp = new URL(path.href + suffix);
  } else {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    tmp = path + suffix;
  }
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await (opts.write ?? Deno.writeFile)(tmp, bytes);
    if (opts.sync) {
      using f = await Deno.open(tmp, { write: true });
      await f.sync();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Write `value` as indented JSON (and a final newline) to `path`, atomically. */
export function writeJsonAtomic(path: string | URL, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
