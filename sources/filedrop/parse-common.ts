/**
 * What every format's parser shares: the reader shape, the options, the one error (always
 * DATASET_FILE_INVALID {file, reason}, reason in Chinese, never quoting cell contents), reading
 * a file's bytes in bounded chunks, and text encodings (CSV and XML).
 *
 * Encodings: a BOM decides; otherwise the first 64 KiB decide — valid UTF-8 means UTF-8, anything
 * else GB18030 (a superset of GBK and GB2312, what Excel on a Chinese Windows writes). The rest of
 * the file is then decoded chunk by chunk and checked as it goes, so a file that changes encoding
 * after the prefix (UTF-8 and GBK pasted together) is refused with the line where it happens.
 */
import { open } from 'node:fs/promises';
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
  /** Detected text encoding (csv, xml); undefined for xlsx. Known as soon as the file is opened. */
  readonly encoding: string | undefined;
  /** Column names as the department wrote them, in file order (deduplicated: 备注, 备注#2). */
  readonly headers: readonly string[];
  /**
   * Data records in file order, read as they are iterated (CSV from a path: the file is read
   * again from its start, in chunks; nothing is held open between `openDropFile` and this).
   * Single use. Throws DATASET_FILE_INVALID for a problem found on the way (bad bytes, a quote
   * left open, the file growing past the limit).
   */
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
  /**
   * Progress, for a progress bar: bytes of the file consumed so far and its size, at most every
   * 64 KiB, never decreasing, the last call at the whole size. CSV: while `records()` reads (opening
   * reads the header only, uncounted); XLSX: as exceljs takes the workbook in, from the open on;
   * XML: while the file is read, during the open.
   */
  readonly onBytes?: (bytesRead: number, bytesTotal: number) => void;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 32;
/** Bytes the encoding is decided on. */
export const ENCODING_PREFIX_BYTES = 64 * 1024;
const CHUNK_BYTES = 64 * 1024;

export function fileInvalid(file: string, reason: string, cause?: unknown): TongxiangError {
  return new TongxiangError('DATASET_FILE_INVALID', { file, reason }, cause === undefined ? undefined : { cause });
}

/** 64 MiB → "64 MB", 1.5 MiB → "1.5 MB", 200 KiB → "200 KB". */
export function sizeText(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

const tooLarge = (maxBytes: number) => `文件超过 ${sizeText(maxBytes)}，请拆分后提交`;

// ---------------------------------------------------------------------------------------------
// Bytes

/**
 * A file's bytes, readable in chunks as often as needed; nothing stays open between reads.
 * `size` is the size when opened (a file may still grow: every read counts against the limit).
 */
export interface ByteSource {
  readonly size: number;
  /** The first bytes (up to 64 KiB), for the encoding and the format's sniffing. */
  readonly prefix: Buffer;
  /** True when `prefix` is the whole file. */
  readonly complete: boolean;
  /** All the bytes from the start, in chunks of about 64 KiB; closes the file when done or abandoned. */
  chunks(onBytes?: ParseOptions['onBytes']): AsyncGenerator<Buffer>;
}

/** Opens a path (size checked up front) or wraps bytes; refuses an empty or oversized file. */
export async function openByteSource(file: string, input: DropFileInput, maxBytes: number): Promise<ByteSource> {
  if (typeof input !== 'string') {
    const all = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
    if (all.length > maxBytes) throw fileInvalid(file, tooLarge(maxBytes));
    if (all.length === 0) throw fileInvalid(file, '文件为空');
    return {
      size: all.length,
      prefix: all.subarray(0, ENCODING_PREFIX_BYTES),
      complete: all.length <= ENCODING_PREFIX_BYTES,
      async *chunks(onBytes) {
        for (let at = 0; at < all.length; at += CHUNK_BYTES) {
          const chunk = all.subarray(at, at + CHUNK_BYTES);
          onBytes?.(at + chunk.length, all.length);
          yield chunk;
        }
      },
    };
  }
  const path = input;
  let size: number;
  let prefix: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      size = (await handle.stat()).size;
      if (size > maxBytes) throw fileInvalid(file, tooLarge(maxBytes));
      prefix = await readAt(handle, 0, Math.min(size, ENCODING_PREFIX_BYTES));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof TongxiangError) throw error;
    throw fileInvalid(file, '文件无法读取', error);
  }
  if (prefix.length === 0) throw fileInvalid(file, '文件为空');
  return {
    size,
    prefix,
    complete: prefix.length < ENCODING_PREFIX_BYTES,
    async *chunks(onBytes) {
      let handle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        throw fileInvalid(file, '文件无法读取', error);
      }
      try {
        let read = 0;
        for (;;) {
          let chunk: Buffer;
          try {
            chunk = await readAt(handle, read, CHUNK_BYTES);
          } catch (error) {
            throw fileInvalid(file, '文件读取中断', error);
          }
          if (chunk.length === 0) break;
          read += chunk.length;
          // The size was checked when opened; a file still being written may have grown since.
          if (read > maxBytes) throw fileInvalid(file, `${tooLarge(maxBytes)}（读取时文件仍在变大）`);
          onBytes?.(read, Math.max(size, read));
          yield chunk;
        }
      } finally {
        await handle.close();
      }
    },
  };
}

/** Up to `length` bytes at `position` (fewer only at the end of the file). */
async function readAt(handle: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** The whole file in memory (XLSX, XML), within the limit. */
export async function readAll(source: ByteSource, onBytes?: ParseOptions['onBytes']): Promise<Buffer> {
  if (source.complete) {
    onBytes?.(source.prefix.length, source.prefix.length);
    return source.prefix;
  }
  const parts: Buffer[] = [];
  for await (const chunk of source.chunks(onBytes)) parts.push(chunk);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Encodings

export type TextEncoding = 'utf-8' | 'gb18030' | 'utf-16le' | 'utf-16be';

export interface DetectedEncoding {
  readonly encoding: TextEncoding;
  /** Length of the byte-order mark to skip. */
  readonly bom: number;
}

/** What a binary file dropped under a text name most likely is, for a reason that helps. */
function binaryKind(b: Uint8Array): string {
  const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
  if (starts(0x50, 0x4b, 0x03, 0x04)) return '文件内容是 ZIP 压缩包（可能是改了扩展名的 .xlsx），请以正确的扩展名提交';
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return '文件内容是 Excel 97-2003（.xls）工作簿，请另存为 .xlsx 或 CSV';
  if (starts(0x25, 0x50, 0x44, 0x46)) return '文件内容是 PDF，请提交 CSV、XLSX 或 XML';
  return '不是文本文件（含有二进制内容）';
}

/**
 * Decides the encoding from the file's first bytes. `complete`: the prefix is the whole file, so
 * a multi-byte sequence cut at its end is an error rather than a chunk boundary.
 */
export function detectEncoding(file: string, prefix: Uint8Array, complete: boolean): DetectedEncoding {
  const b = prefix;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', bom: 3 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  if (b.includes(0)) throw fileInvalid(file, binaryKind(b));
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: !complete });
    return { encoding: 'utf-8', bom: 0 };
  } catch {
    const gb = strictGb18030();
    const text = gb.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    if (text === null || (complete && gb.end() === null)) throw fileInvalid(file, '无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）');
    return { encoding: 'gb18030', bom: 0 };
  }
}

/** A GB18030 decoder that says null instead of producing U+FFFD. */
interface StrictDecoder {
  write(chunk: Buffer): string | null;
  end(): string | null;
}

let nativeGb18030: boolean | undefined;

/**
 * The platform's GB18030 decoder (ICU, the WHATWG mapping) when Node has one — about four times
 * iconv-lite's speed, and it maps the few codes GB18030-2005 left in the private use area to the
 * characters GB18030-2022 gives them; iconv-lite's otherwise (Node built without full ICU).
 */
function strictGb18030(): StrictDecoder {
  if (nativeGb18030 === undefined) {
    try {
      new TextDecoder('gb18030');
      nativeGb18030 = true;
    } catch {
      nativeGb18030 = false;
    }
  }
  if (nativeGb18030) {
    const decoder = new TextDecoder('gb18030', { fatal: true });
    const run = (chunk?: Buffer) => {
      try {
        return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
      } catch {
        return null;
      }
    };
    return { write: (chunk) => run(chunk), end: () => run() };
  }
  const decoder = iconv.getDecoder('gb18030');
  const checked = (text: string) => (text.includes('\uFFFD') ? null : text);
  return { write: (chunk) => checked(decoder.write(chunk)), end: () => checked(decoder.end() ?? '') };
}

/** Whole GB18030 bytes → text with the same decoder the streaming path uses; null when some bytes are not GB18030. */
export function gb18030Text(bytes: Uint8Array): string | null {
  const gb = strictGb18030();
  const head = gb.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const tail = gb.end();
  return head === null || tail === null ? null : head + tail;
}

/**
 * Incremental, checking decoder: `write` takes the file's chunks in order (the BOM included) and
 * returns their text — for UTF-8 the validated bytes themselves, which a byte-oriented consumer
 * (csv-parse) takes without a round trip through a string. Throws DATASET_FILE_INVALID naming the
 * line (counted in `newline` characters: LF, or CR for a file with CR line ends only) where bytes
 * stop being valid in the chosen encoding or a NUL byte appears.
 */
export interface ChunkDecoder {
  write(chunk: Buffer): Buffer | string;
  end(): string;
}

export function createChunkDecoder(file: string, { encoding, bom }: DetectedEncoding, newline: '\n' | '\r' = '\n'): ChunkDecoder {
  const nl = newline.charCodeAt(0);
  let skip = bom;
  let lines = 0; // complete lines before the current chunk
  const strip = (chunk: Buffer): Buffer => {
    if (skip === 0) return chunk;
    const n = Math.min(skip, chunk.length);
    skip -= n;
    return chunk.subarray(n);
  };
  const lineAt = (chunk: Uint8Array, end: number) => lines + countByte(chunk, nl, end) + 1;
  const binary = (chunk: Buffer, at: number) => fileInvalid(file, `第 ${lineAt(chunk, at)} 行起含有二进制内容（不是文本文件）`);

  if (encoding === 'utf-8') {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    const why = bom > 0 ? '文件标明为 UTF-8（带 BOM），但' : '文件编码判断有误：按 UTF-8 读取，';
    const invalid = (chunk: Uint8Array, error?: unknown) =>
      fileInvalid(file, `${why}第 ${lineAt(chunk, invalidUtf8At(chunk))} 行起出现无效字节（文件可能混用了 UTF-8 与 GBK）`, error);
    return {
      write(raw) {
        const chunk = strip(raw);
        const nul = chunk.indexOf(0);
        if (nul >= 0) throw binary(chunk, nul);
        try {
          utf8.decode(chunk, { stream: true });
        } catch (error) {
          throw invalid(chunk, error);
        }
        lines += countByte(chunk, nl, chunk.length);
        return chunk;
      },
      end() {
        try {
          utf8.decode();
        } catch (error) {
          throw fileInvalid(file, `${why}文件末尾的字符不完整（文件可能被截断）`, error);
        }
        return '';
      },
    };
  }

  if (encoding === 'gb18030') {
    const gb = strictGb18030();
    const invalid = (chunk: Buffer) => {
      // Where in the chunk: iconv-lite marks the first bad byte with U+FFFD (the line only, so an approximation will do).
      const text = iconv.decode(chunk, 'gb18030');
      const at = text.indexOf('\uFFFD');
      const line = lines + (at < 0 ? 0 : countChar(text, newline, at)) + 1;
      return fileInvalid(file, `文件编码判断有误：按 GBK/GB18030 读取，第 ${line} 行起出现无法识别的字节（文件可能已损坏或混用了多种编码）`);
    };
    return {
      write(raw) {
        const chunk = strip(raw);
        const nul = chunk.indexOf(0);
        if (nul >= 0) throw binary(chunk, nul);
        const text = gb.write(chunk);
        if (text === null) throw invalid(chunk);
        lines += countByte(chunk, nl, chunk.length); // LF and CR are never part of a GB18030 multi-byte sequence
        return text;
      },
      end() {
        const text = gb.end();
        if (text === null) throw fileInvalid(file, '文件末尾的字符不完整（文件可能被截断）');
        return text;
      },
    };
  }

  // UTF-16 (Excel's "Unicode text"): NUL bytes are part of the encoding; unpaired surrogates become U+FFFD.
  const utf16 = new TextDecoder(encoding, { ignoreBOM: true });
  return {
    write: (raw) => utf16.decode(strip(raw), { stream: true }),
    end: () => utf16.decode(),
  };
}

function countByte(bytes: Uint8Array, byte: number, end: number): number {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let i = buffer.indexOf(byte); i >= 0 && i < end; i = buffer.indexOf(byte, i + 1)) n++;
  return n;
}

function countChar(text: string, char: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0 && i < end; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/**
 * Offset of the first byte that cannot be UTF-8, for the line in a reason (the decoder itself
 * decides validity). Continuation bytes at the start belong to a character begun in the previous
 * chunk.
 */
function invalidUtf8At(b: Uint8Array): number {
  let i = 0;
  while (i < 3 && i < b.length && (b[i]! & 0xc0) === 0x80) i++;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) if (i + k < b.length && (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n;
  }
  return b.length;
}

/** Whole bytes → text: the same detection and checks as the streaming path (XML with a BOM, tests). */
export function decodeText(file: string, bytes: Uint8Array): { text: string; encoding: TextEncoding } {
  const detected = detectEncoding(file, bytes, true);
  const decoder = createChunkDecoder(file, detected);
  const head = decoder.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const tail = decoder.end();
  return { text: (typeof head === 'string' ? head : head.toString('utf8')) + tail, encoding: detected.encoding };
}

export function strictUtf8(file: string, bytes: Uint8Array, why = '文件标明为 UTF-8 但内容不是有效的 UTF-8'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw fileInvalid(file, why, error);
  }
}
