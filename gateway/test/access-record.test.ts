import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDepartment, type Principal } from '../../core/index.ts';
import type { Catalogue } from '../../policies/index.ts';
import { canonicalJson } from '../../audit/canonical.ts';
import { accessRecord, outcomeOf, type RequestFacts } from '../audit/access-record.ts';
import type { DecisionRecord } from '../enforcement/index.ts';

const principal: Principal = { subject: 'dev-1', department: parseDepartment('341504.mzj')!, roles: ['developer'], client: 'app', expiresAt: 0 };
const catalogue = {
  fields: new Map([
    ['Person.name', { owners: ['341500.rsj'] }],
    ['Enterprise.name', { owners: ['340000.scjgj'] }],
  ]),
  types: new Map(),
} as unknown as Catalogue;

const decision: DecisionRecord = {
  department: '341504.mzj',
  subject: 'dev-1',
  client: 'app',
  operationName: 'Check',
  decidedAt: 0,
  mode: 'null-field',
  rejected: false,
  introspection: [],
  coordinates: [
    { coordinate: 'Person.name', decision: 'mask', detail: 'name', contractId: 'GX-2026-000001' },
    { coordinate: 'Enterprise.name', decision: 'allow', detail: 'unconditional', contractId: null },
  ],
  contractIds: ['GX-2026-000001'],
  purposes: ['低保资格核查'],
  rowsWithheld: 0,
  rowsOverQuota: 0,
  rowsShown: 2,
  subjects: [{ kind: 'idNumber', value: '341504198712193778' }],
};

const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  requestId: 'req-00000001',
  startedAt: Date.parse('2026-11-23T01:02:03.004Z'),
  durationMs: 12.3456,
  httpStatus: 200,
  query: '{ person { name } }',
  operationName: null,
  principal,
  reason: null,
  errorCodes: [],
  sources: [{ source: 'SocialInsurance', status: 'ok', latencyMs: 3.2 }],
  ...over,
});

const hasher = { hmac: (kind: string, value: string) => ({ kind, keyId: 'k1', hmac: createHash('sha256').update(`k1|${kind}:${value}`).digest('hex') }) };

describe('access record', () => {
  it.each([
    [200, [], 0, false, 'ok'],
    [200, ['FORBIDDEN_FIELD'], 0, false, 'partial'],
    [200, [], 3, false, 'partial'],
    [401, ['UNAUTHENTICATED'], 0, false, 'unauthenticated'],
    [400, ['GRAPHQL_VALIDATION_FAILED'], 0, false, 'refused'],
    [403, ['FORBIDDEN_FIELD'], 0, true, 'refused'],
    [429, ['RATE_LIMITED'], 0, false, 'rate-limited'],
    [503, ['AUDIT_UNAVAILABLE'], 0, false, 'error'],
  ] as const)('status %i with errors %j, %i rows withheld, rejected %s → %s', (status, codes, withheld, rejected, outcome) => {
    expect(outcomeOf(status, codes, { ...decision, rowsWithheld: withheld, rejected })).toBe(outcome);
  });

  it('names caller, operation hash, decisions, contracts, owners and subjects — the subject only as its HMAC', () => {
    const r = accessRecord(facts(), decision, hasher, catalogue);
    expect(r).toMatchObject({
      type: 'access',
      time: '2026-11-23T01:02:03.004Z',
      requestId: 'req-00000001',
      department: '341504.mzj',
      user: 'dev-1',
      client: 'app',
      operationName: 'Check',
      operationHash: createHash('sha256').update('{ person { name } }').digest('hex'),
      contractIds: ['GX-2026-000001'],
      purposes: ['低保资格核查'],
      providers: ['340000.scjgj', '341500.rsj'],
      rows: 2,
      outcome: 'ok',
      durationMs: 12.346,
    });
    expect(r.subjects).toEqual([hasher.hmac('idNumber', '341504198712193778')]);
    expect(JSON.stringify(r)).not.toContain('341504198712193778');
  });

  it('builds every nested object with its keys in canonical order, so the writer hashes it without re-sorting', () => {
    const r = accessRecord(facts(), decision, hasher, catalogue);
    for (const nested of [r.coordinates, r.sources]) expect(JSON.stringify(nested)).toBe(canonicalJson(nested));
    expect(r.coordinates[0]).toEqual({ contractId: 'GX-2026-000001', coordinate: 'Person.name', decision: 'mask', detail: 'name' });
  });

  it('lists the subjects by HMAC, not in the order of their values', () => {
    const values = ['341504198712193778', '34150219900101001X', '110101199003074477', '440305199912310012'];
    const r = accessRecord(facts(), { ...decision, subjects: values.map((value) => ({ kind: 'idNumber', value })) }, hasher, catalogue);
    const hmacs = r.subjects.map((s) => s.hmac);
    expect(hmacs).toEqual([...hmacs].sort());
    expect(new Set(hmacs)).toEqual(new Set(values.map((v) => hasher.hmac('idNumber', v).hmac)));
  });

  it('records an unauthenticated request without a caller, with the reason', () => {
    const r = accessRecord(facts({ principal: null, httpStatus: 401, reason: 'expired', errorCodes: ['UNAUTHENTICATED', 'UNAUTHENTICATED'] }), undefined, hasher, catalogue);
    expect(r).toMatchObject({ department: null, user: null, client: null, outcome: 'unauthenticated', reason: 'expired', errorCodes: ['UNAUTHENTICATED'], coordinates: [], subjects: [] });
  });
});
