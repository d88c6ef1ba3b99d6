/**
 * The verifier against a tampered log: a real chain of 50 records over two instances
 * (interleaved, checkpoints every 10 records of each), changed line by line as an attacker
 * would, each change found with the right kind and located at the right instance, seq and line.
 */
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../canonical.ts';
import { signCheckpoint } from '../checkpoint.ts';
import { chainHash } from '../hash.ts';
import { openAuditKeyring, type AuditKeyring } from '../keys.ts';
import type { AccessRecord, LogEntry, RecordEntry, VerifyResult } from '../types.ts';
import { verifyEntries } from '../verify.ts';
import { buildLog, checkpointIndex, recordAt, recordEntry, recordIndex, removeTempDirs, tempDir, toLines } from './core-fixtures.ts';

afterAll(removeTempDirs);

let keyring: AuditKeyring;
let lines: string[];

beforeAll(async () => {
  keyring = await openAuditKeyring(await tempDir());
  lines = toLines(await buildLog({ key: keyring.current() }));
});

const A = 'hub-a';
const B = 'hub-b';

function verify(input: Iterable<LogEntry | string>, options?: { allowPartialStart?: boolean }): Promise<VerifyResult> {
  return verifyEntries(input, keyring.publicJwks(), options);
}

function problemOf(result: VerifyResult) {
  if (result.ok) throw new Error(`expected a problem, the log verified: ${JSON.stringify(result)}`);
  return result.problem;
}

function withRecord(entry: RecordEntry, change: (r: AccessRecord) => AccessRecord, rehash: boolean): string {
  const record = change(entry.record as AccessRecord);
  return JSON.stringify({ ...entry, record, hash: rehash ? chainHash(entry.alg, entry.prev, record) : entry.hash });
}

describe('an intact log', () => {
  it('verifies, as lines and as entries, with records after the last checkpoint reported unsigned', async () => {
    const expected = { ok: true, records: 50, checkpoints: 4, duplicates: 0, unsigned: 10 };
    expect(await verify(lines)).toMatchObject(expected);
    expect(await verify(lines.map((l) => JSON.parse(l) as LogEntry))).toMatchObject(expected);
    const result = await verify(lines);
    expect(result.ok && result.instances.map((i) => [i.instance, i.firstSeq, i.lastSeq, i.lastCheckpointSeq])).toEqual([
      [A, 1, 25, 20],
      [B, 1, 25, 20],
    ]);
  });

  it('counts records and checkpoints delivered twice once (at-least-once delivery)', async () => {
    const from = recordIndex(lines, A, 5);
    const to = checkpointIndex(lines, A, 10);
    const redelivered = [...lines.slice(0, to + 6), ...lines.slice(from, to + 1), ...lines.slice(to + 6)];
    const result = await verify(redelivered);
    expect(result).toMatchObject({ ok: true, records: 50, checkpoints: 4 });
    expect(result.ok && result.duplicates).toBe(to + 1 - from);
  });

  it('accepts checkpoints that come later or earlier than the records of other instances around them', async () => {
    const cp = checkpointIndex(lines, A, 10);
    const moved = [...lines];
    const [line] = moved.splice(cp, 1);
    moved.splice(recordIndex(moved, B, 18), 0, line!); // A's checkpoint 10, eight B records later
    const cpB = checkpointIndex(moved, B, 20);
    const [lineB] = moved.splice(cpB, 1);
    moved.unshift(lineB!); // B's checkpoint 20 before any record at all
    expect(await verify(moved)).toMatchObject({ ok: true, records: 50, checkpoints: 4 });
  });

  it('ignores blank lines but counts them in line numbers', async () => {
    const spaced = [lines[0]!, '', ...lines.slice(1)];
    expect(await verify(spaced)).toMatchObject({ ok: true, records: 50 });
    const i = recordIndex(lines, A, 3);
    const broken = [...spaced];
    broken[i + 1] = broken[i + 1]!.replace('req-hub-a-3', 'req-hub-a-9');
    expect(problemOf(await verify(broken))).toMatchObject({ kind: 'record-modified', seq: 3, line: i + 2 });
  });
});

describe('tampering', () => {
  it('detects a record modified in place (one byte) and names its seq and line', async () => {
    const i = recordIndex(lines, A, 17);
    const tampered = [...lines];
    tampered[i] = tampered[i]!.replace('"rows":1', '"rows":7');
    expect(tampered[i]).not.toBe(lines[i]);
    const result = await verify(tampered);
    expect(problemOf(result)).toMatchObject({ kind: 'record-modified', instance: A, seq: 17, line: i + 1 });
    expect(result.ok === false && result.checked).toBe(i);
    expect(problemOf(result).zh).toContain('第 17 条');
    expect(problemOf(result).en).toContain('Record 17 of instance hub-a');
  });

  it('detects a record modified with its hash recomputed, by the next record not chaining to it', async () => {
    const i = recordIndex(lines, A, 15);
    const tampered = [...lines];
    tampered[i] = withRecord(recordAt(lines, i), (r) => ({ ...r, rows: 1000, department: '341504.gaj' }), true);
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'record-modified', instance: A, seq: 15, line: i + 1 });
    expect(problem.en).toContain('recomputed');
  });

  it('detects a record modified with its hash recomputed just before a checkpoint, by the checkpoint and the next record', async () => {
    const i = recordIndex(lines, B, 20);
    const tampered = [...lines];
    tampered[i] = withRecord(recordAt(lines, i), (r) => ({ ...r, time: '2025-03-01T00:00:00.000Z' }), true);
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'record-modified', instance: B, seq: 20, line: i + 1 });
  });

  it('detects a record whose hash algorithm was switched and its hash recomputed', async () => {
    const i = recordIndex(lines, A, 12);
    const entry = recordAt(lines, i);
    const tampered = [...lines];
    tampered[i] = JSON.stringify({ ...entry, alg: 'sm3', hash: chainHash('sm3', entry.prev, entry.record) });
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'record-modified', instance: A, seq: 12, line: i + 1 });
  });

  it('detects a record whose prev was changed and hash recomputed: neither it nor its successor chains', async () => {
    const i = recordIndex(lines, A, 15);
    const entry = recordAt(lines, i);
    const tampered = [...lines];
    tampered[i] = JSON.stringify(recordEntry(entry.alg, 'f'.repeat(64), entry.record));
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'record-modified', instance: A, seq: 15, line: i + 1 });
    expect(problem.en).toContain('does not chain to the record before it');
  });

  it('detects a deleted record as missing, at the line where it was due', async () => {
    const tampered = lines.filter((_, j) => j !== recordIndex(lines, A, 23));
    const next = recordIndex(tampered, A, 24);
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'record-missing', instance: A, seq: 23, line: next + 1 });
    expect(problem.zh).toContain('缺少第 23 条记录');
  });

  it('detects two swapped records as reordered, naming the record that came late', async () => {
    const i = recordIndex(lines, A, 12);
    const j = recordIndex(lines, A, 13);
    const tampered = [...lines];
    [tampered[i], tampered[j]] = [tampered[j]!, tampered[i]!];
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'records-reordered', instance: A, seq: 12, line: i + 1 });
    expect(problem.en).toContain(`at line ${j + 1}`);
  });

  it('detects a log cut short while its last checkpoint remains (tail cut)', async () => {
    const cut = lines.filter((l) => {
      const e = JSON.parse(l) as LogEntry;
      return !(e.kind === 'record' && e.record.instance === A && e.record.seq >= 15);
    });
    const cp = checkpointIndex(cut, A, 20);
    const problem = problemOf(await verify(cut));
    expect(problem).toMatchObject({ kind: 'tail-cut', instance: A, seq: 20, line: cp + 1 });
    expect(problem.en).toContain('the last record of that instance present is 14');
  });

  it('cannot see a cut of unsigned records alone, but reports fewer records and the head to compare', async () => {
    const cut = lines.filter((l) => {
      const e = JSON.parse(l) as LogEntry;
      return !(e.kind === 'record' && e.record.instance === A && e.record.seq > 20);
    });
    const result = await verify(cut);
    expect(result).toMatchObject({ ok: true, records: 45, unsigned: 5 });
    expect(result.ok && result.instances[0]).toMatchObject({ instance: A, lastSeq: 20, lastCheckpointSeq: 20 });
  });

  it('detects a fork: a second, different record with the same instance and seq', async () => {
    const i = recordIndex(lines, A, 16);
    const original = recordAt(lines, i);
    const other = recordEntry(original.alg, original.prev, { ...(original.record as AccessRecord), requestId: 'req-forged' });
    const tampered = [...lines.slice(0, i + 1), JSON.stringify(other), ...lines.slice(i + 1)];
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'chain-forked', instance: A, seq: 16, line: i + 2 });
    expect(problem.en).toContain(`at line ${i + 1}`);
  });

  it('detects a fork: a record not chaining to a predecessor that a checkpoint signed', async () => {
    const i = recordIndex(lines, B, 11);
    const original = recordAt(lines, i);
    const tampered = [...lines];
    tampered[i] = JSON.stringify(recordEntry(original.alg, 'f'.repeat(64), original.record));
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'chain-forked', instance: B, seq: 11, line: i + 1 });
  });

  it('detects a checkpoint signed with a key not in the key set', async () => {
    const stranger = await openAuditKeyring(await tempDir());
    const cp = checkpointIndex(lines, A, 10);
    const record = recordAt(lines, recordIndex(lines, A, 10));
    const tampered = [...lines];
    tampered[cp] = JSON.stringify(await signCheckpoint(stranger.current(), { instance: A, seq: 10, head: record.hash, alg: 'sha256', time: record.record.time }));
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'checkpoint-invalid', instance: A, seq: 10, line: cp + 1 });
    expect(problem.zh).toContain('签名无效');
  });

  it('detects a checkpoint with a damaged signature or another algorithm', async () => {
    const cp = checkpointIndex(lines, B, 20);
    const entry = JSON.parse(lines[cp]!) as LogEntry & { jws: string };
    const [h, p, s] = entry.jws.split('.');
    const flipped = [...lines];
    flipped[cp] = JSON.stringify({ ...entry, jws: `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}` });
    expect(problemOf(await verify(flipped))).toMatchObject({ kind: 'checkpoint-invalid', instance: B, seq: 20, line: cp + 1 });

    const payload = Buffer.from(p!, 'base64url').toString('utf8');
    const hs = await new CompactSign(new TextEncoder().encode(payload))
      .setProtectedHeader({ alg: 'HS256', kid: keyring.current().kid, typ: 'tongxiang-audit-checkpoint+jws' })
      .sign(new Uint8Array(32));
    const hmacSigned = [...lines];
    hmacSigned[cp] = JSON.stringify({ ...entry, jws: hs });
    expect(problemOf(await verify(hmacSigned))).toMatchObject({ kind: 'checkpoint-invalid', instance: B, seq: 20, line: cp + 1 });
  });

  it('detects a validly signed checkpoint whose head is not the hash of its record', async () => {
    const cp = checkpointIndex(lines, A, 20);
    const wrongHead = recordAt(lines, recordIndex(lines, A, 19)).hash;
    const tampered = [...lines];
    tampered[cp] = JSON.stringify(await signCheckpoint(keyring.current(), { instance: A, seq: 20, head: wrongHead, alg: 'sha256', time: '2025-03-01T09:00:00.000Z' }));
    const problem = problemOf(await verify(tampered));
    expect(problem).toMatchObject({ kind: 'checkpoint-mismatch', instance: A, seq: 20, line: cp + 1 });
    expect(problem.en).toContain('valid signature');
  });

  it('detects a whole chain rewritten from a record on (every hash recomputed) at the next checkpoint', async () => {
    const tampered = [...lines];
    let prev: string | null = null;
    for (let seq = 13; seq <= 25; seq++) {
      const i = recordIndex(tampered, A, seq);
      const e = recordAt(tampered, i);
      const record = seq === 13 ? { ...(e.record as AccessRecord), rows: 99 } : e.record;
      tampered[i] = JSON.stringify(recordEntry(e.alg, prev ?? e.prev, record));
      prev = recordAt(tampered, i).hash;
    }
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'checkpoint-mismatch', instance: A, seq: 20, line: checkpointIndex(tampered, A, 20) + 1 });
  });

  it('reports a line that is not an entry as malformed', async () => {
    const i = recordIndex(lines, B, 7);
    const truncated = [...lines];
    truncated[i] = truncated[i]!.slice(0, 40);
    expect(problemOf(await verify(truncated))).toMatchObject({ kind: 'malformed', line: i + 1, instance: null, seq: null });

    const unknownAlg = [...lines];
    unknownAlg[i] = JSON.stringify({ ...recordAt(lines, i), alg: 'md5' });
    expect(problemOf(await verify(unknownAlg))).toMatchObject({ kind: 'malformed', line: i + 1, instance: B, seq: 7 });

    const stranger = [...lines];
    stranger[i] = JSON.stringify({ kind: 'note', text: 'hello' });
    expect(problemOf(await verify(stranger))).toMatchObject({ kind: 'malformed', line: i + 1 });
  });

  it('reports the first problem when there are several', async () => {
    const early = recordIndex(lines, B, 4);
    const late = recordIndex(lines, A, 21);
    const tampered = lines.filter((_, j) => j !== late);
    tampered[early] = tampered[early]!.replace('req-hub-b-4', 'req-hub-b-X');
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'record-modified', instance: B, seq: 4, line: early + 1 });
  });
});

describe('bounded memory', () => {
  it('gives up looking for a record after maxLookAhead entries and reports it missing', async () => {
    const i = recordIndex(lines, A, 3);
    const late = [...lines];
    const [line] = late.splice(i, 1);
    late.push(line!); // record 3 of hub-a at the very end
    const due = recordIndex(late, A, 4) + 1; // where the gap shows
    expect(problemOf(await verify(late))).toMatchObject({ kind: 'records-reordered', instance: A, seq: 3, line: due });
    const bounded = problemOf(await verifyEntries(late, keyring.publicJwks(), { maxLookAhead: 10 }));
    expect(bounded).toMatchObject({ kind: 'record-missing', instance: A, seq: 3, line: due });
    expect(bounded.en).toContain('next 10 entries');
  });

  it('does not take a copy of a record older than its window for a duplicate', async () => {
    const copy = lines[recordIndex(lines, B, 2)]!;
    const replayed = [...lines, copy];
    expect(await verify(replayed)).toMatchObject({ ok: true, duplicates: 1 });
    expect(problemOf(await verifyEntries(replayed, keyring.publicJwks(), { window: 8 }))).toMatchObject({ kind: 'records-reordered', instance: B, seq: 2, line: replayed.length });
  });
});

describe('where a log starts', () => {
  it('requires seq 1 from genesis, unless the log may start mid-chain (an export)', async () => {
    const start = recordIndex(lines, A, 6);
    const slice = lines.slice(start).filter((l) => {
      const e = JSON.parse(l) as LogEntry;
      return e.kind === 'checkpoint' ? e.instance === A : e.record.instance === A;
    });
    expect(problemOf(await verify(slice))).toMatchObject({ kind: 'record-missing', instance: A, seq: 1, line: 1 });
    expect(await verify(slice, { allowPartialStart: true })).toMatchObject({ ok: true, records: 20, checkpoints: 2, unsigned: 5 });
  });

  it('detects a first record that does not start from genesis', async () => {
    const first = recordAt(lines, 0);
    const tampered = [JSON.stringify(recordEntry(first.alg, 'a'.repeat(64), first.record)), ...lines.slice(1)];
    expect(problemOf(await verify(tampered))).toMatchObject({ kind: 'record-modified', instance: A, seq: 1, line: 1 });
  });

  it('detects a forged first record made to look like a canonical one', async () => {
    const first = recordAt(lines, 0);
    const forged = { ...first, record: { ...first.record, user: 'someone-else' } };
    expect(canonicalJson(forged.record)).not.toBe(canonicalJson(first.record));
    expect(problemOf(await verify([JSON.stringify(forged), ...lines.slice(1)]))).toMatchObject({ kind: 'record-modified', seq: 1, line: 1 });
  });
});
