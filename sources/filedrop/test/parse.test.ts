import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TongxiangError } from '../../../core/index.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import { createAliasIndex } from '../map.ts';
import { openDropFile, parseDropFile, type ParseOptions } from '../parse.ts';
import { checkDeclaredSizes, readCentralDirectory } from '../xlsx-zip.ts';
import { collect, csv, fileInvalidReason, households, sheetRowXml, STANDARD_HEADERS, standardCells, tempDir, xlsxArchive, xlsxBomb } from './fixtures.ts';

let dir: { path: string; cleanup: () => Promise<void> };
let options: ParseOptions;

beforeEach(async () => {
  dir = await tempDir();
  const known = createAliasIndex(await loadDatasetDefinition(DIBAO_DATASET_PATH));
  options = { isKnownColumn: (h) => known(h) !== undefined };
});
afterEach(() => dir.cleanup());

async function put(name: string, bytes: string | Uint8Array): Promise<string> {
  const path = join(dir.path, name);
  await writeFile(path, bytes);
  return path;
}

async function expectInvalid(promise: Promise<unknown>): Promise<TongxiangError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TongxiangError);
  expect((error as TongxiangError).code).toBe('DATASET_FILE_INVALID');
  return error as TongxiangError;
}

const rows = households('341504', '2026-10', 3);
const table = [STANDARD_HEADERS, ...rows.map(standardCells)];

describe('CSV', () => {
  it('reads UTF-8 with a BOM, without the BOM in the first header', async () => {
    const path = await put('a.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv(table))]));
    const reader = await openDropFile(path, options);
    expect(reader.encoding).toBe('utf-8');
    expect(reader.headers).toEqual(STANDARD_HEADERS);
    const records = await collect(reader.records());
    expect(records.map((r) => r.fields['户主身份证号'])).toEqual(rows.map((r) => r.headIdNumber));
    expect(records.map((r) => r.row)).toEqual([2, 3, 4]);
  });

  it('reads UTF-8 without a BOM', async () => {
    const records = await collect(parseDropFile(await put('a.csv', csv(table)), options));
    expect(records.map((r) => r.fields['户主姓名'])).toEqual(rows.map((r) => r.headName));
  });

  it('reads GBK written by Excel on Windows, detected when the bytes are not UTF-8', async () => {
    const path = await put('gbk.csv', iconv.encode(csv(table, { eol: '\r\n' }), 'gbk'));
    const reader = await openDropFile(path, options);
    expect(reader.encoding).toBe('gb18030');
    const records = await collect(reader.records());
    expect(records.map((r) => r.fields['户主姓名'])).toEqual(rows.map((r) => r.headName));
    expect(records[0]!.fields['乡镇（街道）']).toBe(rows[0]!.township);
  });

  it('reads GB18030 characters outside GBK (rare surname characters)', async () => {
    const rare = [...table.map((r) => [...r])];
    rare[1]![1] = '𠈌明'; // CJK Extension B, four bytes in GB18030
    const records = await collect(parseDropFile(await put('gb18030.csv', iconv.encode(csv(rare), 'gb18030')), options));
    expect(records[0]!.fields['户主姓名']).toBe('𠈌明');
  });

  it('sniffs tab-separated files (Excel "Unicode text" is UTF-16 with tabs)', async () => {
    const tsv = csv(table, { delimiter: '\t' });
    const plain = await collect(parseDropFile(await put('a.txt', tsv), options));
    expect(plain.map((r) => r.fields['户编号'])).toEqual(rows.map((r) => r.householdId));
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]);
    const reader = await openDropFile(await put('b.txt', utf16), options);
    expect(reader.encoding).toBe('utf-16le');
    expect((await collect(reader.records())).map((r) => r.fields['户编号'])).toEqual(rows.map((r) => r.householdId));
  });

  it('keeps a quoted field with an embedded newline in one record, with CRLF line ends', async () => {
    const t = table.map((r) => [...r]);
    t[1]![6] = '东风村\r\n二组';
    const text = csv(t, { eol: '\r\n' });
    expect(text).toContain('"东风村\r\n二组"');
    const records = await collect(parseDropFile(await put('nl.csv', text), options));
    expect(records).toHaveLength(3);
    expect(records[0]!.fields['村（社区）']).toBe('东风村\r\n二组');
    expect(records[1]!.fields['户编号']).toBe(rows[1]!.householdId);
    expect(records[2]!.fields['保障月份']).toBe('2026-10'); // no stray \r
  });

  it('finds the header below a title line and skips blank lines', async () => {
    const text = `叶集区2026年10月低保名册\n\n${csv(table)}\n,,,,\n`;
    const reader = await openDropFile(await put('t.csv', text), options);
    expect(reader.headers).toEqual(STANDARD_HEADERS);
    const records = await collect(reader.records());
    expect(records).toHaveLength(3);
    expect(records[0]!.row).toBe(4);
  });

  it('reads a file mixing LF, CRLF and CR line ends as one record per line, without stray CRs', async () => {
    const lines = table.map((r) => r.join(','));
    const text = `${lines[0]}\r\n${lines[1]}\n${lines[2]}\r${lines[3]}\r\n`;
    const records = await collect(parseDropFile(await put('mixed.csv', text), options));
    expect(records.map((r) => r.fields['户编号'])).toEqual(rows.map((r) => r.householdId));
    expect(records.map((r) => r.fields['保障月份'])).toEqual(['2026-10', '2026-10', '2026-10']);
    expect(records.map((r) => r.row)).toEqual([2, 3, 4]);
  });

  it('reads a GBK file whose lines end in CR alone (Excel "CSV (Macintosh)")', async () => {
    const reader = await openDropFile(await put('mac.csv', iconv.encode(csv(table, { eol: '\r' }), 'gbk')), options);
    expect(reader.headers).toEqual(STANDARD_HEADERS);
    const records = await collect(reader.records());
    expect(records.map((r) => r.fields['户主姓名'])).toEqual(rows.map((r) => r.headName));
    expect(records[2]!.fields['保障月份']).toBe('2026-10');
  });

  it.each([
    ['𠮷', 'U+20BB7, four bytes in GB18030'],
    ['䶮', 'U+4DAE'],
  ])('reads the rare name character %s (%s) from a GB18030 file exactly', async (char) => {
    const t = table.map((r) => [...r]);
    t[1]![1] = `刘${char}`;
    t[2]![6] = `${char}家村`;
    const bytes = iconv.encode(csv(t, { eol: '\r\n' }), 'gb18030');
    expect(bytes.includes(0x3f)).toBe(false); // no '?' stand-in: the encoder knew the character
    const reader = await openDropFile(await put('rare.csv', bytes), options);
    expect(reader.encoding).toBe('gb18030');
    const records = await collect(reader.records());
    expect(records[0]!.fields['户主姓名']).toBe(`刘${char}`);
    expect(records[1]!.fields['村（社区）']).toBe(`${char}家村`);
  });

  it('numbers repeated headers (备注, 备注#2) so that both columns are kept', async () => {
    const text = csv([[...STANDARD_HEADERS, '备注', '备注'], [...standardCells(rows[0]!), '低保', '复核']]);
    const reader = await openDropFile(await put('dup.csv', text), options);
    expect(reader.headers.slice(-2)).toEqual(['备注', '备注#2']);
    const [record] = await collect(reader.records());
    expect([record!.fields['备注'], record!.fields['备注#2']]).toEqual(['低保', '复核']);
  });

  it('reads a header without data rows: the headers are known and there are no records', async () => {
    const reader = await openDropFile(await put('header-only.csv', `\uFEFF${STANDARD_HEADERS.join(',')}\r\n`), options);
    expect(reader.headers).toEqual(STANDARD_HEADERS);
    expect(await collect(reader.records())).toEqual([]);
  });

  it('refuses an empty file, from a path or from bytes', async () => {
    expect(await fileInvalidReason(openDropFile(await put('empty.csv', ''), options))).toBe('文件为空');
    expect(await fileInvalidReason(openDropFile({ name: 'empty.csv', bytes: new Uint8Array() }, options))).toBe('文件为空');
  });

  it('refuses a file of blank lines (or a BOM alone) as having no header', async () => {
    expect(await fileInvalidReason(openDropFile(await put('blank.csv', '\n,,,\r\n\n'), options))).toContain('没有表头');
    expect(await fileInvalidReason(openDropFile(await put('bom.csv', Buffer.from([0xef, 0xbb, 0xbf])), options))).toContain('没有表头');
  });

  it('refuses a workbook renamed to .csv, saying what it is', async () => {
    const reason = await fileInvalidReason(openDropFile(await put('roster.csv', xlsxArchive(sheetRowXml(1, ['a']))), options));
    expect(reason).toContain('ZIP');
  });

  it('refuses garbage without NUL bytes that is neither UTF-8 nor GB18030', async () => {
    const garbage = Buffer.from(Array.from({ length: 600 }, (_, i) => (i % 7 === 0 ? 0xff : 0x80 + (i % 100))));
    expect(await fileInvalidReason(openDropFile(await put('garbage.csv', garbage), options))).toContain('无法识别文件编码');
  });

  it('refuses an unclosed quote with the row it starts on', async () => {
    const error = await expectInvalid(collect(parseDropFile(await put('bad.csv', `${csv(table)}"unterminated,1\n2,3\n`), options)));
    expect(String(error.fields.reason)).toMatch(/引号/);
    expect(String(error.fields.reason)).toContain(`第 ${table.length + 1} 行`);
  });

  it('refuses binary content posing as CSV', async () => {
    await expectInvalid(openDropFile(await put('bin.csv', randomBytes(512)), options));
  });
});

describe('XLSX', () => {
  async function workbook(build: (wb: ExcelJS.Workbook) => void): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    build(wb);
    return Buffer.from(await wb.xlsx.writeBuffer());
  }

  it('reads the first sheet, with date cells as ISO dates and numbers as text', async () => {
    const bytes = await workbook((wb) => {
      const ws = wb.addWorksheet('名册');
      ws.addRow(['叶集区2026年10月最低生活保障家庭名册']);
      ws.addRow(['家庭编号', '姓名', '公民身份号码', '保障人数', '月低保金', '审批日期', '月份']);
      for (const r of rows) {
        const row = ws.addRow([r.householdId, r.headName, r.headIdNumber, r.members, r.monthlyAmount, new Date(`${r.approvalDate}T00:00:00Z`), '2026年10月']);
        row.getCell(6).numFmt = 'yyyy"年"m"月"d"日"';
      }
      wb.addWorksheet('说明').addRow(['本表由民政局导出']);
    });
    const reader = await openDropFile(await put('a.xlsx', bytes), options);
    expect(reader.format).toBe('xlsx');
    expect(reader.headers).toEqual(['家庭编号', '姓名', '公民身份号码', '保障人数', '月低保金', '审批日期', '月份']);
    const records = await collect(reader.records());
    expect(records.map((r) => r.fields['公民身份号码'])).toEqual(rows.map((r) => r.headIdNumber));
    expect(records.map((r) => r.fields['审批日期'])).toEqual(rows.map((r) => r.approvalDate));
    expect(records[0]!.fields['月低保金']).toBe(String(rows[0]!.monthlyAmount));
    expect(records[0]!.row).toBe(3);
  });

  it('reads a named sheet, and refuses a missing one', async () => {
    const bytes = await workbook((wb) => {
      wb.addWorksheet('说明').addRow(['本表由民政局导出']);
      const ws = wb.addWorksheet('低保名册');
      ws.addRow(STANDARD_HEADERS);
      for (const r of rows) ws.addRow(standardCells(r));
    });
    const path = await put('b.xlsx', bytes);
    const records = await collect(parseDropFile(path, { ...options, sheet: '低保名册' }));
    expect(records.map((r) => r.fields['户编号'])).toEqual(rows.map((r) => r.householdId));
    await expectInvalid(collect(parseDropFile(path, { ...options, sheet: '没有这张表' })));
  });

  it('refuses random bytes named .xlsx', async () => {
    const error = await expectInvalid(collect(parseDropFile(await put('garbage.xlsx', randomBytes(4096)), options)));
    expect(String(error.fields.reason)).toMatch(/XLSX/);
  });

  it('reads a hand-assembled workbook (the shape the zip-bomb tests use)', async () => {
    const sheet = [sheetRowXml(1, STANDARD_HEADERS.slice(0, 3)), ...rows.map((r, i) => sheetRowXml(i + 2, standardCells(r).slice(0, 3)))].join('');
    const records = await collect(parseDropFile(await put('hand.xlsx', xlsxArchive(sheet)), options));
    expect(records.map((r) => r.fields['户主身份证号'])).toEqual(rows.map((r) => r.headIdNumber));
  });

  it('refuses a zip bomb posing as a workbook from its declared sizes, before reading a row', async () => {
    const bomb = xlsxBomb(50);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const error = await expectInvalid(collect(parseDropFile(await put('bomb.xlsx', bomb), options)));
    expect(String(error.fields.reason)).toMatch(/压缩比/);
  });

  it('refuses a zip bomb whose headers understate its size, stopping the inflation at the cap', async () => {
    const liar = xlsxBomb(50, { lie: true });
    expect(checkDeclaredSizes(readCentralDirectory(liar)!)).toBeUndefined(); // the declared sizes look harmless
    const error = await expectInvalid(collect(parseDropFile(await put('liar.xlsx', liar), options)));
    expect(String(error.fields.reason)).toMatch(/压缩比/);
  });

  it('refuses a workbook that unzips past the size limit', async () => {
    const sheet = Array.from({ length: 2000 }, (_, i) => sheetRowXml(i + 1, standardCells(rows[i % rows.length]!))).join('');
    const error = await expectInvalid(collect(parseDropFile(await put('big.xlsx', xlsxArchive(sheet)), { ...options, maxXlsxUnzippedBytes: 64 * 1024 })));
    expect(String(error.fields.reason)).toMatch(/解压后超过/);
  });

  it('refuses a worksheet with more rows, or a row with more columns, than the caps', async () => {
    const sheet = [sheetRowXml(1, STANDARD_HEADERS), ...households('341504', '2026-10', 30).map((r, i) => sheetRowXml(i + 2, standardCells(r)))].join('');
    const path = await put('long.xlsx', xlsxArchive(sheet));
    expect(await collect(parseDropFile(path, { ...options, maxXlsxRows: 31 }))).toHaveLength(30);
    const long = await expectInvalid(collect(parseDropFile(path, { ...options, maxXlsxRows: 20 })));
    expect(String(long.fields.reason)).toMatch(/超过 20 行/);
    const wide = await expectInvalid(collect(parseDropFile(path, { ...options, maxXlsxColumns: 8 })));
    expect(String(wide.fields.reason)).toMatch(/超过 8 列/);
  });

  it('refuses a truncated workbook as incomplete', async () => {
    const bytes = await workbook((wb) => {
      const ws = wb.addWorksheet('低保名册');
      ws.addRow(STANDARD_HEADERS);
      for (const r of households('341504', '2026-10', 50)) ws.addRow(standardCells(r));
    });
    for (const keep of [0.5, 0.98]) {
      const reason = await fileInvalidReason(openDropFile(await put(`cut-${keep}.xlsx`, bytes.subarray(0, Math.floor(bytes.length * keep))), options));
      expect(reason).toContain('不完整');
    }
  });

  it('refuses Excel 97-2003 .xls with advice', async () => {
    const error = await expectInvalid(openDropFile(await put('old.xls', randomBytes(64)), options));
    expect(String(error.fields.reason)).toMatch(/xlsx/);
  });
});

describe('XML', () => {
  const el = (name: string, value: string | number) => `<${name}>${value}</${name}>`;
  const chinese = (encoding = 'UTF-8') =>
    `<?xml version="1.0" encoding="${encoding}"?>\n<名册 单位="利辛县民政局">\n${rows
      .map((r) => `  <家庭>${el('户编号', r.householdId)}${el('户主姓名', r.headName)}${el('证件号码', r.headIdNumber)}${el('人口数', r.members)}</家庭>`)
      .join('\n')}\n</名册>\n`;

  it('takes the repeated child elements as rows, matching Chinese tags through the aliases', async () => {
    const reader = await openDropFile(await put('a.xml', chinese()), options);
    expect(reader.headers).toEqual(['户编号', '户主姓名', '证件号码', '人口数']);
    const records = await collect(reader.records());
    expect(records.map((r) => r.fields['证件号码'])).toEqual(rows.map((r) => r.headIdNumber));
    expect(records.map((r) => r.row)).toEqual([1, 2, 3]);
  });

  it('decodes a document declared as GBK', async () => {
    const records = await collect(parseDropFile(await put('gbk.xml', iconv.encode(chinese('GBK'), 'gbk')), options));
    expect(records.map((r) => r.fields['户主姓名'])).toEqual(rows.map((r) => r.headName));
  });

  it('finds rows below wrapper elements, with English tags and attributes', async () => {
    const xml = `<?xml version="1.0"?><roster><meta><department>341623.mzj</department></meta><households>${rows
      .map((r) => `<household household_id="${r.householdId}"><head_name>${r.headName}</head_name><id_number>${r.headIdNumber}</id_number></household>`)
      .join('')}</households></roster>`;
    const records = await collect(parseDropFile(await put('en.xml', xml), options));
    expect(records.map((r) => r.fields.household_id)).toEqual(rows.map((r) => r.householdId));
    expect(records.map((r) => r.fields.id_number)).toEqual(rows.map((r) => r.headIdNumber));
  });

  it('refuses a DOCTYPE before parsing (XXE)', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE 名册 [<!ENTITY x SYSTEM "file:///etc/passwd">]><名册><家庭><户编号>&x;</户编号><户主姓名>a</户主姓名></家庭></名册>`;
    const error = await expectInvalid(openDropFile(await put('xxe.xml', xxe), options));
    expect(String(error.fields.reason)).toMatch(/DOCTYPE/);
  });

  it('refuses entity declarations (billion laughs)', async () => {
    const lol = `<?xml version="1.0"?>\n<!ENTITY lol "lol"><名册/>`;
    await expectInvalid(openDropFile(await put('lol.xml', lol), options));
  });

  it('refuses a billion-laughs document before expanding any entity', async () => {
    const levels = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
    const lol = `<?xml version="1.0"?><!DOCTYPE 名册 [<!ENTITY lol0 "lol">${levels}]><名册><家庭><户编号>&lol9;</户编号><户主姓名>a</户主姓名></家庭></名册>`;
    expect(await fileInvalidReason(openDropFile(await put('lol9.xml', lol), options))).toContain('DOCTYPE');
  });

  it('refuses GBK bytes in a document that declares no encoding (UTF-8 by the XML rules)', async () => {
    const reason = await fileInvalidReason(openDropFile(await put('undeclared.xml', iconv.encode(chinese().replace(/^<\?xml[^>]*>/, ''), 'gbk')), options));
    expect(reason).toContain('UTF-8');
  });

  it('refuses a document declared GBK with bytes GBK cannot decode', async () => {
    const bytes = Buffer.concat([iconv.encode(chinese('GBK').replace('</名册>', ''), 'gbk'), Buffer.from([0xff, 0xff]), Buffer.from('</名册>')]);
    expect(await fileInvalidReason(openDropFile(await put('bad-gbk.xml', bytes), options))).toContain('GBK');
  });

  it('refuses nesting deeper than the bound', async () => {
    const deep = `${'<a>'.repeat(40)}x${'</a>'.repeat(40)}`;
    const error = await expectInvalid(openDropFile(await put('deep.xml', deep), options));
    expect(String(error.fields.reason)).toMatch(/嵌套/);
  });

  it('refuses malformed XML', async () => {
    await expectInvalid(openDropFile(await put('bad.xml', '<名册><家庭><户编号>1</家庭></名册>'), options));
  });
});
