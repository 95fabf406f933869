/**
 * The on-disk dataset format (see `data/README.md`): a folder of `<class>/<file>.png` images
 * plus `manifest.jsonl` (a header line, then one zod-validated record per image), its writer
 * and its readers.
 * @module
 */
export {
  canonicalJson,
  compareRecords,
  DATASET_SCHEMA_VERSION,
  type DatasetHeader,
  DatasetHeaderSchema,
  type DatasetRecord,
  DatasetRecordSchema,
  describeIssue,
  ManifestError,
  parseJsonText,
  readJsonFile,
  type Shard,
  ShardSchema,
} from "./dataset_schema.ts";
export { manifestName, sha256Hex } from "./dataset_files.ts";
export {
  type DatasetRecordInput,
  DatasetWriter,
  type DatasetWriterOptions,
} from "./dataset_writer.ts";
export {
  type Dataset,
  headerShortfall,
  type ImageFolderOptions,
  openAnyDataset,
  openDataset,
  openImageFolder,
  type ReadImageOptions,
} from "./dataset_reader.ts";
