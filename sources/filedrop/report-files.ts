/**
 * The quality report a department opens (质量报告): each dropped file gets three files beside its
 * dataset folder, `<folder>/reports/<attempt id>.{json,csv,xlsx}` — JSON for programs, CSV and
 * XLSX for the person who exported the file, in Excel or WPS on Chinese Windows.
 *
 * Every cell the hub writes into a spreadsheet goes through `neutralizeCell`: the values are the
 * department's own data (and its file name), so a value such as `=HYPERLINK(…)` must come back as
 * text, never as a formula that runs on the clerk's machine (OWASP, "CSV Injection").
 *
 * Values go back only to the department that dropped them; nothing here logs.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { intakeFolder, type DatasetDefinition } from './dataset.ts';
import { writeFileAtomicNoClobber } from './demo-drops.ts';
import type { DropOutcome, DropReport } from './model.ts';

/** The three report files of attempt `id`, relative to the drop directory (`/`-separated). */
export function reportFilePaths(folder: string, id: string): string[] {
  return [`${folder}/reports/${id}.json`, `${folder}/reports/${id}.csv`, `${folder}/reports/${id}.xlsx`];
}

/** Characters that make a spreadsheet read a cell as a formula (or a DDE call) when first. */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@']);

/**
 * A cell's text made safe to open in a spreadsheet: prefixed with `'` when a spreadsheet could
 * take it for a formula. OWASP's rule — first character `=` `+` `-` `@`, tab or carriage return —
 * plus two widenings, each cheap (one visible apostrophe on a rare value) against a formula that
 * runs on a government desktop:
 * - Leading whitespace is looked through (` =1`, `\u3000=1`, `\n=1`): Excel keeps ` =1` as
 *   text when typed, but importers differ — LibreOffice's and some CSV wizards' "trim spaces"
 *   options remove it before deciding — so the first non-blank character decides.
 * - Full-width and other compatibility forms (`＝` `＋` `－` `＠`, small `﹦`, superscript `⁼`,
 *   anything NFKC folds to a trigger). Excel does not evaluate `＝1` as a formula, when typed or
 *   when opened from a CSV; but county offices use WPS as much as Excel, and a Chinese IME's
 *   full-width mode is where a clerk's retyping (F2, Enter) would turn it into `=`. Prefixed.
 * A negative amount (`-680`) is prefixed too: the report shows what the department wrote, as
 * text; telling "a number" from "a formula that starts like one" (`-2+3`, `-SUM(…)`) is the
 * guess attackers rely on, so there is no exception for it.
 */
export function neutralizeCell(text: string): string {
  if (text === '') return text;
  if (text[0] === '\t' || text[0] === '\r') return `'${text}`;
  const firstVisible = /^\s*(.)/su.exec(text)?.[1];
  if (firstVisible !== undefined && FORMULA_TRIGGERS.has(firstVisible.normalize('NFKC')[0] ?? '')) return `'${text}`;
  return text;
}

export const OUTCOME_LABELS: Readonly<Record<DropOutcome, string>> = {
  published: '已发布',
  'partially-published': '部分发布（问题行已隔离）',
  unchanged: '内容未变化',
  rejected: '已拒绝',
};

/** A cell of the report: text (neutralised when written) or a count the hub computed. */
type Cell = string | number;

const ISSUE_HEADERS = ['行号', '列名（贵单位文件中的列名）', '值', '问题说明'] as const;
const SUMMARY_HEADERS = ['项目', '内容'] as const;

/** `2026-11-23 11:15:02（北京时间）`: departments read local time, CST has no DST. */
function beijingTime(at: Date): string {
  const cst = new Date(at.getTime() + 8 * 3_600_000).toISOString();
  return `${cst.slice(0, 10)} ${cst.slice(11, 19)}（北京时间）`;
}

/** The summary block, label then value, in the order a clerk reads it. */
export function summaryRows(report: DropReport, definition: DatasetDefinition): [string, Cell][] {
  const rows: [string, Cell][] = [
    ['文件名', report.fileName],
    ['数据集', definition.title],
    ['结果', OUTCOME_LABELS[report.outcome]],
    ['版本', report.version ?? '无'],
    ['总行数', report.rowsTotal],
    ['接受', report.rowsAccepted],
    ['拒绝', report.rowsRejected],
    ['原因', report.reason ?? ''],
    ['原文件位置', report.movedTo ?? ''],
    ['处理时间', beijingTime(report.finishedAt)],
  ];
  // The report lists the first issues only; say so, or a clerk fixes those and drops again.
  const listedRows = new Set(report.issues.filter((i) => i.row > 0).map((i) => i.row)).size;
  if (report.rowsRejected > listedRows) {
    rows.push(['说明', `问题清单仅列出前 ${report.issues.length} 条问题，共 ${report.rowsRejected} 行未通过校验`]);
  }
  return rows;
}

/** The issue table's rows: row 0 is a problem of the file as a whole. */
export function issueRows(report: DropReport): Cell[][] {
  return report.issues.map((i) => [i.row === 0 ? '整个文件' : i.row, i.column ?? '', i.value ?? '', i.reason]);
}

const quoteCsv = (cell: Cell): string => `"${(typeof cell === 'number' ? String(cell) : neutralizeCell(cell)).replace(/"/g, '""')}"`;

/**
 * CSV for Excel on Chinese Windows: UTF-8 with a BOM (without it Excel reads GBK and shows
 * mojibake), CRLF, every field quoted (a value's own commas, quotes and line breaks survive).
 */
export function reportCsv(report: DropReport, definition: DatasetDefinition): Buffer {
  const lines: Cell[][] = [...summaryRows(report, definition), [], [...ISSUE_HEADERS], ...issueRows(report)];
  const text = lines.map((cells) => cells.map(quoteCsv).join(',')).join('\r\n');
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${text}\r\n`, 'utf8')]);
}

/** Display width: CJK and full-width characters take two columns. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u.test(ch) ? 2 : 1;
  return width;
}

function addSheet(workbook: ExcelJS.Workbook, name: string, headers: readonly string[], rows: readonly Cell[][]): void {
  const sheet = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  const widths = headers.map((h) => displayWidth(h));
  const put = (rowNumber: number, cells: readonly Cell[]): void => {
    const row = sheet.getRow(rowNumber);
    cells.forEach((value, i) => {
      const cell = row.getCell(i + 1);
      if (typeof value === 'number') {
        cell.value = value;
      } else {
        const text = neutralizeCell(value);
        cell.value = text; // a plain string: exceljs writes it as a string cell, never a formula
        cell.numFmt = '@'; // text format: retyping the cell (F2, Enter) keeps it text
        widths[i] = Math.max(widths[i] ?? 0, ...text.split('\n').map(displayWidth));
      }
    });
  };
  put(1, headers);
  sheet.getRow(1).font = { bold: true };
  rows.forEach((cells, i) => put(i + 2, cells));
  widths.forEach((w, i) => {
    sheet.getColumn(i + 1).width = Math.min(Math.max(w + 2, 8), 80);
  });
}

export async function reportXlsx(report: DropReport, definition: DatasetDefinition): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = '通享数据共享平台';
  workbook.created = report.finishedAt;
  addSheet(workbook, '汇总', SUMMARY_HEADERS, summaryRows(report, definition));
  addSheet(workbook, '问题清单', ISSUE_HEADERS, issueRows(report));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

export function reportJson(report: DropReport): Buffer {
  return Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8');
}

/** Attempt ids name files: nothing that could climb out of reports/ or hide as a temp name. */
const REPORT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Writes the report's JSON, CSV and XLSX under `<dropDir>/<dataset folder>/reports/`. Each file
 * goes to a temporary name first and is then linked into place, so a reader never opens half a
 * report; a report already there (the same attempt id) is left as it is, never overwritten.
 */
export async function writeReportFiles(args: { dropDir: string; report: DropReport; definition: DatasetDefinition }): Promise<void> {
  const { dropDir, report, definition } = args;
  if (!REPORT_ID_RE.test(report.id)) throw new RangeError(`report id "${report.id}" cannot name a file`);
  if (report.dataset !== definition.name) throw new RangeError(`report of dataset ${report.dataset} given the definition of ${definition.name}`);
  const [json, csv, xlsx] = reportFilePaths(intakeFolder(definition, report.department), report.id).map((p) => join(dropDir, ...p.split('/'))) as [string, string, string];
  await mkdir(join(json, '..'), { recursive: true });
  await writeFileAtomicNoClobber(json, reportJson(report));
  await writeFileAtomicNoClobber(csv, reportCsv(report, definition));
  await writeFileAtomicNoClobber(xlsx, await reportXlsx(report, definition));
}
