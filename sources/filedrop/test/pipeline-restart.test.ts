import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import type { DatasetRef } from '../model.ts';
import { createDropPipeline } from '../pipeline.ts';
import { createPgliteDatasetStore } from '../store.ts';
import { csv, freshStoreDir, households, STANDARD_HEADERS, standardCells, tempDir } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
const YEJI: DatasetRef = { dataset: 'dibao', department: '341504.mzj' };
const CHILD = fileURLToPath(new URL('./ingest-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ROWS = 12_000;

let dir: { path: string; cleanup: () => Promise<void> };
let storeDir: string;
let dropDir: string;
let folder: string;
let bytes: string;
let path: string;

beforeEach(async () => {
  dir = await tempDir('filedrop-restart-');
  storeDir = await freshStoreDir(join(dir.path, 'store'));
  dropDir = join(dir.path, 'drop');
  folder = join(dropDir, '341504.mzj', 'dibao');
  await mkdir(folder, { recursive: true });
  bytes = csv([STANDARD_HEADERS, ...households('341504', '2026-10', ROWS).map(standardCells)]);
  path = join(folder, '叶集区低保名册-2026-10.csv');
  await writeFile(path, bytes);
});
afterEach(async () => {
  await dir.cleanup();
});

/** Runs the child until it prints a line starting with `waitFor`; SIGKILLs it if it is still alive then. */
async function crashChild(mode: 'stop-while-reading' | 'die-after-publish', waitFor: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, storeDir, dropDir, path, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const found = out.split('\n').find((l) => l.startsWith(waitFor));
      if (found) resolve(found);
    });
    void exited.then((how) => reject(new Error(`child ended (${String(how)}) before "${waitFor}": ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return line;
}

/** What the store directory holds, read directly (the store itself clears staging when it opens). */
async function rawCounts(): Promise<{ staged: number; versions: number; rows: number }> {
  const db = await PGlite.create(storeDir);
  try {
    const one = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
    return {
      staged: await one('SELECT count(*)::int AS n FROM filedrop_staging'),
      versions: await one('SELECT count(*)::int AS n FROM filedrop_versions'),
      rows: await one('SELECT count(*)::int AS n FROM filedrop_dataset_rows WHERE valid_to IS NULL'),
    };
  } finally {
    await db.close();
  }
}

async function restart() {
  const store = await createPgliteDatasetStore({ dataDir: storeDir });
  const pipeline = createDropPipeline({ dropDir, store, datasets: [dibao] });
  return { store, pipeline };
}

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

async function expectArchivedOnce(): Promise<string> {
  expect((await readdir(folder)).filter((n) => !['archive', 'reports', 'quarantine'].includes(n))).toEqual([]);
  const archived = await readdir(join(folder, 'archive'));
  expect(archived).toHaveLength(1);
  expect(sha256(await readFile(join(folder, 'archive', archived[0]!)))).toBe(sha256(bytes));
  return `341504.mzj/dibao/archive/${archived[0]}`;
}

describe('the hub restarting mid-ingest', () => {
  it('killed while reading: nothing was visible, and the restart publishes the file once, whole', async () => {
    const line = await crashChild('stop-while-reading', 'reading ');
    expect(Number(line.split(' ')[1])).toBeLessThan(ROWS);
    const before = await rawCounts();
    expect(before).toMatchObject({ versions: 0, rows: 0 });
    expect(before.staged).toBeGreaterThan(0); // it died with rows staged

    const { store, pipeline } = await restart();
    try {
      const { reports } = await pipeline.scan();
      expect(reports.map((r) => [r.outcome, r.version, r.rowsAccepted])).toEqual([['published', 1, ROWS]]);
      expect((await pipeline.versions(YEJI)).map((v) => [v.version, v.rows])).toEqual([[1, ROWS]]);
      expect((await store.households({ limit: 1, offset: 0 })).total).toBe(ROWS);
      expect(await expectArchivedOnce()).toBe(reports[0]!.movedTo);
    } finally {
      await store.close();
    }
    expect(await rawCounts()).toEqual({ staged: 0, versions: 1, rows: ROWS });
  }, 120_000);

  it('killed after publishing, before moving the file: the restart finds it unchanged and archives it where v1 says', async () => {
    expect(await crashChild('die-after-publish', 'published ')).toBe('published v1');
    expect(await readFile(path, 'utf8')).toBe(bytes); // still where it was dropped

    const { store, pipeline } = await restart();
    try {
      const { reports } = await pipeline.scan();
      expect(reports.map((r) => [r.outcome, r.version])).toEqual([['unchanged', 1]]);
      const versions = await pipeline.versions(YEJI);
      expect(versions.map((v) => [v.version, v.rows])).toEqual([[1, ROWS]]);
      expect(await expectArchivedOnce()).toBe(versions[0]!.archivedAs);
      expect(reports[0]!.movedTo).toBe(versions[0]!.archivedAs);
      expect(await pipeline.events(0, 10)).toHaveLength(1);
    } finally {
      await store.close();
    }
    expect(await rawCounts()).toEqual({ staged: 0, versions: 1, rows: ROWS });
  }, 120_000);
});
