/**
 * The one seam between the contract store's SQL and a database driver: PGlite (embedded, in the
 * data directory) or `pg` (a PostgreSQL pool). The store's SQL and migrations are the same for
 * both; only connecting, transactions and closing differ.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface SqlResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

export interface SqlSession {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface SqlDatabase extends SqlSession {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'>;

function pgliteSession(db: PgliteQueryable): SqlSession {
  return {
    async query<R>(text: string, params: readonly unknown[] = []) {
      const result = await db.query<R>(text, [...params]);
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
    async exec(text) {
      await db.exec(text);
    },
  };
}

/** PGlite persisted in `dataDir` (created if missing). PGlite's first creation takes a few seconds. */
export async function openPglite(dataDir: string): Promise<SqlDatabase> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return {
    ...pgliteSession(db),
    transaction: (fn) => db.transaction((tx) => fn(pgliteSession(tx))),
    close: () => db.close(),
  };
}

function pgSession(client: pg.Pool | pg.PoolClient): SqlSession {
  return {
    async query<R>(text: string, params: readonly unknown[] = []) {
      const result = await client.query(text, [...params]);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(text) {
      await client.query(text);
    },
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function isSchemaName(name: string): boolean {
  return SCHEMA_NAME.test(name);
}

/** A `pg` pool whose connections all use `schema` (set at connection start, so every query sees it). */
export function openPg(connectionString: string, schema: string, poolSize: number): SqlDatabase {
  if (!isSchemaName(schema)) throw new Error(`not a schema name: ${schema}`);
  const pool = new pg.Pool({ connectionString, max: poolSize, options: `-c search_path=${schema}` });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    ...pgSession(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(pgSession(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollback: Error) => {
          broken = rollback;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
