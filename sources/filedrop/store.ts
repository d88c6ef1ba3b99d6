/**
 * Store (存储): the rows each dropped file contributes, and a manifest of every file seen.
 *
 * `DatasetStore` is the seam; `createPgliteDatasetStore` is the embedded implementation (one
 * PGlite per store, persisted in its data directory). A PostgreSQL one fits the same interface.
 *
 * Replacement unit: a department's rows from one file, plus its rows for the months the new
 * file covers (a roster is a monthly snapshot: a corrected file for 2026-10 under a new name
 * replaces the old 2026-10 rows, and the older file is marked superseded). Rows are keyed by
 * (dataset, department, key columns), so re-loading a file replaces rather than duplicates and
 * another month's file adds. Each replacement is one transaction.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { regionLevel, TongxiangError } from '../../core/index.ts';
import type { CanonicalValue, RowRejection } from './map.ts';

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

export type DropFileState = 'loaded' | 'failed' | 'superseded';

export interface FileIdentity {
  readonly dataset: string;
  /** Department code, e.g. 341504.mzj. */
  readonly department: string;
  readonly fileName: string;
}

/** A row ready for storage: the canonical values plus the columns the store indexes. */
export interface DatasetRow {
  readonly key: string;
  readonly period: string | null;
  readonly regionCode: string | null;
  readonly subjectId: string | null;
  readonly values: Readonly<Record<string, CanonicalValue>>;
}

export interface FileAttempt extends FileIdentity {
  readonly contentHash: string;
  readonly definitionHash: string;
  readonly format: string | null;
  readonly encoding: string | null;
  readonly rowsRejected: number;
  readonly rejections: readonly RowRejection[];
  readonly at: Date;
}

export interface FileFailure extends FileAttempt {
  readonly reason: string;
}

export interface DropFileStatus extends FileIdentity {
  /** Outcome of the last attempt (or superseded by a later file for the same months). */
  readonly status: DropFileState;
  readonly reason: string | null;
  readonly format: string | null;
  readonly encoding: string | null;
  readonly contentHash: string;
  readonly definitionHash: string;
  /** Rows accepted / rejected by the last attempt. */
  readonly rowsAccepted: number;
  readonly rowsRejected: number;
  /** Rows of this file served now (a failed reload keeps the previous version's rows). */
  readonly rowsCurrent: number;
  readonly rejections: readonly RowRejection[];
  readonly attemptedAt: Date;
  /** Last successful load. */
  readonly loadedAt: Date | null;
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

export interface DatasetStore {
  /** Atomically replaces the rows of `meta`'s file (and of the months `rows` cover) and records the load. */
  replaceFile(meta: FileAttempt, rows: readonly DatasetRow[]): Promise<void>;
  /** Records a failed attempt; the file's previous rows stay. */
  recordFailure(meta: FileFailure): Promise<void>;
  households(query: HouseholdQuery): Promise<{ total: number; items: AllowanceHousehold[] }>;
  fileStatus(): Promise<DropFileStatus[]>;
  /** Resolves when the store answers; for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PgliteDatasetStoreOptions {
  /** Directory PGlite persists to (created if missing). */
  readonly dataDir: string;
  /** The dataset `households()` reads. Default `dibao`. */
  readonly householdsDataset?: string;
}

/** Applied in order, each once, each in its own transaction. Never edit one that has shipped. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE filedrop_files (
    dataset         text        NOT NULL,
    department      text        NOT NULL,
    file_name       text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('loaded', 'failed', 'superseded')),
    reason          text,
    format          text,
    encoding        text,
    content_hash    text        NOT NULL,
    definition_hash text        NOT NULL,
    rows_accepted   integer     NOT NULL DEFAULT 0,
    rows_rejected   integer     NOT NULL DEFAULT 0,
    rows_current    integer     NOT NULL DEFAULT 0,
    rejections      jsonb       NOT NULL DEFAULT '[]',
    attempted_at    timestamptz NOT NULL,
    loaded_at       timestamptz,
    PRIMARY KEY (dataset, department, file_name)
  );
  CREATE TABLE filedrop_rows (
    dataset     text  NOT NULL,
    department  text  NOT NULL,
    row_key     text  NOT NULL,
    source_file text  NOT NULL,
    period      text,
    region_code text,
    subject_id  text,
    data        jsonb NOT NULL,
    PRIMARY KEY (dataset, department, row_key)
  );
  CREATE INDEX filedrop_rows_subject ON filedrop_rows (dataset, subject_id);
  CREATE INDEX filedrop_rows_period ON filedrop_rows (dataset, period);
  CREATE INDEX filedrop_rows_region ON filedrop_rows (dataset, region_code text_pattern_ops);
  CREATE INDEX filedrop_rows_source ON filedrop_rows (dataset, department, source_file);
  `,
];

async function migrate(db: PGlite): Promise<void> {
  await db.exec(`CREATE TABLE IF NOT EXISTS filedrop_migrations (
    version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  for (const [i, sql] of MIGRATIONS.entries()) {
    const version = i + 1;
    await db.transaction(async (tx) => {
      const done = await tx.query('SELECT 1 FROM filedrop_migrations WHERE version = $1', [version]);
      if (done.rows.length > 0) return;
      await tx.exec(sql);
      await tx.query('INSERT INTO filedrop_migrations (version) VALUES ($1)', [version]);
    });
  }
}

/** `LIKE` pattern for a region and everything beneath it. */
function regionPattern(code: string): string {
  if (!/^\d{6}$/.test(code)) throw new TongxiangError('BAD_USER_INPUT', { reason: 'regionCode must be 6 digits' });
  switch (regionLevel(code)) {
    case 'province':
      return `${code.slice(0, 2)}%`;
    case 'city':
      return `${code.slice(0, 4)}%`;
    case 'county':
      return code;
  }
}

interface FileRow {
  dataset: string;
  department: string;
  file_name: string;
  status: DropFileState;
  reason: string | null;
  format: string | null;
  encoding: string | null;
  content_hash: string;
  definition_hash: string;
  rows_accepted: number;
  rows_rejected: number;
  rows_current: number;
  rejections: RowRejection[];
  attempted_at: Date;
  loaded_at: Date | null;
}

function toHousehold(data: Record<string, unknown>): AllowanceHousehold {
  const str = (k: string): string => String(data[k] ?? '');
  const opt = (k: string): string | null => (data[k] === null || data[k] === undefined ? null : String(data[k]));
  return {
    householdId: str('householdId'),
    headName: str('headName'),
    headIdNumber: str('headIdNumber'),
    members: Number(data.members ?? 0),
    monthlyAmount: Number(data.monthlyAmount ?? 0),
    township: opt('township'),
    village: opt('village'),
    approvalDate: opt('approvalDate'),
    regionCode: str('regionCode'),
    month: str('month'),
  };
}

const UPSERT_FILE = `
  INSERT INTO filedrop_files (dataset, department, file_name, status, reason, format, encoding, content_hash,
    definition_hash, rows_accepted, rows_rejected, rows_current, rejections, attempted_at, loaded_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12::int, 0), $13::jsonb, $14, $15)
  ON CONFLICT (dataset, department, file_name) DO UPDATE SET
    status = EXCLUDED.status, reason = EXCLUDED.reason, format = EXCLUDED.format, encoding = EXCLUDED.encoding,
    content_hash = EXCLUDED.content_hash, definition_hash = EXCLUDED.definition_hash,
    rows_accepted = EXCLUDED.rows_accepted, rows_rejected = EXCLUDED.rows_rejected,
    rows_current = COALESCE($12::int, filedrop_files.rows_current),
    rejections = EXCLUDED.rejections, attempted_at = EXCLUDED.attempted_at,
    loaded_at = COALESCE(EXCLUDED.loaded_at, filedrop_files.loaded_at)`;

export async function createPgliteDatasetStore(options: PgliteDatasetStoreOptions): Promise<DatasetStore> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'dataset store: dataDir is required' });
  }
  const householdsDataset = options.householdsDataset ?? 'dibao';
  await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  let closed = false;
  const open = (): PGlite => {
    if (closed) throw new Error('dataset store is closed');
    return db;
  };

  async function refreshOthers(tx: Transaction, meta: FileIdentity, others: string[]): Promise<void> {
    for (const other of others) {
      await tx.query(
        `UPDATE filedrop_files SET
           rows_current = c.n,
           status = CASE WHEN c.n = 0 AND status = 'loaded' THEN 'superseded' ELSE status END,
           reason = CASE WHEN c.n = 0 AND status = 'loaded' THEN $4 ELSE reason END
         FROM (SELECT count(*)::int AS n FROM filedrop_rows
               WHERE dataset = $1 AND department = $2 AND source_file = $3) AS c
         WHERE dataset = $1 AND department = $2 AND file_name = $3`,
        [meta.dataset, meta.department, other, `已被文件“${meta.fileName}”取代`],
      );
    }
  }

  const store: DatasetStore = {
    async replaceFile(meta, rows) {
      const periods = [...new Set(rows.map((r) => r.period).filter((p): p is string => p !== null))];
      const payload = JSON.stringify(
        rows.map((r) => ({ key: r.key, period: r.period, region: r.regionCode, subject: r.subjectId, data: r.values })),
      );
      try {
        await open().transaction(async (tx) => {
          const removed = await tx.query<{ source_file: string }>(
            `WITH gone AS (
               DELETE FROM filedrop_rows
               WHERE dataset = $1 AND department = $2
                 AND (source_file = $3 OR period IN (SELECT jsonb_array_elements_text($4::jsonb)))
               RETURNING source_file)
             SELECT DISTINCT source_file FROM gone`,
            [meta.dataset, meta.department, meta.fileName, JSON.stringify(periods)],
          );
          await tx.query(
            `INSERT INTO filedrop_rows (dataset, department, row_key, source_file, period, region_code, subject_id, data)
             SELECT $1, $2, r.key, $3, r.period, r.region, r.subject, r.data
             FROM jsonb_to_recordset($4::jsonb) AS r(key text, period text, region text, subject text, data jsonb)`,
            [meta.dataset, meta.department, meta.fileName, payload],
          );
          await tx.query(UPSERT_FILE, [
            meta.dataset, meta.department, meta.fileName, 'loaded', null, meta.format, meta.encoding,
            meta.contentHash, meta.definitionHash, rows.length, meta.rowsRejected, rows.length,
            JSON.stringify(meta.rejections), meta.at, meta.at,
          ]);
          const others = removed.rows.map((r) => r.source_file).filter((f) => f !== meta.fileName);
          await refreshOthers(tx, meta, others);
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          throw new TongxiangError(
            'DATASET_FILE_INVALID',
            { file: meta.fileName, reason: '与本部门其他文件中的记录重复（同一户编号与月份）' },
            { cause: error },
          );
        }
        throw error;
      }
    },

    async recordFailure(meta) {
      await open().query(UPSERT_FILE, [
        meta.dataset, meta.department, meta.fileName, 'failed', meta.reason, meta.format, meta.encoding,
        meta.contentHash, meta.definitionHash, 0, meta.rowsRejected, null,
        JSON.stringify(meta.rejections), meta.at, null,
      ]);
    },

    async households(query) {
      const pattern = query.regionCode === undefined ? null : regionPattern(query.regionCode);
      const where = `dataset = $1 AND ($2::text IS NULL OR subject_id = $2)
        AND ($3::text IS NULL OR region_code LIKE $3) AND ($4::text IS NULL OR period = $4)`;
      const params = [householdsDataset, query.headIdNumber ?? null, pattern, query.month ?? null];
      // One transaction: the count and the page come from the same version of the data.
      return open().transaction(async (tx) => {
        const count = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM filedrop_rows WHERE ${where}`, params);
        const page = await tx.query<{ data: Record<string, unknown> }>(
          `SELECT data FROM filedrop_rows WHERE ${where}
           ORDER BY period DESC NULLS LAST, department, row_key LIMIT $5 OFFSET $6`,
          [...params, query.limit, query.offset],
        );
        return { total: count.rows[0]?.total ?? 0, items: page.rows.map((r) => toHousehold(r.data)) };
      });
    },

    async fileStatus() {
      const result = await open().query<FileRow>(
        'SELECT * FROM filedrop_files ORDER BY department, dataset, file_name',
      );
      return result.rows.map((r) => ({
        dataset: r.dataset,
        department: r.department,
        fileName: r.file_name,
        status: r.status,
        reason: r.reason,
        format: r.format,
        encoding: r.encoding,
        contentHash: r.content_hash,
        definitionHash: r.definition_hash,
        rowsAccepted: r.rows_accepted,
        rowsRejected: r.rows_rejected,
        rowsCurrent: r.rows_current,
        rejections: r.rejections,
        attemptedAt: r.attempted_at,
        loadedAt: r.loaded_at,
      }));
    },

    async ping() {
      await open().query('SELECT 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
  return Object.freeze(store);
}
