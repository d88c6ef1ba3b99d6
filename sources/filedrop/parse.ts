/**
 * Parsing (解析): a dropped file → raw records keyed by the department's own column names.
 * This is the dispatcher: the format comes from the file name, each format has its own file
 * (parse-csv.ts, parse-xlsx.ts, parse-xml.ts; parse-tabular.ts finds the header of CSV and
 * XLSX). No knowledge of datasets here beyond an optional `isKnownColumn` hint used to find the
 * header row (Excel exports often start with a title line) and the repeated row element in XML.
 *
 * Every failure is DATASET_FILE_INVALID {file, reason} with a reason in Chinese; library errors
 * are translated here and never leak. Reasons never quote cell contents (personal data).
 *
 * Records are produced by async iteration so a streaming implementation fits the same shape;
 * today CSV and XML are decoded whole (files are small, and encoding detection wants the whole
 * byte string), XLSX is read with exceljs's streaming reader once the archive has passed the
 * zip-bomb checks.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { csvRows } from './parse-csv.ts';
import { DEFAULT_MAX_BYTES, decodeText, fileInvalid, type DropFileFormat, type DropFileInput, type DropFileReader, type ParseOptions, type RawRecord } from './parse-common.ts';
import { tabular } from './parse-tabular.ts';
import { checkXlsxFile, xlsxRows } from './parse-xlsx.ts';
import { xmlReader } from './parse-xml.ts';

export type { DropFileFormat, DropFileInput, DropFileReader, ParseOptions, RawRecord } from './parse-common.ts';
export { decodeText, fileInvalid } from './parse-common.ts';
export { sniffDelimiter } from './parse-csv.ts';
export { cellText } from './parse-xlsx.ts';
export { withinXmlDepth } from './parse-xml.ts';

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
      await checkXlsxFile(file, bytes, options);
      return tabular(file, 'xlsx', undefined, xlsxRows(file, bytes, options), options);
    case 'xml':
      return xmlReader(file, bytes, options);
  }
}

/** Records only, for callers that do not need the header (the shape a streaming reader keeps). */
export async function* parseDropFile(input: DropFileInput, options: ParseOptions = {}): AsyncGenerator<RawRecord> {
  const reader = await openDropFile(input, options);
  yield* reader.records();
}
