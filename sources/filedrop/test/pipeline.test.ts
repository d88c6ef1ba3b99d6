import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import type { ChangeEvent, DatasetRef, DatasetStore, DropPipeline, DropReport } from '../model.ts';
import { attemptIdOf, createDropPipeline, decideOutcome, periodFromFileName, resolveDropFolder, type DropPipelineOptions } from '../pipeline.ts';
import { createPgliteDatasetStore } from '../store.ts';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { writeDemoDrops } from '../demo-drops.ts';
import { csv, freshStoreDir, household, households, STANDARD_HEADERS, standardCells, tempDir, withWrongCheckDigit, xlsxBomb } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
const YEJI: DatasetRef = { dataset: 'dibao', department: '341504.mzj' };

let dir: { path: string; cleanup: () => Promise<void> };
let dropDir: string;
let store: DatasetStore;
let pipeline: DropPipeline;
let tick: number;
const warnings: string[] = [];

/** A clock that moves one second per reading: attempt ids differ, time is deterministic. */
const clock = (): Date => new Date(Date.UTC(2026, 10, 5, 2, 0, tick++));

function makePipeline(extra: Partial<DropPipelineOptions> = {}): DropPipeline {
  return createDropPipeline({
    dropDir, store, datasets: [dibao], now: clock,
    logger: { info: () => undefined, warn: (m) => warnings.push(m) },
    ...extra,
  });
}

beforeEach(async () => {
  dir = await tempDir('filedrop-pipeline-');
  dropDir = join(dir.path, 'drop');
  tick = 0;
  warnings.length = 0;
  store = await createPgliteDatasetStore({ dataDir: await freshStoreDir(join(dir.path, 'store')) });
  pipeline = makePipeline();
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

const table = (rows: readonly DemoAllowanceHousehold[]) => [STANDARD_HEADERS, ...rows.map(standardCells)];
const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function drop(department: string, name: string, bytes: string | Uint8Array, dataset = 'dibao'): Promise<string> {
  const folder = join(dropDir, department, dataset);
  await mkdir(folder, { recursive: true });
  const path = join(folder, name);
  await writeFile(path, bytes);
  return path;
}

const month = async (m: string) => (await store.households({ month: m, limit: 5000, offset: 0 })).items;
const total = async () => (await store.households({ limit: 1, offset: 0 })).total;
const asServed = (h: DemoAllowanceHousehold) => ({ ...h, monthlyAmount: Math.round(h.monthlyAmount * 100) / 100 });
const filesIn = async (rel: string) => (await readdir(join(dropDir, rel)).catch(() => [] as string[])).sort();

/** The original lies, byte for byte, where the report says, and nowhere else in its folder. */
async function expectPreserved(report: DropReport, bytes: string | Uint8Array, folder = '341504.mzj/dibao'): Promise<void> {
  expect(report.movedTo).not.toBeNull();
  expect(report.movedTo!.startsWith(`${folder}/${report.outcome === 'rejected' ? 'quarantine' : 'archive'}/`)).toBe(true);
  expect(sha256(await readFile(join(dropDir, report.movedTo!)))).toBe(sha256(bytes));
  expect(report.contentHash).toBe(sha256(bytes));
  expect((await filesIn(folder)).filter((n) => !['archive', 'quarantine', 'reports'].includes(n))).toEqual([]);
}

describe('versions from dropped files', () => {
  it('publishes a first file as v1, another month as v2, and a corrected month as v3 replacing that month only', async () => {
    const sep = households('341504', '2026-09', 3);
    const oct = households('341504', '2026-10', 4);
    const sepBytes = csv(table(sep));
    const r1 = await pipeline.ingestFile(await drop('341504.mzj', '低保名册-2026-09.csv', sepBytes), { actor: 'clerk-1' });
    expect(r1).toMatchObject({
      ...YEJI, outcome: 'published', version: 1, format: 'csv', encoding: 'utf-8', rowsTotal: 3, rowsAccepted: 3, rowsRejected: 0,
      issues: [], reason: null, actor: 'clerk-1', fileName: '低保名册-2026-09.csv', bytes: Buffer.byteLength(sepBytes),
    });
    expect(r1.id).toBe(attemptIdOf(r1.receivedAt, r1.contentHash));
    expect(r1.movedTo).toBe(`341504.mzj/dibao/archive/v1-${r1.id}-低保名册-2026-09.csv`);
    await expectPreserved(r1, sepBytes);

    const r2 = await pipeline.ingestFile(await drop('341504.mzj', '低保名册-2026-10.csv', csv(table(oct))));
    expect(r2).toMatchObject({ outcome: 'published', version: 2 });
    const corrected = [oct[0]!, { ...oct[1]!, members: 5 }, household('341504', '2026-10', 7)];
    const r3 = await pipeline.ingestFile(await drop('341504.mzj', '低保名册-2026-10-更正.csv', csv(table(corrected))));
    expect(r3).toMatchObject({ outcome: 'published', version: 3 });

    expect((await month('2026-10')).map((h) => h.householdId).sort()).toEqual(corrected.map((h) => h.householdId).sort());
    expect(await month('2026-09')).toEqual(sep.map(asServed));
    const versions = await pipeline.versions(YEJI);
    expect(versions.map((v) => [v.version, v.rows, v.added, v.changed, v.removed])).toEqual([[3, 6, 1, 1, 2], [2, 7, 4, 0, 0], [1, 3, 3, 0, 0]]);
    expect(versions[2]).toMatchObject({ fileName: '低保名册-2026-09.csv', contentHash: r1.contentHash, archivedAs: r1.movedTo, actor: 'clerk-1' });
    expect((await pipeline.reports({ department: '341504.mzj' })).map((r) => r.id)).toEqual([r3.id, r2.id, r1.id]);
    // Without a report writer, the pipeline writes the JSON report itself.
    expect(r1.reportFiles).toEqual([`341504.mzj/dibao/reports/${r1.id}.json`]);
    expect(JSON.parse(await readFile(join(dropDir, r1.reportFiles[0]!), 'utf8'))).toEqual(JSON.parse(JSON.stringify(r1)));
  });

  it('hands every report to the report writer, listing its three files', async () => {
    const calls: Array<{ dropDir: string; id: string; definition: string }> = [];
    pipeline = makePipeline({ writeReports: async ({ dropDir: d, report, definition }) => void calls.push({ dropDir: d, id: report.id, definition: definition.name }) });
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(households('341504', '2026-10', 2)))));
    expect(calls).toEqual([{ dropDir, id: r.id, definition: 'dibao' }]);
    expect(r.reportFiles).toEqual(['json', 'csv', 'xlsx'].map((ext) => `341504.mzj/dibao/reports/${r.id}.${ext}`));
    expect(await filesIn('341504.mzj/dibao/reports')).toEqual([]); // the writer owns them
  });

  it('takes the month from the file name when the roster has no month column', async () => {
    const rows = households('341504', '2026-10', 2);
    const headers = STANDARD_HEADERS.slice(0, 9);
    await pipeline.ingestFile(await drop('341504.mzj', '叶集区2026年10月低保名册.csv', csv([headers, ...rows.map((r) => standardCells(r).slice(0, 9))])));
    expect(await month('2026-10')).toEqual(rows.map(asServed));
    expect(periodFromFileName('利辛县低保名册-2026-09.xml')).toBe('2026-09');
    expect(periodFromFileName('202611.csv')).toBe('2026-11');
    expect(periodFromFileName('名册.csv')).toBeUndefined();
  });

  it('reports reading, publishing and done progress with the file’s size', async () => {
    const bytes = csv(table(households('341504', '2026-10', 2500)));
    const seen: Array<{ phase: string; rowsRead: number; bytesRead: number; bytesTotal: number }> = [];
    await pipeline.ingestFile(await drop('341504.mzj', 'big-2026-10.csv', bytes), { onProgress: (p) => seen.push({ ...p }) });
    const phases = seen.map((p) => p.phase);
    expect(phases[0]).toBe('reading');
    expect(phases.slice(phases.indexOf('publishing'))).toEqual(['publishing', 'done']);
    expect(seen.every((p) => p.bytesTotal === Buffer.byteLength(bytes) && p.bytesRead <= p.bytesTotal)).toBe(true);
    const reading = seen.filter((p) => p.phase === 'reading').map((p) => p.rowsRead);
    expect(reading).toEqual([...reading].sort((a, b) => a - b));
    expect(reading.at(-1)).toBe(2500);
    expect(seen.at(-1)).toMatchObject({ rowsRead: 2500, bytesRead: Buffer.byteLength(bytes) });
  });
});

describe('idempotency', () => {
  it('makes no version for the same bytes dropped again, under any name, and archives them', async () => {
    const bytes = csv(table(households('341504', '2026-10', 3)));
    const events: ChangeEvent[] = [];
    pipeline.onEvent((e) => events.push(e));
    const first = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', bytes));
    const again = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', bytes));
    const renamed = await pipeline.ingestFile(await drop('341504.mzj', '副本-a-2026-10.csv', bytes));
    for (const r of [again, renamed]) {
      expect(r).toMatchObject({ outcome: 'unchanged', version: 1, reason: expect.stringContaining('v1') });
      expect(r.movedTo).toBe(`341504.mzj/dibao/archive/v1-${r.id}-${r.fileName}`);
      await expectPreserved(r, bytes);
    }
    expect(first.movedTo).not.toBe(again.movedTo);
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([1]);
    expect(events.map((e) => e.version)).toEqual([1]);
    expect(await pipeline.events(0, 10)).toHaveLength(1);
  });

  it('makes no version for the same rows in other bytes (reordered, another format)', async () => {
    const rows = households('341504', '2026-10', 4);
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(rows))));
    const reordered = csv(table([...rows].reverse()), { eol: '\r\n' });
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', reordered));
    expect(r).toMatchObject({ outcome: 'unchanged', version: 1, rowsAccepted: 4, reason: expect.stringContaining('当前版本 v1') });
    await expectPreserved(r, reordered);
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([1]);
  });

  it('gives two attempts on the same bytes in the same second distinct ids', async () => {
    pipeline = makePipeline({ now: () => new Date('2026-11-05T02:00:00Z') });
    const bytes = csv(table(households('341504', '2026-10', 1)));
    const a = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', bytes));
    const b = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', bytes));
    expect(b.id).toBe(`${a.id}-2`);
    expect(await filesIn('341504.mzj/dibao/archive')).toHaveLength(2);
  });
});

describe('rollback', () => {
  it('restores version 1’s rows as version 4 and tells listeners', async () => {
    const v1 = households('341504', '2026-10', 3);
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(v1))));
    await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-11.csv', csv(table(households('341504', '2026-11', 2)))));
    await pipeline.ingestFile(await drop('341504.mzj', 'c-2026-10.csv', csv(table(v1.slice(0, 1)))));
    const events: ChangeEvent[] = [];
    pipeline.onEvent((e) => events.push(e));
    const version = await pipeline.rollback(YEJI, 1, 'operator');
    expect(version).toMatchObject({ version: 4, kind: 'rollback', restoredFrom: 1, rows: 3, actor: 'operator' });
    expect(events).toEqual([expect.objectContaining({ id: 'dibao/341504.mzj/v4', kind: 'rollback', rows: 3 })]);
    expect(await month('2026-10')).toEqual(v1.map(asServed));
    expect(await month('2026-11')).toEqual([]);
  });

  it('refuses the current version, a missing version or an unknown dataset with a clear error, changing nothing', async () => {
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(households('341504', '2026-10', 2)))));
    const cases: Array<[DatasetRef, number, string]> = [[YEJI, 1, '已是当前版本'], [YEJI, 7, '没有版本 v7'], [{ dataset: 'shebao', department: '341504.mzj' }, 1, 'shebao']];
    for (const [ref, to, words] of cases) {
      const error = await pipeline.rollback(ref, to, null).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((error as Error).message).toContain(words);
    }
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([1]);
    expect(await pipeline.events(0, 10)).toHaveLength(1);
  });

  it('keeps a rollback when the rolled-back file is dropped again', async () => {
    const bytes2 = csv(table(households('341504', '2026-10', 5)));
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(households('341504', '2026-10', 2)))));
    await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', bytes2));
    await pipeline.rollback(YEJI, 1, null);
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', bytes2));
    expect(r).toMatchObject({ outcome: 'unchanged', version: 2 });
    expect(await total()).toBe(2);
  });
});

describe('the publish policy', () => {
  const withBadIds = (n: number, bad: number) =>
    households('341504', '2026-10', n).map((h, i) => (i < bad ? { ...h, headIdNumber: withWrongCheckDigit(h.headIdNumber) } : h));

  it('publishes the valid rows under the threshold and lists each bad one: row, the department’s column, value, reason', async () => {
    // 2 of 20 = 10 %, the dibao threshold: at it the file still publishes.
    const ok = withBadIds(20, 1);
    ok[5] = household('341623', '2026-10', 5); // 利辛县 row in 叶集区's folder: outside the jurisdiction
    const okBytes = csv(table(ok));
    const p = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', okBytes));
    expect(p).toMatchObject({ outcome: 'partially-published', version: 1, rowsTotal: 20, rowsAccepted: 18, rowsRejected: 2, reason: null });
    expect(p.issues).toEqual([
      { row: 2, column: '户主身份证号', value: ok[0]!.headIdNumber, reason: expect.stringContaining('校验码') },
      { row: 7, column: '行政区划代码', value: '341623', reason: expect.stringContaining('辖区') },
    ]);
    expect(await total()).toBe(18);
    await expectPreserved(p, okBytes);
  });

  it('rejects a file over the threshold, keeps serving the previous version and quarantines the original', async () => {
    const good = households('341504', '2026-10', 20);
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(good))));
    const bad = withBadIds(20, 3);
    const bytes = csv(table(bad));
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', bytes));
    expect(r).toMatchObject({ outcome: 'rejected', version: null, rowsTotal: 20, rowsRejected: 3, reason: expect.stringContaining('超过本数据集允许的 10%') });
    expect(r.issues.map((i) => i.row)).toEqual([2, 3, 4]);
    expect(r.movedTo).toBe(`341504.mzj/dibao/quarantine/${r.id}-b-2026-10.csv`);
    await expectPreserved(r, bytes);
    expect(await month('2026-10')).toEqual(good.map(asServed));
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([1]);
  });

  it('rejects a file whose every row is invalid', async () => {
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(withBadIds(2, 2)))));
    expect(r).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('全部 2 行') });
  });

  it('rejects a file with a duplicate key, naming both rows', async () => {
    const rows = households('341504', '2026-10', 4);
    rows.push({ ...rows[1]!, members: 3 });
    const bytes = csv(table(rows));
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', bytes));
    expect(r).toMatchObject({ outcome: 'rejected', version: null, reason: expect.stringContaining('重复') });
    expect(r.issues).toEqual([{ row: 6, column: '户编号+保障月份', value: `${rows[1]!.householdId} + 2026-10`, reason: '第 6 行与第 3 行的 户编号+保障月份 重复' }]);
    await expectPreserved(r, bytes);
    expect(await total()).toBe(0);
  });

  it('keeps the first maxIssues issues and counts every rejected row', async () => {
    pipeline = makePipeline({ maxIssues: 3 });
    const rows = households('341504', '2026-10', 100).map((h, i) => (i % 10 === 0 ? { ...h, members: -1 as number } : h));
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(rows))));
    expect(r).toMatchObject({ outcome: 'partially-published', rowsRejected: 10 });
    expect(r.issues).toHaveLength(3);
  });

  it('decides from the counts alone', () => {
    const base = { rowsTotal: 10, rowsRejected: 0, duplicateKeys: 0, maxRejectedRatio: 0.1, keyLabel: '户编号+保障月份' };
    expect(decideOutcome(base)).toEqual({ publish: true, outcome: 'published' });
    expect(decideOutcome({ ...base, rowsRejected: 1 })).toEqual({ publish: true, outcome: 'partially-published' });
    expect(decideOutcome({ ...base, rowsRejected: 2 })).toMatchObject({ publish: false });
    expect(decideOutcome({ ...base, rowsTotal: 0 })).toEqual({ publish: false, reason: '文件中没有数据行' });
    expect(decideOutcome({ ...base, duplicateKeys: 1 })).toMatchObject({ publish: false, reason: expect.stringContaining('户编号+保障月份') });
    expect(decideOutcome({ ...base, rowsRejected: 10, maxRejectedRatio: 1 })).toMatchObject({ publish: false, reason: expect.stringContaining('全部') });
  });
});

describe('change events', () => {
  it('lists every publication and rollback in order and tells listeners only after the commit', async () => {
    let committed = 0;
    const watched: DatasetStore = {
      ...store,
      publish: async (...args) => {
        const result = await store.publish(...args);
        committed++;
        return result;
      },
    };
    pipeline = makePipeline({ store: watched });
    const calls: Array<[number, number]> = [];
    pipeline.onEvent(() => {
      throw new Error('a broken subscriber');
    });
    const off = pipeline.onEvent((e) => calls.push([e.version, committed]));
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-10.csv', csv(table(households('341504', '2026-10', 2)))));
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-11.csv', csv(table(households('341504', '2026-11', 2)))));
    expect(r.outcome).toBe('published'); // the throwing listener broke nothing
    await pipeline.rollback(YEJI, 1, null);
    off();
    await pipeline.ingestFile(await drop('341504.mzj', 'c-2026-12.csv', csv(table(households('341504', '2026-12', 1)))));
    expect(calls).toEqual([[1, 1], [2, 2], [3, 2]]);
    const events = await pipeline.events(0, 10);
    expect(events.map((e) => [e.version, e.kind])).toEqual([[1, 'file'], [2, 'file'], [3, 'rollback'], [4, 'file']]);
    expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    expect(warnings.filter((w) => w.includes('listener'))).toHaveLength(4); // the throwing one stayed subscribed
  });
});

describe('store failures', () => {
  it('leaves the file where it was, stages nothing and rethrows; a retry then publishes', async () => {
    const failing: DatasetStore = { ...store, publish: async () => Promise.reject(new Error('disk full')) };
    const bytes = csv(table(households('341504', '2026-10', 3)));
    const path = await drop('341504.mzj', 'a-2026-10.csv', bytes);
    let staged: string | undefined;
    const spying: DatasetStore = {
      ...failing,
      stage: async (ref, id) => {
        staged = id;
        return store.stage(ref, id);
      },
    };
    await expect(makePipeline({ store: spying }).ingestFile(path)).rejects.toThrow('disk full');
    expect(sha256(await readFile(path))).toBe(sha256(bytes));
    expect(await (await store.stage(YEJI, staged!)).count()).toBe(0);
    expect(await pipeline.reports({})).toEqual([]);
    expect(await pipeline.ingestFile(path)).toMatchObject({ outcome: 'published', version: 1 });
  });
});

describe('paths the pipeline refuses', () => {
  it('throws DATASET_FILE_INVALID for a path outside the dataset folders, with .., a temporary name or a directory', async () => {
    await mkdir(join(dropDir, '341504.mzj', 'dibao', 'sub'), { recursive: true });
    await writeFile(join(dir.path, 'outside.csv'), 'x');
    await writeFile(join(dropDir, 'top.csv'), 'x');
    await mkdir(join(dropDir, 'misc', 'dibao'), { recursive: true });
    await writeFile(join(dropDir, 'misc', 'dibao', 'a.csv'), 'x');
    const paths = [
      join(dir.path, 'outside.csv'),
      join(dropDir, 'top.csv'),
      join(dropDir, 'misc', 'dibao', 'a.csv'),
      `${dropDir}/341504.mzj/dibao/../dibao/a.csv`,
      await drop('341504.mzj', '~$a.xlsx', 'lock'),
      await drop('341504.mzj', 'a.csv.part', 'partial'),
      join(dropDir, '341504.mzj', 'dibao', 'sub'),
      join(dropDir, '341504.mzj', 'dibao', 'missing.csv'),
    ];
    for (const path of paths) await expect(pipeline.ingestFile(path)).rejects.toMatchObject({ code: 'DATASET_FILE_INVALID' });
    expect(await pipeline.reports({})).toEqual([]);
    expect(await readFile(join(dropDir, 'misc', 'dibao', 'a.csv'), 'utf8')).toBe('x');
  });

  it('resolves folders to a dataset, a department it does not list, or no dataset', () => {
    expect(resolveDropFolder('341504.mzj/dibao', [dibao])).toMatchObject({ kind: 'dataset', department: '341504.mzj', allowed: true });
    expect(resolveDropFolder('341100.mzj/dibao', [dibao])).toMatchObject({ kind: 'dataset', department: '341100.mzj', allowed: false });
    expect(resolveDropFolder('341504.mzj/shebao', [dibao])).toMatchObject({ kind: 'unknown-dataset', dataset: 'shebao' });
    for (const f of ['341504.mzj', '341504.mzj/dibao/archive', 'misc/dibao', '341504.mzj/archive', '341504.mzj/../dibao']) {
      expect(resolveDropFolder(f, [dibao])).toBeUndefined();
    }
  });
});

describe('scan', () => {
  it('ingests waiting files in name order, never the hub’s own folders or temporary files, and lists folder problems', async () => {
    await rmDropDir();
    const empty = await pipeline.scan();
    expect(empty).toEqual({ reports: [], problems: [] });
    expect(await filesIn('')).toEqual([]); // the drop directory was created

    await drop('341504.mzj', 'b-2026-10.csv', csv(table(households('341504', '2026-10', 2))));
    await drop('341504.mzj', 'a-2026-09.csv', csv(table(households('341504', '2026-09', 1))));
    await drop('341504.mzj', '.a.csv.tmp', 'partial');
    await drop('341623.mzj', 'c-2026-10.csv', csv(table(households('341623', '2026-10', 3))));
    await mkdir(join(dropDir, '341504.mzj', 'dibao', 'archive'), { recursive: true });
    await writeFile(join(dropDir, '341504.mzj', 'dibao', 'archive', 'old.csv'), 'kept as it is');
    await mkdir(join(dropDir, 'misc'), { recursive: true });
    const unknown = await drop('341504.mzj', 'x.csv', 'a,b\n1,2\n', 'shebao');
    await drop('341100.mzj', 'y-2026-10.csv', csv(table(households('341100', '2026-10', 1))));

    const result = await pipeline.scan();
    expect(result.reports.map((r) => [`${r.department}/${r.dataset}/${r.fileName}`, r.outcome, r.version])).toEqual([
      ['341100.mzj/dibao/y-2026-10.csv', 'rejected', null],
      ['341504.mzj/dibao/a-2026-09.csv', 'published', 1],
      ['341504.mzj/dibao/b-2026-10.csv', 'published', 2],
      ['341504.mzj/shebao/x.csv', 'rejected', null],
      ['341623.mzj/dibao/c-2026-10.csv', 'published', 1],
    ]);
    expect(result.reports[0]!.reason).toContain('本部门未获准投递此数据集');
    expect(result.reports[3]!.reason).toContain('不是已定义的数据集');
    expect(result.problems).toEqual([
      expect.stringContaining('341100.mzj/dibao：本部门未获准投递'),
      expect.stringContaining('341504.mzj/shebao：不是已定义的数据集目录'),
      expect.stringContaining('“misc”不是部门目录'),
    ]);
    await expectPreserved(result.reports[3]!, 'a,b\n1,2\n', '341504.mzj/shebao');
    expect(await filesIn('341504.mzj/shebao/reports')).toEqual([`${result.reports[3]!.id}.json`]);
    expect(unknown).toBeTruthy();
    expect(await readFile(join(dropDir, '341504.mzj', 'dibao', 'archive', 'old.csv'), 'utf8')).toBe('kept as it is');
    expect(await filesIn('341504.mzj/dibao')).toEqual(['.a.csv.tmp', 'archive', 'reports']);

    expect((await pipeline.scan()).reports).toEqual([]); // everything was moved out of the way
  });
});

describe('status', () => {
  it('gives the freshness of every department the dataset lists', async () => {
    await pipeline.ingestFile(await drop('341504.mzj', 'a-2026-11.csv', csv(table(households('341504', '2026-11', 2)))));
    const status = await pipeline.status(new Date('2026-11-10T00:00:00Z'));
    expect(status.map((s) => [s.department, s.state, s.currentVersion, s.rows, s.lastDrop?.outcome ?? null])).toEqual([
      ['341504.mzj', 'fresh', 1, 2, 'published'],
      ['341623.mzj', 'never', null, 0, null],
    ]);
    expect(pipeline.folderOf(YEJI)).toBe(join(dropDir, '341504.mzj', 'dibao'));
    expect(pipeline.folderOf({ dataset: 'dibao', department: '341100.mzj' })).toBeUndefined();
  });
});

async function rmDropDir(): Promise<void> {
  await rm(dropDir, { recursive: true, force: true });
}

async function xlsxOf(rows: readonly DemoAllowanceHousehold[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('低保名册');
  ws.addRow(STANDARD_HEADERS);
  for (const r of rows) {
    const cells: unknown[] = standardCells(r);
    cells[3] = r.members;
    cells[4] = r.monthlyAmount;
    cells[7] = new Date(`${r.approvalDate}T00:00:00Z`);
    ws.addRow(cells);
    ws.lastRow!.getCell(8).numFmt = 'yyyy-mm-dd';
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function xmlOf(rows: readonly DemoAllowanceHousehold[], prolog = ''): string {
  const el = (n: string, v: string | number) => `<${n}>${v}</${n}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>${prolog}\n<名册>${rows
    .map((r) =>
      `<家庭>${el('户编号', r.householdId)}${el('户主姓名', r.headName)}${el('证件号码', r.headIdNumber)}${el('人口数', r.members)}` +
      `${el('保障金额', r.monthlyAmount.toFixed(2))}${el('乡镇', r.township)}${el('村居', r.village)}${el('批准日期', r.approvalDate.replace(/-0?/g, '/'))}` +
      `${el('行政区划代码', r.regionCode)}${el('保障月份', r.month.replace('-', ''))}</家庭>`,
    )
    .join('\n')}</名册>`;
}

describe('bad input, end to end', () => {
  // Each case: the report says why in Chinese, nothing is published (the previous version is
  // still served, whole), and the original lies byte for byte in quarantine/.
  const previous = households('341504', '2026-10', 3);
  beforeEach(async () => {
    await pipeline.ingestFile(await drop('341504.mzj', 'good-2026-10.csv', csv(table(previous))));
  });

  async function expectRejected(name: string, bytes: string | Uint8Array, words: string, { department = '341504.mzj', dataset = 'dibao' } = {}): Promise<DropReport> {
    const r = await pipeline.ingestFile(await drop(department, name, bytes, dataset));
    expect(r).toMatchObject({ outcome: 'rejected', version: null });
    expect(r.reason).toContain(words);
    expect(r.issues.length).toBeGreaterThan(0);
    await expectPreserved(r, bytes, `${department}/${dataset}`);
    expect(await month('2026-10')).toEqual(previous.map(asServed));
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([1]);
    expect(await pipeline.events(0, 10)).toHaveLength(1);
    return r;
  }

  it('an empty file', () => expectRejected('a-2026-10.csv', '', '文件为空'));
  it('a header without rows', () => expectRejected('a-2026-10.csv', csv([STANDARD_HEADERS]), '文件中没有数据行'));
  it('unknown columns only', () => expectRejected('a-2026-10.csv', '编号,名字,金额\n1,张三,100\n', '必填列'));
  it('a required column missing', async () => {
    const rows = households('341504', '2026-10', 2).map((h) => standardCells(h).filter((_, i) => i !== 2));
    const r = await expectRejected('a-2026-10.csv', csv([STANDARD_HEADERS.filter((_, i) => i !== 2), ...rows]), '缺少必填列');
    expect(r.reason).toContain('户主公民身份号码');
  });
  it('bytes that are neither UTF-8 nor GBK', () =>
    expectRejected('a-2026-10.csv', Buffer.concat([Buffer.from(`${STANDARD_HEADERS.join(',')}\n`), Buffer.from([0x81, 0x20, 0xff, 0xff, 0x0a])]), '编码'));
  it('a file over the size limit', async () => {
    pipeline = makePipeline({ parse: { maxBytes: 1024 } });
    await expectRejected('big-2026-10.csv', csv(table(households('341504', '2026-10', 40))), '超过 1 KB 的上限');
  });
  it('an unsupported format', () => expectRejected('名册-2026-10.xls', 'not really excel', '.xls'));
  it('a garbage .xlsx', () => expectRejected('a-2026-10.xlsx', Buffer.from('PK\u0003\u0004 this is not a workbook'), 'XLSX'));
  it('an .xlsx zip bomb', () => expectRejected('a-2026-10.xlsx', xlsxBomb(50), '压缩炸弹'));
  it('an XML file with a DOCTYPE', () =>
    expectRejected('a-2026-10.xml', xmlOf(households('341504', '2026-10', 1), '<!DOCTYPE 名册 [<!ENTITY a "aaaa">]>'), 'DOCTYPE'));
  it('a file in a folder of no defined dataset', () => expectRejected('a.csv', 'x,y\n1,2\n', '不是已定义的数据集', { dataset: 'shebao' }));
  it('a department the dataset does not list', () =>
    expectRejected('a-2026-10.csv', csv(table(households('341100', '2026-10', 1))), '本部门未获准投递此数据集', { department: '341100.mzj' }));

  it('a symbolic link: refused, not followed, its target untouched', async () => {
    const target = join(dir.path, 'elsewhere-2026-10.csv');
    const targetBytes = csv(table(households('341504', '2026-10', 5)));
    await writeFile(target, targetBytes);
    const link = join(dropDir, '341504.mzj', 'dibao', 'link-2026-10.csv');
    await symlink(target, link);
    const r = await pipeline.ingestFile(link);
    expect(r).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('不是普通文件'), bytes: 0 });
    expect((await lstat(join(dropDir, r.movedTo!))).isSymbolicLink()).toBe(true);
    expect(sha256(await readFile(target))).toBe(sha256(targetBytes));
    expect(await month('2026-10')).toEqual(previous.map(asServed));
  });

  it('a row outside the department’s jurisdiction is rejected on its own', async () => {
    const rows = [...households('341504', '2026-10', 10), household('341623', '2026-10', 11)];
    pipeline = createDropPipeline({ dropDir, store, datasets: [{ ...dibao, publish: { maxRejectedRatio: 0.5 } }], now: clock });
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'b-2026-10.csv', csv(table(rows))));
    expect(r).toMatchObject({ outcome: 'partially-published', rowsAccepted: 10, rowsRejected: 1 });
    expect(r.issues).toEqual([{ row: 12, column: '行政区划代码', value: '341623', reason: expect.stringContaining('不在本部门辖区') }]);
  });

  it('a GBK (GB18030) file with rare characters in names is published as written', async () => {
    const rows = households('341504', '2026-11', 3).map((h, i) => ({ ...h, headName: ['王𠮷', '刘䶮', '张三'][i]! }));
    const bytes = iconv.encode(csv(table(rows), { eol: '\r\n' }), 'gb18030');
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    const r = await pipeline.ingestFile(await drop('341504.mzj', 'gbk-2026-11.csv', bytes));
    expect(r).toMatchObject({ outcome: 'published', version: 2, encoding: 'gb18030', rowsAccepted: 3 });
    expect((await month('2026-11')).map((h) => h.headName)).toEqual(['王𠮷', '刘䶮', '张三']);
    await expectPreserved(r, bytes);
  });
});

describe('formats', () => {
  it('reads every format into the right rows', async () => {
    const m = (n: number) => `2026-0${n}`;
    const sets = [1, 2, 3, 4, 5, 6, 7].map((n) => households('341504', m(n), 3));
    const withNewline = sets[4]!.map((h, i) => (i === 1 ? { ...h, village: '东风村\r\n二组' } : h));
    await drop('341504.mzj', 'bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv(table(sets[0]!)))]));
    await drop('341504.mzj', 'plain.csv', csv(table(sets[1]!)));
    await drop('341504.mzj', 'gbk.csv', iconv.encode(csv(table(sets[2]!), { eol: '\r\n' }), 'gbk'));
    await drop('341504.mzj', 'tabs.txt', csv(table(sets[3]!), { delimiter: '\t' }));
    await drop('341504.mzj', 'newline-crlf.csv', csv(table(withNewline), { eol: '\r\n' }));
    await drop('341504.mzj', 'book.xlsx', await xlsxOf(sets[5]!));
    await drop('341504.mzj', 'roster.xml', xmlOf(sets[6]!));

    const result = await pipeline.scan();
    expect(result.problems).toEqual([]);
    expect(result.reports.map((r) => [r.fileName, r.outcome, r.format, r.rowsAccepted])).toEqual([
      ['bom.csv', 'published', 'csv', 3], ['book.xlsx', 'published', 'xlsx', 3], ['gbk.csv', 'published', 'csv', 3],
      ['newline-crlf.csv', 'published', 'csv', 3], ['plain.csv', 'published', 'csv', 3], ['roster.xml', 'published', 'xml', 3],
      ['tabs.txt', 'published', 'csv', 3],
    ]);
    expect(result.reports[2]!.encoding).toBe('gb18030');
    const expected = [sets[0]!, sets[1]!, sets[2]!, sets[3]!, withNewline, sets[5]!, sets[6]!];
    for (const [i, rows] of expected.entries()) expect(await month(m(i + 1))).toEqual(rows.map(asServed));
    expect((await pipeline.versions(YEJI)).map((v) => v.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('loads the demo drops, written as each county exports them, back to the same rows', async () => {
    const demo = [...households('341504', '2026-09', 3), ...households('341504', '2026-10', 3), ...households('341623', '2026-09', 2), ...households('341623', '2026-10', 2)];
    const written = await writeDemoDrops(dropDir, demo);
    expect(written.written).toHaveLength(4);
    const result = await pipeline.scan();
    expect(result.reports.map((r) => [r.outcome, r.rowsAccepted, r.rowsRejected])).toEqual([['published', 3, 0], ['published', 3, 0], ['published', 2, 0], ['published', 2, 0]]);
    const all = (await store.households({ limit: 500, offset: 0 })).items;
    const byKey = (h: { householdId: string; month: string }) => `${h.month}|${h.householdId}`;
    expect([...all].sort((a, b) => byKey(a).localeCompare(byKey(b)))).toEqual(demo.map(asServed).sort((a, b) => byKey(a).localeCompare(byKey(b))));
    // Written again, the demo drops are new files with the same bytes: nothing new is published.
    await writeDemoDrops(dropDir, demo);
    expect((await pipeline.scan()).reports.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });
});
