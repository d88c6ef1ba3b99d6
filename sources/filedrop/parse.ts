/**
 * Parsing (解析): a dropped file → raw records keyed by the department's own column names.
 * This is the dispatcher: the format comes from the file name, each format has its own file
 * (parse-csv.ts, parse-xlsx.ts, parse-xml.ts; parse-tabular.ts finds the header of CSV and
 * XLSX; parse-common.ts reads bytes and decides encodings). No knowledge of datasets here beyond
 * an optional `isKnownColumn` hint used to find the header row (Excel exports often start with a
 * title line) and the repeated row element in XML.
 *
 * Every failure is DATASET_FILE_INVALID {file, reason} with a reason in Chinese; library errors
 * are translated here and never leak. Reasons never quote cell contents (personal data).
 *
 * Memory: CSV is streamed — the encoding is decided on the first 64 KiB, then the file is read,
 * decoded and parsed chunk by chunk while `records()` is iterated, so a 1 GB roster costs what a
 * 10 MB one does. XLSX and XML are read whole (within `maxBytes`): an XLSX must pass the zip-bomb
 * checks before exceljs's streaming reader sees it, and XML is refused or parsed as a document.
 */
import { basename, extname } from 'node:path';
import { planCsv, csvRowSource } from './parse-csv.ts';
import { DEFAULT_MAX_BYTES, fileInvalid, openByteSource, readAll, type DropFileFormat, type DropFileInput, type DropFileReader, type ParseOptions, type RawRecord } from './parse-common.ts';
import { tabular } from './parse-tabular.ts';
import { checkXlsxFile, xlsxRows } from './parse-xlsx.ts';
import { xmlReader } from './parse-xml.ts';

export type { DropFileFormat, DropFileInput, DropFileReader, ParseOptions, RawRecord } from './parse-common.ts';
export { decodeText, detectEncoding, fileInvalid } from './parse-common.ts';
export { sniffDelimiter, sniffNewline } from './parse-csv.ts';
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
  const source = await openByteSource(file, input, options.maxBytes ?? DEFAULT_MAX_BYTES);
  switch (format) {
    case 'csv': {
      const plan = planCsv(file, source);
      return tabular(file, 'csv', plan.encoding.encoding, csvRowSource(file, source, plan), options, { rereadable: true });
    }
    case 'xlsx': {
      const bytes = await readAll(source);
      await checkXlsxFile(file, bytes, options);
      return tabular(file, 'xlsx', undefined, xlsxRows(file, bytes, options), options, { rereadable: false });
    }
    case 'xml':
      return xmlReader(file, await readAll(source, options.onBytes), options);
  }
}

/** Records only, for callers that do not need the header (the shape a streaming reader keeps). */
export async function* parseDropFile(input: DropFileInput, options: ParseOptions = {}): AsyncGenerator<RawRecord> {
  const reader = await openDropFile(input, options);
  yield* reader.records();
}
