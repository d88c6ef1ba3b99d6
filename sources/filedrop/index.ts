/**
 * File-drop sources (文件投递): county departments that can only export files drop CSV, XLSX or
 * XML rosters into `<dropDir>/<deptCode>/<dataset>/`; each file becomes a validated, versioned
 * dataset. Seams: parse (file → raw records) / map (aliases → canonical typed rows) / store
 * (`DatasetStore`, versioned) / pipeline (`DropPipeline`: file → version, report, change event)
 * — each replaceable on its own. The exchange's vocabulary is in model.ts.
 */
export {
  COLUMN_CHECKS,
  COLUMN_TYPES,
  DIBAO_DATASET_PATH,
  columnOf,
  defineDataset,
  intakeFolder,
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

export type {
  AllowanceHousehold,
  ChangeEvent,
  DatasetRef,
  DatasetRow,
  DatasetStatus,
  DatasetStore,
  DatasetVersion,
  DropOutcome,
  DropPipeline,
  DropReport,
  FreshnessState,
  HouseholdQuery,
  IngestOptions,
  IngestProgress,
  PublishMeta,
  PublishResult,
  QualityIssue,
  ReportFilter,
  ScanResult,
  StagedRows,
  VersionKind,
} from './model.ts';

export { MIGRATIONS, STAGING_BATCH, createPgliteDatasetStore } from './store.ts';
export type { PgliteDatasetStoreOptions, StagedDatasetRow } from './store.ts';

export {
  DEFAULT_MAX_ISSUES,
  attemptIdOf,
  createDropPipeline,
  decideOutcome,
  periodFromFileName,
  resolveDropFolder,
} from './pipeline.ts';
export type { DropPipelineOptions, DropTarget, OutcomeDecision, ParseLimits, PipelineLogger } from './pipeline.ts';

export { writeDemoDrops, writeFileAtomicNoClobber } from './demo-drops.ts';
export type { DemoDropsResult } from './demo-drops.ts';

export { neutralizeCell, reportFilePaths, writeReportFiles } from './report-files.ts';
export { cycleWindow, freshness } from './freshness.ts';
export { classifyDropPath, isTemporaryName, watchDropFolder } from './intake.ts';
export type { DropWatcher, IntakeLogger, WatchDropFolderOptions } from './intake.ts';
