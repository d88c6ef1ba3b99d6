/**
 * Limits at the hub, over HTTP, with the in-process limiter: contract requests per minute,
 * records per day cut at the quota, operation limits before any upstream call, the budget of
 * callers without credentials, the protective ceiling per source, `myUsage`, headers and audit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './harness.ts';
import { HOUSEHOLDS, accessRecords, rosterContract } from './limits-fixtures.ts';

const enterprise = () => `{ getEnterprise(creditCode: "${t.upstreams.examples.enterprise}") { creditCode name } }`;

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({
    limits: {
      departmentLimit: 1000,
      anonymousPerMinute: 5,
      sources: { MarketRegistry: 3 },
      operationByDepartment: { '341503.mzj': { maxDepth: 2 } },
    },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const codes = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => (body.errors ?? []).map((e) => e.extensions?.code);

describe('contract requests per minute', () => {
  it('admits exactly the quota, then answers 429 with Retry-After, RateLimit headers and RATE_LIMITED naming the contract, and audits the refusal', async () => {
    const { id, token } = await rosterContract(t, { requestsPerMinute: 3 }, '341522.mzj');
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.query(HOUSEHOLDS(1), {}, { token });
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.headers.get('ratelimit-policy')).toContain('"contract-rpm";q=3;w=60');
      seen.push(Number(/"contract-rpm";r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1]));
    }
    expect(seen).toEqual([2, 1, 0]);

    const refused = await t.query(HOUSEHOLDS(1), {}, { token });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit')).toContain('"contract-rpm";r=0');
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'contract-rpm', contractId: id });
    expect(refused.body.errors?.[0]?.message).toMatch(/限流.*rate limit/s);
    expect(refused.body.data ?? null).toBeNull();

    const refusedId = refused.headers.get('x-request-id');
    const record = (await accessRecords(t.dataDir)).find((r) => r.requestId === refusedId);
    expect(record).toMatchObject({ outcome: 'rate-limited', httpStatus: 429, department: '341522.mzj', errorCodes: ['RATE_LIMITED'] });
    expect(record?.reason).toContain('contract-rpm');
  });
});

describe('records per day', () => {
  it('cuts lists of varying length at the quota, says how many were left out, then refuses before any upstream call', async () => {
    const { id, token } = await rosterContract(t, { recordsPerDay: 25 });
    const rows = async (first: number) => {
      const r = await t.query<{ allowanceHouseholds: { items: unknown[] } | null }>(HOUSEHOLDS(first), {}, { token });
      return { status: r.status, n: r.body.data?.allowanceHouseholds?.items?.length ?? null, errors: r.body.errors ?? [], headers: r.headers };
    };
    const a = await rows(7);
    expect([a.status, a.n, a.errors]).toEqual([200, 7, []]);
    expect(a.headers.get('ratelimit-policy')).toContain('"contract-records";q=25;w=86400');
    const b = await rows(12);
    expect([b.status, b.n, b.errors]).toEqual([200, 12, []]);
    // 19 taken: 6 left of 25.
    const c = await rows(10);
    expect([c.status, c.n]).toEqual([200, 6]);
    expect(c.errors.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'RATE_LIMITED', limit: 'contract-records', contractId: id, cut: 4 })]);

    const d = await t.query(HOUSEHOLDS(1), {}, { token });
    expect(d.status).toBe(429);
    expect(d.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'contract-records' });
    const record = (await accessRecords(t.dataDir)).find((r) => r.requestId === d.headers.get('x-request-id'));
    expect(record).toMatchObject({ outcome: 'rate-limited' });
    // The refused request reached no source.
    expect((record as unknown as { sources: unknown[] }).sources).toEqual([]);
  });

  it('counts exactly the rows returned when the same operation returns fewer rows than last time (the rest of the reservation goes back)', async () => {
    const { id, token } = await rosterContract(t, { recordsPerDay: 50 }, '341524.mzj');
    const query = 'query Page($n: Int!) { allowanceHouseholds(regionCode: "341504", first: $n) { items { headName } } }';
    const left: number[] = [];
    for (const n of [6, 2, 3]) {
      const r = await t.query<{ allowanceHouseholds: { items: unknown[] } }>(query, { n }, { token });
      expect(r.body.data?.allowanceHouseholds.items).toHaveLength(n);
      left.push(Number(/"contract-records";r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1]));
      await new Promise((resolve) => setTimeout(resolve, 20)); // the hand-back does not hold up the response
    }
    // What the headers say is left after each admission: the first reserves nothing (a read), the
    // second reserves the 6 rows the first returned (50 − 6 − 6), the third the 2 the second returned
    // after its unused 4 went back (50 − 8 − 2).
    expect(left).toEqual([50, 38, 40]);
    // The third took 1 row beyond its reservation: 6 + 2 + 3 rows returned, 11 counted.
    await new Promise((resolve) => setTimeout(resolve, 50)); // the hand-back does not hold up the response
    const usage = await t.query<{ myUsage: { contracts: Array<{ contractId: string; recordsPerDay: { used: number } }> } }>(
      '{ myUsage { contracts { contractId recordsPerDay { used } } } }',
      {},
      { token },
    );
    expect(usage.body.data!.myUsage.contracts.find((c) => c.contractId === id)?.recordsPerDay.used).toBe(11);
  });

  it('shows a consumer what is left of each contract, and the owner the use of its contracts', async () => {
    // 5 a minute: one unit returns every 12 s, long after this test has read its standing.
    const { id, token } = await rosterContract(t, { requestsPerMinute: 5, recordsPerDay: 40 }, '341523.mzj');
    await t.query(HOUSEHOLDS(9), {}, { token });
    const mine = await t.query<{ myUsage: { department: string; departmentCeiling: { limit: number; remaining: number }; contracts: Array<Record<string, unknown>> } }>(
      '{ myUsage { department departmentCeiling { limit remaining } contracts { contractId requestsPerMinute { limit remaining } recordsPerDay { limit used remaining day } } } }',
      {},
      { token },
    );
    expect(mine.body.errors).toBeUndefined();
    const usage = mine.body.data!.myUsage;
    expect(usage.department).toBe('341523.mzj');
    expect(usage.departmentCeiling.limit).toBe(1000);
    expect(usage.departmentCeiling.remaining).toBeLessThan(1000);
    expect(usage.contracts).toEqual([
      { contractId: id, requestsPerMinute: { limit: 5, remaining: 4 }, recordsPerDay: { limit: 40, used: 9, remaining: 31, day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) } },
    ]);
    const owner = await t.tokenFor({ subject: 'roster-owner', department: '341504.mzj', roles: ['data_owner'] });
    const owned = await t.query<{ myUsage: { ownedContracts: Array<{ contractId: string; consumer: string; recordsPerDay: { used: number } | null }> } }>(
      '{ myUsage { ownedContracts { contractId consumer recordsPerDay { used } } } }',
      {},
      { token: owner },
    );
    expect(owned.body.data!.myUsage.ownedContracts).toContainEqual({ contractId: id, consumer: '341523.mzj', recordsPerDay: { used: 9 } });
  });
});

describe('operation limits', () => {
  const upstreamCalls = () => t.soapProxy.seen.length + t.restProxy.seen.length;

  it.each([
    ['aliases', `{ getEnterprise(creditCode: "91341504MA2N00000X") { ${Array.from({ length: 40 }, (_, i) => `a${i}: name`).join(' ')} } }`],
    [
      'aliases',
      `query { getEnterprise(creditCode: "91341504MA2N00000X") { ...F ...F ...F ...F } } fragment F on Enterprise { ${Array.from({ length: 10 }, (_, i) => `n${i}: name`).join(' ')} }`,
    ],
    // The graph links persons and enterprises both ways: nesting is unbounded but for the limit.
    ['depth', `{ person(idNumber: "341504198712193778") { ${'enterprisesAsLegalRepresentative { legalRepresentative { '.repeat(6)}name${' } }'.repeat(6)} } }`],
    ['cost', `{ ${Array.from({ length: 8 }, (_, i) => `h${i}: allowanceHouseholds(regionCode: "341504", first: 10000) { items { headName members } }`).join(' ')} }`],
    ['rootFields', `{ ${Array.from({ length: 12 }, (_, i) => `r${i}: allowanceHouseholds(regionCode: "341504", first: 1) { total }`).join(' ')} }`],
  ])('refuses an operation over the %s limit with 400 OPERATION_TOO_COMPLEX before any upstream call', async (measure, query) => {
    const before = upstreamCalls();
    const r = await t.query(query);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure });
    expect(r.status).toBe(400);
    expect(r.body.data ?? null).toBeNull();
    expect(upstreamCalls()).toBe(before);
  });

  it('measures a document again for other values of its size variables (measures are kept per value, never reused across)', async () => {
    const query = `query($n: Int) { ${Array.from({ length: 8 }, (_, i) => `h${i}: allowanceHouseholds(regionCode: "341504", first: $n) { items { headName members } }`).join(' ')} }`;
    expect((await t.query(query, { n: 1 })).status).toBe(200);
    const before = upstreamCalls();
    const big = await t.query(query, { n: 10000 });
    expect(big.status).toBe(400);
    expect(big.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'cost' });
    expect(upstreamCalls()).toBe(before);
    expect((await t.query(query, { n: 1 })).status).toBe(200);
    expect((await t.query(query, { n: 10000 })).status).toBe(400);
    expect((await t.query(query, {})).status).toBe(200); // absent: the argument's default
  });

  it('applies a department\'s own limits (depth 2 for one county)', async () => {
    const deep = '{ allowanceHouseholds(regionCode: "341504", first: 1) { items { headName } } }';
    const other = await t.tokenFor({ subject: 'shallow', department: '341503.mzj', roles: ['developer'] });
    const r = await t.query(deep, {}, { token: other });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'depth', actual: 3, max: 2 });
    expect((await t.query(deep)).status).toBe(200);
  });

  it('stops a document with too many tokens at the parser, and still answers introspection', async () => {
    const huge = `{ ${'__typename '.repeat(6000)} }`;
    const r = await t.query(huge);
    expect(r.status).toBe(400);
    expect(codes(r.body)[0]).toMatch(/GRAPHQL_PARSE_FAILED|OPERATION_TOO_COMPLEX/);
    const schema = await t.query<{ __schema: { queryType: { name: string } } }>(
      '{ __schema { queryType { name } types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }',
    );
    expect(schema.status).toBe(200);
    expect(schema.body.data?.__schema.queryType.name).toBe('Query');
  });

  it('refuses a batch of operations rather than running them unmetered', async () => {
    const response = await fetch(t.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: JSON.stringify(Array.from({ length: 5 }, () => ({ query: enterprise() }))),
    });
    expect(response.status).toBe(400);
  });
});

describe('callers without credentials', () => {
  it('get 401 until their address has spent its small budget, then 429 with Retry-After; each is audited', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await fetch(t.hub.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer forged.token.value' }, body: JSON.stringify({ query: '{ __typename }' }) });
      statuses.push(last.status);
      await last.text();
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const record = (await accessRecords(t.dataDir)).find((r) => r.requestId === last!.headers.get('x-request-id'));
    expect(record).toMatchObject({ outcome: 'rate-limited', httpStatus: 429, department: null });
  });
});

describe('source ceiling', () => {
  it('keeps calls to an upstream under its ceiling: the rest are refused before reaching it', async () => {
    const before = t.soapProxy.seen.length;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 30 }, () => t.query<{ getEnterprise: unknown }>(enterprise())));
    const elapsedMs = performance.now() - started;
    const limited = results.filter((r) => codes(r.body).includes('RATE_LIMITED'));
    const served = results.filter((r) => r.body.data?.getEnterprise);
    expect(served.length + limited.length).toBe(30);
    // 3 a second: a burst of 3, then one more every 333 ms while the requests were in flight.
    expect(served.length).toBeGreaterThanOrEqual(3);
    expect(served.length).toBeLessThanOrEqual(3 + Math.ceil(elapsedMs / 333));
    expect(t.soapProxy.seen.length - before).toBe(served.length);
    // Thirty at once would need about 9 s to earn thirty calls: some were refused.
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'source', source: 'MarketRegistry' });
  });
});

describe('the default department', () => {
  it('sees the department ceiling, and what is left of it, in the headers of a successful response', async () => {
    const first = await t.query('{ allowanceHouseholds(regionCode: "341504", first: 1) { total } }');
    const second = await t.query('{ allowanceHouseholds(regionCode: "341504", first: 1) { total } }');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('ratelimit-policy')).toContain('"department";q=1000;w=60');
    const left = (r: typeof first) => Number(/"department";r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1]);
    // Each request takes one unit; one comes back every 60 ms (1000 a minute), so only an upper bound holds.
    expect(left(first)).toBeLessThan(1000);
    expect(left(second)).toBeLessThanOrEqual(left(first));
  });
});
