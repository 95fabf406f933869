/**
 * Config hashing and skip/resume: every plan node becomes a stage keyed by a hash of everything
 * that affects its result (its config, the hashes of the stages it reads, fingerprints of the
 * real inputs it reads, and the source of the modules that compute it). Its folder is
 * `<out>/<datasets|runs|evals>/<hash>/`; a `done.json` holding the same hash marks it finished.
 */
import { canonicalJson, type Ep, exists, sha256Hex, writeFileAtomic } from "../../data/mod.ts";
import {
  DEFAULT_MANIFEST,
  EMBEDDED_MANIFESTS,
  loadManifest,
  resolveGeneratorModel,
} from "../../generator/mod.ts";
import { type EstimateCounts, estimateSeconds } from "./estimate.ts";
import {
  type ExperimentName,
  mapRefs,
  type NodeKind,
  nodeRefs,
  type Plan,
  type PlanNode,
  type RealSlice,
} from "./plan_schema.ts";

// Shared with the data floor; re-exported because the report and stages import them from here.
export { canonicalJson, sha256Hex, writeFileAtomic };

/** Bumped when the reproduce task changes how it drives a stage (invalidates every stage). */
export const STAGE_FORMAT = 1;

/** The marker file of a finished stage. */
export const DONE_FILE = "done.json";

/** Fingerprints of the optional real inputs; absent = not given on the command line. */
export interface InputFingerprints {
  /** `--real DIR`: fingerprint of a slice (names and sizes of the files it selects). */
  real?: (slice: RealSlice) => Promise<string>;
  /** `--lfw-pairs` + `--lfw-images`. */
  lfw?: string;
  /** `--val-pairs` + `--val-images`. */
  val?: string;
  /** `--lfw-images` as a folder of real crops (the realism meter's real set); called lazily. */
  lfwImages?: () => Promise<string>;
  /** `--real` as a whole folder (the realism meter's floor set); called lazily. */
  realFolder?: () => Promise<string>;
  /** Distinct images of the LFW / validation pair files, for time estimates only. */
  counts?: EstimateCounts;
  /**
   * `--model`: fingerprint of the generator the data stages use (see `usedGenerator`); absent
   * for the embedded default, which the `generator` module's source fingerprint already covers.
   */
  generator?: string;
}

/** A unit of cached work: one unique node of the plan. */
export interface Stage {
  /** 16 hex digits of the SHA-256 of `key`. */
  hash: string;
  kind: NodeKind;
  /** The node as declared (references are local names of `experiment`). */
  node: PlanNode;
  /** `experiment/name` of the first declaration; `uses` lists all of them. */
  label: string;
  uses: string[];
  /** Folder relative to `--out`. */
  dir: string;
  /** Hashes of the stages this one reads, by the local reference name. */
  deps: Record<string, string>;
  /** Missing command-line inputs (`--real`, `--lfw-pairs/--lfw-images`); empty = runnable. */
  needs: string[];
  /** What was hashed (for `done.json` and the report's exact configs). */
  key: unknown;
  /** Estimated seconds at the preset's assumed throughput. */
  estimateS: number;
}

/** The plan with its nodes resolved into unique stages in dependency order. */
export interface ResolvedPlan {
  plan: Plan;
  /** Topological order: every stage after the stages it reads. */
  stages: Stage[];
  /** experiment → local node name → stage hash. */
  refs: Record<ExperimentName, Record<string, string>>;
  /** The generator of the data stages (set by `planOf`). */
  generator?: UsedGenerator;
}

/**
 * Per kind: its folder under `--out`, the modules whose source decides its result, and whether
 * it runs ONNX models (the generator, embedders), whose results depend on the execution provider
 * (native kernels round differently from wasm), so that the provider is part of its key.
 */
export const STAGE_KINDS: Record<NodeKind, { dir: string; modules: string[]; onnx: boolean }> = {
  dataset: { dir: "datasets", modules: ["data", "generator", "mixup", "synthesis"], onnx: true },
  verification: { dir: "datasets", modules: ["data", "generator", "synthesis"], onnx: true },
  preview: { dir: "datasets", modules: ["data", "generator", "mixup", "synthesis"], onnx: true },
  train: { dir: "runs", modules: ["data", "mixup", "recognition"], onnx: false },
  eval: { dir: "evals", modules: ["data", "eval", "recognition"], onnx: true },
  features: { dir: "evals", modules: ["data", "eval", "recognition"], onnx: true },
  realism: { dir: "evals", modules: ["data", "eval"], onnx: true },
};

/** The stage hash of a key: 16 hex digits of its canonical JSON's SHA-256. */
export async function hashKey(key: unknown): Promise<string> {
  return (await sha256Hex(canonicalJson(key))).slice(0, 16);
}

/**
 * Resolve a plan into stages. `code` maps module name → fingerprint of its source (see
 * `codeFingerprints`); a module missing from it hashes as "absent". `ep`, the execution provider
 * the run's ONNX models use, joins the key of the kinds that run them when given.
 */
export async function resolvePlan(
  plan: Plan,
  inputs: InputFingerprints,
  code: Record<string, string>,
  runtime: { ep?: Ep } = {},
): Promise<ResolvedPlan> {
  const byHash = new Map<string, Stage>();
  const order: Stage[] = [];
  const refs = {} as Record<ExperimentName, Record<string, string>>;
  for (const exp of plan.experiments) {
    const local: Record<string, Stage> = {};
    const visiting = new Set<string>();
    const visit = async (name: string): Promise<Stage> => {
      if (local[name]) return local[name];
      if (visiting.has(name)) throw new Error(`${exp.name}: reference cycle at node "${name}"`);
      visiting.add(name);
      const node = exp.nodes[name];
      const deps: Record<string, string> = {};
      const needs = new Set<string>();
      for (const { ref } of nodeRefs(node)) {
        const dep = await visit(ref);
        deps[ref] = dep.hash;
        dep.needs.forEach((n) => needs.add(n));
      }
      const used: Record<string, string | null> = {};
      for (const slice of realSlices(node)) {
        const k = `real:${slice.ids}x${slice.perId}`;
        if (inputs.real) used[k] = await inputs.real(slice);
        else (used[k] = null, needs.add("--real"));
      }
      if (node.kind === "eval" && node.config.test.kind === "lfw") {
        used.lfw = inputs.lfw ?? null;
        if (!inputs.lfw) needs.add("--lfw-pairs/--lfw-images");
      }
      if (node.kind === "realism") {
        // real: the --lfw-images crops (required); floor: the --real folder (optional)
        used.lfwImages = inputs.lfwImages ? await inputs.lfwImages() : null;
        used.floor = inputs.realFolder ? await inputs.realFolder() : null;
        if (!inputs.lfwImages) needs.add("--lfw-images");
      }
      // the stages that run the generator (and, through them, whatever reads their data)
      if (inputs.generator && STAGE_KINDS[node.kind].modules.includes("generator")) {
        used.generator = inputs.generator;
      }
      if (node.kind === "train" && node.config.val.kind === "external") {
        used.val = inputs.val ?? null;
        if (!inputs.val) needs.add("--val-pairs/--val-images");
      }
      const kind = STAGE_KINDS[node.kind];
      const key = {
        format: STAGE_FORMAT,
        kind: node.kind,
        config: keyConfig(node, deps),
        inputs: used,
        code: Object.fromEntries(kind.modules.map((m) => [m, code[m] ?? "absent"])),
        ...(runtime.ep && kind.onnx ? { ep: runtime.ep } : {}),
      };
      const hash = await hashKey(key);
      const label = `${exp.name}/${name}`;
      let stage = byHash.get(hash);
      if (stage) {
        stage.uses.push(label);
      } else {
        stage = {
          hash,
          kind: node.kind,
          node,
          label,
          uses: [label],
          dir: `${kind.dir}/${hash}`,
          deps,
          needs: [...needs].sort(),
          key,
          estimateS: estimateSeconds(node, plan.preset, (r) => exp.nodes[r], inputs.counts),
        };
        byHash.set(hash, stage);
        order.push(stage);
      }
      visiting.delete(name);
      local[name] = stage;
      return stage;
    };
    for (const name of Object.keys(exp.nodes)) await visit(name);
    refs[exp.name] = Object.fromEntries(Object.entries(local).map(([n, s]) => [n, s.hash]));
  }
  return { plan, stages: order, refs };
}

/** Real slices a node reads directly. */
export function realSlices(node: PlanNode): RealSlice[] {
  if (node.kind === "train" && node.config.real) return [node.config.real];
  if (node.kind === "features") return node.config.sets.flatMap((s) => "real" in s ? [s.real] : []);
  return [];
}

/**
 * The node's config as its key holds it: every local reference replaced by `{ stage: <hash> }`.
 * A run's synthetic validation `pairs` has never been part of its key (left out so that keys,
 * and with them every finished run, stay as they were).
 */
function keyConfig(node: PlanNode, deps: Record<string, string>): unknown {
  const config = mapRefs(node, (name) => ({ stage: deps[name] }));
  if (node.kind === "train" && node.config.val.kind === "synthetic") {
    delete (config.val as { pairs?: number }).pairs;
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// Fingerprints of inputs and code

/**
 * A slice of a real folder: its first `ids` class folders × the first `perId` files of each
 * (names sorted, dot names skipped), and how many class folders the folder has.
 */
export async function realSliceFiles(
  dir: string,
  slice: RealSlice,
): Promise<{ folders: number; picked: [folder: string, files: string[]][] }> {
  const names = async (d: string, folders: boolean) => {
    const entries = await Array.fromAsync(Deno.readDir(d));
    return entries.filter((e) => !e.name.startsWith(".") && (folders ? e.isDirectory : e.isFile))
      .map((e) => e.name).sort();
  };
  const classes = await names(dir, true);
  const picked: [string, string[]][] = [];
  for (const c of classes.slice(0, slice.ids)) {
    picked.push([c, (await names(`${dir}/${c}`, false)).slice(0, slice.perId)]);
  }
  return { folders: classes.length, picked };
}

/** Fingerprint of a real slice: its files' names and sizes, plus the folder's absolute path. */
export async function realSliceFingerprint(dir: string, slice: RealSlice): Promise<string> {
  const parts: string[] = [await Deno.realPath(dir)];
  for (const [c, files] of (await realSliceFiles(dir, slice)).picked) {
    for (const f of files) parts.push(`${c}/${f}:${(await Deno.stat(`${dir}/${c}/${f}`)).size}`);
  }
  return (await sha256Hex(parts.join("\n"))).slice(0, 16);
}

/**
 * Fingerprint of a whole image folder (recursive): its absolute path and every file's relative
 * path and size, sorted.
 */
export async function folderFingerprint(dir: string): Promise<string> {
  const root = await Deno.realPath(dir);
  const parts: string[] = [root];
  const walkDir = async (rel: string) => {
    const entries = await Array.fromAsync(Deno.readDir(`${root}${rel}`));
    for (const e of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
      if (e.name.startsWith(".")) continue;
      const p = `${rel}/${e.name}`;
      if (e.isDirectory) await walkDir(p);
      else if (e.isFile) parts.push(`${p}:${(await Deno.stat(`${root}${p}`)).size}`);
    }
  };
  await walkDir("");
  return (await sha256Hex(parts.join("\n"))).slice(0, 16);
}

/** Fingerprint of a pairs file + image folder: the file's bytes and the folder's path. */
export async function pairsFingerprint(pairs: string, images: string): Promise<string> {
  const bytes = await Deno.readFile(pairs);
  const text = `${await sha256Hex(bytes)}\n${await Deno.realPath(images)}`;
  return (await sha256Hex(text)).slice(0, 16);
}

/** The generator of a run's data stages. */
export interface UsedGenerator {
  /** The manifest's `id` (the realism meter's `generator`). */
  id: string;
  /** `--model` as given; absent: the embedded default. */
  manifest?: string;
  /** The manifest to load (a URL model's fetched local copy); absent: the embedded default. */
  load?: string;
  /** The data stages' key part (`InputFingerprints.generator`); absent for the default. */
  fingerprint?: string;
}

/** `id (manifest)`, or `id (embedded default)`. */
export function generatorName(g: Pick<UsedGenerator, "id" | "manifest">): string {
  return `${g.id} (${g.manifest ?? "embedded default"})`;
}

/**
 * The generator of `--model` (absent: the embedded default), resolved as `deno task generate`
 * does (a missing model or a URL model without `allowNet` throws, naming the manifest and its
 * field). A user manifest is fingerprinted by its id and the SHA-256 of its bytes and of its
 * model's bytes; the project's other manifest (`procedural.json`) by its bytes, its model being
 * built from the `generator` module's source; the default not at all, so its keys stay as they were.
 */
export async function usedGenerator(
  manifest?: string,
  opts: { allowNet?: boolean } = {},
): Promise<UsedGenerator> {
  const { manifest: m, url } = await loadManifest(manifest);
  if (url.href === DEFAULT_MANIFEST.href) return { id: m.id };
  const sha = async (u: URL) => {
    const res = await fetch(u);
    if (!res.ok) throw new Error(`${u.href}: cannot read (HTTP ${res.status})`);
    return (await sha256Hex(new Uint8Array(await res.arrayBuffer()))).slice(0, 16);
  };
  let load: string | URL = url, model = "embedded";
  const own = Object.values(EMBEDDED_MANIFESTS).some((f) =>
    new URL(f, DEFAULT_MANIFEST).href === url.href
  );
  if (!own) {
    load = await resolveGeneratorModel(url, opts);
    const local = await loadManifest(load);
    model = await sha(new URL(local.manifest.model, local.url));
  }
  const fingerprint = `${m.id} manifest:${await sha(url)} model:${model}`;
  return { id: m.id, manifest, load: String(load), fingerprint };
}

/**
 * Fingerprint of each module's source: the SHA-256 of every file under `<root>/<module>/`
 * (names and bytes, sorted; dot files, what a folder's `.gitignore` names and documentation —
 * `*.md`, `*.log` and the images they show — are left out), so editing a module's code or data invalidates what it
 * computed and editing its README does not. When the
 * modules are not local files (imported by URL), their `deno.json` version is used instead.
 */
export async function codeFingerprints(
  root = new URL("../../", import.meta.url),
  modules = ["data", "generator", "mixup", "synthesis", "recognition", "eval"],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of modules) {
    const dir = new URL(`${m}/`, root);
    if (dir.protocol === "file:") {
      if (!(await exists(dir.pathname))) continue;
      const files: string[] = [];
      await walk(dir.pathname, "", files);
      const parts: string[] = [];
      for (const f of files.sort()) {
        parts.push(`${f}:${await sha256Hex(await Deno.readFile(`${dir.pathname}${f}`))}`);
      }
      out[m] = (await sha256Hex(parts.join("\n"))).slice(0, 16);
    } else {
      const res = await fetch(new URL("deno.json", dir));
      if (res.ok) out[m] = `version:${(await res.json()).version}`;
      else await res.body?.cancel();
    }
  }
  return out;
}

async function walk(base: string, rel: string, out: string[]): Promise<void> {
  const ignored = await ignoredNames(`${base}${rel}`);
  for await (const e of Deno.readDir(`${base}${rel}`)) {
    if (e.name.startsWith(".") || ignored(e.name) || isDocumentation(e.name)) continue;
    const p = `${rel}${e.name}`;
    if (e.isDirectory) await walk(base, `${p}/`, out);
    else if (e.isFile) out.push(p);
  }
}

/**
 * Prose, measurement logs and the figures they show kept beside a module's code (READMEs,
 * experiment logs, `generator/preview.png`): no stage reads them, and a doc-only commit (or a
 * re-rendered preview) used to change every key and so rerun hours of cached work.
 */
const isDocumentation = (name: string): boolean => /\.(md|log|png|svg|jpe?g|gif)$/i.test(name);

/**
 * The names a folder's own `.gitignore` excludes (exact names and `*.ext` lines): build outputs
 * such as the generator's `face.onnx`, which the first run writes. Fingerprinting them would give
 * a fresh clone's first run other hashes than its rerun, so nothing would be reused.
 */
async function ignoredNames(dir: string): Promise<(name: string) => boolean> {
  const file = `${dir}.gitignore`;
  if (!(await exists(file))) return () => false;
  const lines = (await Deno.readTextFile(file)).split("\n").map((l) => l.trim()).filter((l) =>
    l && !l.startsWith("#")
  );
  const names = new Set(lines.filter((l) => !l.startsWith("*")));
  const suffixes = lines.filter((l) => l.startsWith("*")).map((l) => l.slice(1));
  return (name) => names.has(name) || suffixes.some((x) => name.endsWith(x));
}

// ---------------------------------------------------------------------------------------------
// Done markers and atomic writes

/** What `done.json` holds. */
export interface DoneRecord {
  hash: string;
  kind: NodeKind;
  label: string;
  key: unknown;
  started_at: string;
  finished_at: string;
  wall_s: number;
  /** Whatever the stage reported (e.g. output files). */
  result?: unknown;
}

/** The stage's `done.json` when it is finished with this very hash, else null. */
export async function readDone(out: string, stage: Stage): Promise<DoneRecord | null> {
  try {
    const done = JSON.parse(await Deno.readTextFile(`${out}/${stage.dir}/${DONE_FILE}`));
    return done?.hash === stage.hash ? done as DoneRecord : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return null;
    throw e;
  }
}

/** True when the stage folder exists but holds no matching `done.json`: resume it. */
export async function isPartial(out: string, stage: Stage): Promise<boolean> {
  return await exists(`${out}/${stage.dir}`) && (await readDone(out, stage)) === null;
}

/** Mark a stage finished (atomically; written last, after all its outputs). */
export async function writeDone(out: string, done: DoneRecord): Promise<void> {
  const dir = `${STAGE_KINDS[done.kind].dir}/${done.hash}`;
  await writeFileAtomic(`${out}/${dir}/${DONE_FILE}`, JSON.stringify(done, null, 2) + "\n");
}
