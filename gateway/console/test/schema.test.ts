/**
 * The console's queries through a running hub: numbers that follow real requests, and who may
 * ask for what (FORBIDDEN_ACTION for everyone else).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL, startTestHub, type GraphQLResponse, type TestHub } from '../../test/harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const as = async (department: string, role: string) => t.tokenFor({ subject: `${role}-${department}`, department, roles: [role] });
const ask = <T>(query: string, variables: Record<string, unknown>, token: string): Promise<GraphQLResponse<T>> => postGraphQL<T>(t.hub.graphqlUrl, query, variables, { token });
const codeOf = (r: GraphQLResponse<unknown>) => r.body.errors?.[0]?.extensions?.code;

interface UsageDay {
  day: string;
  requests: number;
  rows: number;
  refused: number;
}

const USAGE = 'query($id: ID!, $days: Int) { contractUsageHistory(id: $id, days: $days) { day requests rows refused } }';

/** The contract the harness's developer holds from the provincial registry (340000.scjgj). */
async function registryContract(): Promise<string> {
  const mine = await t.query<{ myContracts: Array<{ id: string; provider: string; state: string }> }>('{ myContracts { id provider state } }');
  const found = mine.body.data!.myContracts.find((c) => c.provider === '340000.scjgj' && c.state === 'ACTIVE');
  if (!found) throw new Error(`no active registry contract: ${JSON.stringify(mine.body)}`);
  return found.id;
}

describe('contractUsageHistory', () => {
  it('counts the requests made under a contract today, one entry per day, oldest first, zero days included', async () => {
    const id = await registryContract();
    const before = await t.query<{ contractUsageHistory: UsageDay[] }>(USAGE, { id, days: 3 });
    expect(before.body.errors).toBeUndefined();
    const enterprise = t.upstreams.examples.enterprise;
    for (let i = 0; i < 3; i++) {
      const r = await t.query('query($c: String!) { enterprise(creditCode: $c) { name legalRepresentativeIdNumber } }', { c: enterprise });
      expect(r.body.errors).toBeUndefined();
    }
    const after = await t.query<{ contractUsageHistory: UsageDay[] }>(USAGE, { id, days: 3 });
    const days = after.body.data!.contractUsageHistory;
    expect(days).toHaveLength(3);
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    expect(days[2]!.day).toBe(today);
    expect(days.map((d) => d.day)).toEqual([...days.map((d) => d.day)].sort());
    const was = before.body.data!.contractUsageHistory[2]!;
    expect(days[2]!.requests - was.requests).toBe(3);
    expect(days[2]!.rows - was.rows).toBeGreaterThanOrEqual(3);
    expect(days[2]!.refused).toBe(was.refused);
    // The hub was started today: the two days before hold nothing.
    expect(days.slice(0, 2).map((d) => d.requests)).toEqual([0, 0]);
    // 14 days by default.
    expect((await t.query<{ contractUsageHistory: UsageDay[] }>(USAGE, { id })).body.data!.contractUsageHistory).toHaveLength(14);
  });

  it('shows a contract’s use to its consumer, the provider’s data owner, auditors and operators only', async () => {
    const id = await registryContract();
    for (const [department, role] of [['340000.scjgj', 'data_owner'], ['340000.sjzyj', 'auditor'], ['340000.sjzyj', 'operator']] as const) {
      const r = await ask<{ contractUsageHistory: UsageDay[] }>(USAGE, { id, days: 2 }, await as(department, role));
      expect(r.body.errors, `${department} ${role}`).toBeUndefined();
      expect(r.body.data!.contractUsageHistory).toHaveLength(2);
    }
    // A developer of the provider, and a department that is no party.
    for (const [department, role] of [['340000.scjgj', 'developer'], ['341623.mzj', 'developer'], ['341623.mzj', 'data_owner']] as const) {
      expect(codeOf(await ask(USAGE, { id }, await as(department, role))), `${department} ${role}`).toBe('FORBIDDEN_ACTION');
    }
  });

  it('refuses a window outside 1–90 days and names an unknown contract', async () => {
    const id = await registryContract();
    expect(codeOf(await t.query(USAGE, { id, days: 0 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await t.query(USAGE, { id, days: 91 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await t.query(USAGE, { id: 'GX-2000-999999' }))).toBe('CONTRACT_NOT_FOUND');
  });
});

describe('auditVerification', () => {
  it('verifies a fresh hub’s chain with the public keys for auditors and operators', async () => {
    for (const role of ['auditor', 'operator']) {
      const r = await ask<{ auditVerification: { ok: boolean; records: number; checkpoints: number; instances: number; from: string; to: string; verifiedAt: string; problem: unknown } }>(
        '{ auditVerification { ok records checkpoints instances from to verifiedAt problem { kind } } }',
        {},
        await as('340000.sjzyj', role),
      );
      expect(r.body.errors).toBeUndefined();
      const v = r.body.data!.auditVerification;
      expect(v).toMatchObject({ ok: true, instances: 1, problem: null });
      expect(v.records).toBeGreaterThan(5);
      expect(Date.parse(v.verifiedAt)).toBeGreaterThan(Date.parse(v.from));
    }
  });

  it('is for auditors and operators only', async () => {
    expect(codeOf(await t.query('{ auditVerification { ok } }'))).toBe('FORBIDDEN_ACTION');
    expect(codeOf(await ask('{ auditVerification { ok } }', {}, await as('341504.mzj', 'data_owner')))).toBe('FORBIDDEN_ACTION');
  });
});

interface Source {
  name: string;
  kind: string;
  provider: string | null;
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
  calls: number;
  errors: number;
  p50LatencyMs: number | null;
  datasets: Array<{ dataset: string; department: string; freshness: string; lastPublishedAt: string | null; version: number | null }>;
}
const SOURCES = '{ hubSources(hours: 1) { name kind provider ok latencyMs error calls errors p50LatencyMs datasets { dataset department freshness lastPublishedAt dueAt version } } }';

describe('hubSources', () => {
  it('shows each source’s health, its calls through the hub and the file datasets’ freshness', async () => {
    await t.query('query($c: String!) { enterprise(creditCode: $c) { name } }', { c: t.upstreams.examples.enterprise });
    const r = await ask<{ hubSources: Source[] }>(SOURCES, {}, await as('340000.sjzyj', 'operator'));
    expect(r.body.errors).toBeUndefined();
    const byName = new Map(r.body.data!.hubSources.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['CivilAffairsRosters', 'MarketRegistry', 'SocialInsurance']);
    expect(byName.get('MarketRegistry')).toMatchObject({ kind: 'SOAP', provider: '340000.scjgj', ok: true, error: null, errors: 0, datasets: [] });
    expect(byName.get('SocialInsurance')).toMatchObject({ kind: 'REST', provider: '341500.rsj', ok: true });
    const files = byName.get('CivilAffairsRosters')!;
    expect(files).toMatchObject({ kind: 'FILES', provider: '341504.mzj,341623.mzj', ok: true });
    expect(files.datasets.map((d) => `${d.dataset}/${d.department}`).sort()).toEqual(['dibao/341504.mzj', 'dibao/341623.mzj']);
    for (const d of files.datasets) expect(d.version).toBeGreaterThanOrEqual(1);
    const registry = byName.get('MarketRegistry')!;
    expect(registry.calls).toBeGreaterThanOrEqual(1);
    expect(registry.p50LatencyMs).toBeGreaterThan(0);
  });

  it('names a source that is down, and counts the failed calls', async () => {
    const operator = await as('340000.sjzyj', 'operator');
    const before = (await ask<{ hubSources: Source[] }>(SOURCES, {}, operator)).body.data!.hubSources.find((s) => s.name === 'MarketRegistry')!;
    t.soapProxy.setMode({ kind: 'reset' });
    try {
      await t.query('query($c: String!) { enterprise(creditCode: $c) { name } }', { c: t.upstreams.examples.enterprise });
      const after = (await ask<{ hubSources: Source[] }>(SOURCES, {}, operator)).body.data!.hubSources.find((s) => s.name === 'MarketRegistry')!;
      expect(after.ok).toBe(false);
      expect(after.error).toBeTruthy();
      // A read is retried on a reset connection (twice by default): every attempt is a call that failed.
      expect(after.calls).toBe(before.calls + 3);
      expect(after.errors).toBe(before.errors + 3);
    } finally {
      t.soapProxy.setMode({ kind: 'pass' });
    }
  });

  it('is for operators and auditors only, over 1–720 hours', async () => {
    expect(codeOf(await t.query('{ hubSources { name } }'))).toBe('FORBIDDEN_ACTION');
    expect((await ask<{ hubSources: Source[] }>('{ hubSources { name } }', {}, await as('340000.sjzyj', 'auditor'))).body.errors).toBeUndefined();
    expect(codeOf(await ask('{ hubSources(hours: 0) { name } }', {}, await as('340000.sjzyj', 'operator')))).toBe('BAD_USER_INPUT');
  });
});

interface Performance {
  department: string;
  name: string;
  calls: number;
  refused: number;
  rowsReceived: number;
  rowsServed: number;
  contractsActive: number;
  contractsPending: number;
  oldestPendingHours: number | null;
  datasets: number;
  datasetsOverdue: number;
}
const PERFORMANCE = '{ sharingPerformance(days: 7) { department name calls refused rowsReceived rowsServed contractsActive contractsPending oldestPendingHours datasets datasetsOverdue } }';

describe('sharingPerformance', () => {
  it('sums each department’s calls, rows, contracts on its data and its datasets', async () => {
    // A request awaiting the social-insurance bureau's approval.
    const lixin = await as('341623.mzj', 'developer');
    const until = new Date(Date.now() + 100 * 86_400_000).toISOString();
    const requested = await ask(
      'mutation($until: String!) { requestContract(input: { provider: "341500.rsj", fields: [{ coordinate: "InsuranceRecord.status" }], purpose: "测试 / test", legalBasis: "测试 / test", validUntil: $until }) { id } }',
      { until },
      lixin,
    );
    expect(requested.body.errors).toBeUndefined();
    await t.query('query($c: String!) { enterprise(creditCode: $c) { name legalRepresentativeIdNumber } }', { c: t.upstreams.examples.enterprise });

    for (const role of ['operator', 'auditor']) {
      const r = await ask<{ sharingPerformance: Performance[] }>(PERFORMANCE, {}, await as('340000.sjzyj', role));
      expect(r.body.errors).toBeUndefined();
      const by = new Map(r.body.data!.sharingPerformance.map((p) => [p.department, p]));
      expect([...by.keys()]).toEqual(expect.arrayContaining(['340000.scjgj', '340000.sjzyj', '341500.rsj', '341504.mzj', '341623.mzj']));
      const yeji = by.get('341504.mzj')!;
      expect(yeji.name).toBe('六安市叶集区民政局');
      expect(yeji.calls).toBeGreaterThan(0);
      expect(yeji.rowsReceived).toBeGreaterThan(0);
      expect(yeji.datasets).toBe(1);
      const registry = by.get('340000.scjgj')!;
      expect(registry.contractsActive).toBeGreaterThanOrEqual(1);
      expect(registry.rowsServed).toBeGreaterThan(0);
      const rsj = by.get('341500.rsj')!;
      expect(rsj.contractsPending).toBeGreaterThanOrEqual(1);
      expect(rsj.oldestPendingHours).toBeGreaterThanOrEqual(0);
      expect(rsj.oldestPendingHours).toBeLessThan(1);
      expect(by.get('340000.scjgj')!.contractsPending).toBe(0);
      expect(by.get('340000.scjgj')!.oldestPendingHours).toBeNull();
    }
  });

  it('is for operators and auditors only', async () => {
    expect(codeOf(await t.query(PERFORMANCE))).toBe('FORBIDDEN_ACTION');
    expect(codeOf(await ask(PERFORMANCE, {}, await as('341500.rsj', 'data_owner')))).toBe('FORBIDDEN_ACTION');
  });
});

interface Report {
  id: string;
  dataset: string;
  department: string;
  fileName: string;
  outcome: string;
  version: number | null;
  rowsAccepted: number;
  rowsRejected: number;
  receivedAt: string;
  firstIssues: string[];
}
const REPORTS = 'query($d: String, $n: Int) { allDropReports(department: $d, first: $n) { id dataset department fileName outcome version rowsAccepted rowsRejected receivedAt firstIssues } }';

describe('allDropReports', () => {
  it('shows an operator every department’s reports, newest first, filtered by department', async () => {
    const operator = await as('340000.sjzyj', 'operator');
    const all = await ask<{ allDropReports: Report[] }>(REPORTS, {}, operator);
    expect(all.body.errors).toBeUndefined();
    const reports = all.body.data!.allDropReports;
    expect(new Set(reports.map((r) => r.department))).toEqual(new Set(['341504.mzj', '341623.mzj']));
    const times = reports.map((r) => r.receivedAt);
    expect(times).toEqual([...times].sort().reverse());
    for (const r of reports) {
      expect(r.dataset).toBe('dibao');
      expect(r.firstIssues.length).toBeLessThanOrEqual(3);
    }
    const lixin = await ask<{ allDropReports: Report[] }>(REPORTS, { d: '341623.mzj' }, operator);
    expect(lixin.body.data!.allDropReports.length).toBeGreaterThan(0);
    expect(lixin.body.data!.allDropReports.every((r) => r.department === '341623.mzj')).toBe(true);
    expect((await ask<{ allDropReports: Report[] }>(REPORTS, { n: 1 }, operator)).body.data!.allDropReports).toHaveLength(1);
    expect(codeOf(await ask(REPORTS, { n: 501 }, operator))).toBe('BAD_USER_INPUT');
    // The largest page is within the operation limits.
    expect((await ask(REPORTS, { n: 500 }, operator)).body.errors).toBeUndefined();
  });

  it('says what was wrong with a rejected file in Chinese, without the cells’ values', async () => {
    const upload = await fetch(`${t.hub.url}/drops/dibao/dibao-2026-10-broken.csv`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'text/csv' },
      body: '户主姓名,户主公民身份号码\n张三,341504000000000000\n',
    });
    expect(upload.status).toBe(422);
    const r = await ask<{ allDropReports: Report[] }>(REPORTS, { d: '341504.mzj', n: 1 }, await as('340000.sjzyj', 'operator'));
    const latest = r.body.data!.allDropReports[0]!;
    expect(latest).toMatchObject({ outcome: 'rejected', fileName: 'dibao-2026-10-broken.csv', version: null });
    expect(latest.firstIssues.length).toBeGreaterThan(0);
    expect(latest.firstIssues.join('')).toMatch(/[\u4e00-\u9fff]/);
    expect(latest.firstIssues.join('')).not.toContain('341504000000000000');
    const one = await ask<{ allDropReports: Array<{ firstIssues: string[] }> }>(
      'query { allDropReports(department: "341504.mzj", first: 1) { firstIssues(first: 1) } }',
      {},
      await as('340000.sjzyj', 'operator'),
    );
    expect(one.body.data!.allDropReports[0]!.firstIssues).toEqual(latest.firstIssues.slice(0, 1));
  });

  it('is for operators only', async () => {
    expect(codeOf(await t.query(REPORTS))).toBe('FORBIDDEN_ACTION');
    expect(codeOf(await ask(REPORTS, {}, await as('340000.sjzyj', 'auditor')))).toBe('FORBIDDEN_ACTION');
  });
});

describe('departments', () => {
  it('names every department of the catalogue and the drops for any caller', async () => {
    const r = await t.query<{ departments: Array<{ code: string; name: string }> }>('{ departments { code name } }');
    expect(r.body.errors).toBeUndefined();
    const names = Object.fromEntries(r.body.data!.departments.map((d) => [d.code, d.name]));
    expect(names).toMatchObject({
      '340000.scjgj': '安徽省市场监督管理局',
      '340000.sjzyj': '安徽省数据资源管理局',
      '341500.rsj': '六安市人力资源和社会保障局',
      '341504.mzj': '六安市叶集区民政局',
      '341623.mzj': '亳州市利辛县民政局',
    });
    expect(codeOf(await postGraphQL(t.hub.graphqlUrl, '{ departments { code } }', {}, { token: null }))).toBe('UNAUTHENTICATED');
  });
});
