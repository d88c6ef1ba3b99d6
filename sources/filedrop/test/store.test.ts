import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import { rowKey } from '../map.ts';
import type { DatasetRef, DatasetStore, DropReport, PublishResult } from '../model.ts';
import { createPgliteDatasetStore, MIGRATIONS, type StagedDatasetRow } from '../store.ts';
import { freshStoreDir, household, households, tempDir } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
const YEJI: DatasetRef = { dataset: 'dibao', department: '341504.mzj' };
const LIXIN: DatasetRef = { dataset: 'dibao', department: '341623.mzj' };

function toRows(list: readonly DemoAllowanceHousehold[]): StagedDatasetRow[] {
  return list.map((h, i) => {
    const values = { ...h } as Record<string, string | number>;
    return { key: rowKey(dibao, values), period: h.month, regionCode: h.regionCode, subjectId: h.headIdNumber, values, row: i + 2 };
  });
}

let dir: { path: string; cleanup: () => Promise<void> };
let store: DatasetStore;
let files = 0;

beforeEach(async () => {
  dir = await tempDir('filedrop-store-');
  store = await createPgliteDatasetStore({ dataDir: await freshStoreDir(join(dir.path, 'store')) });
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function publish(
  ref: DatasetRef,
  rows: readonly DemoAllowanceHousehold[],
  { hash = `hash-${++files}`, fileName = `file-${files}.csv`, periodic = true, at = new Date('2026-11-01T08:00:00Z') } = {},
): Promise<PublishResult> {
  const staged = await store.stage(ref, `attempt-${hash}`);
  const list = toRows(rows);
  for (let i = 0; i < list.length; i += 1000) await staged.add(list.slice(i, i + 1000));
  return store.publish(staged, { fileName, contentHash: hash, archivedAs: `${ref.department}/dibao/archive/${fileName}`, actor: null, at }, { periodic });
}

const published = (r: PublishResult) => {
  if (!r.published) throw new Error(`expected a new version, got ${r.reason}`);
  return r.version;
};
const month = async (m: string) => (await store.households({ month: m, limit: 5000, offset: 0 })).items;
const all = async () => (await store.households({ limit: 5000, offset: 0 })).items;
const byKey = (list: readonly { month: string; householdId: string }[]) =>
  [...list].sort((a, b) => `${a.month}|${a.householdId}`.localeCompare(`${b.month}|${b.householdId}`));

describe('versions', () => {
  it('makes version 1 from a first file, adds another month as version 2, and replaces only the corrected month in version 3', async () => {
    const sep = households('341504', '2026-09', 3);
    const oct = households('341504', '2026-10', 4);
    const v1 = published(await publish(YEJI, sep, { fileName: 'sep.csv' }));
    expect(v1).toMatchObject({ ...YEJI, version: 1, kind: 'file', fileName: 'sep.csv', rows: 3, added: 3, changed: 0, removed: 0, restoredFrom: null });

    const v2 = published(await publish(YEJI, oct, { fileName: 'oct.csv' }));
    expect(v2).toMatchObject({ version: 2, rows: 7, added: 4, changed: 0, removed: 0 });
    expect(await all()).toHaveLength(7);

    // Corrected October: household 0 unchanged, 1 changed, 2 and 3 gone, a new household 9.
    const corrected = [oct[0]!, { ...oct[1]!, monthlyAmount: 999.5 }, household('341504', '2026-10', 9)];
    const v3 = published(await publish(YEJI, corrected, { fileName: 'oct-更正.csv' }));
    expect(v3).toMatchObject({ version: 3, rows: 6, added: 1, changed: 1, removed: 2 });
    expect(byKey(await month('2026-10'))).toEqual(byKey(corrected));
    expect(byKey(await month('2026-09'))).toEqual(byKey(sep)); // the other month untouched

    expect((await store.versions(YEJI)).map((v) => v.version)).toEqual([3, 2, 1]);
    expect(await store.versions(LIXIN)).toEqual([]);
    expect((await store.heads()).map((h) => [h.department, h.version])).toEqual([['341504.mzj', 3]]);
  });

  it('replaces all of a department’s rows for a dataset without periods, and never another department’s', async () => {
    published(await publish(YEJI, households('341504', '2026-10', 4), { periodic: false }));
    published(await publish(LIXIN, households('341623', '2026-10', 2), { periodic: false }));
    const v2 = published(await publish(YEJI, households('341504', '2026-09', 1), { periodic: false }));
    expect(v2).toMatchObject({ version: 2, rows: 1, added: 1, removed: 4 });
    expect((await store.households({ regionCode: '341504', limit: 50, offset: 0 })).total).toBe(1);
    expect((await store.households({ regionCode: '341623', limit: 50, offset: 0 })).total).toBe(2);
  });

  it('makes no new version for bytes already published, nor for rows equal to the current version', async () => {
    const rows = households('341504', '2026-10', 3);
    const v1 = published(await publish(YEJI, rows, { hash: 'h1' }));
    const again = await publish(YEJI, rows, { hash: 'h1' });
    expect(again).toMatchObject({ published: false, reason: 'same-content', equals: { version: 1 } });
    const reordered = await publish(YEJI, [...rows].reverse(), { hash: 'h2' });
    expect(reordered).toMatchObject({ published: false, reason: 'no-change', equals: { version: 1 } });
    expect(await store.versions(YEJI)).toEqual([v1]);
    expect((await store.events(0, 10)).map((e) => e.version)).toEqual([1]);
  });

  it('treats an amount written 650.5 or 650.50 as the same value', async () => {
    const rows = households('341504', '2026-10', 2);
    published(await publish(YEJI, rows));
    const staged = await store.stage(YEJI, 'decimals');
    await staged.add(toRows(rows).map((r) => ({ ...r, values: JSON.parse(JSON.stringify(r.values).replace(/"monthlyAmount":(\d+\.5)\b/g, '"monthlyAmount":$10')) })));
    const result = await store.publish(staged, { fileName: 'x.csv', contentHash: 'other', archivedAs: 'x', actor: null, at: new Date() }, { periodic: true });
    expect(result).toMatchObject({ published: false, reason: 'no-change' });
  });
});

describe('staging', () => {
  it('keeps staged rows invisible until published, finds duplicate keys with their rows, and discards', async () => {
    const rows = toRows(households('341504', '2026-10', 3));
    const staged = await store.stage(YEJI, 'a1');
    await staged.add([...rows, { ...rows[1]!, row: 9 }, { ...rows[1]!, row: 12 }]);
    expect(await staged.count()).toBe(5);
    expect(await staged.duplicateKeys(10)).toEqual([{ key: rows[1]!.key, rows: [3, 9, 12] }]);
    expect((await store.households({ limit: 50, offset: 0 })).total).toBe(0);
    await staged.discard();
    expect(await staged.count()).toBe(0);
  });

  it('clears what a crashed process staged when the store is opened again', async () => {
    const staged = await store.stage(YEJI, 'crashed');
    await staged.add(toRows(households('341504', '2026-10', 5)));
    await store.close(); // no publish, no discard: as if the process died
    store = await createPgliteDatasetStore({ dataDir: join(dir.path, 'store') });
    const raw = await store.stage(YEJI, 'probe');
    expect(await raw.count()).toBe(0);
    expect(await store.versions(YEJI)).toEqual([]);
  });

  it('consumes staged rows when publishing, whether or not a version is made', async () => {
    const staged = await store.stage(YEJI, 'once');
    await staged.add(toRows(households('341504', '2026-10', 2)));
    await store.publish(staged, { fileName: 'a.csv', contentHash: 'h', archivedAs: 'a', actor: null, at: new Date() }, { periodic: true });
    expect(await staged.count()).toBe(0);
    await expect(store.publish(staged, { fileName: 'a.csv', contentHash: 'h', archivedAs: 'a', actor: null, at: new Date() }, { periodic: true })).rejects.toThrow();
  });
});

describe('atomic visibility', () => {
  it('gives every reader during a 20,000-row publication exactly the old version or exactly the new one', async () => {
    const old = households('341504', '2026-10', 20_000).map((h) => ({ ...h, members: 1 }));
    const fresh = households('341504', '2026-10', 20_500).map((h) => ({ ...h, members: 2 }));
    published(await publish(YEJI, old));
    const staged = await store.stage(YEJI, 'big');
    const rows = toRows(fresh);
    for (let i = 0; i < rows.length; i += 1000) await staged.add(rows.slice(i, i + 1000));

    const seen: Array<{ total: number; checksum: number; size: number; during: boolean }> = [];
    let publishing = true;
    const read = async (): Promise<void> => {
      const during = publishing;
      const page = await store.households({ month: '2026-10', limit: 300, offset: 0 });
      seen.push({ total: page.total, checksum: page.items.reduce((s, h) => s + h.members, 0), size: page.items.length, during });
    };
    const reading = (async () => {
      while (publishing) await Promise.all([read(), read(), read()]);
    })();
    const readers = Array.from({ length: 10 }, read); // queued before the publication's first statement
    const publication = store
      .publish(staged, { fileName: 'big.csv', contentHash: 'big', archivedAs: 'big', actor: null, at: new Date() }, { periodic: true })
      .finally(() => {
        publishing = false;
      });
    const laterReaders = Array.from({ length: 10 }, read); // issued while the publication runs
    await Promise.all([publication, reading, ...readers, ...laterReaders]);
    await read();

    expect(seen.filter((s) => s.during).length).toBeGreaterThanOrEqual(20);
    for (const s of seen) {
      expect(s.size).toBe(300);
      if (s.total === 20_000) expect(s.checksum).toBe(300); // all old
      else expect([s.total, s.checksum]).toEqual([20_500, 600]); // all new
    }
    expect(seen.some((s) => s.total === 20_000)).toBe(true);
    expect(seen.at(-1)!.total).toBe(20_500);
    expect((await store.versions(YEJI))[0]).toMatchObject({ version: 2, rows: 20_500, added: 500, changed: 20_000, removed: 0 });
  }, 120_000);
});

describe('rollback', () => {
  it('publishes version 4 with version 1’s rows, keeps every version, and emits a rollback event', async () => {
    const v1rows = households('341504', '2026-10', 3);
    published(await publish(YEJI, v1rows));
    published(await publish(YEJI, households('341504', '2026-11', 2)));
    published(await publish(YEJI, [{ ...v1rows[0]!, members: 9 }]));
    const { version, event } = await store.rollback(YEJI, 1, 'operator-1', new Date('2026-11-20T00:00:00Z'));
    expect(version).toMatchObject({ version: 4, kind: 'rollback', restoredFrom: 1, rows: 3, actor: 'operator-1', fileName: null, contentHash: null });
    // against v3 (Oct: 1 changed row; Nov: 2 rows): Oct row 0 changed back, rows 1–2 added, Nov removed
    expect(version).toMatchObject({ added: 2, changed: 1, removed: 2 });
    expect(byKey(await all())).toEqual(byKey(v1rows));
    expect(event).toMatchObject({ id: 'dibao/341504.mzj/v4', kind: 'rollback', version: 4, rows: 3 });
    expect((await store.versions(YEJI)).map((v) => [v.version, v.kind])).toEqual([[4, 'rollback'], [3, 'file'], [2, 'file'], [1, 'file']]);

    // Any older version stays restorable: back to v3, then to v2.
    expect((await store.rollback(YEJI, 3, null, new Date())).version).toMatchObject({ version: 5, rows: 3 });
    expect((await month('2026-10')).map((h) => h.members)).toEqual([9]);
    await store.rollback(YEJI, 2, null, new Date());
    expect(await month('2026-10')).toHaveLength(3);
    expect(await month('2026-11')).toHaveLength(2);
  });

  it('refuses the current version, a version that does not exist, or one equal to the current rows, and changes nothing', async () => {
    const rows = households('341504', '2026-10', 2);
    published(await publish(YEJI, rows));
    published(await publish(YEJI, households('341504', '2026-10', 3)));
    await store.rollback(YEJI, 1, null, new Date()); // v3 = v1's rows
    const before = { versions: await store.versions(YEJI), rows: await all(), events: await store.events(0, 100) };
    for (const [to, words] of [[3, '已是当前版本'], [9, '没有版本 v9'], [0, '正整数'], [1, '相同']] as const) {
      const error = await store.rollback(YEJI, to, null, new Date()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((error as Error).message).toContain(words);
    }
    await expect(store.rollback(LIXIN, 1, null, new Date())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect({ versions: await store.versions(YEJI), rows: await all(), events: await store.events(0, 100) }).toEqual(before);
  });
});

describe('events and reports', () => {
  it('lists every publication and rollback in order, with increasing seq, from any cursor', async () => {
    await publish(YEJI, households('341504', '2026-10', 2));
    await publish(LIXIN, households('341623', '2026-10', 1));
    await publish(YEJI, households('341504', '2026-11', 1));
    await store.rollback(YEJI, 1, null, new Date());
    const events = await store.events(0, 100);
    expect(events.map((e) => e.id)).toEqual(['dibao/341504.mzj/v1', 'dibao/341623.mzj/v1', 'dibao/341504.mzj/v2', 'dibao/341504.mzj/v3']);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.seq)).size).toBe(4);
    expect(await store.events(events[1]!.seq, 1)).toEqual([events[2]]);
    expect(events[0]).toEqual({
      id: 'dibao/341504.mzj/v1', seq: events[0]!.seq, dataset: 'dibao', department: '341504.mzj', version: 1, kind: 'file',
      added: 2, changed: 0, removed: 0, rows: 2, at: '2026-11-01T08:00:00.000Z',
    });
  });

  it('keeps reports with their issues, newest first, filtered by department and dataset', async () => {
    const report = (id: string, department: string, minute: number): DropReport => ({
      id, dataset: 'dibao', department, fileName: `${id}.csv`, outcome: 'partially-published', version: 1, format: 'csv',
      encoding: 'gb18030', contentHash: 'c'.repeat(64), bytes: 1234, rowsTotal: 10, rowsAccepted: 9, rowsRejected: 1,
      issues: [{ row: 3, column: '户主身份证号', value: '34150419700101001X', reason: '公民身份号码校验码错误（GB 11643）' }],
      reason: null, movedTo: `${department}/dibao/archive/v1-${id}-${id}.csv`, reportFiles: [`${department}/dibao/reports/${id}.json`],
      receivedAt: new Date(Date.UTC(2026, 10, 1, 8, minute)), finishedAt: new Date(Date.UTC(2026, 10, 1, 8, minute, 5)), actor: null,
    });
    const a = report('a', '341504.mzj', 1);
    const b = report('b', '341623.mzj', 2);
    const c = report('c', '341504.mzj', 3);
    for (const r of [a, b, c]) await store.saveReport(r);
    expect(await store.reports({})).toEqual([c, b, a]);
    expect(await store.reports({ department: '341504.mzj' })).toEqual([c, a]);
    expect(await store.reports({ dataset: 'other' })).toEqual([]);
    expect(await store.reports({ limit: 1 })).toEqual([c]);
    await store.saveReport({ ...a, outcome: 'rejected', version: null });
    expect((await store.reports({ department: '341504.mzj' }))[1]).toMatchObject({ id: 'a', outcome: 'rejected' });
  });
});

describe('households', () => {
  it('filters the current version by ID number, by region at any level, by month, and pages', async () => {
    const yeji = households('341504', '2026-10', 5);
    const lixin = households('341623', '2026-10', 4);
    await publish(YEJI, households('341504', '2026-10', 7)); // superseded below: never served again
    await publish(YEJI, yeji);
    await publish(LIXIN, lixin);

    const one = await store.households({ headIdNumber: lixin[2]!.headIdNumber, limit: 50, offset: 0 });
    expect(one.items).toEqual([lixin[2]]);
    expect((await store.households({ regionCode: '341500', limit: 50, offset: 0 })).total).toBe(5); // 六安市 ⊃ 叶集区
    expect((await store.households({ regionCode: '341623', limit: 50, offset: 0 })).total).toBe(4);
    expect((await store.households({ regionCode: '340000', limit: 50, offset: 0 })).total).toBe(9);
    expect((await store.households({ month: '2026-09', limit: 50, offset: 0 })).total).toBe(0);

    const [p1, p2, p3] = await Promise.all([0, 4, 8].map((offset) => store.households({ limit: 4, offset })));
    expect([p1!.total, p2!.total, p3!.total]).toEqual([9, 9, 9]);
    expect(new Set([...p1!.items, ...p2!.items, ...p3!.items].map((h) => h.householdId + h.regionCode)).size).toBe(9);
  });

  it('persists versions, rows, events and reports in its data directory across reopening', async () => {
    await publish(YEJI, households('341504', '2026-10', 3));
    await store.close();
    store = await createPgliteDatasetStore({ dataDir: join(dir.path, 'store') });
    expect((await store.households({ limit: 50, offset: 0 })).total).toBe(3);
    expect((await store.versions(YEJI)).map((v) => v.version)).toEqual([1]);
    expect(await store.events(0, 10)).toHaveLength(1);
  });
});

describe('migration 2', () => {
  it('opens a store that only had migration 1 with its rows as version 1 of each department’s dataset', async () => {
    const path = join(dir.path, 'v1-store');
    const old = await PGlite.create(path);
    await old.exec(`CREATE TABLE filedrop_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    await old.exec(MIGRATIONS[0]!);
    await old.query('INSERT INTO filedrop_migrations (version) VALUES (1)');
    const insertFile = (dept: string, name: string, hash: string, status: string) =>
      old.query(
        `INSERT INTO filedrop_files (dataset, department, file_name, status, content_hash, definition_hash, rows_accepted, rows_current, attempted_at, loaded_at)
         VALUES ('dibao', $1, $2, $3, $4, 'def', 0, 0, '2026-10-06T00:00:00Z', '2026-10-06T00:00:00Z')`,
        [dept, name, status, hash],
      );
    await insertFile('341504.mzj', 'sep.csv', 'hash-sep', 'loaded');
    await insertFile('341504.mzj', 'oct.csv', 'hash-oct', 'loaded');
    await insertFile('341504.mzj', 'oct-old.csv', 'hash-oct-old', 'superseded');
    await insertFile('341623.mzj', 'oct.xml', 'hash-lixin', 'loaded');
    await insertFile('341623.mzj', 'bad.csv', 'hash-bad', 'failed');
    const yeji = [...households('341504', '2026-09', 2), ...households('341504', '2026-10', 3)];
    const lixin = households('341623', '2026-10', 4);
    for (const [dept, list] of [['341504.mzj', yeji], ['341623.mzj', lixin]] as const) {
      for (const h of list) {
        await old.query(
          `INSERT INTO filedrop_rows (dataset, department, row_key, source_file, period, region_code, subject_id, data)
           VALUES ('dibao', $1, $2, $3, $4, $5, $6, $7::jsonb)`,
          [dept, rowKey(dibao, { ...h }), dept === '341623.mzj' ? 'oct.xml' : h.month === '2026-09' ? 'sep.csv' : 'oct.csv',
            h.month, h.regionCode, h.headIdNumber, JSON.stringify(h)],
        );
      }
    }
    await old.close();

    await store.close();
    store = await createPgliteDatasetStore({ dataDir: path });
    expect(byKey(await all())).toEqual(byKey([...yeji, ...lixin]));
    expect(await store.versions(YEJI)).toEqual([
      expect.objectContaining({ version: 1, kind: 'file', rows: 5, added: 5, fileName: null, contentHash: null }),
    ]);
    expect(await store.versions(LIXIN)).toEqual([
      expect.objectContaining({ version: 1, rows: 4, fileName: 'oct.xml', contentHash: 'hash-lixin', publishedAt: new Date('2026-10-06T00:00:00Z') }),
    ]);
    expect((await store.events(0, 10)).map((e) => e.id)).toEqual(['dibao/341504.mzj/v1', 'dibao/341623.mzj/v1']);

    // Files loaded (or superseded) before the upgrade count as published: dropped again, no new version.
    for (const hash of ['hash-oct', 'hash-oct-old']) {
      expect(await publish(YEJI, households('341504', '2026-10', 1), { hash })).toMatchObject({ published: false, reason: 'same-content', equals: { version: 1 } });
    }
    // A failed one does not: it is read and published like any new file.
    expect(await publish(LIXIN, households('341623', '2026-11', 1), { hash: 'hash-bad' })).toMatchObject({ published: true, version: { version: 2, rows: 5 } });
    // The old rows are version 1's: rollback still works across the upgrade.
    expect((await store.rollback(LIXIN, 1, null, new Date())).version).toMatchObject({ version: 3, rows: 4 });
  });
});
