/**
 * Tabular formats (CSV, XLSX): rows of cells → header + records. The header is the first row with
 * at least two columns the dataset knows, within the first rows (Excel exports often start with a
 * title line); without a hint, the first non-empty row.
 *
 * A format gives its rows as a `RowSource`, in batches. A source that can be read again (CSV: a
 * path or bytes) is read twice: once at open for the header, stopped there, and again from the
 * start when the records are iterated — so a reader holds no open file between the two, however
 * long its caller waits or if it never iterates. XLSX (bytes in memory, an unzip that should not
 * run twice) keeps the one pass, paused after the header.
 */
import { TongxiangError } from '../../core/index.ts';
import { fileInvalid, type DropFileFormat, type DropFileReader, type ParseOptions, type RawRecord } from './parse-common.ts';

export interface CellRow {
  readonly row: number;
  readonly cells: readonly string[];
}

/** Consecutive rows: `rows[i]` is row `first + i`. */
export interface RowBatch {
  readonly first: number;
  readonly rows: readonly (readonly string[])[];
}

/** The rows of a file from its start, in batches (each non-empty). */
export type RowSource = (onBytes?: ParseOptions['onBytes']) => AsyncGenerator<RowBatch>;

/** Rows inspected for a header before giving up and taking the first non-empty one. */
const HEADER_SCAN_ROWS = 20;

function isBlank(cells: readonly string[]): boolean {
  for (let i = 0; i < cells.length; i++) if (cells[i]!.length > 0 && cells[i]!.trim() !== '') return false;
  return true;
}

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

const CHANGED = '文件在读取过程中被修改，请稍后重新提交';

const sameCells = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((c, i) => c === b[i]);

interface HeaderScan {
  /** Non-blank rows read, the header among them. */
  readonly candidates: readonly CellRow[];
  readonly headerIndex: number;
  /** Rows of the last batch after the scan stopped. */
  readonly leftover: RowBatch;
}

async function scanHeader(rows: AsyncGenerator<RowBatch>, known: ParseOptions['isKnownColumn']): Promise<HeaderScan> {
  const candidates: CellRow[] = [];
  for (let next = await rows.next(); !next.done; next = await rows.next()) {
    const { first, rows: batch } = next.value;
    for (let i = 0; i < batch.length; i++) {
      const cells = batch[i]!;
      if (isBlank(cells)) continue;
      candidates.push({ row: first + i, cells });
      const isHeader = !known || cells.filter((c) => c.trim() !== '' && known(c)).length >= 2;
      if (isHeader || candidates.length >= HEADER_SCAN_ROWS) {
        return { candidates, headerIndex: isHeader ? candidates.length - 1 : 0, leftover: { first: first + i + 1, rows: batch.slice(i + 1) } };
      }
    }
  }
  return { candidates, headerIndex: 0, leftover: { first: 0, rows: [] } };
}

export async function tabular(
  file: string,
  format: DropFileFormat,
  encoding: string | undefined,
  source: RowSource,
  options: ParseOptions,
  { rereadable }: { readonly rereadable: boolean },
): Promise<DropFileReader> {
  const scan = source(rereadable ? undefined : options.onBytes);
  let found: HeaderScan;
  try {
    found = await scanHeader(scan, options.isKnownColumn);
  } catch (error) {
    await scan.return(undefined).catch(() => undefined);
    throw translate(file, error);
  }
  if (rereadable || found.candidates.length === 0) await scan.return(undefined);
  if (found.candidates.length === 0) throw fileInvalid(file, '文件中没有表头');
  const header = found.candidates[found.headerIndex]!;
  const headers = headerNames(header.cells);
  const width = headers.length;

  // Every record's fields start as a copy of this: one shape for all records, no property added one by one.
  const template: Record<string, string> = Object.fromEntries(headers.map((h) => [h, '']));
  const toRecord = (row: number, cells: readonly string[]): RawRecord => {
    const fields = { ...template };
    for (let i = 0; i < width && i < cells.length; i++) fields[headers[i]!] = cells[i]!;
    return { row, fields };
  };

  let used = false;
  return {
    file,
    format,
    encoding,
    headers,
    async *records() {
      if (used) throw new Error('DropFileReader.records() can be iterated once');
      used = true;
      try {
        if (rereadable) {
          let headerSeen = false;
          for await (const { first, rows } of source(options.onBytes)) {
            for (let i = 0; i < rows.length; i++) {
              const row = first + i;
              if (row > header.row) {
                if (!isBlank(rows[i]!)) yield toRecord(row, rows[i]!);
              } else if (row === header.row) {
                // Read twice: a file replaced in between must not be read under the first one's header.
                if (!sameCells(rows[i]!, header.cells)) throw fileInvalid(file, CHANGED);
                headerSeen = true;
              }
            }
          }
          if (!headerSeen) throw fileInvalid(file, CHANGED);
        } else {
          for (const r of found.candidates.slice(found.headerIndex + 1)) yield toRecord(r.row, r.cells);
          for (let next: IteratorResult<RowBatch> = { done: false, value: found.leftover }; !next.done; next = await scan.next()) {
            const { first, rows } = next.value;
            for (let i = 0; i < rows.length; i++) if (!isBlank(rows[i]!)) yield toRecord(first + i, rows[i]!);
          }
        }
      } catch (error) {
        throw translate(file, error);
      } finally {
        if (!rereadable) await scan.return(undefined);
      }
    },
  };
}
