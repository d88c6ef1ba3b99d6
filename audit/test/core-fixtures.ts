/**
 * Real chains for the audit core's tests: records made by hand (no writer), chained with
 * `chainHash`, checkpoints signed with a real keyring in a temporary directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCheckpoint } from '../checkpoint.ts';
import { chainHash } from '../hash.ts';
import type { AuditSigningKey } from '../keys.ts';
import { GENESIS, type AccessRecord, type AdminRecord, type AuditRecord, type HashAlgorithm, type LogEntry, type RecordEntry } from '../types.ts';

const dirs: string[] = [];

export async function tempDir(prefix = 'tongxiang-audit-core-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export const BASE_TIME = Date.parse('2025-03-01T08:00:00.000Z');

export function timeAt(i: number): string {
  return new Date(BASE_TIME + i * 60_000).toISOString();
}

export function accessRecord(instance: string, seq: number, time: string): AccessRecord {
  return {
    type: 'access',
    instance,
    seq,
    time,
    requestId: `req-${instance}-${seq}`,
    department: '341504.mzj',
    user: 'zhang.wei',
    client: 'minzheng-portal',
    operationName: '低保核对',
    operationHash: 'a'.repeat(64),
    coordinates: [{ coordinate: 'Person.name', decision: 'allow', detail: 'contract', contractId: 'C-2025-001' }],
    contractIds: ['C-2025-001'],
    purposes: ['最低生活保障审核'],
    providers: ['341500.gaj'],
    sources: [{ source: 'population', status: 'ok', latencyMs: 12 }],
    subjects: [{ kind: 'idNumber', keyId: 'k1', hmac: 'b'.repeat(64) }],
    rows: 1,
    rowsWithheld: 0,
    outcome: 'ok',
    httpStatus: 200,
    errorCodes: [],
    reason: null,
    durationMs: 35.5,
  };
}

export function adminRecord(instance: string, seq: number, time: string): AdminRecord {
  return { type: 'admin', instance, seq, time, action: 'policy-reload', actor: { department: null, user: 'system' }, details: { digest: 'c'.repeat(64) } };
}

export function recordEntry(alg: HashAlgorithm, prev: string, record: AuditRecord): RecordEntry {
  return { kind: 'record', alg, prev, hash: chainHash(alg, prev, record), record };
}

export interface LogOptions {
  readonly key: AuditSigningKey;
  readonly instances?: readonly string[];
  readonly perInstance?: number;
  readonly checkpointEvery?: number;
  /** Hash algorithm per instance (default sha256 for all). */
  readonly algs?: Readonly<Record<string, HashAlgorithm>>;
}

/**
 * A log of `perInstance` records for each instance, interleaved round-robin (A1, B1, A2, B2...),
 * one minute apart; each instance's checkpoint follows its record every `checkpointEvery`.
 * Every fifth record is an admin record.
 */
export async function buildLog(options: LogOptions): Promise<LogEntry[]> {
  const { key, instances = ['hub-a', 'hub-b'], perInstance = 25, checkpointEvery = 10, algs = {} } = options;
  const heads = new Map<string, string>(instances.map((i) => [i, GENESIS]));
  const entries: LogEntry[] = [];
  let tick = 0;
  for (let seq = 1; seq <= perInstance; seq++) {
    for (const instance of instances) {
      const alg = algs[instance] ?? 'sha256';
      const time = timeAt(tick++);
      const record = seq % 5 === 0 ? adminRecord(instance, seq, time) : accessRecord(instance, seq, time);
      const entry = recordEntry(alg, heads.get(instance)!, record);
      heads.set(instance, entry.hash);
      entries.push(entry);
      if (seq % checkpointEvery === 0) entries.push(await signCheckpoint(key, { instance, seq, head: entry.hash, alg, time }));
    }
  }
  return entries;
}

export function toLines(entries: readonly LogEntry[]): string[] {
  return entries.map((e) => JSON.stringify(e));
}

/** Index (0-based) of the record `instance#seq` in `lines`. */
export function recordIndex(lines: readonly string[], instance: string, seq: number): number {
  const i = lines.findIndex((l) => {
    const e = JSON.parse(l) as LogEntry;
    return e.kind === 'record' && e.record.instance === instance && e.record.seq === seq;
  });
  if (i < 0) throw new Error(`no record ${instance}#${seq}`);
  return i;
}

/** Index (0-based) of the checkpoint `instance#seq` in `lines`. */
export function checkpointIndex(lines: readonly string[], instance: string, seq: number): number {
  const i = lines.findIndex((l) => {
    const e = JSON.parse(l) as LogEntry;
    return e.kind === 'checkpoint' && e.instance === instance && e.seq === seq;
  });
  if (i < 0) throw new Error(`no checkpoint ${instance}#${seq}`);
  return i;
}

export function recordAt(lines: readonly string[], index: number): RecordEntry {
  const e = JSON.parse(lines[index]!) as LogEntry;
  if (e.kind !== 'record') throw new Error(`line ${index + 1} is not a record`);
  return e;
}
