/**
 * XLSX, read with exceljs's streaming reader after the archive has passed the zip-bomb checks
 * (xlsx-zip.ts). Rows and columns are capped while streaming, so a workbook within the size
 * limits still cannot hold more rows than the loader is willing to keep.
 */
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { TongxiangError } from '../../core/index.ts';
import { fileInvalid, type ParseOptions } from './parse-common.ts';
import type { RowBatch, RowSource } from './parse-tabular.ts';
import { checkXlsxArchive, DEFAULT_ZIP_LIMITS } from './xlsx-zip.ts';

export const DEFAULT_MAX_XLSX_ROWS = 200_000;
export const DEFAULT_MAX_XLSX_COLUMNS = 200;

function isoOfDate(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19);
}

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return isoOfDate(value);
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.richText)) return v.richText.map((r: { text?: unknown }) => String(r.text ?? '')).join('');
    if ('result' in v) return cellText(v.result);
    if ('text' in v) return cellText(v.text);
    if ('error' in v) return '';
  }
  return '';
}

/** Refuses an archive that would unzip too far; call before `xlsxRows`. */
export async function checkXlsxFile(file: string, bytes: Uint8Array, options: ParseOptions): Promise<void> {
  const maxUnzippedBytes = options.maxXlsxUnzippedBytes ?? DEFAULT_ZIP_LIMITS.maxUnzippedBytes;
  const problem = await checkXlsxArchive(bytes, { ...DEFAULT_ZIP_LIMITS, maxUnzippedBytes });
  if (problem) throw fileInvalid(file, problem);
}

/** The archive in 64 KiB slices, reporting progress as exceljs pulls them. */
async function* slices(bytes: Uint8Array, onBytes: ParseOptions['onBytes']): AsyncGenerator<Buffer> {
  const all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < all.length; at += 64 * 1024) {
    const slice = all.subarray(at, at + 64 * 1024);
    onBytes?.(at + slice.length, all.length);
    yield slice;
  }
}

/** Rows of the chosen sheet, one per batch (exceljs hands them over one at a time). */
export function xlsxRows(file: string, bytes: Uint8Array, options: ParseOptions): RowSource {
  return (onBytes) => sheetRows(file, bytes, options, onBytes);
}

async function* sheetRows(file: string, bytes: Uint8Array, options: ParseOptions, onBytes: ParseOptions['onBytes']): AsyncGenerator<RowBatch> {
  const { sheet } = options;
  const maxRows = options.maxXlsxRows ?? DEFAULT_MAX_XLSX_ROWS;
  const maxColumns = options.maxXlsxColumns ?? DEFAULT_MAX_XLSX_COLUMNS;
  const input = Readable.from(slices(bytes, onBytes), { objectMode: false });
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // needed to tell date cells from numbers
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  let found = false;
  let sheets = 0;
  try {
    for await (const worksheet of reader) {
      sheets++;
      const name = (worksheet as unknown as { name?: string }).name;
      const chosen = !found && (sheet === undefined || name === sheet);
      let rows = 0;
      // Every sheet is read to its end, or the zip stream stalls; each is capped all the same.
      for await (const row of worksheet) {
        if (++rows > maxRows) throw fileInvalid(file, `XLSX 工作表超过 ${maxRows} 行，请拆分后提交`);
        const values = row.values as unknown[];
        if (values.length - 1 > maxColumns) throw fileInvalid(file, `XLSX 第 ${row.number} 行超过 ${maxColumns} 列`);
        if (!chosen) continue;
        const cells: string[] = [];
        for (let c = 1; c < values.length; c++) cells.push(cellText(values[c]).trim());
        yield { first: row.number, rows: [cells] };
      }
      if (chosen) found = true;
    }
  } catch (error) {
    if (error instanceof TongxiangError) throw error;
    throw fileInvalid(file, '不是有效的 XLSX 文件', error);
  }
  if (sheets === 0) throw fileInvalid(file, '不是有效的 XLSX 文件（没有工作表）');
  if (!found) throw fileInvalid(file, `没有名为“${sheet}”的工作表`);
}
