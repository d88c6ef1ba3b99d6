/**
 * The audit trail through the running hub: one record per request (denied and refused ones
 * included), data subjects only as keyed HMACs, contract steps as admin events, who may read
 * which records, and verification with only the public keys.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRecord, AdminRecord, RecordEntry } from '../../audit/types.ts';
import { runAuditCli } from '../audit/cli.ts';
import { exampleQueries } from '../examples.ts';
import { postGraphQL, startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const logPath = () => join(t.dataDir, 'audit', 'log.jsonl');

async function entries(): Promise<RecordEntry[]> {
  const text = await readFile(logPath(), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { kind: string })
    .filter((e): e is RecordEntry => e.kind === 'record');
}

async function accessRecords(): Promise<AccessRecord[]> {
  return (await entries()).map((e) => e.record).filter((r): r is AccessRecord => r.type === 'access');
}

async function post(body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(t.hub.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

const cli = async (argv: string[]) => {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} });
  return { code, out, err };
};

describe('audit trail', () => {
  it('records every request of a concurrent burst exactly once: allowed, denied, unauthenticated, invalid', async () => {
    const stranger = await t.tokenFor({ subject: 'dev-lixin', department: '341623.mzj', roles: ['developer'] });
    const example = exampleQueries(t.upstreams.examples)[0]!;
    const kinds = ['allowed', 'denied', 'unauthenticated', 'invalid'] as const;
    const requests = Array.from({ length: 24 }, (_, i) => ({ id: `burst-${i}-${Date.now()}`, kind: kinds[i % kinds.length]! }));
    const results = await Promise.all(
      requests.map(({ id, kind }) => {
        const headers: Record<string, string> = { 'x-request-id': id };
        if (kind === 'allowed') headers.authorization = `Bearer ${t.token}`;
        if (kind === 'denied') headers.authorization = `Bearer ${stranger}`;
        if (kind === 'unauthenticated') headers.authorization = 'Bearer not.a.token';
        if (kind === 'invalid') headers.authorization = `Bearer ${t.token}`;
        const body = kind === 'invalid' ? { query: '{ person(idNumber: ' } : { query: example.query, variables: example.variables };
        return post(body, headers).then((r) => ({ id, kind, status: r.status }));
      }),
    );
    expect(new Set(results.map((r) => `${r.kind}:${r.status}`))).toEqual(new Set(['allowed:200', 'denied:200', 'unauthenticated:401', 'invalid:400']));

    const records = await accessRecords();
    for (const { id, kind } of requests) {
      const mine = records.filter((r) => r.requestId === id);
      expect(mine, id).toHaveLength(1);
      const r = mine[0]!;
      const expected = { allowed: 'ok', denied: 'partial', unauthenticated: 'unauthenticated', invalid: 'refused' }[kind];
      expect(r.outcome, id).toBe(expected);
      if (kind === 'denied') {
        expect(r.department).toBe('341623.mzj');
        expect(r.errorCodes).toContain('FORBIDDEN_FIELD');
        expect(r.coordinates.some((c) => c.decision === 'deny')).toBe(true);
      }
      if (kind === 'unauthenticated') expect([r.department, r.reason]).toEqual([null, 'malformed']);
      if (kind === 'allowed') {
        expect(r.contractIds.length).toBeGreaterThan(0);
        expect(r.sources.map((s) => s.source).sort()).toEqual(expect.arrayContaining(['CivilAffairsRosters', 'MarketRegistry', 'SocialInsurance']));
        expect(r.sources.every((s) => s.status === 'ok' && s.latencyMs >= 0)).toBe(true);
      }
    }
    // The chain of this instance is continuous.
    const seqs = (await entries()).map((e) => e.record.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('keeps data subjects only as keyed HMACs, and accessReport finds exactly the requests that returned the subject', async () => {
    const example = exampleQueries(t.upstreams.examples)[0]!;
    const applicant = String(example.variables.idNumber);
    const id = `report-${Date.now()}`;
    expect((await post({ query: example.query, variables: example.variables }, { authorization: `Bearer ${t.token}`, 'x-request-id': id })).status).toBe(200);
    // Another person: must not be reported for the applicant.
    const other = `other-${Date.now()}`;
    await post({ query: '{ person(idNumber: "341504197111070137") { idNumber name } }' }, { authorization: `Bearer ${t.token}`, 'x-request-id': other });

    expect(await readFile(logPath(), 'utf8')).not.toContain(applicant);
    const auditor = await t.tokenFor({ subject: 'auditor-1', department: '340000.sjzyj', roles: ['auditor'] });
    const report = await postGraphQL<{ accessReport: Array<{ requestId: string; department: string; contractIds: string[]; purposes: string[] }> }>(
      t.hub.graphqlUrl,
      'query($id: String) { accessReport(idNumber: $id) { requestId department contractIds purposes } }',
      { id: applicant },
      { token: auditor },
    );
    expect(report.body.errors).toBeUndefined();
    const ids = report.body.data!.accessReport.map((r) => r.requestId);
    expect(ids).toContain(id);
    expect(ids).not.toContain(other);
    expect(report.body.data!.accessReport.find((r) => r.requestId === id)).toMatchObject({ department: '341504.mzj' });

    // `first` keeps the newest: ask the applicant again, then for one record only.
    const again = `again-${Date.now()}`;
    await post({ query: example.query, variables: example.variables }, { authorization: `Bearer ${t.token}`, 'x-request-id': again });
    const newest = await postGraphQL<{ accessReport: Array<{ requestId: string }> }>(
      t.hub.graphqlUrl,
      'query($id: String) { accessReport(idNumber: $id, first: 1) { requestId } }',
      { id: applicant },
      { token: auditor },
    );
    expect(newest.body.data!.accessReport.map((r) => r.requestId)).toEqual([again]);

    // A developer may not ask who accessed a person.
    const refused = await t.query('query($id: String) { accessReport(idNumber: $id) { requestId } }', { id: applicant });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN_ACTION');
  });

  it('records contract steps as admin events and lets each party see only what concerns it', async () => {
    const records = (await entries()).map((e) => e.record);
    const steps = records.filter((r): r is AdminRecord => r.type === 'admin' && r.action === 'contract-transition');
    // grantEverything requested and approved contracts through the API.
    expect(steps.some((s) => s.details.to === 'active' && s.details.consumer === '341504.mzj')).toBe(true);
    expect(records.some((r) => r.type === 'admin' && r.action === 'hub-start')).toBe(true);

    const mine = await t.query<{ auditLog: { items: Array<{ department: string | null; type: string }>; total: number } }>('{ auditLog(first: 500, filter: { type: "access" }) { items { department type } total } }');
    expect(mine.body.errors).toBeUndefined();
    expect(mine.body.data!.auditLog.items.length).toBeGreaterThan(0);
    expect(mine.body.data!.auditLog.items.every((r) => r.department === '341504.mzj')).toBe(true);

    const auditor = await t.tokenFor({ subject: 'auditor-2', department: '340000.sjzyj', roles: ['auditor'] });
    const all = await postGraphQL<{ auditLog: { items: Array<{ department: string | null }>; total: number; hasNextPage: boolean; endCursor: string } }>(
      t.hub.graphqlUrl,
      '{ auditLog(first: 5, filter: { type: "access" }) { items { department } total hasNextPage endCursor } }',
      {},
      { token: auditor },
    );
    expect(all.body.data!.auditLog.total).toBeGreaterThan(mine.body.data!.auditLog.total);
    expect(all.body.data!.auditLog.hasNextPage).toBe(true);
    const next = await postGraphQL<{ auditLog: { items: unknown[] } }>(
      t.hub.graphqlUrl,
      'query($after: String) { auditLog(first: 5, after: $after, filter: { type: "access" }) { items { requestId } } }',
      { after: all.body.data!.auditLog.endCursor },
      { token: auditor },
    );
    expect(next.body.data!.auditLog.items).toHaveLength(5);

    const owner = await t.tokenFor({ subject: 'owner-rsj', department: '341500.rsj', roles: ['data_owner'] });
    const theirs = await postGraphQL<{ auditLog: { items: Array<{ department: string | null; providers: string[] }> } }>(
      t.hub.graphqlUrl,
      '{ auditLog(first: 500, filter: { type: "access" }) { items { department providers } } }',
      {},
      { token: owner },
    );
    expect(theirs.body.data!.auditLog.items.length).toBeGreaterThan(0);
    expect(theirs.body.data!.auditLog.items.every((r) => r.department === '341500.rsj' || r.providers.includes('341500.rsj'))).toBe(true);
  });

  it('shows the chain status to auditors and verifies with only the public keys; a changed byte is found and located', async () => {
    const auditor = await t.tokenFor({ subject: 'auditor-3', department: '340000.sjzyj', roles: ['auditor'] });
    const status = await postGraphQL<{ auditStatus: { instance: string; alg: string; mode: string; seq: number; signingKeyId: string } }>(
      t.hub.graphqlUrl,
      '{ auditStatus { instance alg mode seq signingKeyId } }',
      {},
      { token: auditor },
    );
    expect(status.body.data!.auditStatus).toMatchObject({ alg: 'sha256', mode: 'strict' });
    expect(status.body.data!.auditStatus.seq).toBeGreaterThan(10);
    const denied = await t.query('{ auditStatus { seq } }');
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN_ACTION');

    const jwks = await (await fetch(`${t.hub.url}/audit/jwks.json`)).json();
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
    const keys = join(t.dataDir, 'trusted-jwks.json');
    await writeFile(keys, JSON.stringify(jwks));
    const ok = await cli(['verify', '--data-dir', t.dataDir, '--keys', keys]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('OK');

    // A copy with one byte of one record's department changed.
    const copy = join(t.dataDir, 'tampered.jsonl');
    await copyFile(logPath(), copy);
    const lines = (await readFile(copy, 'utf8')).split('\n');
    const at = lines.findIndex((l) => l.includes('"department":"341504.mzj"'));
    lines[at] = lines[at]!.replace('"department":"341504.mzj"', '"department":"341504.mzk"');
    await writeFile(copy, lines.join('\n'));
    const bad = await cli(['verify', '--file', copy, '--keys', keys, '--json']);
    expect(bad.code).toBe(1);
    const result = JSON.parse(bad.out) as { ok: false; problem: { kind: string; seq: number; line: number } };
    expect(result.problem.kind).toBe('record-modified');
    expect(result.problem.line).toBe(at + 1);
  });

  it('exports a time range to a self-contained file that verifies offline with the trusted keys, and names a deleted record', async () => {
    const all = await entries();
    const from = all[5]!.record.time;
    const to = all[Math.min(all.length - 1, 20)]!.record.time;
    const out = join(t.dataDir, 'export.jsonl');
    const exported = await cli(['export', '--data-dir', t.dataDir, '--from', from, '--to', to, '--out', out]);
    expect(exported.code).toBe(0);
    expect(exported.out).toMatch(/已导出 \/ exported \d+ 条记录/);
    const keys = join(t.dataDir, 'trusted-jwks-2.json');
    await writeFile(keys, JSON.stringify(await (await fetch(`${t.hub.url}/audit/jwks.json`)).json()));
    const ok = await cli(['verify', '--file', out, '--keys', keys, '--json']);
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.out) as { ok: boolean; records: number; from: string };
    expect(result.ok).toBe(true);
    expect(result.records).toBeGreaterThanOrEqual(all.filter((e) => e.record.time >= from && e.record.time <= to).length);

    // Without --keys the file's own keys are used, and the output says so.
    const own = await cli(['verify', '--file', out]);
    expect(own.code).toBe(0);
    expect(own.out).toContain('--keys');

    const lines = (await readFile(out, 'utf8')).split('\n');
    const victim = lines.findIndex((l, i) => i > 3 && l.includes('"kind":"record"'));
    const cut = [...lines.slice(0, victim), ...lines.slice(victim + 1)].join('\n');
    const broken = join(t.dataDir, 'export-cut.jsonl');
    await writeFile(broken, cut);
    const bad = await cli(['verify', '--file', broken, '--keys', keys, '--json']);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.out) as { problem: { kind: string } }).problem.kind).toMatch(/record-missing|record-modified|chain-forked/);
  });

  it('lets only an operator rotate the signing key; old and new checkpoints verify with the published keys', async () => {
    const refused = await t.query('mutation { rotateAuditKey(kind: SIGNING) }');
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN_ACTION');
    const operator = await t.tokenFor({ subject: 'ops-1', department: '340000.sjzyj', roles: ['operator'] });
    const before = (await (await fetch(`${t.hub.url}/audit/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    const rotate = async () => {
      const r = await postGraphQL<{ rotateAuditKey: string }>(t.hub.graphqlUrl, 'mutation { rotateAuditKey(kind: SIGNING) }', {}, { token: operator });
      expect(r.body.errors).toBeUndefined();
      return r.body.data!.rotateAuditKey;
    };
    const first = await rotate();
    // Traffic under the new key; the next rotation first signs it with that key.
    for (let i = 0; i < 3; i++) await t.query('{ catalogue { coordinate } }');
    const second = await rotate();
    const after = (await (await fetch(`${t.hub.url}/audit/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(after.keys.map((k) => k.kid)).toEqual([...before.keys.map((k) => k.kid), first, second]);
    const events = (await entries()).map((e) => e.record).filter((r): r is AdminRecord => r.type === 'admin' && r.action === 'audit-key-rotation');
    expect(events.slice(-2).map((e) => [e.actor.user, e.details.to])).toEqual([['ops-1', first], ['ops-1', second]]);

    const keys = join(t.dataDir, 'trusted-jwks-3.json');
    await writeFile(keys, JSON.stringify(after));
    const ok = await cli(['verify', '--data-dir', t.dataDir, '--keys', keys, '--json']);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true });
    // With only the keys from before the rotations, the checkpoint the new key signed does not verify.
    const old = join(t.dataDir, 'old-jwks.json');
    await writeFile(old, JSON.stringify(before));
    const stale = await cli(['verify', '--data-dir', t.dataDir, '--keys', old, '--json']);
    expect(stale.code).toBe(1);
    expect((JSON.parse(stale.out) as { problem: { kind: string } }).problem.kind).toBe('checkpoint-invalid');
  });
});
