/**
 * Shared by the store and writer tests (and the kill -9 child): records, a real Ed25519 checkpoint
 * signer (jose, CompactSign over the canonical payload), hand-built entries, and a chain check that
 * recomputes every hash from what was read back.
 */
import { CompactSign, compactVerify, generateKeyPair, type CryptoKey } from 'jose';
import { canonicalJson } from '../canonical.ts';
import { chainHash } from '../hash.ts';
import {
  GENESIS,
  type AuditLogStore,
  type CheckpointEntry,
  type CheckpointPayload,
  type HashAlgorithm,
  type LogEntry,
  type NewAuditRecord,
  type RecordEntry,
} from '../types.ts';

export const T0 = Date.parse('2025-03-01T08:00:00.000Z');

export function manualClock(start = T0): { now(): number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/** An access record (no personal data: HMACs and codes only), or an admin one every seventh. */
export function newRecord(n: number): NewAuditRecord {
  const time = new Date(T0 + n).toISOString();
  if (n % 7 === 0) {
    return {
      type: 'admin',
      time,
      action: 'config-change',
      actor: { department: null, user: 'system' },
      details: { digest: `cfg-${n}`, note: '配置变更' },
    };
  }
  return {
    type: 'access',
    time,
    requestId: `req-${n}`,
    department: '341504.mzj',
    user: 'u1',
    client: 'c1',
    operationName: 'Enterprise',
    operationHash: 'a'.repeat(64),
    coordinates: [{ coordinate: 'Enterprise.name', decision: 'allow', detail: 'contract', contractId: 'GX-2025-000001' }],
    contractIds: ['GX-2025-000001'],
    purposes: ['低保核查'],
    providers: ['340000.scjgj'],
    sources: [{ source: 'provincial-registry', status: 'ok', latencyMs: 12 }],
    subjects: [{ kind: 'creditCode', keyId: 'k1', hmac: 'b'.repeat(64) }],
    rows: 1,
    rowsWithheld: 0,
    outcome: 'ok',
    httpStatus: 200,
    errorCodes: [],
    reason: null,
    durationMs: n % 50,
  };
}

export interface TestSigner {
  sign(payload: CheckpointPayload): Promise<CheckpointEntry>;
  /** The payload of a checkpoint made by this signer (throws if the signature does not verify). */
  verify(entry: CheckpointEntry): Promise<CheckpointPayload>;
}

export async function testSigner(): Promise<TestSigner> {
  const { privateKey, publicKey } = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })) as { privateKey: CryptoKey; publicKey: CryptoKey };
  return {
    async sign(payload) {
      const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
        .sign(privateKey);
      return { kind: 'checkpoint', instance: payload.instance, seq: payload.seq, jws };
    },
    async verify(entry) {
      const { payload, protectedHeader } = await compactVerify(entry.jws, publicKey);
      if (protectedHeader.kid !== 'test') throw new Error('wrong kid');
      return JSON.parse(new TextDecoder().decode(payload)) as CheckpointPayload;
    },
  };
}

/** Record entries `from..to` of `instance`, chained after `prev` (built by hand, without a writer). */
export function chainedEntries(instance: string, from: number, to: number, prev = GENESIS, alg: HashAlgorithm = 'sha256'): RecordEntry[] {
  const out: RecordEntry[] = [];
  for (let seq = from; seq <= to; seq += 1) {
    const record = JSON.parse(JSON.stringify({ ...newRecord(seq), instance, seq }));
    const hash = chainHash(alg, prev, record);
    out.push({ kind: 'record', alg, prev, hash, record });
    prev = hash;
  }
  return out;
}

export async function readAll(store: AuditLogStore, instance?: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of store.read(instance === undefined ? {} : { instance })) out.push(entry);
  return out;
}

export interface ChainReport {
  /** Record seqs of the instance, in log order. */
  readonly seqs: number[];
  readonly checkpoints: CheckpointEntry[];
  /** Empty when the chain is whole: seqs 1, 2, 3… each hash recomputed, each prev the last hash. */
  readonly problems: string[];
  readonly head: string;
}

/** Recomputes the chain of `instance` over entries as read back; checkpoints must follow their record. */
export function checkChain(entries: readonly LogEntry[], instance: string): ChainReport {
  const seqs: number[] = [];
  const checkpoints: CheckpointEntry[] = [];
  const problems: string[] = [];
  const hashes = new Map<number, string>();
  let prev = GENESIS;
  let expected = 1;
  for (const entry of entries) {
    if (entry.kind === 'checkpoint') {
      if (entry.instance !== instance) continue;
      checkpoints.push(entry);
      if (!hashes.has(entry.seq)) problems.push(`checkpoint ${entry.seq} before its record`);
      continue;
    }
    if (entry.record.instance !== instance) continue;
    const { seq } = entry.record;
    seqs.push(seq);
    if (seq !== expected) problems.push(`seq ${seq} where ${expected} was expected`);
    if (entry.prev !== prev) problems.push(`seq ${seq}: prev does not match the previous hash`);
    if (chainHash(entry.alg, entry.prev, entry.record) !== entry.hash) problems.push(`seq ${seq}: hash does not recompute`);
    hashes.set(seq, entry.hash);
    prev = entry.hash;
    expected = seq + 1;
  }
  return { seqs, checkpoints, problems, head: prev };
}

/** The hash of record `seq` of `instance` in `entries`. */
export function hashOf(entries: readonly LogEntry[], instance: string, seq: number): string | undefined {
  for (const e of entries) if (e.kind === 'record' && e.record.instance === instance && e.record.seq === seq) return e.hash;
  return undefined;
}
