/**
 * The audit log store on PostgreSQL (at scale, several gateway instances, one table): the same
 * semantics as the JSONL file. Each entry's exact JSON text is stored in `audit_log.entry` and read
 * back in `id` order; `(instance, seq, kind)` is unique.
 *
 * `append(entries)` is one INSERT of the whole group (one statement, one commit, one WAL flush).
 * A retried group whose first attempt did commit (the connection broke before the answer) lands
 * as a no-op for the entries already stored identically; an entry stored with different content
 * is a forked chain and fails with AUDIT_LOG_INVALID, storing nothing of that group.
 *
 * Append-only is enforced by the database: triggers refuse UPDATE, DELETE and TRUNCATE of
 * `audit_log`, whoever asks. The migration runs at open, under the same advisory lock and in the
 * same `tongxiang_migrations` table as the contract store's (`audit/001_audit_log.sql`).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { TongxiangError } from '../core/index.ts';
import { entryInstance, entrySeq, parseLogEntry } from './file-store.ts';
import type { AuditLogStore, LogEntry, RecordEntry } from './types.ts';
import { entryText } from './entry-text.ts';

export interface PgAuditStoreOptions {
  /** e.g. `postgres://tongxiang@db.internal:5432/tongxiang`. */
  readonly connectionString: string;
  /** Schema the table lives in, created if missing. Default `public`. */
  readonly schema?: string | undefined;
  /** Pool size. Default 4 (one writer appends one group at a time). */
  readonly poolSize?: number | undefined;
}

const MIGRATION_NAME = 'audit/001_audit_log.sql';

/** Never edit once shipped: add a new migration instead (the checksum is recorded). */
const MIGRATION_SQL = `-- 审计日志 / The audit log: one row per entry, the entry's exact JSON text.
CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  instance text      NOT NULL CHECK (instance <> ''),
  seq      bigint    NOT NULL CHECK (seq >= 1),
  kind     text      NOT NULL CHECK (kind IN ('record', 'checkpoint')),
  entry    text      NOT NULL,
  UNIQUE (instance, seq, kind)
);

-- Append-only, in the database too: UPDATE, DELETE and TRUNCATE are refused, whoever asks (a role
-- owning the table can still drop the trigger; the hash chain and signed checkpoints show that).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = '审计日志只可追加，不可修改或删除 / audit log entries are never updated or deleted';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`;

const MIGRATION_CHECKSUM = createHash('sha256').update(MIGRATION_SQL).digest('hex');

const INSERT = `
  INSERT INTO audit_log (instance, seq, kind, entry)
  SELECT t.instance, t.seq, t.kind, t.entry
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS t(instance, seq, kind, entry, ord)
  ORDER BY t.ord`;

const EXISTING = `
  SELECT a.instance, a.seq::text AS seq, a.kind, a.entry
  FROM audit_log a
  JOIN unnest($1::text[], $2::bigint[], $3::text[]) AS t(instance, seq, kind)
    ON a.instance = t.instance AND a.seq = t.seq AND a.kind = t.kind`;

const TAIL = `
  SELECT
    (SELECT entry FROM audit_log WHERE instance = $1 AND kind = 'record' ORDER BY seq DESC LIMIT 1) AS last,
    (SELECT max(seq)::text FROM audit_log WHERE instance = $1 AND kind = 'checkpoint') AS checkpoint`;

const PAGE = 1000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/** No message text: PostgreSQL's may quote row contents ("Failing row contains …"). */
function unavailable(what: string, error: unknown): TongxiangError {
  if (error instanceof TongxiangError) return error;
  return new TongxiangError('AUDIT_UNAVAILABLE', { reason: `${what} (PostgreSQL ${sqlState(error)})` }, { cause: error });
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tongxiang_migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS tongxiang_migrations (
      name       text        PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await client.query<{ checksum: string }>('SELECT checksum FROM tongxiang_migrations WHERE name = $1', [MIGRATION_NAME]);
    const applied = done.rows[0]?.checksum;
    if (applied === undefined) {
      await client.query(MIGRATION_SQL);
      await client.query('INSERT INTO tongxiang_migrations (name, checksum) VALUES ($1, $2)', [MIGRATION_NAME, MIGRATION_CHECKSUM]);
    } else if (applied !== MIGRATION_CHECKSUM) {
      throw new TongxiangError('CONFIG_INVALID', {
        reason: `migration ${MIGRATION_NAME} was changed after it was applied (add a new migration instead)`,
      });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: Error) => {
      broken = rollback;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function parseRow(text: string, id: string): LogEntry {
  const entry = parseLogEntry(text);
  if (entry === null) {
    throw new TongxiangError('AUDIT_LOG_INVALID', { reason: `audit_log 第 ${id} 行不是日志条目 / audit_log row id ${id} is not a log entry` });
  }
  return entry;
}

/** Opens the pool and migrates; resolves once the table is there. */
export async function openPgAuditStore(options: PgAuditStoreOptions): Promise<AuditLogStore> {
  const problems: string[] = [];
  if (typeof options?.connectionString !== 'string' || options.connectionString === '') problems.push('connectionString is required');
  const schema = options?.schema ?? 'public';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) problems.push('schema must be lower-case letters, digits and _');
  const poolSize = options?.poolSize ?? 4;
  if (!Number.isInteger(poolSize) || poolSize < 1) problems.push('poolSize must be a positive integer');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `audit PostgreSQL store: ${problems.join('; ')}` });

  const pool = new pg.Pool({ connectionString: options.connectionString, max: poolSize, options: `-c search_path=${schema}` });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailable('audit log table could not be prepared', error);
  }
  return pgStore(pool);
}

function pgStore(pool: pg.Pool): AuditLogStore {
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();

  const ensureOpen = (): void => {
    if (closed) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit log store is closed' });
  };

  const insert = (entries: readonly LogEntry[], texts: readonly string[]) =>
    pool.query(INSERT, [entries.map(entryInstance), entries.map(entrySeq), entries.map((e) => e.kind), texts]);

  const appendNow = async (entries: readonly LogEntry[]): Promise<void> => {
    if (entries.length === 0) return;
    let todo = entries;
    let texts = entries.map((e) => entryText(e));
    // Normally one round: the INSERT commits the group. A unique violation means part of the group
    // is already stored (a retry after a lost answer): keep what is identical, insert the rest.
    for (let round = 0; ; round += 1) {
      try {
        await insert(todo, texts);
        return;
      } catch (error) {
        if (sqlState(error) !== '23505' || round >= 3) throw unavailable('audit log insert failed', error);
      }
      let existing: pg.QueryResult<{ instance: string; seq: string; kind: string; entry: string }>;
      try {
        existing = await pool.query(EXISTING, [todo.map(entryInstance), todo.map(entrySeq), todo.map((e) => e.kind)]);
      } catch (error) {
        throw unavailable('audit log insert failed', error);
      }
      const stored = new Map(existing.rows.map((r) => [`${r.instance}\u0000${r.seq}\u0000${r.kind}`, r.entry]));
      const nextEntries: LogEntry[] = [];
      const nextTexts: string[] = [];
      todo.forEach((entry, i) => {
        const text = texts[i]!;
        const there = stored.get(`${entryInstance(entry)}\u0000${entrySeq(entry)}\u0000${entry.kind}`);
        if (there === undefined) {
          nextEntries.push(entry);
          nextTexts.push(text);
        } else if (there !== text) {
          throw new TongxiangError('AUDIT_LOG_INVALID', {
            reason: `实例 ${entryInstance(entry)} 序号 ${entrySeq(entry)} 已存有不同内容（链分叉）/ instance ${entryInstance(entry)} seq ${entrySeq(entry)} (${entry.kind}) is already stored with different content (forked chain)`,
          });
        }
      });
      if (nextEntries.length === 0) return;
      todo = nextEntries;
      texts = nextTexts;
    }
  };

  async function* readEntries(instance: string | undefined): AsyncGenerator<LogEntry> {
    ensureOpen();
    let upTo: string;
    try {
      const max = await pool.query<{ max: string | null }>('SELECT max(id)::text AS max FROM audit_log');
      upTo = max.rows[0]?.max ?? '0';
    } catch (error) {
      throw unavailable('audit log read failed', error);
    }
    let after = '0';
    for (;;) {
      let page: pg.QueryResult<{ row_id: string; entry: string }>;
      try {
        page = await pool.query(
          `SELECT a.id::text AS row_id, a.entry FROM audit_log a
           WHERE a.id > $1::bigint AND a.id <= $2::bigint AND ($3::text IS NULL OR a.instance = $3)
           ORDER BY a.id LIMIT ${PAGE}`,
          [after, upTo, instance ?? null],
        );
      } catch (error) {
        throw unavailable('audit log read failed', error);
      }
      for (const row of page.rows) yield parseRow(row.entry, row.row_id);
      if (page.rows.length < PAGE) return;
      after = page.rows[page.rows.length - 1]!.row_id;
    }
  }

  /** Where the last `readFrom` got to (entry index, row id): forward readers start there. */
  let cursor = { index: 0, id: '0' };

  async function* readEntriesFrom(from: number): AsyncGenerator<LogEntry> {
    ensureOpen();
    if (!Number.isSafeInteger(from) || from < 0) throw new TongxiangError('BAD_USER_INPUT', { reason: 'readFrom: from must be a non-negative integer' });
    const start = cursor.index <= from ? cursor : { index: 0, id: '0' };
    let upTo: string;
    try {
      const max = await pool.query<{ max: string | null }>('SELECT max(id)::text AS max FROM audit_log');
      upTo = max.rows[0]?.max ?? '0';
    } catch (error) {
      throw unavailable('audit log read failed', error);
    }
    let after = start.id;
    let index = start.index;
    for (;;) {
      let page: pg.QueryResult<{ row_id: string; entry: string }>;
      try {
        page = await pool.query(
          `SELECT a.id::text AS row_id, a.entry FROM audit_log a WHERE a.id > $1::bigint AND a.id <= $2::bigint ORDER BY a.id LIMIT ${PAGE}`,
          [after, upTo],
        );
      } catch (error) {
        throw unavailable('audit log read failed', error);
      }
      for (const row of page.rows) {
        const at = index;
        index += 1;
        cursor = { index, id: row.row_id };
        if (at >= from) yield parseRow(row.entry, row.row_id);
      }
      if (page.rows.length < PAGE) return;
      after = page.rows[page.rows.length - 1]!.row_id;
    }
  }

  const store: AuditLogStore = {
    readFrom: (from) => readEntriesFrom(from),
    append(entries) {
      if (closed) return Promise.reject(new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit log store is closed' }));
      const run = chain.then(() => appendNow(entries));
      chain = run.catch(() => undefined);
      return run;
    },
    read: (options = {}) => readEntries(options.instance),
    async tail(instance) {
      ensureOpen();
      let row: { last: string | null; checkpoint: string | null } | undefined;
      try {
        row = (await pool.query<{ last: string | null; checkpoint: string | null }>(TAIL, [instance])).rows[0];
      } catch (error) {
        throw unavailable('audit log tail could not be read', error);
      }
      const last = row?.last == null ? null : parseRow(row.last, `(last record of ${instance})`);
      if (last !== null && last.kind !== 'record') throw new TongxiangError('AUDIT_LOG_INVALID', { reason: `the last record row of ${instance} is not a record` });
      return { last: last as RecordEntry | null, lastCheckpointSeq: row?.checkpoint == null ? null : Number(row.checkpoint) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      await pool.end();
    },
  };
  return Object.freeze(store);
}
