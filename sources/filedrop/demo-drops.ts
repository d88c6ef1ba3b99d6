/**
 * The demo's file drops, written the way the two county 民政局 really export them:
 * - 叶集区 (341504.mzj): 2026-09 as UTF-8 CSV with BOM; 2026-10 as XLSX with a title row.
 * - 利辛县 (341623.mzj): 2026-09 as XML; 2026-10 as GBK CSV (CRLF) with other header aliases
 *   and dates written 2026年9月15日.
 * Other months follow each county's CSV habit. Writes are atomic (temp name, then a no-clobber
 * link) and idempotent: an existing file is left alone.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { Builder } from 'xml2js';
import type { DemoAllowanceHousehold } from '../demo-data/model.ts';

type DropFormat = 'csv-utf8-bom' | 'csv-gbk' | 'xlsx' | 'xml';

interface CountyPlan {
  readonly department: string;
  readonly label: string;
  readonly byMonth: Readonly<Record<string, DropFormat>>;
  readonly otherwise: DropFormat;
}

const PLANS: Readonly<Record<string, CountyPlan>> = {
  '341504': { department: '341504.mzj', label: '叶集区', byMonth: { '2026-09': 'csv-utf8-bom', '2026-10': 'xlsx' }, otherwise: 'csv-utf8-bom' },
  '341623': { department: '341623.mzj', label: '利辛县', byMonth: { '2026-09': 'xml', '2026-10': 'csv-gbk' }, otherwise: 'csv-gbk' },
};

const EXTENSION: Record<DropFormat, string> = { 'csv-utf8-bom': 'csv', 'csv-gbk': 'csv', xlsx: 'xlsx', xml: 'xml' };

export interface DemoDropsResult {
  /** Files written by this call. */
  readonly written: readonly string[];
  /** Files that already existed and were left alone. */
  readonly kept: readonly string[];
  /** Roster lines of regions no demo department drops for. */
  readonly skipped: number;
}

const dateParts = (iso: string): [number, number, number] => {
  const [y = 0, m = 0, d = 0] = iso.split('-').map(Number);
  return [y, m, d];
};
const slashDate = (iso: string): string => dateParts(iso).join('/');
const chineseDate = (iso: string): string => {
  const [y, m, d] = dateParts(iso);
  return `${y}年${m}月${d}日`;
};
const chineseMonth = (month: string): string => {
  const [y, m] = dateParts(month);
  return `${y}年${m}月`;
};

function csvLine(cells: readonly (string | number)[]): string {
  return cells
    .map((c) => {
      const s = String(c);
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

function utf8BomCsv(rows: readonly DemoAllowanceHousehold[]): Buffer {
  const header = ['户编号', '户主姓名', '户主身份证号', '家庭人口', '月保障金额', '乡镇（街道）', '村（社区）', '批准日期', '行政区划代码', '保障月份'];
  const lines = [csvLine(header)];
  for (const r of rows) {
    lines.push(csvLine([r.householdId, r.headName, r.headIdNumber, r.members, r.monthlyAmount.toFixed(2), r.township, r.village, r.approvalDate, r.regionCode, r.month]));
  }
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\n')}\n`, 'utf8')]);
}

function gbkCsv(rows: readonly DemoAllowanceHousehold[]): Buffer {
  const header = ['户编号', '户主姓名', '身份证号', '保障人数', '保障金额（元）', '乡镇', '村居', '审批日期', '区划代码', '保障月份'];
  const lines = [csvLine(header)];
  for (const r of rows) {
    lines.push(csvLine([r.householdId, r.headName, r.headIdNumber, r.members, r.monthlyAmount.toFixed(2), r.township, r.village, chineseDate(r.approvalDate), r.regionCode, chineseMonth(r.month)]));
  }
  return iconv.encode(`${lines.join('\r\n')}\r\n`, 'gbk');
}

async function xlsx(rows: readonly DemoAllowanceHousehold[], title: string): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('低保名册');
  sheet.addRow([title]);
  sheet.addRow(['家庭编号', '姓名', '公民身份号码', '保障人数', '月低保金', '乡镇', '村居', '审批日期', '区划代码', '月份']);
  for (const r of rows) {
    const [y, m, d] = dateParts(r.approvalDate);
    const row = sheet.addRow([r.householdId, r.headName, r.headIdNumber, r.members, r.monthlyAmount, r.township, r.village, new Date(Date.UTC(y, m - 1, d)), r.regionCode, chineseMonth(r.month)]);
    row.getCell(8).numFmt = 'yyyy"年"m"月"d"日"';
    row.getCell(5).numFmt = '0.00';
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

function xml(rows: readonly DemoAllowanceHousehold[], label: string, month: string): Buffer {
  const builder = new Builder({ rootName: '名册', xmldec: { version: '1.0', encoding: 'UTF-8' } });
  const body = builder.buildObject({
    $: { 单位: `${label}民政局`, 月份: month },
    家庭: rows.map((r) => ({
      户编号: r.householdId,
      户主姓名: r.headName,
      证件号码: r.headIdNumber,
      人口数: r.members,
      保障金额: r.monthlyAmount.toFixed(2),
      乡镇: r.township,
      村居: r.village,
      批准日期: slashDate(r.approvalDate),
      行政区划代码: r.regionCode,
      保障月份: r.month.replace('-', ''),
    })),
  });
  return Buffer.from(body, 'utf8');
}

/** Writes `bytes` to `path` unless it exists: temp file, then link (fails if the target appeared). */
export async function writeFileAtomicNoClobber(path: string, bytes: Uint8Array): Promise<boolean> {
  if (await stat(path).then(() => true, () => false)) return false;
  const dir = join(path, '..');
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, bytes, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // File systems without hard links: rename is still atomic, at the cost of no-clobber.
    if (await stat(path).then(() => false, () => true)) {
      await rename(temp, path);
      return true;
    }
    return false;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export async function writeDemoDrops(dropDir: string, allowances: readonly DemoAllowanceHousehold[]): Promise<DemoDropsResult> {
  const groups = new Map<string, DemoAllowanceHousehold[]>();
  let skipped = 0;
  for (const a of allowances) {
    if (!PLANS[a.regionCode]) {
      skipped++;
      continue;
    }
    const key = `${a.regionCode}|${a.month}`;
    const list = groups.get(key) ?? [];
    list.push(a);
    groups.set(key, list);
  }
  const written: string[] = [];
  const kept: string[] = [];
  for (const [key, rows] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [region, month] = key.split('|') as [string, string];
    const plan = PLANS[region]!;
    const format = plan.byMonth[month] ?? plan.otherwise;
    const dir = join(dropDir, plan.department, 'dibao');
    const path = join(dir, `${plan.label}低保名册-${month}.${EXTENSION[format]}`);
    await mkdir(dir, { recursive: true });
    if (await stat(path).then(() => true, () => false)) {
      kept.push(path);
      continue;
    }
    const sorted = [...rows].sort((a, b) => (a.householdId < b.householdId ? -1 : 1));
    const bytes =
      format === 'csv-utf8-bom' ? utf8BomCsv(sorted)
      : format === 'csv-gbk' ? gbkCsv(sorted)
      : format === 'xlsx' ? await xlsx(sorted, `${plan.label}${chineseMonth(month)}最低生活保障家庭名册`)
      : xml(sorted, plan.label, month);
    if (await writeFileAtomicNoClobber(path, bytes)) written.push(path);
    else kept.push(path);
  }
  return { written, kept, skipped };
}
