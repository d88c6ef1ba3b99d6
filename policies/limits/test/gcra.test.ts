/**
 * GCRA and the quota window as pure vectors: a rule, a state, a time in, a decision out. The
 * stores run this arithmetic (the Redis store in Lua); store-suite.ts checks they agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkCost,
  decodeGcraState,
  encodeGcraState,
  gcraHit,
  gcraPeek,
  validateRateRule,
  validateRateRules,
  type GcraOutcome,
  type GcraState,
} from '../gcra.ts';
import { quotaGrant, quotaWindow, validateQuotaRule } from '../quota-window.ts';
import type { RateRule } from '../types.ts';
import { codeOfCall } from '../../../core/testing.ts';

const T0 = Date.UTC(2026, 10, 23, 2, 0, 0); // 10:00 in Beijing, a realistic magnitude for floats
const tenPerSecond: RateRule = { name: 'contract-rpm', key: 'contract:GX-2026-000001:rps', limit: 10, periodMs: 1000 };

/** Hits `times` times at `now`, threading the state; returns every outcome. */
function hits(state: GcraState | null, now: number, rule: RateRule, times: number, cost = 1): { outcomes: GcraOutcome[]; state: GcraState | null } {
  const outcomes: GcraOutcome[] = [];
  for (let i = 0; i < times; i++) {
    const outcome = gcraHit(state, now, rule, cost);
    outcomes.push(outcome);
    state = outcome.state;
  }
  return { outcomes, state };
}


describe('GCRA: a full bucket', () => {
  it('admits exactly `burst` units at once, counting remaining down to 0, then refuses for one interval', () => {
    const { outcomes, state } = hits(null, T0, tenPerSecond, 11);
    expect(outcomes.slice(0, 10).map((o) => o.allowed)).toEqual(Array(10).fill(true));
    expect(outcomes.slice(0, 10).map((o) => o.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(outcomes.slice(0, 10).map((o) => o.resetMs)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(outcomes[10]).toMatchObject({ allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 100 });
    expect(outcomes[10]!.state).toBe(state); // a refusal leaves the state as it was
  });

  it('reports retryAfterMs 0 on every admitted hit', () => {
    const { outcomes } = hits(null, T0, tenPerSecond, 10);
    expect(outcomes.every((o) => o.retryAfterMs === 0)).toBe(true);
  });

  it('with a burst below the limit admits only the burst at once', () => {
    const rule: RateRule = { ...tenPerSecond, limit: 60, periodMs: 60_000, burst: 3 };
    const { outcomes } = hits(null, T0, rule, 4);
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, false]);
    expect(outcomes[3]).toMatchObject({ remaining: 0, resetMs: 3000, retryAfterMs: 1000 });
  });
});

describe('GCRA: refill', () => {
  it('refills one unit every interval T = periodMs / limit, not before', () => {
    const { state } = hits(null, T0, tenPerSecond, 10);
    expect(gcraHit(state, T0 + 99, tenPerSecond)).toMatchObject({ allowed: false, retryAfterMs: 1, resetMs: 901 });
    const next = gcraHit(state, T0 + 100, tenPerSecond);
    expect(next).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 });
    expect(gcraHit(next.state, T0 + 100, tenPerSecond)).toMatchObject({ allowed: false, retryAfterMs: 100 });
  });

  it('is full again after resetMs: a whole burst once more', () => {
    const { state } = hits(null, T0, tenPerSecond, 10);
    expect(hits(state, T0 + 1000, tenPerSecond, 11).outcomes.filter((o) => o.allowed)).toHaveLength(10);
  });

  it('keeps a fractional interval exact: 3 per second admits all 3 and refuses the 4th until 334 ms', () => {
    const rule: RateRule = { ...tenPerSecond, limit: 3 };
    const { outcomes, state } = hits(null, T0, rule, 4);
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, false]);
    expect(outcomes[3]).toMatchObject({ retryAfterMs: 334, resetMs: 1000 });
    expect(gcraHit(state, T0 + 333, rule)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(gcraHit(state, T0 + 334, rule).allowed).toBe(true);
  });

  it('admits exactly burst + ⌊t·limit/period⌋ units by time t when drained before it can overflow', () => {
    // Drained every tick, a bucket never reaches full (losing refill) if a tick refills less than
    // the room left after a drain: tick·limit ≤ periodMs·(burst − 1) + 1 in scaled units.
    const rules = fc
      .tuple(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2, max: 20 }))
      .chain(([periodMs, burst]) =>
        fc.integer({ min: 1, max: Math.min(50, periodMs) }).chain((limit) =>
          fc.tuple(fc.constant({ limit, periodMs, burst }), fc.integer({ min: 1, max: Math.floor((periodMs * (burst - 1) + 1) / limit) })),
        ),
      );
    fc.assert(
      fc.property(rules, ([{ limit, periodMs, burst }, tickMs]) => {
        const rule: RateRule = { name: 'p', key: 'p', limit, periodMs, burst };
        let state: GcraState | null = null;
        let admitted = 0;
        for (let t = 0; t <= Math.min(3 * periodMs, 300 * tickMs); t += tickMs) {
          for (let outcome = gcraHit(state, T0 + t, rule); outcome.allowed; outcome = gcraHit(state, T0 + t, rule)) {
            admitted++;
            state = outcome.state;
          }
          expect(admitted).toBe(burst + Math.floor((t * limit) / periodMs));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('GCRA: cost', () => {
  it('charges cost units at once and refuses a cost the bucket cannot hold yet', () => {
    const { outcomes, state } = hits(null, T0, tenPerSecond, 3, 4);
    expect(outcomes.map((o) => [o.allowed, o.remaining])).toEqual([
      [true, 6],
      [true, 2],
      [false, 2],
    ]);
    expect(outcomes[2]!.retryAfterMs).toBe(200); // two more units refill in 2 × 100 ms
    expect(gcraHit(state, T0, tenPerSecond, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('never admits a cost above the burst: refused, retryAfterMs Infinity, nothing charged', () => {
    const outcome = gcraHit(null, T0, tenPerSecond, 11);
    expect(outcome).toMatchObject({ allowed: false, remaining: 10, resetMs: 0, retryAfterMs: Infinity, state: null });
  });

  it('refuses a cost that is not a whole number ≥ 1 with BAD_USER_INPUT', () => {
    for (const cost of [0, -1, 1.5, Number.NaN]) {
      expect(codeOfCall(() => checkCost(cost))).toBe('BAD_USER_INPUT');
    }
  });
});

describe('GCRA: peek', () => {
  it('describes a fresh bucket as full without charging', () => {
    expect(gcraPeek(null, T0, tenPerSecond)).toMatchObject({ allowed: true, remaining: 10, resetMs: 0, retryAfterMs: 0, state: null });
  });

  it('describes a drained bucket as refusing one unit for one interval', () => {
    const { state } = hits(null, T0, tenPerSecond, 10);
    expect(gcraPeek(state, T0, tenPerSecond)).toMatchObject({ allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 100, state });
    expect(gcraPeek(state, T0 + 250, tenPerSecond)).toMatchObject({ allowed: true, remaining: 2, resetMs: 750, retryAfterMs: 0 });
  });
});

describe('GCRA: state', () => {
  it('round-trips through its stored text and reads anything else as a full bucket', () => {
    const { state } = hits(null, T0, { ...tenPerSecond, limit: 7, periodMs: 60_000 }, 3);
    expect(decodeGcraState(encodeGcraState(state!))).toEqual(state);
    for (const junk of [null, undefined, '', '12', '1:2', 'a:b:c', '1.5:2:3', '1:2:0']) expect(decodeGcraState(junk)).toBeNull();
  });

  it('keeps the time already owed when a rule changes its limit under the same key', () => {
    const { state } = hits(null, T0, tenPerSecond, 10); // a full second owed
    const doubled: RateRule = { ...tenPerSecond, limit: 20 };
    expect(gcraHit(state, T0, doubled)).toMatchObject({ allowed: false, resetMs: 1000, retryAfterMs: 50 });
    expect(gcraHit(state, T0 + 500, doubled)).toMatchObject({ allowed: true, remaining: 9 });
  });

  it('treats a state written on a clock ahead of this one as owing more, never less', () => {
    const { state } = hits(null, T0 + 50, tenPerSecond, 1);
    expect(gcraPeek(state, T0, tenPerSecond)).toMatchObject({ remaining: 8, resetMs: 150 });
  });
});

describe('rule validation', () => {
  it('accepts a sound rate rule', () => {
    expect(codeOfCall(() => validateRateRule(tenPerSecond))).toBe('returned');
    expect(codeOfCall(() => validateRateRule({ ...tenPerSecond, burst: 1 }))).toBe('returned');
  });

  it.each([
    ['limit 0', { limit: 0 }],
    ['a fractional limit', { limit: 1.5 }],
    ['period 0', { periodMs: 0 }],
    ['a fractional period', { periodMs: 0.5 }],
    ['burst 0', { burst: 0 }],
    ['a fractional burst', { burst: 2.5 }],
    ['an empty key', { key: '' }],
    ['a key over 200 characters', { key: 'k'.repeat(201) }],
    ['an empty name', { name: '' }],
    ['period × burst beyond 2^53', { periodMs: 2 ** 40, burst: 2 ** 14 }],
  ])('refuses a rate rule with %s (CONFIG_INVALID)', (_title, change) => {
    expect(codeOfCall(() => validateRateRule({ ...tenPerSecond, ...change } as RateRule))).toBe('CONFIG_INVALID');
  });

  it('refuses one request naming the same bucket twice (CONFIG_INVALID)', () => {
    expect(codeOfCall(() => validateRateRules([tenPerSecond, { ...tenPerSecond, name: 'other' }]))).toBe('CONFIG_INVALID');
  });

  it('accepts quota limits ≥ 0 and refuses negative or fractional ones (CONFIG_INVALID)', () => {
    const quota = { name: 'contract-records', key: 'contract:GX-2026-000001:records', limit: 0 };
    expect(codeOfCall(() => validateQuotaRule(quota))).toBe('returned');
    expect(codeOfCall(() => validateQuotaRule({ ...quota, limit: -1 }))).toBe('CONFIG_INVALID');
    expect(codeOfCall(() => validateQuotaRule({ ...quota, limit: 2.5 }))).toBe('CONFIG_INVALID');
    expect(codeOfCall(() => validateQuotaRule({ ...quota, key: '' }))).toBe('CONFIG_INVALID');
  });
});

describe('quota', () => {
  it('grants what is left, at most what is wanted, never a negative amount', () => {
    expect([quotaGrant(0, 100, 250), quotaGrant(200, 100, 250), quotaGrant(250, 100, 250), quotaGrant(300, 5, 250)]).toEqual([100, 50, 0, 0]);
  });

  it('uses the calendar day in China Standard Time: midnight in Beijing is 16:00 UTC the day before', () => {
    const midnight = Date.UTC(2026, 10, 22, 16, 0, 0);
    expect(quotaWindow(midnight)).toEqual({ id: '2026-11-23', startMs: midnight, endMs: midnight + 86_400_000 });
    expect(quotaWindow(midnight - 1)).toEqual({ id: '2026-11-22', startMs: midnight - 86_400_000, endMs: midnight });
    expect(quotaWindow(midnight + 86_400_000 - 1).id).toBe('2026-11-23');
    expect(quotaWindow(Date.UTC(2026, 11, 31, 20, 0, 0)).id).toBe('2027-01-01'); // new year comes 8 h early
  });
});
