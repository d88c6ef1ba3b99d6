/** CSV (and tab-separated .txt): decoded text → rows of cells, with line-numbered errors. */
import { parse as parseCsv, type CsvError } from 'csv-parse';
import { fileInvalid } from './parse-common.ts';
import type { CellRow } from './parse-tabular.ts';

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
    else if (!quoted && c === '\n') lines++;
  }
  return tabs > commas ? '\t' : ',';
}

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: '引号未闭合',
  CSV_INVALID_CLOSING_QUOTE: '引号后有多余字符',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: '引号后有多余字符',
  CSV_MAX_RECORD_SIZE: '单行过长',
};

export async function* csvRows(file: string, text: string): AsyncGenerator<CellRow> {
  const parser = parseCsv(text, {
    delimiter: sniffDelimiter(text),
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: 1024 * 1024,
  });
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      yield { row, cells: record };
    }
  } catch (error) {
    const e = error as CsvError;
    const what = (e && CSV_ERRORS[e.code]) ?? '格式错误';
    throw fileInvalid(file, `CSV 第 ${row + 1} 行：${what}`, error);
  }
}
