/**
 * File-drop sources (文件投递): county departments that can only export files drop CSV, XLSX or
 * XML rosters into `<dropDir>/<deptCode>/<dataset>/`; these are parsed, mapped onto a dataset
 * definition and stored. Seams: parse (file → raw records) / map (aliases → canonical typed
 * rows) / store (`DatasetStore`) / loader (folder scan) — each replaceable on its own.
 */
export {
  COLUMN_CHECKS,
  COLUMN_TYPES,
  DIBAO_DATASET_PATH,
  columnOf,
  defineDataset,
  loadDatasetDefinition,
  loadDatasetDefinitionSync,
  normalizeHeader,
  parseDatasetDefinition,
} from './dataset.ts';
export type { ColumnCheck, ColumnType, DatasetColumn, DatasetDefinition } from './dataset.ts';

export { decodeText, formatOf, openDropFile, parseDropFile, sniffDelimiter, withinXmlDepth } from './parse.ts';
export type { DropFileFormat, DropFileInput, DropFileReader, ParseOptions, RawRecord } from './parse.ts';

export {
  coerceValue,
  createAliasIndex,
  createRowMapper,
  mapHeaders,
  mapRecords,
  parseAmount,
  parseChineseDate,
  parseChineseMonth,
  rowKey,
} from './map.ts';
export type { CanonicalValue, HeaderMapping, MapOptions, MapResult, MappedRow, RowOutcome, RowRejection } from './map.ts';

export { MIGRATIONS, createPgliteDatasetStore } from './store.ts';
export type {
  AllowanceHousehold,
  DatasetRow,
  DatasetStore,
  DropFileState,
  DropFileStatus,
  FileAttempt,
  FileFailure,
  FileIdentity,
  HouseholdQuery,
  PgliteDatasetStoreOptions,
} from './store.ts';

export { loadDropFolder, periodFromFileName, summarizeFileReport } from './loader.ts';
export type { FileLoadReport, FileLoadStatus, LoadDropFolderOptions, LoadReport, LoaderLogger } from './loader.ts';

export { writeDemoDrops, writeFileAtomicNoClobber } from './demo-drops.ts';
export type { DemoDropsResult } from './demo-drops.ts';
