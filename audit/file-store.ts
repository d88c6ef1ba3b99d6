/**
 * The embedded audit log store (审计日志文件): an append-only JSONL file in the data directory, one
 * `LogEntry` per line (`JSON.stringify`, so a line never contains a raw newline).
 *
 * Durability: `append(entries)` writes the whole group with one `write` on an `O_APPEND | O_DSYNC`
 * descriptor, which returns only once the data (and the file's new length) is on disk, as `write`
 * then `fdatasync` would, in one system call and one trip to libuv's thread pool instead of two
 * (where the platform has no O_DSYNC: `write`, then `fdatasync`). It resolves only when the group
 * is on disk. Appends are
 * serialised, so groups are never interleaved. A failed write or sync is rolled back by truncating
 * to the last durable length, so a retry of the same group never lands twice and never leaves a
 * half line for the next group to glue onto.
 *
 * Recovery on open: after `kill -9` or a power cut the file may end in a torn write, an unterminated
 * or unparsable last line. Those bytes are copied to `<path>.torn-<timestamp>` (nothing is ever
 * thrown away), the log is truncated to its last complete line, and `onTornTail` is told. An
 * unparsable line anywhere else is not a torn write: the file is left alone and opening fails with
 * AUDIT_LOG_INVALID naming the line, for the verifier to examine.
 *
 * One process per file: this store keeps each instance's tail in memory.
 */
import { constants as fsConstants, createReadStream } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TongxiangError } from '../core/index.ts';
import type { AuditLogStore, CheckpointEntry, LogEntry, RecordEntry } from './types.ts';
import { entryText } from './entry-text.ts';

/** Appends are durable when their `write` returns (O_DSYNC), where the platform offers it. */
const SYNC_ON_WRITE = typeof fsConstants.O_DSYNC === 'number' && fsConstants.O_DSYNC !== 0;
const APPEND_FLAGS: number | string = SYNC_ON_WRITE ? fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND | fsConstants.O_DSYNC : 'a';

export interface FileAuditStoreOptions {
  /** The JSONL file, e.g. `<dataDir>/audit/audit.jsonl`; parent directories are created. */
  readonly path: string;
  /** Told when open found and set aside a torn tail (the caller records an admin event). */
  readonly onTornTail?: (info: { readonly bytes: number; readonly savedAs: string }) => void;
}

export type FileAuditStore = AuditLogStore & { readonly path: string };

interface Tail {
  last: RecordEntry | null;
  lastCheckpointSeq: number | null;
}

/** Lines longer than this are not log entries (and are not buffered while scanning). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Paths open in this process: a second store on the same file would keep a stale tail. */
const openPaths = new Set<string>();

/** The entry on `line`, or null when it is not JSON or not shaped like a log entry. */
export function parseLogEntry(line: string): LogEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (v.kind === 'record') {
    const record = v.record as Record<string, unknown> | null | undefined;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return null;
    if (typeof record.instance !== 'string' || !Number.isSafeInteger(record.seq)) return null;
    if (typeof v.prev !== 'string' || typeof v.hash !== 'string' || typeof v.alg !== 'string') return null;
    return value as RecordEntry;
  }
  if (v.kind === 'checkpoint') {
    if (typeof v.instance !== 'string' || !Number.isSafeInteger(v.seq) || typeof v.jws !== 'string') return null;
    return value as CheckpointEntry;
  }
  return null;
}

export function entryInstance(entry: LogEntry): string {
  return entry.kind === 'record' ? entry.record.instance : entry.instance;
}

export function entrySeq(entry: LogEntry): number {
  return entry.kind === 'record' ? entry.record.seq : entry.seq;
}

function noteEntry(tails: Map<string, Tail>, entry: LogEntry): void {
  const instance = entryInstance(entry);
  let tail = tails.get(instance);
  if (!tail) {
    tail = { last: null, lastCheckpointSeq: null };
    tails.set(instance, tail);
  }
  if (entry.kind === 'record') {
    if (tail.last === null || entry.record.seq >= tail.last.record.seq) tail.last = entry;
  } else if (tail.lastCheckpointSeq === null || entry.seq > tail.lastCheckpointSeq) {
    tail.lastCheckpointSeq = entry.seq;
  }
}

function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'I/O error';
}

function unavailable(what: string, error: unknown): TongxiangError {
  return new TongxiangError('AUDIT_UNAVAILABLE', { reason: `${what} (${errnoOf(error)})` }, { cause: error });
}

function invalidLine(path: string, line: number): TongxiangError {
  return new TongxiangError('AUDIT_LOG_INVALID', {
    reason: `${path} 第 ${line} 行不是日志条目 / line ${line} of ${path} is not a log entry`,
  });
}

/** fsync a directory so a created or renamed entry survives a power cut (best effort off Linux). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms cannot open or sync a directory; the file's own sync still holds.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

interface Scan {
  /** Bytes of complete, valid lines: where the log is cut back to when there is a torn tail. */
  readonly goodLength: number;
  readonly size: number;
}

/**
 * Reads the file once, line by line on byte offsets, filling `tails`. A bad line followed by any
 * other line is a corruption in the middle (throws); a bad or unterminated last line is torn.
 */
async function scan(path: string, tails: Map<string, Tail>): Promise<Scan> {
  let offset = 0;
  let lineStart = 0;
  let lineNo = 0;
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let goodLength = 0;
  let badLine: number | null = null;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let pos = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, pos);
        if (nl === -1) break;
        if (badLine !== null) throw invalidLine(path, badLine);
        lineNo += 1;
        const tooLong = pieceBytes + (nl - pos) > MAX_LINE_BYTES;
        const entry = tooLong ? null : parseLogEntry(Buffer.concat([...pieces, chunk.subarray(pos, nl)]).toString('utf8'));
        if (entry === null) badLine = lineNo;
        else {
          noteEntry(tails, entry);
          goodLength = offset + nl + 1;
        }
        pieces = [];
        pieceBytes = 0;
        pos = nl + 1;
        lineStart = offset + pos;
      }
      const rest = chunk.length - pos;
      if (rest > 0) {
        if (pieceBytes + rest <= MAX_LINE_BYTES) pieces.push(chunk.subarray(pos));
        pieceBytes += rest;
      }
      offset += chunk.length;
    }
  } finally {
    stream.destroy();
  }
  // An unterminated last line after a bad complete line: the bad one is in the middle.
  if (badLine !== null && offset > lineStart) throw invalidLine(path, badLine);
  return { goodLength, size: offset };
}

/** Copies `[from, to)` of `path` to a new side file, synced; returns its name. */
async function saveAside(path: string, from: number, to: number): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  for (let n = 0; ; n += 1) {
    const savedAs = `${path}.torn-${stamp}${n === 0 ? '' : `-${n}`}`;
    let side: FileHandle;
    try {
      side = await open(savedAs, 'wx', 0o600);
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST' && n < 1000) continue;
      throw error;
    }
    try {
      const stream = createReadStream(path, { start: from, end: to - 1 });
      for await (const chunk of stream as AsyncIterable<Buffer>) await side.write(chunk);
      await side.sync();
    } finally {
      await side.close();
    }
    await syncDirectory(dirname(path));
    return savedAs;
  }
}

/** Opens (creating if missing) and recovers the log at `options.path`. */
export async function openFileAuditStore(options: FileAuditStoreOptions): Promise<FileAuditStore> {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'audit file store: path is required' });
  }
  const path = resolve(options.path);
  if (openPaths.has(path)) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `audit file store: ${path} is already open in this process` });
  }
  openPaths.add(path);
  let fd: FileHandle | undefined;
  try {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const existed = await stat(path).then(() => true, () => false);
    fd = await open(path, APPEND_FLAGS, 0o600);
    if (!existed) await syncDirectory(dir);
    else await fd.chmod(0o600).catch(() => undefined);

    const tails = new Map<string, Tail>();
    const found = await scan(path, tails);
    if (found.goodLength < found.size) {
      const savedAs = await saveAside(path, found.goodLength, found.size);
      await fd.truncate(found.goodLength);
      await fd.datasync();
      options.onTornTail?.({ bytes: found.size - found.goodLength, savedAs });
    }
    return fileStore(path, fd, tails, found.goodLength);
  } catch (error) {
    openPaths.delete(path);
    await fd?.close().catch(() => undefined);
    if (error instanceof TongxiangError) throw error;
    throw unavailable(`cannot open audit log ${path}`, error);
  }
}

function fileStore(path: string, fd: FileHandle, tails: Map<string, Tail>, initialSize: number): FileAuditStore {
  /** Bytes known durable and whole; the file is cut back here after a failed append. */
  let size = initialSize;
  /** A failed append could not be rolled back yet: cut back before writing again. */
  let dirty = false;
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();

  const serialise = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const rollBack = async (): Promise<void> => {
    await fd.truncate(size);
    await fd.datasync();
    dirty = false;
  };

  const appendNow = async (entries: readonly LogEntry[]): Promise<void> => {
    if (closed) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit log file is closed' });
    if (entries.length === 0) return;
    let text = '';
    for (const entry of entries) text += `${entryText(entry)}\n`;
    const bytes = Buffer.from(text, 'utf8');
    if (dirty) {
      try {
        await rollBack();
      } catch (error) {
        throw unavailable('audit log file could not be repaired after a failed write', error);
      }
    }
    try {
      dirty = true;
      const { bytesWritten } = await fd.write(bytes, 0, bytes.length, null);
      if (bytesWritten !== bytes.length) {
        const short = new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`) as Error & { code: string };
        short.code = 'ESHORTWRITE';
        throw short;
      }
      if (!SYNC_ON_WRITE) await fd.datasync();
      dirty = false;
    } catch (error) {
      await rollBack().catch(() => undefined);
      throw unavailable('audit log file write failed', error);
    }
    size += bytes.length;
    for (const entry of entries) noteEntry(tails, entry);
  };

  async function* readEntries(instance: string | undefined): AsyncGenerator<LogEntry> {
    if (closed) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit log file is closed' });
    // Only what is durable and whole: an append in flight is not read half-written.
    const end = size;
    if (end === 0) return;
    const stream = createReadStream(path, { start: 0, end: end - 1, encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (const line of lines) {
        lineNo += 1;
        const entry = parseLogEntry(line);
        if (entry === null) throw invalidLine(path, lineNo);
        if (instance === undefined || entryInstance(entry) === instance) yield entry;
      }
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  /**
   * Where the last `readFrom` got to (entry index and byte offset): a reader moving forward (the
   * Kafka shipper polling for new entries) starts there instead of at the top of the file.
   */
  let cursor = { index: 0, offset: 0 };

  async function* readEntriesFrom(from: number): AsyncGenerator<LogEntry> {
    if (closed) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit log file is closed' });
    if (!Number.isSafeInteger(from) || from < 0) throw new TongxiangError('BAD_USER_INPUT', { reason: 'readFrom: from must be a non-negative integer' });
    const end = size;
    const startAt = cursor.index <= from && cursor.offset <= end ? cursor : { index: 0, offset: 0 };
    if (startAt.offset >= end) return;
    const stream = createReadStream(path, { start: startAt.offset, end: end - 1, encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let index = startAt.index;
    let offset = startAt.offset;
    try {
      for await (const line of lines) {
        offset += Buffer.byteLength(line, 'utf8') + 1;
        const at = index;
        index += 1;
        cursor = { index, offset };
        if (at < from) continue;
        const entry = parseLogEntry(line);
        if (entry === null) throw new TongxiangError('AUDIT_LOG_INVALID', { reason: `${path}: entry ${at + 1} is not a log entry` });
        yield entry;
      }
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  const store: FileAuditStore = {
    path,
    append: (entries) => serialise(() => appendNow(entries)),
    read: (options = {}) => readEntries(options.instance),
    readFrom: (from) => readEntriesFrom(from),
    async tail(instance) {
      const tail = tails.get(instance);
      return { last: tail?.last ?? null, lastCheckpointSeq: tail?.lastCheckpointSeq ?? null };
    },
    async close() {
      if (closed) return;
      await serialise(async () => {
        closed = true;
      });
      openPaths.delete(path);
      await fd.close();
    },
  };
  return Object.freeze(store);
}

