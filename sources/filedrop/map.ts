/**
 * Mapping (映射): raw records with the department's header names → canonical, typed rows of a
 * dataset. Header aliases are resolved once per file; each row is coerced and checked on its
 * own (a pure function of the record), so a streaming pipeline can reuse `createRowMapper`.
 *
 * A row that fails is rejected with its row number, the department's own header name, the cell
 * as written and a reason in Chinese. The value goes only into the report for the department that
 * dropped the file (its own data); reasons never quote it, so a reason can be logged.
 */
import { isWithinRegion, validateCreditCode, validateIdNumber } from '../../core/index.ts';
import { normalizeHeader, type DatasetColumn, type DatasetDefinition } from './dataset.ts';
import { fileInvalid, type RawRecord } from './parse.ts';

export type CanonicalValue = string | number | null;

export interface RowRejection {
  /** Spreadsheet row (CSV, XLSX) or record ordinal (XML), as in RawRecord.row. */
  readonly row: number;
  /** The department's header name; null when the problem is not one column's. */
  readonly column: string | null;
  /**
   * The cell as the department wrote it (trimmed): for the dropping department's report only,
   * never for logs. Null when the problem is not one cell's (a value filled in from a default).
   * A duplicate key gives its cells joined with ' + '.
   */
  readonly value: string | null;
  /** Why, in Chinese; never quotes the value. */
  readonly reason: string;
}

export interface MappedRow {
  readonly row: number;
  /** Canonical column name → typed value (string, number, or null when empty and optional). */
  readonly values: Readonly<Record<string, CanonicalValue>>;
}

export interface HeaderMapping {
  /** Canonical column name → the department's header for it. */
  readonly headerOf: ReadonlyMap<string, string>;
  /** Headers the dataset does not know, or second headers for an already mapped column. */
  readonly ignored: readonly string[];
}

export interface MapOptions {
  /** For DATASET_FILE_INVALID. */
  readonly file: string;
  /** Raw values for columns the file lacks or leaves empty (region from the department, month from the file name). */
  readonly defaults?: Readonly<Record<string, string>>;
  /** Region code of the dropping department: rows outside it are rejected. */
  readonly jurisdiction?: string;
  /** How many rejections to keep with reasons (all are counted). Default 50. */
  readonly maxRejections?: number;
}

export interface MapResult {
  readonly rows: MappedRow[];
  readonly rowsRejected: number;
  /** The first `maxRejections` problems. */
  readonly rejections: RowRejection[];
  readonly mapping: HeaderMapping;
}

/** Header name → column, through the canonical names and aliases of the definition. */
export function createAliasIndex(def: DatasetDefinition): (header: string) => DatasetColumn | undefined {
  const index = new Map<string, DatasetColumn>();
  for (const column of def.columns) {
    for (const alias of [column.name, ...column.aliases]) index.set(normalizeHeader(alias), column);
  }
  return (header) => index.get(normalizeHeader(header.replace(/#\d+$/, '')));
}

/** Resolves the file's headers; a required column with neither header nor default fails the whole file. */
export function mapHeaders(def: DatasetDefinition, headers: readonly string[], options: MapOptions): HeaderMapping {
  const lookup = createAliasIndex(def);
  const headerOf = new Map<string, string>();
  const ignored: string[] = [];
  for (const header of headers) {
    const column = lookup(header);
    if (column && !headerOf.has(column.name)) headerOf.set(column.name, header);
    else ignored.push(header);
  }
  const missing = def.columns.filter(
    (c) => c.required && !headerOf.has(c.name) && (options.defaults?.[c.name] ?? '') === '',
  );
  if (missing.length > 0) {
    const list = missing.map((c) => `${c.title}（可写作 ${c.aliases.slice(0, 3).join('、')}）`).join('；');
    const none = missing.length === def.columns.filter((c) => c.required).length;
    throw fileInvalid(options.file, `${none ? '表头中没有任何必填列' : '缺少必填列'}：${list}`);
  }
  return { headerOf, ignored };
}

// ---------------------------------------------------------------------------------------------
// Values

export type Coerced = { ok: true; value: CanonicalValue } | { ok: false; reason: string };

const ID_REASONS: Record<string, string> = {
  length: '公民身份号码应为 18 位',
  characters: '公民身份号码含有非法字符',
  'birth date': '公民身份号码中的出生日期无效',
  'check digit': '公民身份号码校验码错误（GB 11643）',
};

const CREDIT_REASONS: Record<string, string> = {
  length: '统一社会信用代码应为 18 位',
  characters: '统一社会信用代码含有非法字符（不使用 I、O、Z、S、V）',
  'region code': '统一社会信用代码第 3–8 位应为行政区划代码',
  'check digit': '统一社会信用代码校验码错误（GB 32100）',
};

/**
 * A trimmed cell with full-width digits, letters and punctuation made ASCII (NFKC). NFKC is costly
 * and leaves ASCII and the CJK unified ideographs (年, 月, 元, 人 …) as they are, so it runs only
 * for cells holding anything else (full-width forms, compatibility ideographs, the ideographic space).
 */
function halfWidthTrimmed(cell: string): string {
  for (let i = 0; i < cell.length; i++) {
    const c = cell.charCodeAt(i);
    if (c > 0x7e && !(c >= 0x4e00 && c <= 0x9fff)) return cell.normalize('NFKC').trim();
  }
  return cell;
}

const halfWidth = (raw: string): string => halfWidthTrimmed(raw.trim());

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || y < 1900 || y > 2200) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (m === 2 && leap ? 29 : DAYS_IN_MONTH[m - 1]!);
}

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Value of s[from, to) when it is all ASCII digits (at most 15), else -1. */
function digits(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const withoutSpaces = (s: string): string => s.replace(/\s+/g, '');

// The forms below take a half-width, trimmed, non-empty cell. The usual form of each (2024-03-01,
// 2026-10, 680.50, 3) is recognised without a regular expression: they are most of the cells of a
// roster, and the intake's speed is the mapper's.

/** End of the run of at most two ASCII digits starting at `from`. */
function twoDigits(s: string, from: number): number {
  let i = from;
  while (i < s.length && i - from < 2 && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return i;
}

/**
 * 2024-3-1, 2024/03/01, 2024.3.1 or 2024年3月1日 (and, `monthOnly`, 2026/10 or 2026年10月) read by
 * scanning, without a regular expression: y * 10000 + m * 100 + d (d = 1 for a month), or -1 for
 * any other shape.
 */
function scanYmd(s: string, monthOnly: boolean): number {
  if (s.length < 6) return -1;
  const y = digits(s, 0, 4);
  const sep = s.charCodeAt(4); // - / . 年
  if (y < 0 || (sep !== 45 && sep !== 47 && sep !== 46 && sep !== 0x5e74)) return -1;
  const chinese = sep === 0x5e74;
  let i = twoDigits(s, 5);
  const m = digits(s, 5, i);
  if (m < 0) return -1;
  if (monthOnly) {
    if (chinese && s.charCodeAt(i) === 0x6708) i++; // 月
    return i === s.length ? y * 10000 + m * 100 + 1 : -1;
  }
  if (s.charCodeAt(i) !== (chinese ? 0x6708 : sep)) return -1; // the same separator, or 月 after 年
  const from = i + 1;
  i = twoDigits(s, from);
  const d = digits(s, from, i);
  if (d < 0) return -1;
  if (chinese && s.charCodeAt(i) === 0x65e5) i++; // 日
  return i === s.length ? y * 10000 + m * 100 + d : -1;
}

function dateOf(s: string): string | undefined {
  if (s.length === 10 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45) {
    const y = digits(s, 0, 4);
    const m = digits(s, 5, 7);
    const d = digits(s, 8, 10);
    if (y >= 0 && m >= 0 && d >= 0) return validDate(y, m, d) ? s : undefined;
  }
  const ymd = scanYmd(s, false);
  if (ymd >= 0) {
    const [y, m, d] = [Math.floor(ymd / 10000), Math.floor(ymd / 100) % 100, ymd % 100];
    return validDate(y, m, d) ? `${y}-${pad(m)}-${pad(d)}` : undefined;
  }
  const t = withoutSpaces(s);
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:T[\d:.]+Z?)?$/.exec(t) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(t);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return validDate(y, mo, d) ? `${y}-${pad(mo)}-${pad(d)}` : undefined;
}

const validMonth = (y: number, m: number): boolean => m >= 1 && m <= 12 && y >= 1900 && y <= 2200;

function monthOf(s: string): string | undefined {
  if (s.length === 7 && s.charCodeAt(4) === 45) {
    const y = digits(s, 0, 4);
    const m = digits(s, 5, 7);
    if (y >= 0 && m >= 0) return validMonth(y, m) ? s : undefined;
  }
  const ym = scanYmd(s, true);
  if (ym >= 0) {
    const [y, m] = [Math.floor(ym / 10000), Math.floor(ym / 100) % 100];
    return validMonth(y, m) ? `${y}-${pad(m)}` : undefined;
  }
  const t = withoutSpaces(s);
  const m = /^(\d{4})[-/.年](\d{1,2})月?$/.exec(t) ?? /^(\d{4})(\d{2})$/.exec(t);
  if (m) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return validMonth(y, mo) ? `${y}-${pad(mo)}` : undefined;
  }
  return dateOf(t)?.slice(0, 7);
}

// Commas only as thousands separators: 1,234 — not 1,2,3, nor a decimal comma (12,5).
const AMOUNT = /^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const COUNT = /^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0+)?$/;

/** Digits with at most one inner decimal point (680, 1234.50). */
function isPlainDecimal(s: string): boolean {
  let dot = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0 || i === 0) return false;
      dot = i;
    } else if (c < 48 || c > 57) return false;
  }
  return dot !== s.length - 1;
}

function amountOf(s: string): number | undefined {
  if (isPlainDecimal(s)) return Math.round(Number(s) * 100) / 100;
  const t = withoutSpaces(s).replace(/^¥/, '').replace(/元$/, '');
  if (!AMOUNT.test(t)) return undefined;
  return Math.round(Number(t.replaceAll(',', '')) * 100) / 100;
}

function countOf(s: string): number | undefined {
  const n = digits(s, 0, s.length);
  if (n >= 0) return n;
  const t = withoutSpaces(s).replace(/[人口户]$/, '');
  if (!COUNT.test(t)) return undefined;
  const v = Number(t.replaceAll(',', ''));
  return Number.isSafeInteger(v) ? v : undefined;
}

/** 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301, 2024-03-01T00:00:00 → 2024-03-01. */
export function parseChineseDate(raw: string): string | undefined {
  const s = halfWidth(raw);
  return s === '' ? undefined : dateOf(s);
}

/** 2026-10, 2026/10, 2026.10, 2026年10月, 202610, or any date form → 2026-10. */
export function parseChineseMonth(raw: string): string | undefined {
  const s = halfWidth(raw);
  return s === '' ? undefined : monthOf(s);
}

/** '1,234.50', '1234.5元', '¥680', '６８０' → 1234.5 / 680 (rounded to cents). */
export function parseAmount(raw: string): number | undefined {
  const s = halfWidth(raw);
  return s === '' ? undefined : amountOf(s);
}

/** '3', '3人', '1,200' → 3 / 3 / 1200. */
export function parseCount(raw: string): number | undefined {
  const s = halfWidth(raw);
  return s === '' ? undefined : countOf(s);
}

/** A cell that failed its column's check, by why; shared, so a valid cell costs no allocation. */
class Invalid {
  constructor(readonly reason: string) {}
}

type Cell = CanonicalValue | Invalid;

const INVALID_INT = new Invalid('应为非负整数');
const INVALID_DECIMAL = new Invalid('应为金额数字（如 1234.50）');
const INVALID_DATE = new Invalid('日期无法识别或不存在（可写作 2024-03-01、2024/3/1、2024年3月1日、20240301）');
const INVALID_MONTH = new Invalid('月份无法识别（可写作 2026-10、2026年10月、202610）');
const INVALID_REGION = new Invalid('行政区划代码应为 6 位数字');
const invalidOf = (reasons: Record<string, string>, fallback: string) => {
  const byCode = new Map(Object.entries(reasons).map(([code, reason]) => [code, new Invalid(reason)]));
  const other = new Invalid(fallback);
  return (code: string): Invalid => byCode.get(code) ?? other;
};
const invalidId = invalidOf(ID_REASONS, '公民身份号码无效');
const invalidCredit = invalidOf(CREDIT_REASONS, '统一社会信用代码无效');

/** 18 characters, upper case; blanks inside (a number typed in groups) removed. */
function codeOf(s: string): string {
  const t = s.length === 18 ? s : withoutSpaces(s);
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 97 && c <= 122) return t.toUpperCase();
  }
  return t;
}

/** A column's coercion of a trimmed, non-empty cell. */
type Coercer = (cell: string) => Cell;

function coercerOf(column: DatasetColumn): Coercer {
  const typed = (f: (s: string) => Cell): Coercer => (cell) => {
    const s = halfWidthTrimmed(cell);
    return s === '' ? null : f(s);
  };
  switch (column.type) {
    case 'int':
      return typed((s) => countOf(s) ?? INVALID_INT);
    case 'decimal':
      return typed((s) => amountOf(s) ?? INVALID_DECIMAL);
    case 'date':
      return typed((s) => dateOf(s) ?? INVALID_DATE);
    case 'month':
      return typed((s) => monthOf(s) ?? INVALID_MONTH);
    case 'string':
      break;
  }
  switch (column.check) {
    case 'gb11643':
      return typed((s) => {
        const id = codeOf(s);
        const result = validateIdNumber(id);
        return result.ok ? id : invalidId(result.reason);
      });
    case 'gb32100':
      return typed((s) => {
        const code = codeOf(s);
        const result = validateCreditCode(code);
        return result.ok ? code : invalidCredit(result.reason);
      });
    case 'regionCode':
      return typed((s) => (s.length === 6 && digits(s, 0, 6) >= 0 ? s : INVALID_REGION));
    default:
      // Names and places keep their own characters (no NFKC); the cell comes trimmed.
      return (cell) => cell;
  }
}

/** One cell → its canonical value. Empty cells are null here; `required` is checked by the caller. */
export function coerceValue(column: DatasetColumn, raw: string): Coerced {
  const trimmed = raw.trim();
  const value = trimmed === '' ? null : coercerOf(column)(trimmed);
  return value instanceof Invalid ? { ok: false, reason: value.reason } : { ok: true, value };
}

// ---------------------------------------------------------------------------------------------
// Rows

export type RowOutcome = { ok: true; row: MappedRow } | { ok: false; rejections: RowRejection[] };

/**
 * A pure per-row function: coercion, required values, jurisdiction. (Duplicates need state: the
 * store, or mapRecords.) Everything that depends on the file only — headers, coercions, defaults
 * — is resolved here once, so a row costs its cells.
 */
export function createRowMapper(
  def: DatasetDefinition,
  mapping: HeaderMapping,
  options: MapOptions,
): (record: RawRecord) => RowOutcome {
  const columns = def.columns.map((column) => {
    const header = mapping.headerOf.get(column.name);
    const coerce = coercerOf(column);
    const fallback = (options.defaults?.[column.name] ?? '').trim();
    return {
      name: column.name,
      header,
      where: header ?? column.title,
      required: column.required,
      coerce,
      // A value filled in from a default (the department's region, the file name's month) is no cell of the file.
      fallback: fallback === '' ? null : coerce(fallback),
    };
  });
  const regionHeader = def.region === undefined ? undefined : mapping.headerOf.get(def.region);
  const regionWhere = regionHeader ?? (def.region === undefined ? '' : columnTitle(def, def.region));
  const { jurisdiction } = options;
  // Every row's values start as a copy of this: one shape for all rows, no property added one by one.
  const template: Record<string, CanonicalValue> = Object.fromEntries(columns.map((c) => [c.name, null]));
  const inside = new Map<string, boolean>(); // a file has few distinct regions
  const isInside = (region: string): boolean => {
    let known = inside.get(region);
    if (known === undefined) inside.set(region, (known = isWithinRegion(region, jurisdiction!)));
    return known;
  };

  return (record) => {
    const { row, fields } = record;
    const values = { ...template };
    let problems: RowRejection[] | undefined;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      const cell = c.header === undefined ? undefined : fields[c.header];
      const written = cell === undefined ? null : cell.trim();
      const fromCell = written !== null && written !== '';
      const value = fromCell ? c.coerce(written) : c.fallback;
      if (value instanceof Invalid) (problems ??= []).push({ row, column: c.where, value: fromCell ? written : null, reason: value.reason });
      else if (value === null && c.required) (problems ??= []).push({ row, column: c.where, value: written, reason: '必填项为空' });
      else values[c.name] = value;
    }
    const region = def.region === undefined ? undefined : values[def.region];
    if (jurisdiction && typeof region === 'string' && !isInside(region)) {
      const cell = regionHeader === undefined ? undefined : fields[regionHeader]?.trim();
      (problems ??= []).push({ row, column: regionWhere, value: cell || null, reason: `行政区划代码不在本部门辖区（${jurisdiction}）内` });
    }
    return problems ? { ok: false, rejections: problems } : { ok: true, row: { row, values } };
  };
}

const columnTitle = (def: DatasetDefinition, name: string): string => def.columns.find((c) => c.name === name)?.title ?? name;

/** The key of a mapped row, for duplicate detection and storage. */
export function rowKey(def: DatasetDefinition, values: Readonly<Record<string, CanonicalValue>>): string {
  return JSON.stringify(def.key.map((k) => values[k] ?? null));
}

/** Maps every record of a file; duplicate keys after the first are rejected. */
export async function mapRecords(
  def: DatasetDefinition,
  reader: { readonly headers: readonly string[]; records(): AsyncIterable<RawRecord> },
  options: MapOptions,
): Promise<MapResult> {
  const mapping = mapHeaders(def, reader.headers, options);
  const mapRow = createRowMapper(def, mapping, options);
  const max = options.maxRejections ?? 50;
  const rows: MappedRow[] = [];
  const rejections: RowRejection[] = [];
  const firstRowOfKey = new Map<string, number>();
  let rowsRejected = 0;
  const keyHeaders = def.key.map((k) => mapping.headerOf.get(k) ?? k).join(' + ');
  // The key as the department wrote it (a defaulted key column: its canonical value).
  const keyCells = (record: RawRecord, values: Readonly<Record<string, CanonicalValue>>): string =>
    def.key
      .map((k) => {
        const header = mapping.headerOf.get(k);
        const cell = header === undefined ? '' : (record.fields[header] ?? '').trim();
        return cell !== '' ? cell : String(values[k] ?? '');
      })
      .join(' + ');
  for await (const record of reader.records()) {
    let outcome = mapRow(record);
    if (outcome.ok) {
      const key = rowKey(def, outcome.row.values);
      const first = firstRowOfKey.get(key);
      if (first !== undefined) {
        const value = keyCells(record, outcome.row.values);
        outcome = { ok: false, rejections: [{ row: record.row, column: keyHeaders, value, reason: `与第 ${first} 行重复（${keyHeaders}）` }] };
      } else {
        firstRowOfKey.set(key, record.row);
      }
    }
    if (outcome.ok) {
      rows.push(outcome.row);
    } else {
      rowsRejected++;
      for (const r of outcome.rejections) if (rejections.length < max) rejections.push(r);
    }
  }
  return { rows, rowsRejected, rejections, mapping };
}
