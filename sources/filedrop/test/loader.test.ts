import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import { writeDemoDrops } from '../demo-drops.ts';
import { loadDropFolder, periodFromFileName, type LoadReport } from '../loader.ts';
import { createPgliteDatasetStore, type DatasetStore } from '../store.ts';
import { csv, freshStoreDir, household, households, idNumber, STANDARD_HEADERS, standardCells, tempDir, withWrongCheckDigit, xlsxBomb } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);

let dir: { path: string; cleanup: () => Promise<void> };
let dropDir: string;
let store: DatasetStore;

beforeEach(async () => {
  dir = await tempDir('filedrop-loader-');
  dropDir = join(dir.path, 'drop');
  store = await createPgliteDatasetStore({ dataDir: await freshStoreDir(join(dir.path, 'store')) });
});
afterEach(async () => {
  await store.close();
  await dir.cleanup();
});

async function drop(department: string, name: string, bytes: string | Uint8Array): Promise<string> {
  const folder = join(dropDir, department, 'dibao');
  await mkdir(folder, { recursive: true });
  const path = join(folder, name);
  await writeFile(path, bytes);
  return path;
}

const load = (): Promise<LoadReport> => loadDropFolder({ dropDir, store, datasets: [dibao] });
const fileReport = (report: LoadReport, name: string) => report.files.find((f) => f.fileName === name)!;
const month = async (m: string) => (await store.households({ month: m, limit: 500, offset: 0 })).items;
const asServed = (h: DemoAllowanceHousehold) => ({ ...h, monthlyAmount: Math.round(h.monthlyAmount * 100) / 100 });
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

const table = (rows: DemoAllowanceHousehold[]) => [STANDARD_HEADERS, ...rows.map(standardCells)];

async function xlsxOf(rows: DemoAllowanceHousehold[]): Promise<Buffer> {
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

function xmlOf(rows: DemoAllowanceHousehold[], prolog = ''): string {
  const el = (n: string, v: string | number) => `<${n}>${v}</${n}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>${prolog}\n<名册>${rows
    .map((r) =>
      `<家庭>${el('户编号', r.householdId)}${el('户主姓名', r.headName)}${el('证件号码', r.headIdNumber)}${el('人口数', r.members)}` +
      `${el('保障金额', r.monthlyAmount.toFixed(2))}${el('乡镇', r.township)}${el('村居', r.village)}${el('批准日期', r.approvalDate.replace(/-0?/g, '/'))}` +
      `${el('行政区划代码', r.regionCode)}${el('保障月份', r.month.replace('-', ''))}</家庭>`,
    )
    .join('\n')}</名册>`;
}

describe('loading a drop folder', () => {
  it('loads every format into the right rows', async () => {
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

    const report = await load();
    expect(report.problems).toEqual([]);
    expect(report.files.map((f) => [f.fileName, f.status, f.rowsAccepted, f.rowsRejected])).toEqual(
      ['bom.csv', 'book.xlsx', 'gbk.csv', 'newline-crlf.csv', 'plain.csv', 'roster.xml', 'tabs.txt'].map((n) => [n, 'loaded', 3, 0]),
    );
    expect(fileReport(report, 'gbk.csv').encoding).toBe('gb18030');
    const expected = [sets[0]!, sets[1]!, sets[2]!, sets[3]!, withNewline, sets[5]!, sets[6]!];
    for (const [i, rows] of expected.entries()) {
      expect(await month(m(i + 1))).toEqual(rows.map(asServed));
    }
  });

  it('re-loading unchanged files is a no-op, and the originals stay byte-identical', async () => {
    const paths = [
      await drop('341504.mzj', 'a-2026-10.csv', iconv.encode(csv(table(households('341504', '2026-10', 4))), 'gbk')),
      await drop('341504.mzj', 'b-2026-09.xlsx', await xlsxOf(households('341504', '2026-09', 2))),
    ];
    const before = await Promise.all(paths.map(async (p) => ({ hash: await sha256(p), mtime: (await stat(p)).mtimeMs })));
    const first = await load();
    const statusAfterFirst = await store.fileStatus();
    const second = await load();

    expect(first.files.map((f) => f.status)).toEqual(['loaded', 'loaded']);
    expect(second.files.map((f) => [f.status, f.previousStatus, f.rowsAccepted])).toEqual([['unchanged', 'loaded', 4], ['unchanged', 'loaded', 2]]);
    expect(await store.fileStatus()).toEqual(statusAfterFirst);
    expect((await store.households({ limit: 500, offset: 0 })).total).toBe(6);
    const after = await Promise.all(paths.map(async (p) => ({ hash: await sha256(p), mtime: (await stat(p)).mtimeMs })));
    expect(after).toEqual(before);
    expect((await readdir(join(dropDir, '341504.mzj', 'dibao'))).sort()).toEqual(['a-2026-10.csv', 'b-2026-09.xlsx']);
  });

  it('refuses an XML file with a DOCTYPE and keeps the previous version of its data', async () => {
    const good = households('341623', '2026-09', 3);
    const path = await drop('341623.mzj', 'roster.xml', xmlOf(good));
    await load();
    const evil = xmlOf(households('341623', '2026-09', 1), '<!DOCTYPE 名册 [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>');
    await writeFile(path, evil);

    const report = await load();
    expect(fileReport(report, 'roster.xml')).toMatchObject({ status: 'failed', reason: expect.stringContaining('DOCTYPE') });
    expect(await month('2026-09')).toEqual(good.map(asServed));
    const [status] = await store.fileStatus();
    expect(status).toMatchObject({ status: 'failed', rowsCurrent: 3, reason: expect.stringContaining('DOCTYPE') });
    expect(await readFile(path, 'utf8')).toBe(evil);
  });

  it('reports a garbage .xlsx as failed and loses nothing else', async () => {
    const rows = households('341504', '2026-10', 3);
    await drop('341504.mzj', 'a-2026-10.csv', csv(table(rows)));
    await drop('341504.mzj', 'b-2026-11.xlsx', randomBytes(3000));

    const report = await load();
    expect(fileReport(report, 'a-2026-10.csv').status).toBe('loaded');
    expect(fileReport(report, 'b-2026-11.xlsx')).toMatchObject({ status: 'failed', reason: expect.stringContaining('XLSX') });
    expect(await month('2026-10')).toEqual(rows.map(asServed));
    expect((await store.fileStatus()).find((f) => f.fileName === 'b-2026-11.xlsx')).toMatchObject({ status: 'failed', rowsCurrent: 0 });
  });

  it('refuses a zip bomb dropped over a good workbook and keeps the previous version of its data', async () => {
    const good = households('341504', '2026-10', 3);
    const path = await drop('341504.mzj', 'roster-2026-10.xlsx', await xlsxOf(good));
    expect(fileReport(await load(), 'roster-2026-10.xlsx').status).toBe('loaded');
    await writeFile(path, xlsxBomb(50));

    const report = await load();
    expect(fileReport(report, 'roster-2026-10.xlsx')).toMatchObject({ status: 'failed', reason: expect.stringContaining('压缩炸弹') });
    expect(await month('2026-10')).toEqual(good.map(asServed));
    const [status] = await store.fileStatus();
    expect(status).toMatchObject({ status: 'failed', rowsCurrent: 3, reason: expect.stringContaining('压缩炸弹') });
  });

  it('rejects bad check digits and out-of-jurisdiction rows with row, column and reason, loading the rest', async () => {
    const rows = households('341504', '2026-10', 4);
    rows[1] = { ...rows[1]!, headIdNumber: withWrongCheckDigit(idNumber('341504', 1)) };
    rows[3] = household('341623', '2026-10', 3); // 利辛县 row in 叶集区's folder
    await drop('341504.mzj', 'a.csv', csv(table(rows)));

    const report = await load();
    expect(fileReport(report, 'a.csv')).toMatchObject({
      status: 'loaded',
      rowsAccepted: 2,
      rowsRejected: 2,
      rejections: [
        { row: 3, column: '户主身份证号', reason: expect.stringContaining('校验码') },
        { row: 5, column: '行政区划代码', reason: expect.stringContaining('辖区') },
      ],
    });
    expect((await month('2026-10')).map((h) => h.householdId)).toEqual([rows[0]!.householdId, rows[2]!.householdId]);
  });

  it('keeps the previous data when every row of a new version is rejected', async () => {
    const rows = households('341504', '2026-10', 2);
    const path = await drop('341504.mzj', 'a.csv', csv(table(rows)));
    await load();
    const broken = rows.map((h) => ({ ...h, headIdNumber: withWrongCheckDigit(h.headIdNumber) }));
    await writeFile(path, csv(table(broken)));
    const report = await load();
    expect(fileReport(report, 'a.csv')).toMatchObject({ status: 'failed', rowsRejected: 2 });
    expect(await month('2026-10')).toEqual(rows.map(asServed));
  });

  it('replaces a changed file’s rows instead of duplicating them, and a new month adds', async () => {
    const path = await drop('341504.mzj', 'oct.csv', csv(table(households('341504', '2026-10', 5))));
    await load();
    await writeFile(path, csv(table(households('341504', '2026-10', 3))));
    await drop('341504.mzj', 'nov.csv', csv(table(households('341504', '2026-11', 2))));
    const report = await load();
    expect(report.files.map((f) => [f.fileName, f.status])).toEqual([['nov.csv', 'loaded'], ['oct.csv', 'loaded']]);
    expect(await month('2026-10')).toHaveLength(3);
    expect(await month('2026-11')).toHaveLength(2);
  });

  it('takes the month from the file name when the roster has no month column', async () => {
    const rows = households('341504', '2026-10', 2);
    const headers = STANDARD_HEADERS.slice(0, 9);
    await drop('341504.mzj', '叶集区2026年10月低保名册.csv', csv([headers, ...rows.map((r) => standardCells(r).slice(0, 9))]));
    await load();
    expect(await month('2026-10')).toEqual(rows.map(asServed));
    expect(periodFromFileName('利辛县低保名册-2026-09.xml')).toBe('2026-09');
    expect(periodFromFileName('202611.csv')).toBe('2026-11');
    expect(periodFromFileName('名册.csv')).toBeUndefined();
  });

  it('skips temp files and reports folders that are not departments or datasets', async () => {
    await drop('341504.mzj', '.a.csv.tmp', 'partial');
    await drop('341504.mzj', '~$book.xlsx', 'lock');
    await mkdir(join(dropDir, 'misc'), { recursive: true });
    await mkdir(join(dropDir, '341504.mzj', 'unknown'), { recursive: true });
    const report = await load();
    expect(report.files).toEqual([]);
    expect(report.problems).toHaveLength(2);
  });
});

describe('demo drops', () => {
  const demo = [...households('341504', '2026-09', 3), ...households('341504', '2026-10', 3), ...households('341623', '2026-09', 2), ...households('341623', '2026-10', 2)];

  it('are written as each county exports them, atomically and once, and load back to the same rows', async () => {
    const first = await writeDemoDrops(dropDir, demo);
    expect(first.written.map((p) => p.slice(dropDir.length + 1))).toEqual([
      '341504.mzj/dibao/叶集区低保名册-2026-09.csv',
      '341504.mzj/dibao/叶集区低保名册-2026-10.xlsx',
      '341623.mzj/dibao/利辛县低保名册-2026-09.xml',
      '341623.mzj/dibao/利辛县低保名册-2026-10.csv',
    ]);
    const csvBytes = await readFile(first.written[0]!);
    expect([...csvBytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const gbk = await readFile(first.written[3]!);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(gbk)).toThrow();
    expect(iconv.decode(gbk, 'gbk')).toContain('保障金额（元）');

    const hashes = await Promise.all(first.written.map(sha256));
    const second = await writeDemoDrops(dropDir, demo);
    expect(second.written).toEqual([]);
    expect(second.kept).toHaveLength(4);
    expect(await Promise.all(first.written.map(sha256))).toEqual(hashes);
    for (const dept of ['341504.mzj', '341623.mzj']) {
      expect((await readdir(join(dropDir, dept, 'dibao'))).some((n) => n.startsWith('.'))).toBe(false);
    }

    const report = await load();
    expect(report.files.map((f) => [f.status, f.rowsAccepted, f.rowsRejected])).toEqual([['loaded', 3, 0], ['loaded', 3, 0], ['loaded', 2, 0], ['loaded', 2, 0]]);
    const all = (await store.households({ limit: 500, offset: 0 })).items;
    const byKey = (h: { householdId: string; month: string }) => `${h.month}|${h.householdId}`;
    expect([...all].sort((a, b) => byKey(a).localeCompare(byKey(b)))).toEqual(
      demo.map(asServed).sort((a, b) => byKey(a).localeCompare(byKey(b))),
    );
  });
});
