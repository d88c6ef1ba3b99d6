/**
 * Store (存储): the versioned dataset store behind `DatasetStore` (model.ts), embedded in PGlite
 * (one PGlite per store, persisted in its data directory). A PostgreSQL one fits the same SQL.
 *
 * Rows carry validity intervals: a row belongs to versions `valid_from` ≤ v < `valid_to` (NULL =
 * still current), so consecutive versions share every unchanged row, the current version is the
 * rows with `valid_to IS NULL` (a partial unique index per key), and any older version can be
 * read back — rollback is a set-based copy, not a replay.
 *
 * Atomicity: a file's rows are staged first, batch by batch, outside any transaction (readers are
 * not held up while a large file is read); `publish` is then one transaction of a few set-based
 * statements: diff, close the replaced rows, insert the new ones, record the version and its
 * change event (an outbox: `filedrop_events.seq` is the delivery cursor). Readers see the old
 * version or the new one, never a mix. Staging left behind by a crash is cleared at open.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { regionLevel, TongxiangError } from '../../core/index.ts';
import type {
  AllowanceHousehold,
  ChangeEvent,
  DatasetRef,
  DatasetRow,
  DatasetStore,
  DatasetVersion,
  DropOutcome,
  DropReport,
  PublishMeta,
  PublishResult,
  QualityIssue,
  StagedRows,
  VersionKind,
} from './model.ts';

export interface PgliteDatasetStoreOptions {
  /** Directory PGlite persists to (created if missing). */
  readonly dataDir: string;
  /** The dataset `households()` reads. Default `dibao`. */
  readonly householdsDataset?: string;
}

/**
 * A row as staged: `row` is where it was read in the file (spreadsheet row, XML ordinal), so
 * `duplicateKeys` can name both rows. Without it the store numbers rows in staging order.
 */
export type StagedDatasetRow = DatasetRow & { readonly row?: number };

/** Rows per INSERT when staging: bounded statement size, few round trips. */
export const STAGING_BATCH = 1000;

/** Applied in order, each once, each in its own transaction. Never edit one that has shipped. */
export const MIGRATIONS: readonly string[] = [
  // 1 — shipped: one row set per (dataset, department), replaced file by file.
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
  // 2 — versions. What migration 1 loaded becomes version 1 of each (dataset, department), so
  // nothing already served is lost; its file manifest is kept (renamed) so the same files dropped
  // again count as already published.
  `
  CREATE TABLE filedrop_versions (
    dataset       text        NOT NULL,
    department    text        NOT NULL,
    version       integer     NOT NULL CHECK (version > 0),
    kind          text        NOT NULL CHECK (kind IN ('file', 'rollback')),
    file_name     text,
    content_hash  text,
    archived_as   text,
    restored_from integer,
    row_count     integer     NOT NULL,
    added         integer     NOT NULL,
    changed       integer     NOT NULL,
    removed       integer     NOT NULL,
    published_at  timestamptz NOT NULL,
    actor         text,
    PRIMARY KEY (dataset, department, version)
  );
  CREATE INDEX filedrop_versions_content ON filedrop_versions (dataset, department, content_hash);

  CREATE TABLE filedrop_dataset_rows (
    dataset     text    NOT NULL,
    department  text    NOT NULL,
    row_key     text    NOT NULL,
    valid_from  integer NOT NULL,
    valid_to    integer CHECK (valid_to IS NULL OR valid_to > valid_from),
    period      text,
    region_code text,
    subject_id  text,
    data        jsonb   NOT NULL,
    PRIMARY KEY (dataset, department, row_key, valid_from)
  );
  CREATE UNIQUE INDEX filedrop_dataset_rows_current ON filedrop_dataset_rows (dataset, department, row_key) WHERE valid_to IS NULL;
  CREATE INDEX filedrop_dataset_rows_subject ON filedrop_dataset_rows (dataset, subject_id) WHERE valid_to IS NULL;
  CREATE INDEX filedrop_dataset_rows_period ON filedrop_dataset_rows (dataset, period) WHERE valid_to IS NULL;
  CREATE INDEX filedrop_dataset_rows_region ON filedrop_dataset_rows (dataset, region_code text_pattern_ops) WHERE valid_to IS NULL;
  CREATE INDEX filedrop_dataset_rows_scope ON filedrop_dataset_rows (dataset, department, period) WHERE valid_to IS NULL;

  CREATE TABLE filedrop_staging (
    attempt_id  text    NOT NULL,
    ordinal     integer NOT NULL,
    source_row  integer NOT NULL,
    row_key     text    NOT NULL,
    period      text,
    region_code text,
    subject_id  text,
    data        jsonb   NOT NULL,
    keep        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (attempt_id, ordinal)
  );
  CREATE INDEX filedrop_staging_key ON filedrop_staging (attempt_id, row_key);

  CREATE TABLE filedrop_reports (
    dataset       text        NOT NULL,
    department    text        NOT NULL,
    id            text        NOT NULL,
    file_name     text        NOT NULL,
    outcome       text        NOT NULL CHECK (outcome IN ('published', 'partially-published', 'unchanged', 'rejected')),
    version       integer,
    format        text,
    encoding      text,
    content_hash  text        NOT NULL,
    bytes         bigint      NOT NULL,
    rows_total    integer     NOT NULL,
    rows_accepted integer     NOT NULL,
    rows_rejected integer     NOT NULL,
    issues        jsonb       NOT NULL,
    reason        text,
    moved_to      text,
    report_files  jsonb       NOT NULL,
    received_at   timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    actor         text,
    PRIMARY KEY (dataset, department, id)
  );
  CREATE INDEX filedrop_reports_recent ON filedrop_reports (finished_at DESC, id DESC);
  CREATE INDEX filedrop_reports_ref ON filedrop_reports (dataset, department, finished_at DESC);

  CREATE TABLE filedrop_events (
    seq        bigserial   PRIMARY KEY,
    id         text        NOT NULL UNIQUE,
    dataset    text        NOT NULL,
    department text        NOT NULL,
    version    integer     NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('file', 'rollback')),
    added      integer     NOT NULL,
    changed    integer     NOT NULL,
    removed    integer     NOT NULL,
    row_count  integer     NOT NULL,
    at         timestamptz NOT NULL
  );

  INSERT INTO filedrop_dataset_rows (dataset, department, row_key, valid_from, valid_to, period, region_code, subject_id, data)
    SELECT dataset, department, row_key, 1, NULL, period, region_code, subject_id, data FROM filedrop_rows;
  INSERT INTO filedrop_versions (dataset, department, version, kind, file_name, content_hash, archived_as, restored_from,
                                 row_count, added, changed, removed, published_at, actor)
    SELECT r.dataset, r.department, 1, 'file',
           CASE WHEN count(DISTINCT r.source_file) = 1 THEN min(r.source_file) END,
           CASE WHEN count(DISTINCT r.source_file) = 1 THEN min(f.content_hash) END,
           NULL, NULL, count(*), count(*), 0, 0, COALESCE(max(f.loaded_at), now()), NULL
    FROM filedrop_rows r
    LEFT JOIN filedrop_files f ON f.dataset = r.dataset AND f.department = r.department AND f.file_name = r.source_file
    GROUP BY r.dataset, r.department;
  INSERT INTO filedrop_events (id, dataset, department, version, kind, added, changed, removed, row_count, at)
    SELECT dataset || '/' || department || '/v1', dataset, department, 1, 'file', row_count, 0, 0, row_count, published_at
    FROM filedrop_versions ORDER BY dataset, department;

  DROP TABLE filedrop_rows;
  ALTER TABLE filedrop_files RENAME TO filedrop_legacy_files;
  ALTER INDEX filedrop_files_pkey RENAME TO filedrop_legacy_files_pkey;
  CREATE INDEX filedrop_legacy_files_content ON filedrop_legacy_files (dataset, department, content_hash);
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

interface VersionRow {
  dataset: string;
  department: string;
  version: number;
  kind: VersionKind;
  file_name: string | null;
  content_hash: string | null;
  archived_as: string | null;
  restored_from: number | null;
  row_count: number;
  added: number;
  changed: number;
  removed: number;
  published_at: Date;
  actor: string | null;
}

const toVersion = (r: VersionRow): DatasetVersion => ({
  dataset: r.dataset,
  department: r.department,
  version: r.version,
  kind: r.kind,
  fileName: r.file_name,
  contentHash: r.content_hash,
  archivedAs: r.archived_as,
  restoredFrom: r.restored_from,
  rows: r.row_count,
  added: r.added,
  changed: r.changed,
  removed: r.removed,
  publishedAt: r.published_at,
  actor: r.actor,
});

interface EventRow {
  seq: number;
  id: string;
  dataset: string;
  department: string;
  version: number;
  kind: VersionKind;
  added: number;
  changed: number;
  removed: number;
  row_count: number;
  at: Date;
}

const toEvent = (r: EventRow): ChangeEvent => ({
  id: r.id,
  seq: Number(r.seq),
  dataset: r.dataset,
  department: r.department,
  version: r.version,
  kind: r.kind,
  added: r.added,
  changed: r.changed,
  removed: r.removed,
  rows: r.row_count,
  at: r.at.toISOString(),
});

interface ReportRow {
  dataset: string;
  department: string;
  id: string;
  file_name: string;
  outcome: DropOutcome;
  version: number | null;
  format: string | null;
  encoding: string | null;
  content_hash: string;
  bytes: number;
  rows_total: number;
  rows_accepted: number;
  rows_rejected: number;
  issues: QualityIssue[];
  reason: string | null;
  moved_to: string | null;
  report_files: string[];
  received_at: Date;
  finished_at: Date;
  actor: string | null;
}

const toReport = (r: ReportRow): DropReport => ({
  id: r.id,
  dataset: r.dataset,
  department: r.department,
  fileName: r.file_name,
  outcome: r.outcome,
  version: r.version,
  format: r.format,
  encoding: r.encoding,
  contentHash: r.content_hash,
  bytes: Number(r.bytes),
  rowsTotal: r.rows_total,
  rowsAccepted: r.rows_accepted,
  rowsRejected: r.rows_rejected,
  issues: r.issues,
  reason: r.reason,
  movedTo: r.moved_to,
  reportFiles: r.report_files,
  receivedAt: r.received_at,
  finishedAt: r.finished_at,
  actor: r.actor,
});

const VERSION_COLUMNS = `dataset, department, version, kind, file_name, content_hash, archived_as, restored_from,
  row_count, added, changed, removed, published_at, actor`;

/** What one attempt's `StagedRows` stands for; kept out of the object handed to the pipeline. */
interface Staging {
  readonly ref: DatasetRef;
  readonly attemptId: string;
  staged: number;
  consumed: boolean;
}

const nonNegativeInt = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function versionError(ref: DatasetRef, reason: string): TongxiangError {
  return new TongxiangError('BAD_USER_INPUT', { reason: `数据集 ${ref.dataset}（${ref.department}）：${reason}` });
}

/** `diff` counts of one change, by key. */
interface Diff {
  added: number;
  changed: number;
  removed: number;
}

export async function createPgliteDatasetStore(options: PgliteDatasetStoreOptions): Promise<DatasetStore> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'dataset store: dataDir is required' });
  }
  const householdsDataset = options.householdsDataset ?? 'dibao';
  await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  try {
    await migrate(db);
    // Attempts do not outlive the process that staged them: a crash mid-ingest leaves nothing
    // visible (never published) and, from here on, nothing behind. The file is read again.
    await db.query('DELETE FROM filedrop_staging');
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  let closed = false;
  const open = (): PGlite => {
    if (closed) throw new Error('dataset store is closed');
    return db;
  };
  const stagings = new WeakMap<StagedRows, Staging>();

  // PGlite runs no autovacuum, so nothing else keeps the planner's statistics: without them it
  // takes a 20,000-row staging for 50 rows and plans a quadratic anti-join (minutes, inside the
  // publish transaction, with every reader waiting). Refreshed outside the transaction: the
  // staging each time (its ANALYZE is bounded by one file), the rows when they have changed by
  // more than a tenth since the last look (autovacuum's own rule), and once per open.
  let analyzedRows = -1;
  let changedSinceAnalyze = 0;
  async function refreshStatistics(staging: boolean): Promise<void> {
    if (staging) await open().exec('ANALYZE filedrop_staging');
    if (analyzedRows >= 0 && changedSinceAnalyze <= 500 + analyzedRows / 10) return;
    await open().exec('ANALYZE filedrop_dataset_rows');
    const r = await open().query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'filedrop_dataset_rows'`);
    analyzedRows = Math.max(0, r.rows[0]?.n ?? 0);
    changedSinceAnalyze = 0;
  }
  const changedBy = (diff: Diff): void => {
    changedSinceAnalyze += diff.added + 2 * diff.changed + diff.removed;
  };

  async function headOf(tx: Transaction | PGlite, ref: DatasetRef): Promise<DatasetVersion | undefined> {
    const r = await tx.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM filedrop_versions WHERE dataset = $1 AND department = $2 ORDER BY version DESC LIMIT 1`,
      [ref.dataset, ref.department],
    );
    return r.rows[0] && toVersion(r.rows[0]);
  }

  async function versionOf(tx: Transaction, ref: DatasetRef, version: number): Promise<DatasetVersion | undefined> {
    const r = await tx.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM filedrop_versions WHERE dataset = $1 AND department = $2 AND version = $3`,
      [ref.dataset, ref.department, version],
    );
    return r.rows[0] && toVersion(r.rows[0]);
  }

  /** The published version whose file had these bytes (or, for files loaded before versions existed, version 1). */
  async function sameContent(tx: Transaction, ref: DatasetRef, contentHash: string): Promise<DatasetVersion | undefined> {
    const r = await tx.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM filedrop_versions
       WHERE dataset = $1 AND department = $2 AND content_hash = $3 ORDER BY version DESC LIMIT 1`,
      [ref.dataset, ref.department, contentHash],
    );
    if (r.rows[0]) return toVersion(r.rows[0]);
    const legacy = await tx.query(
      `SELECT 1 FROM filedrop_legacy_files
       WHERE dataset = $1 AND department = $2 AND content_hash = $3 AND status IN ('loaded', 'superseded') LIMIT 1`,
      [ref.dataset, ref.department, contentHash],
    );
    return legacy.rows.length > 0 ? versionOf(tx, ref, 1) : undefined;
  }

  /** Records version `n` and its change event (the outbox row) in the caller's transaction. */
  async function record(
    tx: Transaction,
    ref: DatasetRef,
    n: number,
    fields: { kind: VersionKind; fileName: string | null; contentHash: string | null; archivedAs: string | null; restoredFrom: number | null; actor: string | null; at: Date },
    diff: Diff,
  ): Promise<{ version: DatasetVersion; event: ChangeEvent }> {
    const count = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM filedrop_dataset_rows WHERE dataset = $1 AND department = $2 AND valid_to IS NULL',
      [ref.dataset, ref.department],
    );
    const rows = count.rows[0]?.n ?? 0;
    const v = await tx.query<VersionRow>(
      `INSERT INTO filedrop_versions (${VERSION_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${VERSION_COLUMNS}`,
      [ref.dataset, ref.department, n, fields.kind, fields.fileName, fields.contentHash, fields.archivedAs, fields.restoredFrom,
        rows, diff.added, diff.changed, diff.removed, fields.at, fields.actor],
    );
    const e = await tx.query<EventRow>(
      `INSERT INTO filedrop_events (id, dataset, department, version, kind, added, changed, removed, row_count, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [`${ref.dataset}/${ref.department}/v${n}`, ref.dataset, ref.department, n, fields.kind, diff.added, diff.changed, diff.removed, rows, fields.at],
    );
    return { version: toVersion(v.rows[0]!), event: toEvent(e.rows[0]!) };
  }

  const consume = (tx: Transaction, attemptId: string) => tx.query('DELETE FROM filedrop_staging WHERE attempt_id = $1', [attemptId]);

  /**
   * Makes the staged rows of `attemptId` the department's rows as version `n`, replacing the rows
   * of the periods they cover (all of the department's rows unless `periodic`) and any row with a
   * staged key. Returns the diff, or null when no row would change (nothing written). Consumes
   * the staging either way.
   *
   * No statement reads the table it writes: with stale planner statistics, a lookup into a table
   * growing under the same statement becomes a scan per row, quadratic on a large file. So the
   * staged rows equal to a current row are marked first (`keep`), the replaced rows are closed,
   * and the unmarked staged rows are inserted without looking at the rows table at all.
   */
  async function apply(tx: Transaction, ref: DatasetRef, attemptId: string, n: number, periodic: boolean): Promise<Diff | null> {
    const periods = await tx.query<{ period: string | null }>('SELECT DISTINCT period FROM filedrop_staging WHERE attempt_id = $1', [attemptId]);
    const named = periods.rows.map((p) => p.period).filter((p): p is string => p !== null);
    const nullPeriod = periods.rows.some((p) => p.period === null);
    const params = [attemptId, ref.dataset, ref.department, periodic, named, nullPeriod];
    const current = 'c.dataset = $2 AND c.department = $3 AND c.valid_to IS NULL';
    const inScope = `(NOT $4::boolean OR c.period = ANY($5::text[]) OR (c.period IS NULL AND $6::boolean))`;
    await tx.query(
      `UPDATE filedrop_staging s SET keep = true
       WHERE s.attempt_id = $1 AND EXISTS (
         SELECT 1 FROM filedrop_dataset_rows c
         WHERE c.dataset = $2 AND c.department = $3 AND c.valid_to IS NULL AND c.row_key = s.row_key
           AND (s.data, s.period, s.region_code, s.subject_id) IS NOT DISTINCT FROM (c.data, c.period, c.region_code, c.subject_id))`,
      params.slice(0, 3),
    );
    const diffs = await tx.query<Diff>(
      `SELECT
         (SELECT count(*) FROM filedrop_staging s WHERE s.attempt_id = $1 AND NOT s.keep AND NOT EXISTS (
            SELECT 1 FROM filedrop_dataset_rows c WHERE ${current} AND c.row_key = s.row_key))::int AS added,
         (SELECT count(*) FROM filedrop_staging s WHERE s.attempt_id = $1 AND NOT s.keep AND EXISTS (
            SELECT 1 FROM filedrop_dataset_rows c WHERE ${current} AND c.row_key = s.row_key))::int AS changed,
         (SELECT count(*) FROM filedrop_dataset_rows c WHERE ${current} AND ${inScope} AND NOT EXISTS (
            SELECT 1 FROM filedrop_staging s WHERE s.attempt_id = $1 AND s.row_key = c.row_key))::int AS removed`,
      params,
    );
    const diff = diffs.rows[0]!;
    if (diff.added + diff.changed + diff.removed === 0) {
      await consume(tx, attemptId);
      return null;
    }
    await tx.query(
      `UPDATE filedrop_dataset_rows c SET valid_to = $7
       WHERE ${current}
         AND (${inScope} OR EXISTS (SELECT 1 FROM filedrop_staging s WHERE s.attempt_id = $1 AND s.row_key = c.row_key))
         AND NOT EXISTS (SELECT 1 FROM filedrop_staging s WHERE s.attempt_id = $1 AND s.row_key = c.row_key AND s.keep)`,
      [...params, n],
    );
    await tx.query(
      `INSERT INTO filedrop_dataset_rows (dataset, department, row_key, valid_from, valid_to, period, region_code, subject_id, data)
       SELECT $2, $3, s.row_key, $4, NULL, s.period, s.region_code, s.subject_id, s.data
       FROM filedrop_staging s WHERE s.attempt_id = $1 AND NOT s.keep`,
      [attemptId, ref.dataset, ref.department, n],
    );
    await consume(tx, attemptId);
    return diff;
  }

  function stagedRows(staging: Staging): StagedRows {
    const { attemptId } = staging;
    const handle: StagedRows = {
      attemptId,
      async add(rows: readonly StagedDatasetRow[]) {
        if (staging.consumed) throw new Error(`attempt ${attemptId} was already published`);
        for (let i = 0; i < rows.length; i += STAGING_BATCH) {
          const batch = rows.slice(i, i + STAGING_BATCH).map((r) => {
            staging.staged++;
            return { o: staging.staged, r: r.row ?? staging.staged, k: r.key, p: r.period, g: r.regionCode, s: r.subjectId, d: r.values };
          });
          await open().query(
            `INSERT INTO filedrop_staging (attempt_id, ordinal, source_row, row_key, period, region_code, subject_id, data)
             SELECT $1, x.o, x.r, x.k, x.p, x.g, x.s, x.d
             FROM jsonb_to_recordset($2::jsonb) AS x(o int, r int, k text, p text, g text, s text, d jsonb)`,
            [attemptId, JSON.stringify(batch)],
          );
        }
      },
      async duplicateKeys(limit) {
        const r = await open().query<{ key: string; rows: number[] }>(
          `SELECT row_key AS key, (array_agg(source_row ORDER BY source_row))[1:10] AS rows
           FROM filedrop_staging WHERE attempt_id = $1
           GROUP BY row_key HAVING count(*) > 1 ORDER BY min(source_row) LIMIT $2`,
          [attemptId, Math.max(0, Math.floor(limit))],
        );
        return r.rows.map((row) => ({ key: row.key, rows: row.rows }));
      },
      async count() {
        const r = await open().query<{ n: number }>('SELECT count(*)::int AS n FROM filedrop_staging WHERE attempt_id = $1', [attemptId]);
        return r.rows[0]?.n ?? 0;
      },
      async discard() {
        if (closed) return; // a closed store cleared nothing, but its next open will
        await db.query('DELETE FROM filedrop_staging WHERE attempt_id = $1', [attemptId]);
      },
    };
    Object.freeze(handle);
    stagings.set(handle, staging);
    return handle;
  }

  const store: DatasetStore = {
    async stage(ref, attemptId) {
      if (typeof attemptId !== 'string' || attemptId === '') throw new TypeError('stage: attemptId is required');
      // A retried attempt (the same id after a store failure) starts from nothing.
      await open().query('DELETE FROM filedrop_staging WHERE attempt_id = $1', [attemptId]);
      return stagedRows({ ref: { dataset: ref.dataset, department: ref.department }, attemptId, staged: 0, consumed: false });
    },

    async publish(staged, meta: PublishMeta, { periodic }) {
      const staging = stagings.get(staged);
      if (!staging) throw new TypeError('publish: these rows were not staged by this store');
      if (staging.consumed) throw new Error(`attempt ${staging.attemptId} was already published`);
      const { ref, attemptId } = staging;
      await refreshStatistics(true);
      let result: PublishResult;
      try {
        result = await open().transaction(async (tx): Promise<PublishResult> => {
          const head = await headOf(tx, ref);
          const same = await sameContent(tx, ref, meta.contentHash);
          if (same) {
            await consume(tx, attemptId);
            return { published: false, equals: same, reason: 'same-content' };
          }
          const n = (head?.version ?? 0) + 1;
          const diff = await apply(tx, ref, attemptId, n, periodic);
          if (!diff) {
            if (!head) throw new RangeError(`publish: attempt ${attemptId} staged no rows`);
            return { published: false, equals: head, reason: 'no-change' };
          }
          const made = await record(tx, ref, n, {
            kind: 'file', fileName: meta.fileName, contentHash: meta.contentHash, archivedAs: meta.archivedAs,
            restoredFrom: null, actor: meta.actor, at: meta.at,
          }, diff);
          return { published: true, ...made };
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          // Duplicate keys among the staged rows: the pipeline checks first, so only a caller that skipped it lands here.
          throw new TongxiangError('DATASET_FILE_INVALID', { file: meta.fileName, reason: '文件中有重复的记录键' }, { cause: error });
        }
        throw error;
      }
      staging.consumed = true;
      if (result.published) changedBy(result.version);
      return result;
    },

    async rollback(ref, toVersion, actor, at) {
      if (!Number.isSafeInteger(toVersion) || toVersion < 1) throw versionError(ref, `版本号应为正整数（收到 ${String(toVersion)}）`);
      await refreshStatistics(false);
      const made = await open().transaction(async (tx) => {
        const head = await headOf(tx, ref);
        if (!head) throw versionError(ref, '尚无任何版本，无法回滚');
        const target = await versionOf(tx, ref, toVersion);
        if (!target) throw versionError(ref, `没有版本 v${toVersion}（现有 v1–v${head.version}）`);
        if (toVersion === head.version) throw versionError(ref, `v${toVersion} 已是当前版本，无需回滚`);
        const n = head.version + 1;
        // Version t's rows (every row valid at t, current or ended since) are staged, then applied
        // like a file that replaces all of the department's rows — inside this one transaction.
        const attemptId = `rollback/${ref.dataset}/${ref.department}/v${n}`;
        await tx.query(
          `INSERT INTO filedrop_staging (attempt_id, ordinal, source_row, row_key, period, region_code, subject_id, data)
           SELECT $1, row_number() OVER (ORDER BY row_key), 0, row_key, period, region_code, subject_id, data
           FROM filedrop_dataset_rows
           WHERE dataset = $2 AND department = $3 AND valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4)`,
          [attemptId, ref.dataset, ref.department, toVersion],
        );
        await tx.exec('ANALYZE filedrop_staging');
        const diff = await apply(tx, ref, attemptId, n, false);
        if (!diff) throw versionError(ref, `v${toVersion} 的数据与当前版本 v${head.version} 相同，无需回滚`);
        return record(tx, ref, n, {
          kind: 'rollback', fileName: null, contentHash: null, archivedAs: null, restoredFrom: toVersion, actor, at,
        }, diff);
      });
      changedBy(made.version);
      return made;
    },

    async versions(ref) {
      const r = await open().query<VersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM filedrop_versions WHERE dataset = $1 AND department = $2 ORDER BY version DESC`,
        [ref.dataset, ref.department],
      );
      return r.rows.map(toVersion);
    },

    async heads() {
      const r = await open().query<VersionRow>(
        `SELECT DISTINCT ON (dataset, department) ${VERSION_COLUMNS} FROM filedrop_versions
         ORDER BY dataset, department, version DESC`,
      );
      return r.rows.map(toVersion);
    },

    async saveReport(report) {
      // Saving the same attempt again (a retry) replaces its report rather than failing.
      await open().query(
        `INSERT INTO filedrop_reports (dataset, department, id, file_name, outcome, version, format, encoding, content_hash,
           bytes, rows_total, rows_accepted, rows_rejected, issues, reason, moved_to, report_files, received_at, finished_at, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17::jsonb, $18, $19, $20)
         ON CONFLICT (dataset, department, id) DO UPDATE SET
           file_name = EXCLUDED.file_name, outcome = EXCLUDED.outcome, version = EXCLUDED.version, format = EXCLUDED.format,
           encoding = EXCLUDED.encoding, content_hash = EXCLUDED.content_hash, bytes = EXCLUDED.bytes,
           rows_total = EXCLUDED.rows_total, rows_accepted = EXCLUDED.rows_accepted, rows_rejected = EXCLUDED.rows_rejected,
           issues = EXCLUDED.issues, reason = EXCLUDED.reason, moved_to = EXCLUDED.moved_to, report_files = EXCLUDED.report_files,
           received_at = EXCLUDED.received_at, finished_at = EXCLUDED.finished_at, actor = EXCLUDED.actor`,
        [report.dataset, report.department, report.id, report.fileName, report.outcome, report.version, report.format,
          report.encoding, report.contentHash, report.bytes, report.rowsTotal, report.rowsAccepted, report.rowsRejected,
          JSON.stringify(report.issues), report.reason, report.movedTo, JSON.stringify(report.reportFiles),
          report.receivedAt, report.finishedAt, report.actor],
      );
    },

    async reports(filter) {
      const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? 50)), 500);
      const r = await open().query<ReportRow>(
        `SELECT * FROM filedrop_reports
         WHERE ($1::text IS NULL OR department = $1) AND ($2::text IS NULL OR dataset = $2)
         ORDER BY finished_at DESC, id DESC LIMIT $3`,
        [filter.department ?? null, filter.dataset ?? null, limit],
      );
      return r.rows.map(toReport);
    },

    async events(afterSeq, limit) {
      if (!nonNegativeInt(afterSeq) || !nonNegativeInt(limit)) throw new RangeError('events: afterSeq and limit must be whole numbers ≥ 0');
      const r = await open().query<EventRow>('SELECT * FROM filedrop_events WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]);
      return r.rows.map(toEvent);
    },

    async households(query) {
      const pattern = query.regionCode === undefined ? null : regionPattern(query.regionCode);
      const where = `dataset = $1 AND valid_to IS NULL AND ($2::text IS NULL OR subject_id = $2)
        AND ($3::text IS NULL OR region_code LIKE $3) AND ($4::text IS NULL OR period = $4)`;
      const params = [householdsDataset, query.headIdNumber ?? null, pattern, query.month ?? null];
      // One transaction: the count and the page come from the same version of the data.
      return open().transaction(async (tx) => {
        const count = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM filedrop_dataset_rows WHERE ${where}`, params);
        const page = await tx.query<{ data: Record<string, unknown> }>(
          `SELECT data FROM filedrop_dataset_rows WHERE ${where}
           ORDER BY period DESC NULLS LAST, department, row_key LIMIT $5 OFFSET $6`,
          [...params, query.limit, query.offset],
        );
        return { total: count.rows[0]?.total ?? 0, items: page.rows.map((r) => toHousehold(r.data)) };
      });
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
