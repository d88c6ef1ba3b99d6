/**
 * The self-contained export: a JSONL file an auditor can verify offline. Line 1 is a header
 * `{ kind: 'export', format: 'tongxiang-audit-export/1', from, to, createdAt, jwks }` (the public
 * keys only); the entries follow, in log order. The export holds each instance's records whose
 * time lies in [from, to], contiguous from the first such record, continued past `to` up to and
 * including the instance's next checkpoint so that the exported tail is signed; and the
 * checkpoints whose seq lies within the exported seq range of their instance. It starts
 * mid-chain, so it is verified with `allowPartialStart`.
 *
 * The keys in the header let anyone check the file without the hub, but they prove nothing by
 * themselves (a forger could re-sign with keys of their own): `verifyExportFile` says which keys
 * it used, and an auditor should pass keys they trust (the hub's /audit/jwks.json).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { JWK } from 'jose';
import { TongxiangError } from '../core/index.ts';
import type { CheckpointEntry, LogEntry, RecordEntry, VerifyResult } from './types.ts';
import { verifyEntries } from './verify.ts';

export const EXPORT_FORMAT = 'tongxiang-audit-export/1';

export interface ExportHeader {
  readonly kind: 'export';
  readonly format: typeof EXPORT_FORMAT;
  /** The requested range (ISO 8601); null when open-ended. */
  readonly from: string | null;
  readonly to: string | null;
  readonly createdAt: string;
  /** The public keys that signed the checkpoints. */
  readonly jwks: { keys: JWK[] };
}

/** Records held per instance past `to` while waiting for its next checkpoint. */
const MAX_TAIL_RECORDS = 100_000;
const FLUSH_BYTES = 1 << 16;
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'] as const;

function badInput(reason: string): TongxiangError {
  return new TongxiangError('BAD_USER_INPUT', { reason });
}

function rangeBound(value: string | undefined, name: string): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw badInput(`the export's "${name}" (${value}) is not an ISO 8601 time`);
  return ms;
}

/** Public members only: an export never carries a private key, whatever it was given. */
function publicKeys(jwks: { keys: JWK[] }): { keys: JWK[] } {
  return {
    keys: (Array.isArray(jwks?.keys) ? jwks.keys : []).map((jwk) => {
      const clean: Record<string, string> = {};
      for (const m of PUBLIC_MEMBERS) if (typeof jwk[m] === 'string') clean[m] = jwk[m];
      return clean as JWK;
    }),
  };
}

interface InstanceExport {
  phase: 'in' | 'tail' | 'done';
  readonly firstSeq: number;
  /** The last record written. */
  lastSeq: number;
  /** The last checkpoint written. */
  lastCheckpointSeq: number | null;
  /** Records past `to`, waiting for the checkpoint that signs them. */
  tail: RecordEntry[];
}

/** Checks the range before anything is read or written: BAD_USER_INPUT when it is not one. */
export function checkExportRange(range: { from?: string; to?: string }): void {
  const fromMs = rangeBound(range.from, 'from');
  const toMs = rangeBound(range.to, 'to');
  if (fromMs !== null && toMs !== null && fromMs > toMs) throw badInput(`the export's "from" (${range.from}) is after its "to" (${range.to})`);
}

/**
 * The export of `entries` (in log order) for `range`, as JSON lines (each ending in `\n`): the
 * header first, then the entries. What `writeExport` writes to a file and `GET /audit/export`
 * streams to an auditor. `onDone` is told the counts once the last line has been produced.
 */
export async function* exportLines(
  entries: AsyncIterable<LogEntry>,
  range: { from?: string; to?: string },
  jwks: { keys: JWK[] },
  onDone?: (counts: { records: number; checkpoints: number }) => void,
): AsyncGenerator<string> {
  checkExportRange(range);
  const fromMs = rangeBound(range.from, 'from');
  const toMs = rangeBound(range.to, 'to');
  let records = 0;
  let checkpoints = 0;
  const line = (value: unknown) => JSON.stringify(value) + '\n';
  const header: ExportHeader = { kind: 'export', format: EXPORT_FORMAT, from: range.from ?? null, to: range.to ?? null, createdAt: new Date().toISOString(), jwks: publicKeys(jwks) };
  yield line(header);
  const instances = new Map<string, InstanceExport>();
  const recordLine = (ex: InstanceExport, entry: RecordEntry): string => {
    records++;
    if (entry.record.seq > ex.lastSeq) ex.lastSeq = entry.record.seq;
    return line(entry);
  };
  const checkpointLine = (ex: InstanceExport, entry: CheckpointEntry): string => {
    checkpoints++;
    if (ex.lastCheckpointSeq === null || entry.seq > ex.lastCheckpointSeq) ex.lastCheckpointSeq = entry.seq;
    return line(entry);
  };

  for await (const entry of entries) {
    if (entry.kind === 'record') {
      const { instance, seq, time } = entry.record;
      const ms = Date.parse(time);
      const ex = instances.get(instance);
      if (ex === undefined) {
        if ((fromMs === null || ms >= fromMs) && (toMs === null || ms <= toMs)) {
          const started: InstanceExport = { phase: 'in', firstSeq: seq, lastSeq: seq, lastCheckpointSeq: null, tail: [] };
          instances.set(instance, started);
          yield recordLine(started, entry);
        }
        continue;
      }
      if (ex.phase === 'in') {
        if (toMs === null || ms <= toMs) {
          yield recordLine(ex, entry);
        } else if (ex.lastCheckpointSeq === ex.lastSeq) {
          ex.phase = 'done'; // the exported tail is signed already
        } else {
          ex.phase = 'tail';
          ex.tail.push(entry);
        }
      } else if (ex.phase === 'tail') {
        ex.tail.push(entry);
        if (toMs === null || ms <= toMs) {
          // A record of the range written after later ones (a slow request: records carry their
          // arrival time, the chain their write order): the range goes on, contiguous.
          for (const r of ex.tail) yield recordLine(ex, r);
          ex.tail = [];
          ex.phase = 'in';
        } else if (ex.tail.length > MAX_TAIL_RECORDS) {
          ex.phase = 'done'; // no checkpoint in sight: the tail stays unsigned
          ex.tail = [];
        }
      }
      continue;
    }
    const ex = instances.get(entry.instance);
    if (ex === undefined) continue;
    if (entry.seq >= ex.firstSeq && entry.seq <= ex.lastSeq) {
      yield checkpointLine(ex, entry);
      if (ex.phase === 'tail' && entry.seq === ex.lastSeq) {
        ex.phase = 'done';
        ex.tail = [];
      }
    } else if (ex.phase === 'tail' && ex.tail.some((r) => r.record.seq === entry.seq)) {
      for (const r of ex.tail) if (r.record.seq <= entry.seq) yield recordLine(ex, r);
      yield checkpointLine(ex, entry);
      ex.phase = 'done';
      ex.tail = [];
    }
  }
  onDone?.({ records, checkpoints });
}

/**
 * Writes the export of `entries` (in log order) for `range` to `path`: to a temporary file
 * beside it, synced, then renamed into place, so there is never a half export at `path`.
 */
export async function writeExport(
  path: string,
  entries: AsyncIterable<LogEntry>,
  range: { from?: string; to?: string },
  jwks: { keys: JWK[] },
): Promise<{ records: number; checkpoints: number }> {
  checkExportRange(range);
  const tmp = `${path}.${randomUUID()}.tmp`;
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx', 0o600);
  } catch (error) {
    throw badInput(`cannot write the export ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let counts = { records: 0, checkpoints: 0 };
  try {
    let chunks: string[] = [];
    let size = 0;
    for await (const text of exportLines(entries, range, jwks, (c) => (counts = c))) {
      chunks.push(text);
      size += text.length;
      if (size >= FLUSH_BYTES) {
        await handle.write(chunks.join(''));
        chunks = [];
        size = 0;
      }
    }
    if (chunks.length > 0) await handle.write(chunks.join(''));
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (error instanceof TongxiangError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw badInput(`cannot write the export ${path} (${code})`);
    throw error;
  }
  return counts;
}

function headerProblem(value: unknown): { zh: string; en: string } | null {
  const h = value as Partial<Record<keyof ExportHeader, unknown>> | null;
  if (typeof h !== 'object' || h === null || h.kind !== 'export') return { zh: '第一行不是导出文件头', en: 'the first line is not an export header' };
  if (h.format !== EXPORT_FORMAT) return { zh: `导出格式“${String(h.format)}”未知（应为 ${EXPORT_FORMAT}）`, en: `unknown export format "${String(h.format)}" (expected ${EXPORT_FORMAT})` };
  const jwks = h.jwks as { keys?: unknown } | null;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) return { zh: '文件头缺少公钥集（jwks）', en: 'the header has no key set (jwks)' };
  return null;
}

/**
 * Verifies an export file offline, as a log that may start mid-chain. Uses `options.jwks` (keys
 * the auditor trusts) when given, else the keys in the file's header — `keysFrom` says which.
 * A missing or wrong header is reported as a malformed line 1.
 */
export async function verifyExportFile(path: string, options: { jwks?: { keys: JWK[] } } = {}): Promise<VerifyResult & { keysFrom: 'file' | 'given' }> {
  const keysFrom = options.jwks !== undefined ? ('given' as const) : ('file' as const);
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolveOpen, rejectOpen) => {
    stream.once('ready', () => resolveOpen());
    stream.once('error', rejectOpen);
  });
  try {
    await opened;
  } catch (error) {
    stream.destroy();
    throw badInput(`cannot read the export ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    const malformed = (why: { zh: string; en: string }): VerifyResult & { keysFrom: 'file' | 'given' } => ({
      ok: false,
      problem: { kind: 'malformed', instance: null, seq: null, line: 1, zh: `第 1 行不是有效的导出文件头（${why.zh}）。`, en: `Line 1 is not a valid export header (${why.en}).` },
      checked: 0,
      keysFrom,
    });
    if (first.done === true) return malformed({ zh: '文件为空', en: 'the file is empty' });
    let header: unknown;
    try {
      header = JSON.parse(first.value);
    } catch {
      return malformed({ zh: '不是 JSON', en: 'not JSON' });
    }
    const problem = headerProblem(header);
    if (problem !== null) return malformed(problem);
    const jwks = options.jwks ?? (header as ExportHeader).jwks;
    const rest: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }),
    };
    const result = await verifyEntries(rest, jwks, { allowPartialStart: true, firstLine: 2 });
    return { ...result, keysFrom };
  } finally {
    lines.close();
    stream.destroy();
  }
}
