/**
 * Verification pair lists: LFW `pairs.txt` (View 2: header `10\t300`, ten folds of 300 same then
 * 300 different pairs), LFW View 1 (`pairsDevTrain.txt` header `1100`, `pairsDevTest.txt` header
 * `500`: one block), and a generic CSV `path1,path2,same[,fold]`.
 */

/** One verification pair. Image references are paths relative to the images folder. */
export interface Pair {
  /** First image: `Name/Name_0001` (LFW, extension resolved later) or a CSV path. */
  a: string;
  /** Second image. */
  b: string;
  /** True for a same-identity pair. */
  same: boolean;
  /** Fold index, 0-based; every pair of a single-block file is in fold 0. */
  fold: number;
  /** 1-based line number in the source file, for error messages. */
  line: number;
}

/** A parsed pairs file. */
export interface PairList {
  /** Source file name, as given (used in messages and reports). */
  file: string;
  /** `lfw` for the LFW formats (View 1 and View 2), `csv` for the generic CSV. */
  format: "lfw" | "csv";
  /** Number of folds in the file (10 for View 2, 1 for View 1 and fold-less CSV). */
  folds: number;
  pairs: Pair[];
}

/** Raised for malformed pairs files; the message names file, line and the expected form. */
export class PairsFormatError extends Error {
  override name = "PairsFormatError";
}

/** The relative image path (without extension) of image `n` of `name` in LFW layout. */
export function lfwImageRef(name: string, n: number): string {
  return `${name}/${name}_${String(n).padStart(4, "0")}`;
}

const LFW_FORMS = `"name n1 n2" or "name1 n1 name2 n2"`;

/**
 * Why an image reference could leave the images folder, or undefined when it cannot: it is
 * absolute, or one of its segments is `..` (checked on the text; folders on its way are checked
 * after symlinks by `resolveImages`).
 */
export function pathEscape(ref: string): string | undefined {
  if (ref.startsWith("/") || ref.startsWith("\\") || /^[A-Za-z]:/.test(ref)) return "is absolute";
  if (ref.split(/[\\/]/).includes("..")) return 'climbs out with ".."';
  return undefined;
}

function checkLfwName(name: string, file: string, line: number): void {
  if (name === "." || name === ".." || /[\\/]/.test(name)) {
    throw new PairsFormatError(
      `${file}:${line}: name "${name}" is not a plain identity name; ` +
        "an image must stay inside the images folder",
    );
  }
}

function positiveInt(s: string): number | undefined {
  return /^\d+$/.test(s) && Number(s) > 0 ? Number(s) : undefined;
}

/**
 * Parse an LFW pairs file. A header of two numbers `F N` means F folds of N same then N different
 * pairs (View 2); a single number `N` means one block (View 1). Fields are separated by tabs or
 * spaces.
 */
export function parseLfwPairs(text: string, file = "pairs.txt"): PairList {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length === 0) throw new PairsFormatError(`${file}: empty file, expected a header`);
  const head = lines[0].trim(), header = head.split(/\s+/);
  const [folds, perSide] = header.length === 1
    ? [1, positiveInt(header[0])]
    : header.length === 2
    ? [positiveInt(header[0]), positiveInt(header[1])]
    : [];
  if (folds === undefined || perSide === undefined) {
    throw new PairsFormatError(
      `${file}:1: expected a header "folds<TAB>pairs" (View 2, e.g. "10\t300") or "pairs" (View 1, e.g. "1100"), got "${head}"`,
    );
  }
  const expected = folds * 2 * perSide;
  const found = lines.length - 1;
  if (found !== expected) {
    throw new PairsFormatError(
      `${file}: header "${head}" says ${folds} fold(s) × (${perSide} same + ${perSide} different) = ${expected} pairs, found ${found} pair lines`,
    );
  }
  const pairs: Pair[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i], line = i + 1;
    const f = raw.trim().split(/\s+/);
    const k = i - 1;
    const fold = Math.floor(k / (2 * perSide));
    const wantSame = k % (2 * perSide) < perSide;
    let pair: Pair | undefined;
    if (f.length === 3 || f.length === 4) {
      // "name n1 n2" (same person) or "name1 n1 name2 n2"
      const same = f.length === 3;
      const n1 = positiveInt(f[1]), n2 = positiveInt(f.at(-1)!);
      if (n1 !== undefined && n2 !== undefined) {
        const b = lfwImageRef(same ? f[0] : f[2], n2);
        pair = { a: lfwImageRef(f[0], n1), b, same, fold, line };
      }
    }
    if (!pair) throw new PairsFormatError(`${file}:${line}: expected ${LFW_FORMS}, got "${raw}"`);
    checkLfwName(f[0], file, line);
    if (f.length === 4) checkLfwName(f[2], file, line);
    if (pair.same !== wantSame) {
      const pos = (k % perSide) + 1, foldNo = fold + 1, kind = wantSame ? "same" : "different";
      throw new PairsFormatError(
        `${file}:${line}: fold ${foldNo} should hold ${perSide} same pairs ("name n1 n2") then ${perSide} different pairs ("name1 n1 name2 n2"); line ${line} is ${kind} pair ${pos} of that fold but reads "${raw}"`,
      );
    }
    pairs.push(pair);
  }
  return { file, format: "lfw", folds, pairs };
}

const TRUE = new Set(["1", "true", "yes"]), FALSE = new Set(["0", "false", "no"]);

/**
 * Parse a CSV pairs file `path1,path2,same[,fold]` (paths relative to the images folder; `same` is
 * 1/0 or true/false). A first line whose third field is not a boolean is taken as a header. Fold
 * labels may be any integers; they are renumbered 0..K−1 in sorted order, and every fold must hold
 * both same and different pairs.
 */
export function parseCsvPairs(text: string, file = "pairs.csv"): PairList {
  const lines = text.split(/\r?\n/);
  const pairs: Pair[] = [];
  const foldLabels: (number | undefined)[] = [];
  let hasFold: boolean | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    const f = raw.split(",").map((s) => s.trim());
    const sameField = (f[2] ?? "").toLowerCase();
    const isBool = TRUE.has(sameField) || FALSE.has(sameField);
    if (pairs.length === 0 && i === firstContentLine(lines) && !isBool) continue; // header line
    const bad = (message: string): never => {
      throw new PairsFormatError(`${file}:${i + 1}: ${message}`);
    };
    if ((f.length !== 3 && f.length !== 4) || f[0] === "" || f[1] === "") {
      bad(`expected "path1,path2,same" or "path1,path2,same,fold", got "${raw}"`);
    }
    if (!isBool) bad(`"same" must be 1/0 or true/false, got "${f[2]}" in "${raw}"`);
    for (const ref of [f[0], f[1]]) {
      const why = pathEscape(ref);
      if (why) bad(`path "${ref}" ${why}; paths must stay inside the images folder`);
    }
    const withFold = f.length === 4;
    hasFold ??= withFold;
    if (hasFold !== withFold) {
      const has = hasFold
        ? "a fold column but this one has none"
        : "no fold column but this one has one";
      bad(`earlier lines have ${has}: "${raw}"`);
    }
    if (withFold && !/^-?\d+$/.test(f[3])) {
      bad(`fold must be an integer, got "${f[3]}" in "${raw}"`);
    }
    foldLabels.push(withFold ? Number(f[3]) : undefined);
    pairs.push({ a: f[0], b: f[1], same: TRUE.has(sameField), fold: 0, line: i + 1 });
  }
  if (pairs.length === 0) throw new PairsFormatError(`${file}: no pairs found`);
  let folds = 1;
  if (hasFold) {
    const labels = [...new Set(foldLabels as number[])].sort((x, y) => x - y);
    const index = new Map(labels.map((l, k) => [l, k]));
    pairs.forEach((p, k) => (p.fold = index.get(foldLabels[k] as number)!));
    folds = labels.length;
  }
  checkFoldsBalanced(pairs, folds, file);
  return { file, format: "csv", folds, pairs };
}

function firstContentLine(lines: string[]): number {
  return lines.findIndex((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
}

function checkFoldsBalanced(pairs: Pair[], folds: number, file: string): void {
  const same = new Array(folds).fill(0), diff = new Array(folds).fill(0);
  for (const p of pairs) (p.same ? same : diff)[p.fold]++;
  for (let k = 0; k < folds; k++) {
    const [s, d, fold] = [same[k], diff[k], k + 1];
    if (s === 0 || d === 0) {
      throw new PairsFormatError(
        `${file}: fold ${fold} of ${folds} has ${s} same and ${d} different pairs; every fold needs both`,
      );
    }
  }
}

/** Parse a pairs file by content: `.csv` files or comma-separated lines → CSV, otherwise LFW. */
export function parsePairs(text: string, file = "pairs.txt"): PairList {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  if (file.toLowerCase().endsWith(".csv") || first.includes(",")) return parseCsvPairs(text, file);
  return parseLfwPairs(text, file);
}

/** Read and parse a pairs file. */
export async function readPairs(path: string): Promise<PairList> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PairsFormatError(`${path}: pairs file not found`);
    }
    throw e;
  }
  return parsePairs(text, path);
}

/**
 * Split a pair list into `k` folds for k-fold evaluation inside one file: the i-th same pair goes
 * to fold ⌊k·i/nSame⌋ and likewise for different pairs, so every fold keeps the file's balance and
 * order (View 1 lists all same pairs first, so contiguous chunks would not).
 */
export function splitFolds(list: PairList, k: number): PairList {
  const nSame = list.pairs.filter((p) => p.same).length;
  const nDiff = list.pairs.length - nSame;
  const max = Math.min(nSame, nDiff);
  if (!Number.isInteger(k) || k < 2 || k > max) {
    throw new RangeError(
      `${list.file}: --kfold ${k}: expected an integer from 2 to ${max} (the smaller of ${nSame} same and ${nDiff} different pairs)`,
    );
  }
  let s = 0, d = 0;
  const pairs = list.pairs.map((p) => ({
    ...p,
    fold: p.same ? Math.floor((k * s++) / nSame) : Math.floor((k * d++) / nDiff),
  }));
  return { ...list, folds: k, pairs };
}
