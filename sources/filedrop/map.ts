/**
 * Mapping (映射): raw records with the department's header names → canonical, typed rows of a
 * dataset. Header aliases are resolved once per file; each row is coerced and checked on its
 * own (a pure function of the record), so a streaming pipeline can reuse `createRowMapper`.
 *
 * A row that fails is rejected with its row number, the department's own header name and a
 * reason in Chinese — never the offending value, which may be personal data.
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

/** Full-width digits, letters and punctuation → ASCII; trimmed. */
const halfWidth = (raw: string): string => raw.normalize('NFKC').trim();

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || y < 1900 || y > 2200) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301, 2024-03-01T00:00:00 → 2024-03-01. */
export function parseChineseDate(raw: string): string | undefined {
  const s = halfWidth(raw).replace(/\s+/g, '');
  const m =
    /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:T[\d:.]+Z?)?$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return validDate(y, mo, d) ? `${y}-${pad(mo)}-${pad(d)}` : undefined;
}

/** 2026-10, 2026/10, 2026.10, 2026年10月, 202610, or any date form → 2026-10. */
export function parseChineseMonth(raw: string): string | undefined {
  const s = halfWidth(raw).replace(/\s+/g, '');
  const m = /^(\d{4})[-/.年](\d{1,2})月?$/.exec(s) ?? /^(\d{4})(\d{2})$/.exec(s);
  if (m) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return mo >= 1 && mo <= 12 && y >= 1900 && y <= 2200 ? `${y}-${pad(mo)}` : undefined;
  }
  return parseChineseDate(s)?.slice(0, 7);
}

/** '1,234.50', '1234.5元', '¥680' → 1234.5 / 680 (rounded to cents). */
export function parseAmount(raw: string): number | undefined {
  const s = halfWidth(raw).replace(/[,\s]/g, '').replace(/^[¥]/, '').replace(/元$/, '');
  if (!/^\d+(\.\d+)?$/.test(s)) return undefined;
  return Math.round(Number(s) * 100) / 100;
}

export function parseCount(raw: string): number | undefined {
  const s = halfWidth(raw).replace(/[,\s]/g, '').replace(/[人口户]$/, '');
  if (!/^\d+(\.0+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** One cell → its canonical value. Empty cells are null here; `required` is checked by the caller. */
export function coerceValue(column: DatasetColumn, raw: string): Coerced {
  if (halfWidth(raw) === '') return { ok: true, value: null };
  switch (column.type) {
    case 'int': {
      const n = parseCount(raw);
      return n === undefined ? { ok: false, reason: '应为非负整数' } : { ok: true, value: n };
    }
    case 'decimal': {
      const n = parseAmount(raw);
      return n === undefined ? { ok: false, reason: '应为金额数字（如 1234.50）' } : { ok: true, value: n };
    }
    case 'date': {
      const d = parseChineseDate(raw);
      return d ? { ok: true, value: d } : { ok: false, reason: '日期无法识别（可写作 2024-03-01、2024/3/1、2024年3月1日）' };
    }
    case 'month': {
      const m = parseChineseMonth(raw);
      return m ? { ok: true, value: m } : { ok: false, reason: '月份无法识别（可写作 2026-10、2026年10月、202610）' };
    }
    case 'string':
      break;
  }
  switch (column.check) {
    case 'gb11643': {
      const id = halfWidth(raw).replace(/\s+/g, '').toUpperCase();
      const result = validateIdNumber(id);
      return result.ok ? { ok: true, value: id } : { ok: false, reason: ID_REASONS[result.reason] ?? '公民身份号码无效' };
    }
    case 'gb32100': {
      const code = halfWidth(raw).replace(/\s+/g, '').toUpperCase();
      const result = validateCreditCode(code);
      return result.ok ? { ok: true, value: code } : { ok: false, reason: CREDIT_REASONS[result.reason] ?? '统一社会信用代码无效' };
    }
    case 'regionCode': {
      const code = halfWidth(raw);
      return /^\d{6}$/.test(code) ? { ok: true, value: code } : { ok: false, reason: '行政区划代码应为 6 位数字' };
    }
    default:
      return { ok: true, value: raw.replace(/^[\s\u3000]+|[\s\u3000]+$/g, '') };
  }
}

// ---------------------------------------------------------------------------------------------
// Rows

export type RowOutcome = { ok: true; row: MappedRow } | { ok: false; rejections: RowRejection[] };

/** A pure per-row function: coercion, required values, jurisdiction. (Duplicates need state: mapRecords.) */
export function createRowMapper(
  def: DatasetDefinition,
  mapping: HeaderMapping,
  options: MapOptions,
): (record: RawRecord) => RowOutcome {
  const defaults = options.defaults ?? {};
  return (record) => {
    const values: Record<string, CanonicalValue> = {};
    const problems: RowRejection[] = [];
    for (const column of def.columns) {
      const header = mapping.headerOf.get(column.name);
      const cell = header === undefined ? '' : (record.fields[header] ?? '');
      const raw = halfWidth(cell) === '' ? (defaults[column.name] ?? '') : cell;
      const where = header ?? column.title;
      const coerced = coerceValue(column, raw);
      if (!coerced.ok) problems.push({ row: record.row, column: where, reason: coerced.reason });
      else if (coerced.value === null && column.required) problems.push({ row: record.row, column: where, reason: '必填项为空' });
      else values[column.name] = coerced.value;
    }
    const region = def.region === undefined ? undefined : values[def.region];
    if (options.jurisdiction && typeof region === 'string' && !isWithinRegion(region, options.jurisdiction)) {
      const header = mapping.headerOf.get(def.region!) ?? def.region!;
      problems.push({
        row: record.row,
        column: header,
        reason: `行政区划代码 ${region} 不在本部门辖区（${options.jurisdiction}）内`,
      });
    }
    return problems.length > 0 ? { ok: false, rejections: problems } : { ok: true, row: { row: record.row, values } };
  };
}

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
  for await (const record of reader.records()) {
    let outcome = mapRow(record);
    if (outcome.ok) {
      const key = rowKey(def, outcome.row.values);
      const first = firstRowOfKey.get(key);
      if (first !== undefined) {
        outcome = { ok: false, rejections: [{ row: record.row, column: keyHeaders, reason: `与第 ${first} 行重复（${keyHeaders}）` }] };
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
