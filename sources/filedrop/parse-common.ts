/**
 * What every format's parser shares: the reader shape, the options, the one error (always
 * DATASET_FILE_INVALID {file, reason}, reason in Chinese, never quoting cell contents) and text
 * decoding (CSV and XML).
 */
import iconv from 'iconv-lite';
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
  /** XLSX: refuse a workbook whose parts unzip to more than this. Default 256 MiB. */
  readonly maxXlsxUnzippedBytes?: number;
  /** XLSX: refuse a worksheet with more rows. Default 200,000. */
  readonly maxXlsxRows?: number;
  /** XLSX: refuse a row with a value beyond this column. Default 200. */
  readonly maxXlsxColumns?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 32;

export function fileInvalid(file: string, reason: string, cause?: unknown): TongxiangError {
  return new TongxiangError('DATASET_FILE_INVALID', { file, reason }, cause === undefined ? undefined : { cause });
}

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

export function strictUtf8(file: string, bytes: Uint8Array): string {
  try {
    return UTF8_STRICT.decode(bytes);
  } catch (error) {
    throw fileInvalid(file, '文件标明为 UTF-8 但内容不是有效的 UTF-8', error);
  }
}
