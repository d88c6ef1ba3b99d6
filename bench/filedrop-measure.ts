/**
 * What the file-drop benchmark times: the intake path without persistence (open, decode, parse,
 * `mapHeaders`, `createRowMapper` on every row: everything the pipeline does before it stages a
 * row) and the raw libraries on the same file (csv-parse's streaming parser counting records;
 * exceljs's streaming workbook reader counting rows). Shared by the in-process throughput runs and
 * the peak-RSS child (filedrop-rss.ts).
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import ExcelJS from 'exceljs';
import { createAliasIndex, createRowMapper, mapHeaders } from '../sources/filedrop/map.ts';
import { openDropFile } from '../sources/filedrop/parse.ts';
import type { DatasetDefinition } from '../sources/filedrop/dataset.ts';

export interface Counted {
  /** Data rows (records) seen. */
  readonly rows: number;
  /** Rows that mapped; the rest were rejected. Raw readers: null. */
  readonly accepted: number | null;
  /** The encoding the intake decided on (csv); raw readers: null. */
  readonly encoding: string | null;
}

/** The intake path, as the pipeline runs it, up to (not including) staging rows in the store. */
export async function intake(def: DatasetDefinition, path: string, jurisdiction: string, maxBytes: number): Promise<Counted> {
  const known = createAliasIndex(def);
  const reader = await openDropFile(path, { isKnownColumn: (h) => known(h) !== undefined, maxBytes });
  const options = { file: basename(path), jurisdiction, defaults: def.region ? { [def.region]: jurisdiction } : {} };
  const mapRow = createRowMapper(def, mapHeaders(def, reader.headers, options), options);
  let rows = 0;
  let accepted = 0;
  for await (const record of reader.records()) {
    rows++;
    if (mapRow(record).ok) accepted++;
  }
  return { rows, accepted, encoding: reader.encoding ?? null };
}

/** csv-parse as its documentation shows it: a file stream piped into the parser, records counted. */
export async function rawCsvParse(path: string): Promise<Counted> {
  let rows = 0;
  for await (const _record of createReadStream(path).pipe(parseCsv({ relax_column_count: true }))) rows++;
  return { rows, accepted: null, encoding: null };
}

/**
 * exceljs's streaming reader over the file, rows counted; the same reader options the intake uses
 * (shared strings and styles cached: styles tell date cells from numbers).
 */
export async function rawExcelJs(path: string): Promise<Counted> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  let rows = 0;
  for await (const worksheet of reader) {
    for await (const _row of worksheet) rows++;
  }
  return { rows, accepted: null, encoding: null };
}
