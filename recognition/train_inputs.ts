/**
 * What a run trains on, opened and checked before the first step: the training set (and the
 * real set for Domain Mixup), the architecture and input size, and the files on disk
 * (`checkData`). Every problem is a {@link TrainConfigError} naming the flag and the file.
 */
import { type Dataset, headerShortfall, ManifestError, openAnyDataset } from "../data/dataset.ts";
import { formatDuration } from "../data/format_duration.ts";
import { ImageDecodeError } from "../data/image.ts";
import { selectReal } from "../mixup/domain_mixup.ts";
import { archByName, type ArchSpec, checkInput } from "./arch.ts";
import { type TrainConfig, TrainConfigError } from "./config.ts";

/** Options of {@link checkData}. */
export interface CheckDataOptions {
  /** Check every training image's sha256 against the manifest. */
  verify?: boolean;
  /** Print verify progress on stderr (default true). */
  progressBar?: boolean;
  /** Where data warnings go (default: a `train: WARNING:` line on stderr). */
  onWarning?: (message: string) => void;
}

/**
 * Before the first step: every record's file exists with its recorded size (fast), a header that
 * promises more than the records hold is warned about, and with `verify` every sha256 is checked.
 */
export async function checkData(ds: Dataset, flag: string, opts: CheckDataOptions): Promise<void> {
  try {
    await ds.checkFiles();
  } catch (e) {
    if (e instanceof ImageDecodeError) {
      throw new TrainConfigError(
        `${flag} ${e.message}; regenerate the set (rerun generate with the same flags) or fix it`,
      );
    }
    throw e;
  }
  const short = headerShortfall(ds);
  if (short) {
    (opts.onWarning ?? ((m) => console.error(`train: WARNING: ${m}`)))(`${flag} ${short}`);
  }
  if (opts.verify) {
    const t0 = performance.now();
    let last = 0;
    try {
      await ds.verify({
        onProgress: (done, total) => {
          const now = performance.now();
          if (opts.progressBar === false || (now - last < 2000 && done < total)) return;
          last = now;
          const rate = done / Math.max(1e-9, (now - t0) / 1000);
          const eta = formatDuration((total - done) / rate);
          console.error(
            `train: verify ${done}/${total} images, ${rate.toFixed(0)} img/s, ETA ${eta}`,
          );
        },
      });
    } catch (e) {
      if (e instanceof ImageDecodeError) throw new TrainConfigError(`${flag} ${e.message}`);
      throw e;
    }
  }
}

/** The datasets, checked: what the run trains on. */
export interface Inputs {
  /** The training set. */
  syn: Dataset;
  /** Its classes (the head's first rows). */
  synClasses: number;
  /** The selected real images and their classes (rows after the synthetic ones). */
  real?: { dir: string; indices: number[]; classes: number[]; numClasses: number };
  /** The backbone. */
  spec: ArchSpec;
  /** The network input. */
  input: { height: number; width: number };
}

/** Open and check the training (and real) set, the architecture and the input size. */
export async function openInputs(cfg: TrainConfig): Promise<Inputs> {
  let syn: Dataset;
  try {
    syn = await openAnyDataset(cfg.data);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TrainConfigError(`--data ${cfg.data}: no such folder`);
    }
    if (e instanceof ManifestError || e instanceof ImageDecodeError) {
      throw new TrainConfigError(`--data ${cfg.data}: ${(e as Error).message}`);
    }
    throw e;
  }
  const n = syn.header.num_classes;
  if (n < 2) {
    throw new TrainConfigError(
      `--data ${cfg.data}: the dataset has ${n} class; classification training needs at least 2`,
    );
  }
  for (const r of syn.records()) {
    for (const [c, w] of r.label) {
      if (!(c >= 0 && c < n) || !(w >= 0)) {
        throw new TrainConfigError(
          `--data ${cfg.data}: ${r.path}: label class ${c} out of range, expected 0..${n - 1}`,
        );
      }
    }
  }
  let spec: ArchSpec;
  try {
    spec = archByName(cfg.arch);
  } catch (e) {
    throw new TrainConfigError(`--arch: ${(e as Error).message}`);
  }
  const input = cfg.input ?? spec.input;
  try {
    checkInput(spec, input.height, input.width);
  } catch (e) {
    throw new TrainConfigError((e as Error).message);
  }
  const checkSize = (dir: string, h: number, w: number) => {
    const ok = (h === input.height && w === input.width) ||
      (cfg.fit === "center-crop" && h >= input.height && w >= input.width) ||
      cfg.fit === "resize";
    if (!ok) {
      throw new TrainConfigError(
        `${dir}: images are ${h}×${w}, but ${spec.name} takes ${input.height}×${input.width}` +
          (cfg.fit === "exact"
            ? " (fit: exact)"
            : " (images must be at least that large for a centred crop); set --input HxW to match the data"),
      );
    }
  };
  checkSize(cfg.data, syn.header.image.height, syn.header.image.width);
  if (syn.size < cfg.batch) {
    throw new TrainConfigError(
      `--data ${cfg.data}: ${syn.size} images, fewer than one batch of ${cfg.batch}`,
    );
  }
  let real: Inputs["real"];
  if (cfg.real) {
    if (!cfg.domainMixup) {
      throw new TrainConfigError(`--real ${cfg.real.dir} is only used with --domain-mixup`);
    }
    let ds: Dataset;
    try {
      ds = await openAnyDataset(cfg.real.dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new TrainConfigError(`--real ${cfg.real.dir}: no such folder`);
      }
      throw new TrainConfigError(
        `--real ${cfg.real.dir}: empty or unreadable real set: ${(e as Error).message}`,
      );
    }
    const sel = selectReal(ds.records(), cfg.real.ids, cfg.real.perId);
    if (sel.indices.length === 0) {
      throw new TrainConfigError(`--real ${cfg.real.dir}: no images selected`);
    }
    if (sel.numClasses < 2) {
      // One real class: its head row learns "real photo", not an identity, and Domain Mixup's
      // real labels carry no identity signal.
      throw new TrainConfigError(
        `--real ${cfg.real.dir}: ${sel.numClasses} identity selected` +
          (cfg.real.ids ? ` (--real-ids ${cfg.real.ids})` : "") +
          `; Domain Mixup needs at least 2 real identities`,
      );
    }
    checkSize(cfg.real.dir, ds.header.image.height, ds.header.image.width);
    real = { dir: cfg.real.dir, ...sel };
  }
  return { syn, synClasses: n, real, spec, input };
}
