/**
 * CSV (and tab-separated .txt), streaming: the file's chunks are decoded and checked
 * (parse-common.ts) and handed to csv-parse's parser, which is driven by hand — write a chunk,
 * read the records it completed — so rows come out in batches, one batch per chunk, without a
 * stream pipeline's per-record promises. Memory stays bounded by one chunk and its records.
 */
import { parse as parseCsv, type CsvError, type Parser } from 'csv-parse';
import iconv from 'iconv-lite';
import { TongxiangError } from '../../core/index.ts';
import { createChunkDecoder, detectEncoding, fileInvalid, type ByteSource, type DetectedEncoding, type ParseOptions } from './parse-common.ts';
import type { RowBatch, RowSource } from './parse-tabular.ts';

/** Comma or tab, whichever the first lines use more (outside quotes). */
export function sniffDelimiter(text: string): ',' | '\t' {
  let commas = 0;
  let tabs = 0;
  let quoted = false;
  let lines = 0;
  for (let i = 0; i < text.length && lines < 5; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ',') commas++;
    else if (!quoted && c === '\t') tabs++;
    else if (!quoted && (c === '\n' || c === '\r')) lines++;
  }
  return tabs > commas ? '\t' : ',';
}

/** LF, or CR for a file whose lines end in CR alone (Excel's "CSV (Macintosh)"); for line numbers in reasons. */
export function sniffNewline(text: string): '\n' | '\r' {
  return !text.includes('\n') && text.includes('\r') ? '\r' : '\n';
}

export interface CsvPlan {
  readonly encoding: DetectedEncoding;
  readonly delimiter: ',' | '\t';
  readonly newline: '\n' | '\r';
}

/** Encoding, delimiter and line end, from the file's first bytes. */
export function planCsv(file: string, source: ByteSource): CsvPlan {
  const encoding = detectEncoding(file, source.prefix, source.complete);
  const body = source.prefix.subarray(encoding.bom);
  const text =
    encoding.encoding === 'gb18030' ? iconv.decode(body, 'gb18030') : new TextDecoder(encoding.encoding).decode(body);
  return { encoding, delimiter: sniffDelimiter(text), newline: sniffNewline(text) };
}

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: '引号未闭合',
  CSV_INVALID_CLOSING_QUOTE: '引号后有多余字符',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: '引号后有多余字符',
  CSV_MAX_RECORD_SIZE: '单行过长（超过 1 MB）',
};

function translate(file: string, error: unknown, rowsSoFar: number): TongxiangError {
  if (error instanceof TongxiangError) return error;
  const e = error as Partial<CsvError> & { records?: number };
  const what = (e && typeof e.code === 'string' && CSV_ERRORS[e.code]) || '格式错误';
  const row = (typeof e.records === 'number' ? e.records : rowsSoFar) + 1;
  return fileInvalid(file, `CSV 第 ${row} 行：${what}`, error);
}

function newParser(delimiter: string): Parser {
  const parser = parseCsv({
    delimiter,
    // Explicit, so a file mixing LF, CRLF and CR keeps one record per line (auto-detection fixes
    // on the first line end it meets and glues the other kinds into fields).
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: 1024 * 1024,
  });
  parser.on('error', () => {}); // read from `parser.errored` after each write; an unheard 'error' would crash
  return parser;
}

/** Rows of a CSV file from its start, batch by batch; a fresh read of the source each time. */
export function csvRowSource(file: string, source: ByteSource, plan: CsvPlan): RowSource {
  return async function* read(onBytes?: ParseOptions['onBytes']) {
    const parser = newParser(plan.delimiter);
    const decoder = createChunkDecoder(file, plan.encoding, plan.newline);
    let row = 0; // rows handed out so far
    const drain = (): RowBatch & { rows: string[][] } => {
      const batch = { first: row + 1, rows: [] as string[][] };
      for (let cells = parser.read() as string[] | null; cells !== null; cells = parser.read() as string[] | null) batch.rows.push(cells);
      row += batch.rows.length;
      return batch;
    };
    const feed = (text: Buffer | string): void => {
      if (text.length > 0) parser.write(text);
      if (parser.errored) throw translate(file, parser.errored, row);
    };
    try {
      for await (const chunk of source.chunks(onBytes)) {
        feed(decoder.write(chunk));
        const batch = drain();
        if (batch.rows.length > 0) yield batch;
      }
      feed(decoder.end());
      parser.end();
      const tail = drain();
      // The parser's flush (the last record) may complete after end() returns.
      for await (const cells of parser as AsyncIterable<string[]>) {
        tail.rows.push(cells);
        row++;
      }
      if (tail.rows.length > 0) yield tail;
    } catch (error) {
      throw translate(file, error, row);
    } finally {
      parser.destroy();
    }
  };
}
