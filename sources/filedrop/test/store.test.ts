import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rowKey } from '../map.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import { createPgliteDatasetStore, type DatasetRow, type DatasetStore, type FileAttempt } from '../store.ts';
import { freshStoreDir, households, tempDir } from './fixtures.ts';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);

function toRows(list: readonly DemoAllowanceHousehold[]): DatasetRow[] {
  return list.map((h) => {
    const values = { ...h } as Record<string, string | number>;
    return { key: rowKey(dibao, values), period: h.month, regionCode: h.regionCode, subjectId: h.headIdNumber, values };
  });
}

function attempt(department: string, fileName: string, at = new Date('2026-11-01T08:00:00Z')): FileAttempt {
  return {
    dataset: 'dibao', department, fileName, contentHash: `hash-of-${fileName}`, definitionHash: dibao.fingerprint,
    format: 'csv', encoding: 'utf-8', rowsRejected: 0, rejections: [], at,
  };
}

let dir: { path: string; cleanup: () => Promise<void> };
let store: DatasetStore;

beforeEach(async () => {
  dir = await tempDir('filedrop-store-');
  store = await createPgliteDatasetStore({ dataDir: await freshStoreDir(join(dir.path, 'store')) });
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

describe('PGlite dataset store', () => {
  it('gives a concurrent reader either all old rows or all new rows, never a mix', async () => {
    const old = households('341504', '2026-10', 1500).map((h) => ({ ...h, members: 1 }));
    const fresh = households('341504', '2026-10', 2000).map((h) => ({ ...h, members: 2 }));
    await store.replaceFile(attempt('341504.mzj', 'a.csv'), toRows(old));

    const seen: Array<{ total: number; versions: Set<number> }> = [];
    let replaced = false;
    const read = async () => {
      const page = await store.households({ month: '2026-10', limit: 5000, offset: 0 });
      seen.push({ total: page.total, versions: new Set(page.items.map((h) => h.members)) });
    };
    // PGlite settles queries without yielding to the event loop, so the reader and the writer
    // are interleaved by queueing: the replacement is queued while the first read runs.
    const reader = (async () => {
      do await read();
      while (!replaced);
      await read();
    })();
    const replacing = store.replaceFile(attempt('341504.mzj', 'a.csv'), toRows(fresh)).then(() => {
      replaced = true;
    });
    const readers = Array.from({ length: 5 }, read);
    await Promise.all([reader, replacing, ...readers]);
    for (const s of seen) {
      expect(s.versions.size).toBe(1);
      const [version] = [...s.versions];
      expect(s.total).toBe(version === 1 ? 1500 : 2000);
    }
    expect(seen[0]!.total).toBe(1500);
    expect(seen.at(-1)!.total).toBe(2000);
  });

  it('replaces a file’s rows on reload and adds another month’s file', async () => {
    await store.replaceFile(attempt('341504.mzj', 'sep.csv'), toRows(households('341504', '2026-09', 3)));
    await store.replaceFile(attempt('341504.mzj', 'oct.csv'), toRows(households('341504', '2026-10', 4)));
    await store.replaceFile(attempt('341504.mzj', 'oct.csv'), toRows(households('341504', '2026-10', 2)));
    expect((await store.households({ limit: 50, offset: 0 })).total).toBe(5);
    expect((await store.households({ month: '2026-10', limit: 50, offset: 0 })).total).toBe(2);
  });

  it('marks an older file superseded when a new file covers the same month', async () => {
    await store.replaceFile(attempt('341504.mzj', '2026-10.csv'), toRows(households('341504', '2026-10', 3)));
    await store.replaceFile(attempt('341504.mzj', '2026-10-更正.xlsx'), toRows(households('341504', '2026-10', 2)));
    expect((await store.households({ month: '2026-10', limit: 50, offset: 0 })).total).toBe(2);
    const old = (await store.fileStatus()).find((f) => f.fileName === '2026-10.csv');
    expect(old).toMatchObject({ status: 'superseded', rowsCurrent: 0, reason: expect.stringContaining('2026-10-更正.xlsx') });
  });

  it('keeps the previous rows when a failure is recorded', async () => {
    await store.replaceFile(attempt('341504.mzj', 'a.csv'), toRows(households('341504', '2026-10', 3)));
    await store.recordFailure({ ...attempt('341504.mzj', 'a.csv'), contentHash: 'other', reason: '文件为空' });
    expect((await store.households({ limit: 50, offset: 0 })).total).toBe(3);
    expect((await store.fileStatus())[0]).toMatchObject({ status: 'failed', reason: '文件为空', rowsCurrent: 3, rowsAccepted: 0 });
    expect((await store.fileStatus())[0]!.loadedAt).toEqual(new Date('2026-11-01T08:00:00Z'));
  });

  it('filters by ID number, by region at any level, by month, and pages', async () => {
    const yeji = households('341504', '2026-10', 5);
    const lixin = households('341623', '2026-10', 4);
    await store.replaceFile(attempt('341504.mzj', 'a.csv'), toRows(yeji));
    await store.replaceFile(attempt('341623.mzj', 'b.csv'), toRows(lixin));

    const one = await store.households({ headIdNumber: lixin[2]!.headIdNumber, limit: 50, offset: 0 });
    expect(one.items).toEqual([lixin[2]]);
    expect((await store.households({ regionCode: '341500', limit: 50, offset: 0 })).total).toBe(5); // 六安市 ⊃ 叶集区
    expect((await store.households({ regionCode: '341623', limit: 50, offset: 0 })).total).toBe(4);
    expect((await store.households({ regionCode: '340000', limit: 50, offset: 0 })).total).toBe(9);
    expect((await store.households({ month: '2026-09', limit: 50, offset: 0 })).total).toBe(0);

    const pages = [0, 4, 8].map((offset) => store.households({ limit: 4, offset }));
    const [p1, p2, p3] = await Promise.all(pages);
    expect([p1!.total, p2!.total, p3!.total]).toEqual([9, 9, 9]);
    const ids = [...p1!.items, ...p2!.items, ...p3!.items].map((h) => h.householdId);
    expect(new Set(ids).size).toBe(9);
  });

  it('persists in its data directory across reopening', async () => {
    await store.replaceFile(attempt('341504.mzj', 'a.csv'), toRows(households('341504', '2026-10', 3)));
    await store.close();
    store = await createPgliteDatasetStore({ dataDir: join(dir.path, 'store') });
    expect((await store.households({ limit: 50, offset: 0 })).total).toBe(3);
    expect((await store.fileStatus()).map((f) => f.fileName)).toEqual(['a.csv']);
  });
});
