/**
 * Records per day, reserved in the admission's round trip: the records quota of each contract is
 * taken together with the rate hit, for as many rows as the same operation returned last time, so
 * a request whose rows match needs no second trip to the store; rows beyond the reservation are
 * taken when they come, and what it covered but was not used goes back when the response is
 * complete. Exactness is what is asserted: after every request the quota's count equals the rows
 * actually handed out, a refusal leaves nothing reserved, and no more than the quota is ever
 * handed out. The store is the in-process one, counting its calls (the Redis store's own refund
 * semantics are in policies/limits/test, the same suite for both).
 */
import { parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import type { Quotas } from '../../contracts/index.ts';
import type { Principal } from '../../core/index.ts';
import { createMemoryLimitStore, type LimitStore, type QuotaRule } from '../../policies/limits/index.ts';
import { loadConfig } from '../config.ts';
import type { RowQuota } from '../enforcement/index.ts';
import { startHubLimits, type LimitContext } from '../limits/hub-limits.ts';
import { silentLogger } from '../log.ts';

const T0 = Date.UTC(2026, 10, 24, 2, 0, 0);
const CONTRACT = 'GX-2026-000101';
const RULE: QuotaRule = { name: 'contract-records', key: `contract:${CONTRACT}:records`, limit: 20 };

interface Calls {
  takes: number[];
  refunds: number[];
  hits: number;
}

function countingStore(): LimitStore & { calls: Calls } {
  const inner = createMemoryLimitStore({ sweepIntervalMs: 0 });
  const calls: Calls = { takes: [], refunds: [], hits: 0 };
  return {
    ...inner,
    calls,
    hit(rules, now, cost) {
      calls.hits += 1;
      return inner.hit(rules, now, cost);
    },
    take(rule, wanted, now) {
      calls.takes.push(wanted);
      return inner.take(rule, wanted, now);
    },
    refund(rule, window, units) {
      calls.refunds.push(units);
      return inner.refund(rule, window, units);
    },
  };
}

const principal = { department: { code: '341502.mzj' }, subject: 'dev', client: 'test', roles: ['developer'] } as unknown as Principal;

/** What afterDecisions reads of Apollo's request context: the document, its operation, the headers. */
function requestOf(document: DocumentNode): GraphQLRequestContextDidResolveOperation<LimitContext> {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  return {
    document,
    operation,
    request: { variables: {} },
    response: { http: { headers: new Map<string, string>() } },
  } as unknown as GraphQLRequestContextDidResolveOperation<LimitContext>;
}

async function setUp(quotas: Partial<Quotas> = {}) {
  const store = countingStore();
  const clock = { now: () => T0 };
  const settings = loadConfig({ env: {}, overrides: { limits: { departmentLimit: null } } }).limits;
  const limits = await startHubLimits({ settings, logger: silentLogger, clock, schema: () => { throw new Error('not used'); }, store });
  const grants = new Map<string, Quotas>([[CONTRACT, { requestsPerMinute: null, recordsPerDay: RULE.limit, ...quotas } as Quotas]]);
  const document = parse('query Households($n: Int!) { allowanceHouseholds(regionCode: "341504", first: $n) { items { headName } } }');
  /** One request: admission, then lists of `rows` rows taken one list at a time, then the response is complete. */
  const request = async (...lists: number[]): Promise<number[]> => {
    const quota = (await limits.admission.afterDecisions!(principal, [CONTRACT], grants, requestOf(document))) as RowQuota;
    const handed: number[] = [];
    for (const rows of lists) handed.push(await quota.take(CONTRACT, rows));
    quota.settle();
    await new Promise((resolve) => setImmediate(resolve)); // the refund is not awaited by the response
    return handed;
  };
  const used = async () => (await store.usage(RULE, T0)).used;
  return { store, limits, request, used };
}

describe('records per day reserved with the admission', () => {
  it('asks the store once per request when the rows match what the operation returned last time', async () => {
    const { store, request, used } = await setUp();
    expect(await request(3)).toEqual([3]);
    // First run: nothing known, so the admission reads today's standing (a take of 0) and the rows are taken as they come.
    expect(store.calls.takes).toEqual([0, 3]);
    store.calls.takes.length = 0;
    expect(await request(3)).toEqual([3]);
    expect(await request(3)).toEqual([3]);
    expect(store.calls.takes).toEqual([3, 3]); // one reservation per request, nothing else
    expect(store.calls.refunds).toEqual([]);
    expect(await used()).toBe(9);
  });

  it('hands back what was reserved and not returned, and takes rows beyond the reservation when they come', async () => {
    const { store, request, used } = await setUp();
    await request(5); // learns 5
    expect(await request(2)).toEqual([2]); // reserves 5, returns 2, hands back 3
    expect(store.calls.refunds).toEqual([3]);
    expect(await used()).toBe(7);
    expect(await request(4, 3)).toEqual([4, 3]); // reserves 2 (learned), takes the other 5 as the lists come
    expect(store.calls.takes.slice(-3)).toEqual([2, 2, 3]); // the reservation covers 2 of the first list's 4
    expect(await used()).toBe(14);
    expect(await request()).toEqual([]); // an answer without rows: reserves 7, gets the 6 left, hands all 6 back
    expect(store.calls.takes.at(-1)).toBe(7);
    expect(store.calls.refunds.at(-1)).toBe(6);
    expect(await used()).toBe(14);
  });

  it('never hands out more than the quota: a reservation cut short by the quota, then a refusal before any row', async () => {
    const { request, used } = await setUp();
    await request(8);
    await request(8); // 16 used of 20
    expect(await request(8)).toEqual([4]); // reservation of 8 granted 4: the list is cut there
    expect(await used()).toBe(20);
    await expect(request(1)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'contract-records', contractId: CONTRACT } });
    expect(await used()).toBe(20);
  });

  it('gives the reservation back when a rate refuses the request', async () => {
    const { store, request, used } = await setUp({ requestsPerMinute: 2 });
    await request(6);
    await request(6);
    expect(await used()).toBe(12);
    await expect(request(6)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'contract-rpm' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.calls.refunds).toEqual([6]);
    expect(await used()).toBe(12);
  });

  it('still counts rows under a limited contract the admission did not name (a row decided under another grant)', async () => {
    const { limits, store, used } = await setUp();
    const grants = new Map<string, Quotas>([[CONTRACT, { requestsPerMinute: null, recordsPerDay: RULE.limit } as Quotas]]);
    const document = parse('{ allowanceHouseholds(regionCode: "341504", first: 3) { items { headName } } }');
    const quota = (await limits.admission.afterDecisions!(principal, [], grants, requestOf(document))) as RowQuota | null;
    expect(quota).not.toBeNull();
    expect(quota!.limited(CONTRACT)).toBe(true);
    expect(await quota!.take(CONTRACT, 3)).toBe(3);
    quota!.settle();
    expect(store.calls.takes).toEqual([3]);
    expect(await used()).toBe(3);
  });

  it('keeps the count exact when many requests reserve, return fewer or more rows, and settle at once', async () => {
    const { request, used } = await setUp();
    await request(2);
    // 12 concurrent requests, each reserving 2 of the 18 left, wanting 0 to 3 rows.
    const wanted = Array.from({ length: 12 }, (_, i) => i % 4);
    const outcomes = await Promise.allSettled(wanted.map((n) => request(n)));
    const total = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : [])).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(18);
    expect(await used()).toBe(2 + total);
    // 9 reservations of 2 hold all 18 at once: the other 3 requests are refused while those are in
    // flight (a refusal counts reserved rows as used), and the rows come back to the quota after.
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused).toHaveLength(3);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'contract-records' } });
    expect(await request(1)).toEqual([1]);
    expect(await used()).toBe(2 + total + 1);
  });
});
