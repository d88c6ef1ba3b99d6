/**
 * The source ceiling with a shared (Redis) store: calls are charged in small leases, so a single
 * lookup costs one round trip (the department's) rather than two — and the ceiling still holds
 * exactly. The store here is the in-process one presenting itself as shared, counting its hits;
 * the Redis store's own semantics are tested in policies/limits/test (the same suite for both).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryLimitStore, type LimitStore, type RateRule } from '../../policies/limits/index.ts';
import { loadConfig } from '../config.ts';
import { startHubLimits } from '../limits/hub-limits.ts';
import { silentLogger } from '../log.ts';

function countingSharedStore(): LimitStore & { hits: Array<{ rules: readonly RateRule[]; cost: number }> } {
  const inner = createMemoryLimitStore({ sweepIntervalMs: 0 });
  const hits: Array<{ rules: readonly RateRule[]; cost: number }> = [];
  return {
    ...inner,
    kind: 'redis',
    hits,
    hit(rules, now, cost = 1) {
      hits.push({ rules, cost });
      return inner.hit(rules, now, cost);
    },
  };
}

async function limitsWith(sourcePerSecond: number, clock: { now(): number }) {
  const store = countingSharedStore();
  const settings = loadConfig({ env: {}, overrides: { limits: { sourcePerSecond } } }).limits;
  const limits = await startHubLimits({ settings, logger: silentLogger, clock, schema: () => { throw new Error('not used'); }, store });
  return { limits, store };
}

const refused = async (call: Promise<void>): Promise<boolean> => {
  try {
    await call;
    return false;
  } catch (error) {
    expect((error as { extensions?: { code?: string; limit?: string } }).extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'source' });
    return true;
  }
};

describe('source ceiling on a shared store', () => {
  it('charges calls in leases of 1 % of the ceiling: 100 calls, hits of 10, the next fetched before it is needed', async () => {
    const clock = { t: 1_000_000, now() { return this.t; } };
    const { limits, store } = await limitsWith(1000, clock);
    for (let i = 0; i < 100; i++) {
      await limits.sourceGuard('MarketRegistry');
      if (i % 10 === 9) clock.t += 1; // time moves, within the lease's 100 ms
    }
    // Ten leases spent, the eleventh fetched ahead (half of the tenth spent) and held for the next calls.
    expect(store.hits.map((h) => h.cost)).toEqual(Array(11).fill(10));
    expect(store.hits.every((h) => h.rules[0]!.key === 'source:MarketRegistry')).toBe(true);
    await limits.close();
  });

  it('asks once for calls arriving together, and each source has leases of its own', async () => {
    const clock = { now: () => 5_000_000 };
    const { limits, store } = await limitsWith(1000, clock);
    await Promise.all([...Array.from({ length: 10 }, () => limits.sourceGuard('MarketRegistry')), ...Array.from({ length: 10 }, () => limits.sourceGuard('SocialInsurance'))]);
    // One lease each for the ten calls (and, all ten spent, the next one of each fetched ahead).
    expect(store.hits.map((h) => `${h.rules[0]!.key}×${h.cost}`).sort()).toEqual(['source:MarketRegistry×10', 'source:MarketRegistry×10', 'source:SocialInsurance×10', 'source:SocialInsurance×10']);
    expect(store.hits.slice(0, 2).map((h) => h.rules[0]!.key).sort()).toEqual(['source:MarketRegistry', 'source:SocialInsurance']);
    await limits.close();
  });

  it('does not make a call wait for Redis once leases flow: the next lease is already held when the current one runs out', async () => {
    const clock = { t: 2_000_000, now() { return this.t; } };
    const { limits, store } = await limitsWith(1000, clock);
    for (let i = 0; i < 10; i++) await limits.sourceGuard('MarketRegistry'); // the first lease spent, the second fetched at half
    expect(store.hits).toHaveLength(2);
    // From now on the store never answers: a call that had to ask it would hang.
    const hit = store.hit;
    store.hit = () => new Promise(() => undefined);
    const answered = await Promise.race([limits.sourceGuard('MarketRegistry').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 200))]);
    expect(answered).toBe(true);
    store.hit = hit;
    await limits.close();
  });

  it('spends a lease fetched ahead only within 100 ms of its own charge', async () => {
    const clock = { t: 4_000_000, now() { return this.t; } };
    const { limits, store } = await limitsWith(1000, clock);
    await limits.sourceGuard('MarketRegistry'); // a lease of 10 at t
    clock.t += 60;
    await limits.sourceGuard('MarketRegistry'); // past half its time: the next is charged at t + 60
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.hits).toHaveLength(2);
    clock.t += 100; // t + 160: both have lapsed (the second at t + 160)
    await limits.sourceGuard('MarketRegistry');
    expect(store.hits).toHaveLength(3);
    await limits.close();
  });

  it('lets an unspent lease lapse after 100 ms: it is never spent later', async () => {
    const clock = { t: 9_000_000, now() { return this.t; } };
    const { limits, store } = await limitsWith(1000, clock);
    await limits.sourceGuard('MarketRegistry'); // a lease of 10, one spent
    clock.t += 100;
    await limits.sourceGuard('MarketRegistry'); // the 9 left lapsed: a new lease
    expect(store.hits.map((h) => h.cost)).toEqual([10, 10]);
    await limits.close();
  });

  it('never admits more calls than the ceiling: at 200 a second, 1,000 calls at one instant admit exactly the burst', async () => {
    const clock = { now: () => 7_000_000 };
    const { limits } = await limitsWith(200, clock);
    const outcomes = await Promise.all(Array.from({ length: 1000 }, () => refused(limits.sourceGuard('MarketRegistry'))));
    expect(outcomes.filter((r) => !r).length).toBe(200);
    await limits.close();
  });

  it('keeps one hit per call for small ceilings (under 200 a second), as the exact tests expect', async () => {
    const clock = { now: () => 3_000_000 };
    const { limits, store } = await limitsWith(150, clock);
    for (let i = 0; i < 5; i++) await limits.sourceGuard('MarketRegistry');
    expect(store.hits.map((h) => h.cost)).toEqual([1, 1, 1, 1, 1]);
    await limits.close();
  });
});
