/**
 * The audit trail's offline pieces, timed: the writer building a chain of realistic access
 * records into the embedded JSONL file store (async mode, group commit, a signed checkpoint every
 * `checkpointEvery` records), then the verifier reading that file back line by line with the
 * keyring's public keys. Once with SHA-256, once with SM3. Everything is the real code
 * (openFileAuditStore, openAuditWriter, signCheckpoint, openAuditKeyring, verifyEntries) in a
 * temporary directory that is removed afterwards.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signCheckpoint } from '../audit/checkpoint.ts';
import { openFileAuditStore } from '../audit/file-store.ts';
import { assertHashAvailable } from '../audit/hash.ts';
import { openAuditKeyring } from '../audit/keys.ts';
import type { AccessRecord, AuditCoordinate, AuditSubject, HashAlgorithm } from '../audit/types.ts';
import { verifyEntries } from '../audit/verify.ts';
import { openAuditWriter } from '../audit/writer.ts';

export interface AuditChainResult {
  readonly alg: HashAlgorithm;
  /** Why this algorithm was not measured (not in this Node.js build); null when it was. */
  readonly skipped: string | null;
  readonly records: number;
  readonly checkpoints: number;
  readonly fileBytes: number;
  /** Writer, async mode: from the first write() to close() resolved (everything durable, last checkpoint signed). */
  readonly writeS: number;
  readonly writeRecordsPerS: number;
  /** verifyEntries over the file's lines, streamed with readline (reading included). */
  readonly verifyS: number;
  readonly verifyRecordsPerS: number;
  readonly verifyMBPerS: number;
}

export interface AuditVerifierReport {
  readonly records: number;
  readonly checkpointEvery: number;
  /** Records handed to write() before the bench yields to the event loop (a burst of requests). */
  readonly burst: number;
  /** Mean bytes per line (entry) of the SHA-256 file. */
  readonly bytesPerLine: number;
  readonly tmpdir: string;
  readonly results: readonly AuditChainResult[];
}

export class AuditVerifierFailure extends Error {}

const INSTANCE = 'hub-bench0001';
const BURST = 64;

/** What the flagship eligibility check (q2) decides, field by field, for a county developer with contracts. */
const FLAGSHIP_COORDINATES: readonly Omit<AuditCoordinate, 'contractId'>[] = [
  { coordinate: 'Query.person', decision: 'allow', detail: 'unconditional' },
  { coordinate: 'Person.idNumber', decision: 'allow', detail: 'owner' },
  { coordinate: 'Person.name', decision: 'allow', detail: 'owner' },
  { coordinate: 'Person.allowances', decision: 'allow', detail: 'owner' },
  { coordinate: 'Allowance.monthlyAmount', decision: 'allow', detail: 'owner' },
  { coordinate: 'Person.insurance', decision: 'allow', detail: 'contract' },
  { coordinate: 'InsuranceRecord.status', decision: 'allow', detail: 'contract' },
  { coordinate: 'InsuranceRecord.employerCreditCode', decision: 'mask', detail: 'creditCode' },
  { coordinate: 'Person.enterprisesAsLegalRepresentative', decision: 'allow', detail: 'contract' },
  { coordinate: 'Enterprise.registeredCapital', decision: 'allow', detail: 'unconditional' },
];

/** Realistic access records: the flagship check and a single-enterprise lookup, alternating. */
function recordMaker(): (i: number) => Omit<AccessRecord, 'instance' | 'seq'> {
  const subjectKey = randomBytes(32);
  const hmac = (kind: string, value: string): AuditSubject => ({ kind, keyId: 'sk-20260101', hmac: createHmac('sha256', subjectKey).update(`${kind}:${value}`).digest('hex') });
  // A pool of data subjects (the HMAC is the hub's work per request, not the writer's: made up front).
  const people = Array.from({ length: 256 }, (_, k) => hmac('idNumber', `34150419${String(600101 + k).padStart(6, '0')}${String(k % 1000).padStart(3, '0')}X`));
  const firms = Array.from({ length: 256 }, (_, k) => hmac('creditCode', `91341500${String(k).padStart(9, '0')}X`));
  const contracts = ['GX-2026-000012', 'GX-2026-000013', 'GX-2026-000027'];
  const opHash = (name: string) => createHash('sha256').update(`query ${name} { … }`).digest('hex');
  const flagshipHash = opHash('EligibilityCheck');
  const enterpriseHash = opHash('Enterprise');
  const t0 = Date.parse('2026-11-23T01:00:00.000Z');
  return (i) => {
    const time = new Date(t0 + i * 37).toISOString();
    const requestId = `req-${i.toString(36).padStart(8, '0')}`;
    if (i % 2 === 0) {
      return {
        type: 'access',
        time,
        requestId,
        department: '341504.mzj',
        user: `caseworker-${i % 17}`,
        client: 'dibao-portal',
        operationName: 'EligibilityCheck',
        operationHash: flagshipHash,
        coordinates: FLAGSHIP_COORDINATES.map((c) => ({ ...c, contractId: c.detail === 'contract' ? contracts[c.coordinate.startsWith('Person.ent') ? 1 : 0]! : null })),
        contractIds: [contracts[0]!, contracts[1]!],
        purposes: ['最低生活保障资格审核 / minimum living allowance eligibility review'],
        providers: ['340000.scjgj', '341500.rsj', '341504.mzj'],
        sources: [
          { source: 'CivilAffairsRosters', status: 'ok', latencyMs: 3 + (i % 5) },
          { source: 'SocialInsurance', status: 'ok', latencyMs: 11 + (i % 13) },
          { source: 'MarketRegistry', status: 'ok', latencyMs: 19 + (i % 23) },
        ],
        subjects: [people[i % 256]!, people[(i * 7 + 3) % 256]!, firms[i % 256]!],
        rows: 4 + (i % 3),
        rowsWithheld: i % 11 === 0 ? 1 : 0,
        outcome: i % 11 === 0 ? 'partial' : 'ok',
        httpStatus: 200,
        errorCodes: [],
        reason: null,
        durationMs: 40 + (i % 97) / 8,
      };
    }
    return {
      type: 'access',
      time,
      requestId,
      department: '341623.mzj',
      user: `clerk-${i % 5}`,
      client: null,
      operationName: 'Enterprise',
      operationHash: enterpriseHash,
      coordinates: [
        { coordinate: 'Query.getEnterprise', decision: 'allow', detail: 'unconditional', contractId: null },
        { coordinate: 'Enterprise.name', decision: 'allow', detail: 'unconditional', contractId: null },
        { coordinate: 'Enterprise.legalRepresentativeIdNumber', decision: 'allow', detail: 'contract', contractId: contracts[2]! },
        { coordinate: 'Enterprise.address', decision: 'mask', detail: 'address', contractId: null },
      ],
      contractIds: [contracts[2]!],
      purposes: ['企业登记信息核验 / enterprise registration check'],
      providers: ['340000.scjgj'],
      sources: [{ source: 'MarketRegistry', status: 'ok', latencyMs: 9 + (i % 7) }],
      subjects: [firms[(i * 3) % 256]!, people[(i * 5) % 256]!],
      rows: 1,
      rowsWithheld: 0,
      outcome: 'ok',
      httpStatus: 200,
      errorCodes: [],
      reason: null,
      durationMs: 12 + (i % 31) / 4,
    };
  };
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

async function measureChain(dir: string, alg: HashAlgorithm, n: number, checkpointEvery: number, log: (line: string) => void): Promise<AuditChainResult> {
  try {
    assertHashAvailable(alg);
  } catch {
    return { alg, skipped: 'not available in this Node.js build', records: 0, checkpoints: 0, fileBytes: 0, writeS: 0, writeRecordsPerS: 0, verifyS: 0, verifyRecordsPerS: 0, verifyMBPerS: 0 };
  }
  const keyring = await openAuditKeyring(join(dir, 'keys'));
  const path = join(dir, `audit-${alg}.jsonl`);
  const store = await openFileAuditStore({ path });
  const make = recordMaker();
  let writeS: number;
  try {
    const errors: unknown[] = [];
    const writer = await openAuditWriter({
      store,
      instance: INSTANCE,
      alg,
      mode: 'async',
      // Never refuse a write: this measures throughput, not backpressure.
      queueLimit: n + 1,
      checkpointEvery,
      // Long enough that only the record count triggers checkpoints.
      checkpointIntervalMs: 3_600_000,
      sign: (payload) => signCheckpoint(keyring.current(), payload),
      onError: (error) => errors.push(error),
    });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await writer.write(make(i));
      // A burst of responses, then the event loop: group commits run while records keep coming.
      if (i % BURST === BURST - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    await writer.close();
    writeS = seconds(t0);
    if (errors.length > 0) throw new AuditVerifierFailure(`audit writer (${alg}) reported: ${errors[0] instanceof Error ? errors[0].message : String(errors[0])}`);
  } finally {
    await store.close();
  }
  const fileBytes = (await stat(path)).size;
  log(`  audit ${alg}: wrote ${n.toLocaleString('en-US')} records in ${writeS.toFixed(2)} s (${Math.round(n / writeS).toLocaleString('en-US')} records/s), ${(fileBytes / 1e6).toFixed(1)} MB`);

  const t1 = process.hrtime.bigint();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let result: Awaited<ReturnType<typeof verifyEntries>>;
  try {
    result = await verifyEntries(lines, keyring.publicJwks());
  } finally {
    lines.close();
    stream.destroy();
  }
  const verifyS = seconds(t1);
  if (!result.ok) {
    throw new AuditVerifierFailure(`audit verifier (${alg}) rejected the bench's own chain: ${result.problem.kind} at line ${result.problem.line}: ${result.problem.en}`);
  }
  const expectedCheckpoints = Math.ceil(n / checkpointEvery);
  if (result.records !== n || result.checkpoints !== expectedCheckpoints || result.unsigned !== 0 || result.duplicates !== 0) {
    throw new AuditVerifierFailure(
      `audit verifier (${alg}): ok, but ${result.records} records, ${result.checkpoints} checkpoints, ${result.unsigned} unsigned, ` +
        `${result.duplicates} duplicates (expected ${n}, ${expectedCheckpoints}, 0, 0)`,
    );
  }
  log(`  audit ${alg}: verified ${n.toLocaleString('en-US')} records, ${result.checkpoints} checkpoints in ${verifyS.toFixed(2)} s (${Math.round(n / verifyS).toLocaleString('en-US')} records/s): ok`);
  return {
    alg,
    skipped: null,
    records: result.records,
    checkpoints: result.checkpoints,
    fileBytes,
    writeS,
    writeRecordsPerS: n / writeS,
    verifyS,
    verifyRecordsPerS: n / verifyS,
    verifyMBPerS: fileBytes / 1e6 / verifyS,
  };
}

/** Builds and verifies an `n`-record chain with SHA-256, then with SM3; throws AuditVerifierFailure unless both verify. */
export async function measureAuditVerifier(n: number, log: (line: string) => void, checkpointEvery = 1000): Promise<AuditVerifierReport> {
  const dir = await mkdtemp(join(tmpdir(), 'tongxiang-bench-audit-'));
  try {
    const results: AuditChainResult[] = [];
    for (const alg of ['sha256', 'sm3'] as const) {
      // Each chain starts from a collected heap, like each load run.
      (globalThis as { gc?: () => void }).gc?.();
      results.push(await measureChain(dir, alg, n, checkpointEvery, log));
    }
    const sha = results.find((r) => r.alg === 'sha256' && r.skipped === null);
    const entries = sha ? sha.records + sha.checkpoints : 0;
    return {
      records: n,
      checkpointEvery,
      burst: BURST,
      bytesPerLine: sha && entries > 0 ? sha.fileBytes / entries : 0,
      tmpdir: tmpdir(),
      results,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
