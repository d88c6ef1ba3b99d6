/**
 * Small valid roster fixtures for the file-drop tests: every 公民身份号码 carries a real GB 11643
 * check digit (computed, not hard-coded), region codes are real GB/T 2260 codes.
 */
import { rmSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { idNumberCheckDigit, TongxiangError } from '../../../core/index.ts';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';

/** A valid ID number born 1970-01-01 + i days in `region`. */
export function idNumber(region: string, i: number): string {
  const birth = new Date(Date.UTC(1970, 0, 1 + i)).toISOString().slice(0, 10).replace(/-/g, '');
  const first17 = `${region}${birth}${String(100 + (i % 900)).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

/** The same ID number with a wrong check character. */
export function withWrongCheckDigit(id: string): string {
  const right = id[17]!;
  const wrong = right === '0' ? '1' : '0';
  return id.slice(0, 17) + wrong;
}

const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄强'];

export function household(region: string, month: string, i: number, overrides: Partial<DemoAllowanceHousehold> = {}): DemoAllowanceHousehold {
  return {
    householdId: `${region}-2026-${String(i + 1).padStart(6, '0')}`,
    headName: NAMES[i % NAMES.length]!,
    headIdNumber: idNumber(region, i),
    members: 1 + (i % 5),
    monthlyAmount: 650 + i * 10.5,
    township: region === '341504' ? '史河街道' : '城关镇',
    village: `第${i + 1}村`,
    approvalDate: `2024-0${1 + (i % 9)}-1${i % 10}`,
    regionCode: region,
    month,
    ...overrides,
  };
}

export function households(region: string, month: string, n: number): DemoAllowanceHousehold[] {
  return Array.from({ length: n }, (_, i) => household(region, month, i));
}

export const STANDARD_HEADERS = ['户编号', '户主姓名', '户主身份证号', '家庭人口', '月保障金额', '乡镇（街道）', '村（社区）', '批准日期', '行政区划代码', '保障月份'];

export function standardCells(h: DemoAllowanceHousehold): string[] {
  return [h.householdId, h.headName, h.headIdNumber, String(h.members), h.monthlyAmount.toFixed(2), h.township, h.village, h.approvalDate, h.regionCode, h.month];
}

/** CSV text with simple quoting. */
export function csv(rows: readonly (readonly string[])[], { delimiter = ',', eol = '\n' } = {}): string {
  const quote = (c: string) => (c.includes(delimiter) || /["\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(quote).join(delimiter)).join(eol) + eol;
}

export async function tempDir(prefix = 'filedrop-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

let template: Promise<string> | undefined;

/**
 * A fresh, migrated store directory for one test: PGlite's first start (initdb) takes seconds,
 * so one closed store is made per test file and copied.
 */
export async function freshStoreDir(target: string): Promise<string> {
  template ??= (async () => {
    const { createPgliteDatasetStore } = await import('../store.ts');
    const path = await mkdtemp(join(tmpdir(), 'filedrop-template-'));
    const store = await createPgliteDatasetStore({ dataDir: join(path, 'store') });
    await store.close();
    process.once('exit', () => rmSync(path, { recursive: true, force: true }));
    return join(path, 'store');
  })();
  await cp(await template, target, { recursive: true });
  return target;
}

export interface ZipPart {
  readonly name: string;
  readonly data: Uint8Array;
  /** Uncompressed size written in both headers instead of the real one (an archive that lies). */
  readonly declaredSize?: number;
}

/** A ZIP archive of deflated parts, assembled by hand (local headers, central directory, end record). */
export function zipOf(parts: readonly ZipPart[]): Buffer {
  const body: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const name = Buffer.from(part.name, 'utf8');
    const deflated = deflateRawSync(part.data);
    const crc = crc32(part.data);
    const size = part.declaredSize ?? part.data.byteLength;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(deflated.length, 20);
    entry.writeUInt32LE(size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    body.push(local, name, deflated);
    central.push(entry, name);
    offset += local.length + name.length + deflated.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...body, directory, end]);
}

const SPREADSHEET_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const RELS_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const OFFICE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** One inline-string row of a worksheet's XML. */
export function sheetRowXml(row: number, cells: readonly string[]): string {
  const column = (i: number) => String.fromCharCode(65 + i);
  return `<row r="${row}">${cells.map((c, i) => `<c r="${column(i)}${row}" t="inlineStr"><is><t>${c}</t></is></c>`).join('')}</row>`;
}

/**
 * A minimal real .xlsx (one sheet, inline strings) built with `zipOf`, so a test controls the
 * bytes of xl/worksheets/sheet1.xml and what the headers declare about them.
 */
export function xlsxArchive(sheetData: string | Buffer, sheetDeclaredSize?: number): Buffer {
  const xml = (s: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${s}`, 'utf8');
  const sheet = Buffer.isBuffer(sheetData)
    ? sheetData
    : xml(`<worksheet xmlns="${SPREADSHEET_NS}"><sheetData>${sheetData}</sheetData></worksheet>`);
  return zipOf([
    {
      name: '[Content_Types].xml',
      data: xml(
        `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
      ),
    },
    { name: '_rels/.rels', data: xml(`<Relationships xmlns="${RELS_NS}"><Relationship Id="rId1" Type="${OFFICE_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`) },
    { name: 'xl/workbook.xml', data: xml(`<workbook xmlns="${SPREADSHEET_NS}" xmlns:r="${OFFICE_REL}"><sheets><sheet name="低保名册" sheetId="1" r:id="rId1"/></sheets></workbook>`) },
    { name: 'xl/_rels/workbook.xml.rels', data: xml(`<Relationships xmlns="${RELS_NS}"><Relationship Id="rId1" Type="${OFFICE_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`) },
    { name: 'xl/worksheets/sheet1.xml', data: sheet, declaredSize: sheetDeclaredSize },
  ]);
}

/**
 * A zip bomb in an .xlsx's clothes: sheet1.xml is ~`megabytes` MB of one repeated row, which
 * deflates about 1000:1. `lie` writes a small size into the headers instead of the real one.
 */
export function xlsxBomb(megabytes: number, { lie = false } = {}): Buffer {
  const row = sheetRowXml(1, ['341504-2026-000001', '张伟', '341504197001010010']);
  const head = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${SPREADSHEET_NS}"><sheetData>`;
  const tail = '</sheetData></worksheet>';
  const sheet = Buffer.from(head + row.repeat(Math.ceil((megabytes * 1024 * 1024) / row.length)) + tail, 'utf8');
  return xlsxArchive(sheet, lie ? 64 * 1024 : undefined);
}

/** The reason of the DATASET_FILE_INVALID `promise` rejects with (fails the test otherwise). */
export async function fileInvalidReason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TongxiangError) || error.code !== 'DATASET_FILE_INVALID') {
    throw new Error(`expected DATASET_FILE_INVALID, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  return String(error.fields.reason);
}

/** Headers every department also writes in English (ASCII only): the dataset's English aliases. */
export const ENGLISH_HEADERS = ['household_id', 'head_name', 'id_number', 'members', 'monthly_amount', 'region_code', 'month'];

export function englishCells(h: DemoAllowanceHousehold, i: number): string[] {
  return [h.householdId, `Zhang Wei ${i}`, h.headIdNumber, String(h.members), h.monthlyAmount.toFixed(2), h.regionCode, h.month];
}
