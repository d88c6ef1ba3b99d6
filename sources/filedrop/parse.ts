/**
 * Parsing (解析): a dropped file → raw records keyed by the department's own column names.
 * No knowledge of datasets here beyond an optional `isKnownColumn` hint used to find the header
 * row (Excel exports often start with a title line) and the repeated row element in XML.
 *
 * Every failure is DATASET_FILE_INVALID {file, reason} with a reason in Chinese; library errors
 * are translated here and never leak. Reasons never quote cell contents (personal data).
 *
 * Records are produced by async iteration so a streaming implementation fits the same shape;
 * today CSV and XML are decoded whole (files are small, and encoding detection wants the whole
 * byte string), XLSX is read with exceljs's streaming reader.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseCsv, type CsvError } from 'csv-parse';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { parseStringPromise } from 'xml2js';
import { TongxiangError } from '../../core/index.ts';

export type DropFileFormat = 'csv' | 'xlsx' | 'xml';

export interface RawRecord {
  /** CSV / XLSX: the spreadsheet row number (header row counted); XML: the row element's ordinal. */
  readonly row: number;
  /** Department's header name → cell text ('' when empty). */
  readonly fields: Readonly<Record<string, string>>;
}

export interface DropFileReader {
  readonly file: string;
  readonly format: DropFileFormat;
  /** Detected text encoding (csv, xml); undefined for xlsx. */
  readonly encoding: string | undefined;
  /** Column names as the department wrote them, in file order (deduplicated: 备注, 备注#2). */
  readonly headers: readonly string[];
  /** Data records in file order. Single use: the records are read as they are iterated. */
  records(): AsyncIterable<RawRecord>;
}

/** A path, or bytes already read (the loader hashes and parses the same bytes). */
export type DropFileInput = string | { readonly name: string; readonly bytes: Uint8Array };

export interface ParseOptions {
  /** True for a header name the dataset knows (any alias); finds header rows and XML rows. */
  readonly isKnownColumn?: (header: string) => boolean;
  /** XLSX: the worksheet to read; default the first. */
  readonly sheet?: string;
  /** Refuse larger files. Default 64 MiB. */
  readonly maxBytes?: number;
  /** XML: refuse deeper element nesting. Default 32. */
  readonly maxXmlDepth?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_XML_DEPTH = 32;
/** Rows inspected for a header before giving up and taking the first non-empty one. */
const HEADER_SCAN_ROWS = 20;

export function formatOf(fileName: string): DropFileFormat | undefined {
  switch (extname(fileName).toLowerCase()) {
    case '.csv':
    case '.txt':
      return 'csv';
    case '.xlsx':
      return 'xlsx';
    case '.xml':
      return 'xml';
    default:
      return undefined;
  }
}

export function fileInvalid(file: string, reason: string, cause?: unknown): TongxiangError {
  return new TongxiangError('DATASET_FILE_INVALID', { file, reason }, cause === undefined ? undefined : { cause });
}

export async function openDropFile(input: DropFileInput, options: ParseOptions = {}): Promise<DropFileReader> {
  const file = typeof input === 'string' ? basename(input) : input.name;
  const format = formatOf(file);
  if (!format) {
    const ext = extname(file).toLowerCase();
    throw fileInvalid(
      file,
      ext === '.xls' || ext === '.et'
        ? '不支持 Excel 97-2003（.xls）格式，请另存为 .xlsx 或 CSV'
        : `不支持的文件类型“${ext || '无扩展名'}”，请提交 CSV、XLSX 或 XML`,
    );
  }
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (error) {
      throw fileInvalid(file, '文件无法读取', error);
    }
  } else {
    bytes = input.bytes;
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.byteLength > maxBytes) throw fileInvalid(file, `文件超过 ${Math.floor(maxBytes / 1024 / 1024)} MB`);
  if (bytes.byteLength === 0) throw fileInvalid(file, '文件为空');

  switch (format) {
    case 'csv': {
      const { text, encoding } = decodeText(file, bytes);
      return tabular(file, 'csv', encoding, csvRows(file, text), options);
    }
    case 'xlsx':
      return tabular(file, 'xlsx', undefined, xlsxRows(file, bytes, options.sheet), options);
    case 'xml':
      return xmlReader(file, bytes, options);
  }
}

/** Records only, for callers that do not need the header (the shape a streaming reader keeps). */
export async function* parseDropFile(input: DropFileInput, options: ParseOptions = {}): AsyncGenerator<RawRecord> {
  const reader = await openDropFile(input, options);
  yield* reader.records();
}

// ---------------------------------------------------------------------------------------------
// Text decoding

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

/** BOM → its encoding; valid UTF-8 → UTF-8; otherwise GB18030 (a superset of GBK and GB2312). */
export function decodeText(file: string, bytes: Uint8Array): { text: string; encoding: string } {
  const b = bytes;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    return { text: strictUtf8(file, b.subarray(3)), encoding: 'utf-8' };
  }
  if (b[0] === 0xff && b[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(b.subarray(2)), encoding: 'utf-16le' };
  if (b[0] === 0xfe && b[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(b.subarray(2)), encoding: 'utf-16be' };
  if (b.includes(0)) throw fileInvalid(file, '不是文本文件（含有二进制内容）');
  try {
    return { text: UTF8_STRICT.decode(b), encoding: 'utf-8' };
  } catch {
    const text = iconv.decode(Buffer.from(b.buffer, b.byteOffset, b.byteLength), 'gb18030');
    if (text.includes('\uFFFD')) throw fileInvalid(file, '无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）');
    return { text, encoding: 'gb18030' };
  }
}

function strictUtf8(file: string, bytes: Uint8Array): string {
  try {
    return UTF8_STRICT.decode(bytes);
  } catch (error) {
    throw fileInvalid(file, '文件标明为 UTF-8 但内容不是有效的 UTF-8', error);
  }
}

// ---------------------------------------------------------------------------------------------
// Tabular formats (CSV, XLSX): rows of cells → header + records

interface CellRow {
  readonly row: number;
  readonly cells: readonly string[];
}

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

async function tabular(
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

function translate(file: string, error: unknown): TongxiangError {
  if (error instanceof TongxiangError) return error;
  return fileInvalid(file, '文件内容无法解析', error);
}

// ---------------------------------------------------------------------------------------------
// CSV

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

async function* csvRows(file: string, text: string): AsyncGenerator<CellRow> {
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

// ---------------------------------------------------------------------------------------------
// XLSX

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

async function* xlsxRows(file: string, bytes: Uint8Array, sheet: string | undefined): AsyncGenerator<CellRow> {
  const input = Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
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
      // Every sheet is read to its end, or the zip stream stalls.
      for await (const row of worksheet) {
        if (!chosen) continue;
        const values = row.values as unknown[];
        const cells: string[] = [];
        for (let c = 1; c < values.length; c++) cells.push(cellText(values[c]).trim());
        yield { row: row.number, cells };
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

// ---------------------------------------------------------------------------------------------
// XML

/** Declared encoding of an XML document, read from its prolog. */
function decodeXml(file: string, bytes: Uint8Array): { text: string; encoding: string } {
  if ((bytes[0] === 0xef && bytes[1] === 0xbb) || bytes[0] === 0xff || bytes[0] === 0xfe) return decodeText(file, bytes);
  const prolog = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 200)).toString('latin1');
  const declared = /^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(prolog)?.[1]?.toLowerCase();
  if (declared === undefined || declared === 'utf-8' || declared === 'utf8') {
    return { text: strictUtf8(file, bytes), encoding: 'utf-8' };
  }
  if (['gbk', 'gb2312', 'gb18030', 'cp936'].includes(declared)) {
    return { text: iconv.decode(Buffer.from(bytes), 'gb18030'), encoding: 'gb18030' };
  }
  if (!iconv.encodingExists(declared)) throw fileInvalid(file, `不支持的 XML 编码“${declared}”`);
  return { text: iconv.decode(Buffer.from(bytes), declared), encoding: declared };
}

/**
 * Nesting depth check done before any XML parser sees the text. Returns false when `max` is
 * exceeded. Comments, CDATA and processing instructions are skipped; quoted attribute values may
 * contain '>'.
 */
export function withinXmlDepth(text: string, max: number): boolean {
  let depth = 0;
  let i = 0;
  const skipTo = (end: string, from: number): number => {
    const j = text.indexOf(end, from);
    return j < 0 ? text.length : j + end.length;
  };
  while ((i = text.indexOf('<', i)) !== -1) {
    if (text.startsWith('<!--', i)) i = skipTo('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9);
    else if (text.startsWith('<?', i) || text.startsWith('<!', i)) i = skipTo('>', i + 2);
    else {
      let j = i + 1;
      let quote: string | null = null;
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = null;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (text[i + 1] === '/') depth--;
      else if (text[j - 1] !== '/' && ++depth > max) return false;
      i = j + 1;
    }
  }
  return true;
}

type XmlElement = { $?: Record<string, string>; _?: string; [child: string]: unknown };

const isElement = (v: unknown): v is XmlElement => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf text of a child: a string, or an element with only text and attributes. */
function leafText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isElement(v) && Object.keys(v).every((k) => k === '$' || k === '_')) return v._ ?? '';
  return undefined;
}

/** A row element's fields: its attributes, then its leaf children (first occurrence). */
function xmlFields(el: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!isElement(el)) return fields;
  for (const [k, v] of Object.entries(el.$ ?? {})) fields[k] = String(v);
  for (const [name, children] of Object.entries(el)) {
    if (name === '$' || name === '_' || !Array.isArray(children)) continue;
    const text = leafText(children[0]);
    if (text !== undefined && !(name in fields)) fields[name] = text;
  }
  return fields;
}

/** The repeated child elements that are the rows: first collection whose element has known fields. */
function findRowSet(node: unknown, known: ((h: string) => boolean) | undefined, depth: number): unknown[] | undefined {
  if (!isElement(node) || depth > DEFAULT_MAX_XML_DEPTH) return undefined;
  const collections = Object.entries(node).filter(
    (e): e is [string, unknown[]] => e[0] !== '$' && e[0] !== '_' && Array.isArray(e[1]),
  );
  for (const [, elements] of collections) {
    const first = elements.find(isElement);
    if (!first) continue;
    const names = Object.keys(xmlFields(first));
    const hits = known ? names.filter(known).length : names.length;
    if (hits >= 2 && (known || elements.length > 1)) return elements;
  }
  for (const [, elements] of collections) {
    for (const el of elements) {
      const rows = findRowSet(el, known, depth + 1);
      if (rows) return rows;
    }
  }
  return undefined;
}

async function xmlReader(file: string, bytes: Uint8Array, options: ParseOptions): Promise<DropFileReader> {
  const { text, encoding } = decodeXml(file, bytes);
  // Refused before parsing: no DTD, hence no external entities (XXE) and no entity expansion.
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(text)) throw fileInvalid(file, 'XML 含有 DOCTYPE/ENTITY 声明，出于安全原因拒绝处理');
  const maxDepth = options.maxXmlDepth ?? DEFAULT_MAX_XML_DEPTH;
  if (!withinXmlDepth(text, maxDepth)) throw fileInvalid(file, `XML 元素嵌套超过 ${maxDepth} 层`);
  let doc: unknown;
  try {
    doc = await parseStringPromise(text, { explicitArray: true, explicitRoot: true, trim: true, strict: true, emptyTag: '' });
  } catch (error) {
    throw fileInvalid(file, 'XML 格式错误', error);
  }
  const root = isElement(doc) ? Object.values(doc)[0] : undefined;
  const rows = findRowSet(root, options.isKnownColumn, 0) ?? [];
  if (rows.length === 0) throw fileInvalid(file, 'XML 中找不到名册记录（重复的行元素）');
  const records = rows.map((el, i) => ({ row: i + 1, fields: xmlFields(el) }));
  const headers: string[] = [];
  for (const r of records) for (const k of Object.keys(r.fields)) if (!headers.includes(k)) headers.push(k);
  for (const r of records) for (const h of headers) (r.fields as Record<string, string>)[h] ??= '';
  let used = false;
  return {
    file,
    format: 'xml',
    encoding,
    headers,
    async *records() {
      if (used) throw new Error('DropFileReader.records() can be iterated once');
      used = true;
      yield* records;
    },
  };
}
