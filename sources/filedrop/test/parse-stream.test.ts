/**
 * CSV read as a stream: the encoding decided on the first 64 KiB and checked for the rest, size
 * limits before and while reading, progress, and a file that changes between open and read.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import { createAliasIndex } from '../map.ts';
import { ENCODING_PREFIX_BYTES } from '../parse-common.ts';
import { openDropFile, type ParseOptions } from '../parse.ts';
import { collect, csv, englishCells, ENGLISH_HEADERS, fileInvalidReason, households, sheetRowXml, STANDARD_HEADERS, standardCells, tempDir, xlsxArchive } from './fixtures.ts';

let dir: { path: string; cleanup: () => Promise<void> };
let options: ParseOptions;

beforeEach(async () => {
  dir = await tempDir();
  const known = createAliasIndex(await loadDatasetDefinition(DIBAO_DATASET_PATH));
  options = { isKnownColumn: (h) => known(h) !== undefined };
});
afterEach(() => dir.cleanup());

async function put(name: string, bytes: string | Uint8Array): Promise<string> {
  const path = join(dir.path, name);
  await writeFile(path, bytes);
  return path;
}

/** A header and enough rows that the text passes `bytes`; returns the lines (header first). */
function linesPast(bytes: number, { english = false } = {}): string[] {
  const lines = [(english ? ENGLISH_HEADERS : STANDARD_HEADERS).join(',')];
  const all = households('341504', '2026-10', Math.ceil(bytes / 60));
  let size = 0;
  for (let i = 0; size <= bytes; i++) {
    const line = (english ? englishCells(all[i]!, i) : standardCells(all[i]!)).join(',');
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  return lines;
}

const gbkName = (name: string) => iconv.encode(name, 'gbk');

describe('encoding decided on the first 64 KiB', () => {
  it.each([
    ['pure ASCII', true],
    ['UTF-8 Chinese', false],
  ])('refuses GBK bytes after a clean %s prefix, naming the line, once the rows before it are read', async (_what, english) => {
    const lines = linesPast(ENCODING_PREFIX_BYTES + 1024, { english });
    const before = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    expect(before.length).toBeGreaterThan(ENCODING_PREFIX_BYTES);
    const badLine = lines.length + 1;
    const path = await put('mixed.csv', Buffer.concat([before, Buffer.from('341504-2026-999999,'), gbkName('张伟'), Buffer.from(',x\n')]));

    const reader = await openDropFile(path, options);
    expect(reader.encoding).toBe('utf-8');
    const read: unknown[] = [];
    const reason = await fileInvalidReason(
      (async () => {
        for await (const record of reader.records()) read.push(record);
      })(),
    );
    expect(reason).toContain('按 UTF-8 读取');
    expect(reason).toContain(`第 ${badLine} 行`);
    expect(reason).toContain('GBK');
    expect(read.length).toBeGreaterThan(0);
    expect(read.length).toBeLessThanOrEqual(lines.length - 1);
  });

  it('refuses bytes GB18030 cannot decode after a clean GBK prefix, naming the line', async () => {
    const lines = linesPast(ENCODING_PREFIX_BYTES * 2); // GBK takes two bytes where UTF-8 takes three
    const gbk = iconv.encode(`${lines.join('\r\n')}\r\n`, 'gbk');
    const path = await put('gbk-bad.csv', Buffer.concat([gbk, Buffer.from([0x31, 0x2c, 0xff, 0xff, 0x0d, 0x0a])]));
    const reader = await openDropFile(path, options);
    expect(reader.encoding).toBe('gb18030');
    const reason = await fileInvalidReason(collect(reader.records()));
    expect(reason).toContain('GBK/GB18030');
    expect(reason).toContain(`第 ${lines.length + 1} 行`);
  });

  it('refuses a file marked UTF-8 by its BOM whose later bytes are not UTF-8', async () => {
    const lines = linesPast(ENCODING_PREFIX_BYTES + 1024);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\n')}\n`), gbkName('王芳'), Buffer.from('\n')]);
    const reader = await openDropFile(await put('bom.csv', bytes), options);
    expect(reader.encoding).toBe('utf-8');
    const reason = await fileInvalidReason(collect(reader.records()));
    expect(reason).toContain('BOM');
    expect(reason).toContain(`第 ${lines.length + 1} 行`);
  });

  it('does not mistake a UTF-8 character cut by the 64 KiB prefix for a bad byte', async () => {
    const [first, ...rest] = households('341504', '2026-10', 50).map(standardCells);
    const before = Buffer.from(`${STANDARD_HEADERS.join(',')}\n${first!.slice(0, 6).join(',')},`);
    // The village (column 7) is padded so that 中 (three bytes) starts one byte before the boundary.
    const village = `${'a'.repeat(ENCODING_PREFIX_BYTES - 1 - before.length)}中`;
    const text = [STANDARD_HEADERS, [...first!.slice(0, 6), village, ...first!.slice(7)], ...rest].map((r) => r.join(',')).join('\n');
    const bytes = Buffer.from(`${text}\n`);
    expect(bytes.subarray(ENCODING_PREFIX_BYTES - 1, ENCODING_PREFIX_BYTES + 2).toString()).toBe('中');
    const reader = await openDropFile(await put('cut.csv', bytes), options);
    expect(reader.encoding).toBe('utf-8');
    const records = await collect(reader.records());
    expect(records).toHaveLength(50);
    expect(records[0]!.fields['村（社区）']).toBe(village);
  });

  it('decodes a four-byte GB18030 character lying across a 64 KiB chunk boundary exactly', async () => {
    const rows = households('341504', '2026-10', 2000);
    const head = iconv.encode(`${STANDARD_HEADERS.join(',')}\r\n`, 'gb18030');
    // Pad the first line so that 𠮷's four bytes start two bytes before the boundary.
    const first = (name: string) => iconv.encode(`${standardCells({ ...rows[0]!, headName: name }).join(',')}\r\n`, 'gb18030');
    const prefixLength = head.length + iconv.encode(`${rows[0]!.householdId},`, 'gb18030').length;
    const padding = ENCODING_PREFIX_BYTES - 2 - prefixLength;
    const name = `${padding % 2 ? 'a' : ''}${'口'.repeat(Math.floor(padding / 2))}𠮷`; // 口: two bytes in GBK
    const rest = iconv.encode(rows.slice(1).map((r) => `${standardCells({ ...r, headName: '𠮷䶮' }).join(',')}\r\n`).join(''), 'gb18030');
    const bytes = Buffer.concat([head, first(name), rest]);
    expect(bytes.subarray(ENCODING_PREFIX_BYTES - 2, ENCODING_PREFIX_BYTES + 2)).toEqual(iconv.encode('𠮷', 'gb18030'));
    const reader = await openDropFile(await put('gb18030-cut.csv', bytes), options);
    expect(reader.encoding).toBe('gb18030');
    const records = await collect(reader.records());
    expect(records[0]!.fields['户主姓名']).toBe(name);
    expect(records.slice(1).every((r) => r.fields['户主姓名'] === '𠮷䶮')).toBe(true);
    expect(records).toHaveLength(rows.length);
  });

  it('refuses NUL bytes after a clean prefix as binary content, naming the line', async () => {
    const lines = linesPast(ENCODING_PREFIX_BYTES + 1024);
    const bytes = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0x31, 0x00, 0x32, 0x0a])]);
    const reader = await openDropFile(await put('nul.csv', bytes), options);
    const reason = await fileInvalidReason(collect(reader.records()));
    expect(reason).toContain('二进制');
    expect(reason).toContain(`第 ${lines.length + 1} 行`);
  });
});

describe('size', () => {
  it('refuses a file over the limit from its size, before reading it', async () => {
    const path = await put('big.csv', csv([STANDARD_HEADERS, ...households('341504', '2026-10', 200).map(standardCells)]));
    const reason = await fileInvalidReason(openDropFile(path, { ...options, maxBytes: 10 * 1024 }));
    expect(reason).toContain('10 KB');
    const bytes = await import('node:fs/promises').then((fs) => fs.readFile(path));
    await fileInvalidReason(openDropFile({ name: 'big.csv', bytes }, { ...options, maxBytes: 10 * 1024 }));
  });

  it('refuses a file that grew past the limit after it was opened, while reading it', async () => {
    const table = [STANDARD_HEADERS, ...households('341504', '2026-10', 10).map(standardCells)];
    const path = await put('growing.csv', csv(table));
    const reader = await openDropFile(path, { ...options, maxBytes: 200 * 1024 });
    await appendFile(path, csv(households('341504', '2026-10', 3000).slice(10).map(standardCells)));
    const reason = await fileInvalidReason(collect(reader.records()));
    expect(reason).toContain('200 KB');
    expect(reason).toContain('变大');
  });

  it('refuses to read records under a header the file no longer has', async () => {
    const rows = households('341504', '2026-10', 3).map(standardCells);
    const path = await put('swapped.csv', csv([STANDARD_HEADERS, ...rows]));
    const reader = await openDropFile(path, options);
    await writeFile(path, csv([[...STANDARD_HEADERS].reverse(), ...rows]));
    expect(await fileInvalidReason(collect(reader.records()))).toContain('修改');
  });
});

describe('open files', () => {
  /** Descriptors of this process open on `path` (Linux: /proc/self/fd), whatever other tests hold. */
  const openOn = (path: string): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false; // closed while listing
      }
    }).length;

  it.runIf(process.platform === 'linux')('holds the file open only while records are read, and closes it when the reader stops early', async () => {
    const path = await put('held.csv', `${linesPast(300 * 1024).join('\n')}\n`);
    const reader = await openDropFile(path, options);
    expect(openOn(path)).toBe(0); // a caller that never reads (say, a missing column) leaks nothing
    let seen = 0;
    for await (const _record of reader.records()) {
      if (++seen === 1) expect(openOn(path)).toBe(1);
      if (seen === 10) break;
    }
    expect(openOn(path)).toBe(0);
  });
});

describe('progress', () => {
  it('reports bytes read in steps of at most 64 KiB, never going back, ending at the size', async () => {
    const lines = linesPast(300 * 1024);
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const seen: [number, number][] = [];
    const reader = await openDropFile(await put('progress.csv', bytes), { ...options, onBytes: (read, total) => seen.push([read, total]) });
    expect(seen).toEqual([]); // opening reads the header only, and does not count
    expect(await collect(reader.records())).toHaveLength(lines.length - 1);
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(bytes.length / (64 * 1024)));
    expect(seen.at(-1)).toEqual([bytes.length, bytes.length]);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]![0] - seen[i - 1]![0]).toBeGreaterThan(0);
      expect(seen[i]![0] - seen[i - 1]![0]).toBeLessThanOrEqual(64 * 1024);
    }
    expect(seen.every(([, total]) => total === bytes.length)).toBe(true);
  });

  it('reports the bytes of an XLSX file as exceljs takes them in, ending at the size', async () => {
    const sheet = [sheetRowXml(1, STANDARD_HEADERS), ...households('341504', '2026-10', 3000).map((h, i) => sheetRowXml(i + 2, standardCells(h)))].join('');
    const bytes = xlsxArchive(sheet);
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const seen: number[] = [];
    const reader = await openDropFile(await put('p.xlsx', bytes), { ...options, onBytes: (read, total) => seen.push(read, total) });
    expect(await collect(reader.records())).toHaveLength(3000);
    const reads = seen.filter((_, i) => i % 2 === 0);
    expect(reads.at(-1)).toBe(bytes.length);
    expect(reads.every((r, i) => i === 0 || (r > reads[i - 1]! && r - reads[i - 1]! <= 64 * 1024))).toBe(true);
    expect(seen.filter((_, i) => i % 2 === 1).every((total) => total === bytes.length)).toBe(true);
  });

  it('reports the bytes of an XML file as it is read', async () => {
    const xml = `<?xml version="1.0"?><名册>${households('341504', '2026-10', 3)
      .map((h) => `<家庭><户编号>${h.householdId}</户编号><户主姓名>${h.headName}</户主姓名></家庭>`)
      .join('')}</名册>`;
    const seen: number[] = [];
    const size = Buffer.byteLength(xml);
    await openDropFile(await put('p.xml', xml), { ...options, onBytes: (read, total) => seen.push(read, total) });
    expect(seen).toEqual([size, size]);
  });
});
