/**
 * The file-drop exchange's vocabulary (数据交换): versions of a department's dataset, the report
 * a dropped file gets, change events, freshness status — and the two seams built on them, the
 * versioned store (`DatasetStore`, store.ts) and the pipeline (`DropPipeline`, pipeline.ts).
 *
 * The unit that is versioned is one department's dataset (`DatasetRef`: `dibao` as dropped by
 * 341504.mzj). Each published file makes a new version of it: the version holds every row of
 * the department's dataset after the file is applied (a file replaces the rows of the periods it
 * covers — for a monthly roster, its months — or, for a dataset without a period column, all of
 * the department's rows). Readers see one version or the next, never a mix.
 *
 * Plain data only; no I/O here.
 */
import type { CanonicalValue } from './map.ts';

/** One department's dataset: the unit that is versioned, published and subscribed to. */
export interface DatasetRef {
  readonly dataset: string;
  /** The dropping department, e.g. 341504.mzj. */
  readonly department: string;
}

export type VersionKind = 'file' | 'rollback';

export interface DatasetVersion extends DatasetRef {
  /** 1, 2, … per (dataset, department); never reused. */
  readonly version: number;
  readonly kind: VersionKind;
  /** The dropped file's name as the department wrote it (file versions). */
  readonly fileName: string | null;
  /** SHA-256 (hex) of the file's bytes (file versions). */
  readonly contentHash: string | null;
  /** Where the original now lies, relative to the drop directory, `/`-separated (file versions). */
  readonly archivedAs: string | null;
  /** The version whose rows a rollback restored. */
  readonly restoredFrom: number | null;
  /** Rows of the department's dataset in this version. */
  readonly rows: number;
  /** Against the previous version, by key: keys new, keys whose values differ, keys gone. */
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly publishedAt: Date;
  /** Who caused it: the uploading or rolling-back user (`sub`), or null for the folder watcher. */
  readonly actor: string | null;
}

/** One problem in a dropped file, for the department that dropped it. */
export interface QualityIssue {
  /** Spreadsheet row (CSV, XLSX: header counted) or XML record ordinal; 0 for the file as a whole. */
  readonly row: number;
  /** The column as the department named it; null when not one column's. */
  readonly column: string | null;
  /**
   * The cell as written. Reports go only to the dropping department (its own data); logs never
   * carry it. Null when the problem has no single value.
   */
  readonly value: string | null;
  /** Why, in Chinese. */
  readonly reason: string;
}

/**
 * - `published`: every data row valid, a new version.
 * - `partially-published`: some rows invalid but within the dataset's threshold: the valid rows
 *   make a new version, the invalid ones are quarantined (listed in the report).
 * - `unchanged`: the same content as a version already published (or no row differs from the
 *   current version): no new version; `version` names the one it equals.
 * - `rejected`: nothing published — unreadable, wrong encoding, a required column missing,
 *   duplicate keys, too many invalid rows, outside the department's remit…; the original goes to
 *   quarantine.
 */
export type DropOutcome = 'published' | 'partially-published' | 'unchanged' | 'rejected';

export interface DropReport extends DatasetRef {
  /** Attempt id, also the report files' base name: `20261123T031502Z-<first 8 hex of content hash>`. */
  readonly id: string;
  readonly fileName: string;
  readonly outcome: DropOutcome;
  /** The version published, or (unchanged) the version it equals; null when rejected. */
  readonly version: number | null;
  readonly format: string | null;
  readonly encoding: string | null;
  readonly contentHash: string;
  readonly bytes: number;
  /** Data rows read (header excluded), accepted and rejected. */
  readonly rowsTotal: number;
  readonly rowsAccepted: number;
  readonly rowsRejected: number;
  /** The first issues (at most the pipeline's `maxIssues`; `rowsRejected` counts them all). */
  readonly issues: readonly QualityIssue[];
  /** File-level reason in Chinese when rejected (or a note when unchanged); null otherwise. */
  readonly reason: string | null;
  /** Where the original now lies, relative to the drop directory (archive/… or quarantine/…). */
  readonly movedTo: string | null;
  /** The report files written, relative to the drop directory (JSON, CSV, XLSX). */
  readonly reportFiles: readonly string[];
  readonly receivedAt: Date;
  readonly finishedAt: Date;
  /** The uploading user (`sub`), or null for the folder watcher. */
  readonly actor: string | null;
}

/**
 * A new version, told to subscribers. Counts only: no field values, so no grant can be exceeded
 * by an event (a subscriber reads the rows through the graph, under its contract).
 */
export interface ChangeEvent extends DatasetRef {
  /** `<dataset>/<department>/v<version>`: unique, stable across redelivery. */
  readonly id: string;
  /** Store-wide, increasing in publication order: a cursor for delivery. */
  readonly seq: number;
  readonly version: number;
  readonly kind: VersionKind;
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Rows in the version. */
  readonly rows: number;
  /** ISO 8601 instant of publication. */
  readonly at: string;
}

export type FreshnessState = 'fresh' | 'due' | 'overdue' | 'never' | 'no-cycle';

/** Freshness of one department's dataset against the dataset's declared update cycle. */
export interface DatasetStatus extends DatasetRef {
  readonly title: string;
  readonly currentVersion: number | null;
  readonly rows: number;
  readonly lastPublishedAt: Date | null;
  /** e.g. monthly; null when the dataset declares none. */
  readonly cycle: string | null;
  readonly dueDay: number | null;
  /** Start of the current cycle (CST midnight) and the instant its version is due. */
  readonly cycleStart: Date | null;
  readonly dueAt: Date | null;
  /**
   * fresh: a version published in the current cycle; due: none yet, before the due time;
   * overdue: none, and the due time has passed; never: nothing ever published (and overdue once
   * due); no-cycle: the dataset declares no cycle.
   */
  readonly state: FreshnessState;
  readonly overdue: boolean;
  readonly lastDrop: { readonly outcome: DropOutcome; readonly at: Date; readonly fileName: string } | null;
}

/** A row ready for storage: the canonical values plus the columns the store indexes. */
export interface DatasetRow {
  /** JSON of the key columns' values (`rowKey`). */
  readonly key: string;
  readonly period: string | null;
  readonly regionCode: string | null;
  readonly subjectId: string | null;
  readonly values: Readonly<Record<string, CanonicalValue>>;
}

/** The outcome of applying staged rows. */
export type PublishResult =
  | { readonly published: true; readonly version: DatasetVersion; readonly event: ChangeEvent }
  | { readonly published: false; readonly equals: DatasetVersion; readonly reason: 'same-content' | 'no-change' };

/** Staged rows of one attempt: invisible to readers until published; discarded on failure or restart. */
export interface StagedRows {
  readonly attemptId: string;
  /** Appends a batch (bounded memory: the pipeline stages as it reads). */
  add(rows: readonly DatasetRow[]): Promise<void>;
  /**
   * Keys staged more than once, with the rows they were read at (first few): a file with any is
   * rejected as a whole. Checked by the store, so memory stays flat for large files.
   */
  duplicateKeys(limit: number): Promise<readonly { readonly key: string; readonly rows: readonly number[] }[]>;
  /** Rows staged so far. */
  count(): Promise<number>;
  /** Drops the staged rows (idempotent). */
  discard(): Promise<void>;
}

export interface PublishMeta {
  readonly fileName: string;
  readonly contentHash: string;
  readonly archivedAs: string;
  readonly actor: string | null;
  readonly at: Date;
}

export interface HouseholdQuery {
  readonly headIdNumber?: string | undefined;
  /** Any level: a city or province code covers the counties beneath it. */
  readonly regionCode?: string | undefined;
  /** YYYY-MM */
  readonly month?: string | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** A 低保 roster line as served: one household in one month. */
export interface AllowanceHousehold {
  householdId: string;
  headName: string;
  headIdNumber: string;
  members: number;
  monthlyAmount: number;
  township: string | null;
  village: string | null;
  approvalDate: string | null;
  regionCode: string;
  month: string;
}

export interface ReportFilter {
  readonly department?: string | undefined;
  readonly dataset?: string | undefined;
  /** Newest first; default 50, at most 500. */
  readonly limit?: number | undefined;
}

/**
 * The versioned dataset store. Every method that changes state is one transaction; readers see
 * the current version of each department's dataset, never a half-applied one.
 */
export interface DatasetStore {
  /** Opens a staging area for one attempt's rows (the rows of one department's dataset). */
  stage(ref: DatasetRef, attemptId: string): Promise<StagedRows>;
  /**
   * Applies staged rows atomically as the next version: the rows of the periods they cover (all
   * the department's rows when `periods` is null) are replaced. No new version when the content
   * hash equals a published version's or when no row would differ (`published: false`). The
   * staged rows are consumed either way. Emits the change event in the same transaction.
   */
  publish(staged: StagedRows, meta: PublishMeta, options: { readonly periodic: boolean }): Promise<PublishResult>;
  /** Publishes a new version whose rows are those of `toVersion` (an earlier version). */
  rollback(ref: DatasetRef, toVersion: number, actor: string | null, at: Date): Promise<{ version: DatasetVersion; event: ChangeEvent }>;
  /** Every version of a department's dataset, newest first. */
  versions(ref: DatasetRef): Promise<DatasetVersion[]>;
  /** The current version of every department's dataset that has one. */
  heads(): Promise<DatasetVersion[]>;
  /** Keeps a report (its issues included). */
  saveReport(report: DropReport): Promise<void>;
  reports(filter: ReportFilter): Promise<DropReport[]>;
  /** Change events with `seq` > `afterSeq`, in order. */
  events(afterSeq: number, limit: number): Promise<ChangeEvent[]>;
  /** The 低保 roster's current rows (the graph's `allowanceHouseholds`). */
  households(query: HouseholdQuery): Promise<{ total: number; items: AllowanceHousehold[] }>;
  /** Resolves when the store answers; for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface IngestProgress {
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly rowsRead: number;
  readonly phase: 'reading' | 'publishing' | 'done';
}

export interface IngestOptions {
  /** The uploading user (`sub`); null or absent for the folder watcher. */
  readonly actor?: string | null;
  readonly onProgress?: (progress: IngestProgress) => void;
}

export interface ScanResult {
  readonly reports: readonly DropReport[];
  /** Folder-level problems in Chinese: folders of no known department or dataset, unreadable folders. */
  readonly problems: readonly string[];
}

/**
 * The exchange's pipeline: dropped file → validated, versioned dataset → change event. One
 * ingest at a time per pipeline (serialised), so versions follow the order files complete.
 */
export interface DropPipeline {
  readonly dropDir: string;
  readonly datasets: readonly import('./dataset.ts').DatasetDefinition[];
  /**
   * Ingests one complete file lying in a dataset folder (`<dropDir>/<dept>/<dataset>/<name>`):
   * parse, validate, stage, publish or reject, move the original to archive/ or quarantine/,
   * write the report files, keep the report. Never throws for a bad file: the report says why.
   * Throws only when the path is not inside a configured dataset folder (TongxiangError
   * DATASET_FILE_INVALID) or the store fails (the file stays where it was, to be retried).
   */
  ingestFile(path: string, options?: IngestOptions): Promise<DropReport>;
  /** Ingests every complete file waiting in the dataset folders (start-up pickup), in name order. */
  scan(): Promise<ScanResult>;
  rollback(ref: DatasetRef, toVersion: number, actor: string | null): Promise<DatasetVersion>;
  versions(ref: DatasetRef): Promise<DatasetVersion[]>;
  reports(filter: ReportFilter): Promise<DropReport[]>;
  /** Freshness of every (dataset, department) the definitions list, at `now`. */
  status(now?: Date): Promise<DatasetStatus[]>;
  /** Durable change events after `afterSeq`, in order (Kafka and webhook delivery read these). */
  events(afterSeq: number, limit: number): Promise<ChangeEvent[]>;
  /** Told after each publication has committed, in-process. Returns the unsubscribe. */
  onEvent(listener: (event: ChangeEvent) => void): () => void;
  /** The folder a department drops a dataset into (absolute); undefined when it may not. */
  folderOf(ref: DatasetRef): string | undefined;
}
