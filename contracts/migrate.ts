/**
 * Migrations (数据库迁移): the SQL files in `contracts/migrations/`, applied in name order, each once,
 * recorded in `tongxiang_migrations` with a checksum. Same files for PGlite and PostgreSQL. All of
 * them run in one transaction under an advisory lock, so two hub replicas starting together apply
 * each exactly once; a file changed after it was applied stops start-up.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { TongxiangError } from '../core/index.ts';
import type { SqlDatabase } from './db.ts';

export interface Migration {
  /** `contracts/001_contracts.sql`: the folder keeps other concerns' migrations apart in one table. */
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const DIR = new URL('./migrations/', import.meta.url);

export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(DIR)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(new URL(file, DIR), 'utf8');
      return { name: `contracts/${file}`, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Applies what is missing; returns the names applied now (empty when the database was current). */
export async function migrate(db: SqlDatabase, options: { readonly schema?: string } = {}): Promise<string[]> {
  const migrations = await loadMigrations();
  const schema = options.schema ?? 'public';
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tongxiang_migrations:${schema}`]);
    if (options.schema !== undefined) await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS tongxiang_migrations (
      name       text        PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM tongxiang_migrations');
    const applied = new Map(done.rows.map((r) => [r.name, r.checksum]));
    const now: string[] = [];
    for (const m of migrations) {
      const checksum = applied.get(m.name);
      if (checksum === m.checksum) continue;
      if (checksum !== undefined) {
        throw new TongxiangError('CONFIG_INVALID', {
          reason: `migration ${m.name} was changed after it was applied (add a new migration instead)`,
        });
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO tongxiang_migrations (name, checksum) VALUES ($1, $2)', [m.name, m.checksum]);
      now.push(m.name);
    }
    return now;
  });
}
