/**
 * Tabular formats (CSV, XLSX): rows of cells → header + records. The header is the first row with
 * at least two columns the dataset knows, within the first rows (Excel exports often start with a
 * title line); without a hint, the first non-empty row.
 */
import { TongxiangError } from '../../core/index.ts';
import { fileInvalid, type DropFileFormat, type DropFileReader, type ParseOptions, type RawRecord } from './parse-common.ts';

export interface CellRow {
  readonly row: number;
  readonly cells: readonly string[];
}

/** Rows inspected for a header before giving up and taking the first non-empty one. */
const HEADER_SCAN_ROWS = 20;

const isBlank = (cells: readonly string[]): boolean => cells.every((c) => c.trim() === '');

function headerNames(cells: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return cells.map((cell, i) => {
    const base = cell.replace(/^\uFEFF/, '').trim() || `第${i + 1}列`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

function translate(file: string, error: unknown): TongxiangError {
  if (error instanceof TongxiangError) return error;
  return fileInvalid(file, '文件内容无法解析', error);
}

export async function tabular(
  file: string,
  format: DropFileFormat,
  encoding: string | undefined,
  rows: AsyncGenerator<CellRow>,
  options: ParseOptions,
): Promise<DropFileReader> {
  const known = options.isKnownColumn;
  const buffered: CellRow[] = [];
  let headerAt = -1;
  try {
    while (buffered.length < HEADER_SCAN_ROWS) {
      const next = await rows.next();
      if (next.done) break;
      if (isBlank(next.value.cells)) continue;
      buffered.push(next.value);
      if (!known) break;
      const hits = next.value.cells.filter((c) => c.trim() !== '' && known(c)).length;
      if (hits >= 2) {
        headerAt = buffered.length - 1;
        break;
      }
    }
  } catch (error) {
    throw translate(file, error);
  }
  if (buffered.length === 0) throw fileInvalid(file, '文件中没有表头');
  if (headerAt < 0) headerAt = 0;
  const headers = headerNames(buffered[headerAt]!.cells);
  const pending = buffered.slice(headerAt + 1);
  let used = false;

  const toRecord = ({ row, cells }: CellRow): RawRecord => {
    const fields: Record<string, string> = {};
    headers.forEach((h, i) => {
      fields[h] = cells[i] ?? '';
    });
    return { row, fields };
  };

  return {
    file,
    format,
    encoding,
    headers,
    async *records() {
      if (used) throw new Error('DropFileReader.records() can be iterated once');
      used = true;
      for (const r of pending) yield toRecord(r);
      try {
        for (let next = await rows.next(); !next.done; next = await rows.next()) {
          if (!isBlank(next.value.cells)) yield toRecord(next.value);
        }
      } catch (error) {
        throw translate(file, error);
      }
    },
  };
}
