/**
 * An XLSX file is a ZIP archive, and a few kilobytes of it can inflate to gigabytes (a zip bomb).
 * Checked before exceljs sees the bytes, in two steps:
 *
 *  1. the central directory's declared sizes: total unzipped size and each part's compression
 *     ratio — a refusal without inflating anything;
 *  2. what will really be inflated. exceljs reads the archive front to back (unzipper's streaming
 *     parser: the local headers, not the central directory), and sizes in headers can lie. So the
 *     same walk is made here, every part inflated and counted (not kept), stopping as soon as a
 *     limit is passed.
 *
 * Both return a Chinese reason, or undefined when the archive is within the limits.
 */
import { createInflateRaw } from 'node:zlib';

export interface ZipLimits {
  /** Total unzipped size of all parts. */
  readonly maxUnzippedBytes: number;
  /** A part unzipping to more than `ratioFloorBytes` may not be compressed more than this. */
  readonly maxRatio: number;
  readonly ratioFloorBytes: number;
  /** Parts in the archive (a real workbook has a few dozen). */
  readonly maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = Object.freeze({
  maxUnzippedBytes: 256 * 1024 * 1024,
  maxRatio: 200,
  ratioFloorBytes: 1024 * 1024,
  maxEntries: 10_000,
});

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const DATA_DESCRIPTOR = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
const NOT_XLSX = '不是有效的 XLSX 文件';
const TRUNCATED = 'XLSX 文件不完整（可能在复制或上传时被截断），请重新导出后提交';

export interface ZipEntry {
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

/** The central directory's entries (from the end-of-central-directory record), or undefined when there is none. */
export function readCentralDirectory(bytes: Uint8Array): ZipEntry[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  const count = view.getUint16(end + 10, true);
  const entries: ZipEntry[] = [];
  for (let n = 0, at = view.getUint32(end + 16, true); n < count; n++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_HEADER) return undefined;
    entries.push({ compressedSize: view.getUint32(at + 20, true), uncompressedSize: view.getUint32(at + 24, true) });
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return entries;
}

const tooBig = (limits: ZipLimits) => `XLSX 解压后超过 ${Math.floor(limits.maxUnzippedBytes / 1024 / 1024)} MB，拒绝处理`;
const tooCompressed = (limits: ZipLimits) => `XLSX 中有部件压缩比超过 ${limits.maxRatio}:1（疑似压缩炸弹），拒绝处理`;
const tooMany = (limits: ZipLimits) => `XLSX 中的部件超过 ${limits.maxEntries} 个，拒绝处理`;

/** Step 1: the sizes the central directory declares. */
export function checkDeclaredSizes(entries: readonly ZipEntry[], limits: ZipLimits = DEFAULT_ZIP_LIMITS): string | undefined {
  if (entries.length > limits.maxEntries) return tooMany(limits);
  let total = 0;
  for (const { compressedSize, uncompressedSize } of entries) {
    total += uncompressedSize;
    if (total > limits.maxUnzippedBytes) return tooBig(limits);
    if (uncompressedSize > limits.ratioFloorBytes && uncompressedSize > limits.maxRatio * compressedSize) return tooCompressed(limits);
  }
  return undefined;
}

/** Inflates `data`, counting and discarding the output; stops past `cap`. */
function inflatedSize(data: Uint8Array, cap: number): Promise<number | 'over' | 'corrupt'> {
  return new Promise((resolve) => {
    const inflater = createInflateRaw({ chunkSize: 64 * 1024 });
    let size = 0;
    inflater.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        resolve('over');
        inflater.destroy();
      }
    });
    inflater.on('end', () => resolve(size));
    inflater.on('error', () => resolve('corrupt'));
    inflater.end(data);
  });
}

/** Step 2: walks the local headers as unzipper's streaming parser does and inflates each part. */
export async function checkStreamedSizes(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<string | undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  let entries = 0;
  for (let at = 0; at < bytes.length; ) {
    if (at + 4 > bytes.length) return NOT_XLSX;
    const signature = view.getUint32(at, true);
    if (signature === CENTRAL_HEADER || signature === END_OF_CENTRAL_DIRECTORY) return undefined; // no parts after this
    if (signature !== LOCAL_HEADER || at + 30 > bytes.length) return NOT_XLSX;
    if (++entries > limits.maxEntries) return tooMany(limits);
    const flags = view.getUint16(at + 6, true);
    const method = view.getUint16(at + 8, true);
    const compressedSize = view.getUint32(at + 18, true);
    if (compressedSize === 0xffffffff || view.getUint32(at + 22, true) === 0xffffffff) return `${NOT_XLSX}（不支持 ZIP64）`;
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    // Sizes known from the header, or (data descriptor) the part runs to the descriptor's signature.
    const sized = !(flags & 0x08) || compressedSize > 0;
    const end = sized ? start + compressedSize : buffer.indexOf(DATA_DESCRIPTOR, start);
    if (end < 0 || end > bytes.length) return TRUNCATED;
    at = sized ? end : end + 16;

    const cap = Math.min(limits.maxUnzippedBytes - total, Math.max(limits.ratioFloorBytes, limits.maxRatio * (end - start)));
    let size: number | 'over' | 'corrupt';
    if (method === 0) size = end - start > cap ? 'over' : end - start;
    else if (method === 8) size = await inflatedSize(bytes.subarray(start, end), cap);
    else return `${NOT_XLSX}（不支持的压缩方式）`;
    if (size === 'corrupt') return `${NOT_XLSX}（压缩数据损坏）`;
    if (size === 'over') return total + cap >= limits.maxUnzippedBytes ? tooBig(limits) : tooCompressed(limits);
    total += size;
  }
  return undefined;
}

/** Both steps: a Chinese reason to refuse the workbook, or undefined. */
export async function checkXlsxArchive(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<string | undefined> {
  const entries = readCentralDirectory(bytes);
  // A ZIP's directory sits at its end: a file that starts as one and has none was cut short.
  if (!entries) return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04 ? TRUNCATED : NOT_XLSX;
  return checkDeclaredSizes(entries, limits) ?? (await checkStreamedSizes(bytes, limits));
}
