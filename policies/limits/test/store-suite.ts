/**
 * The behaviour every `LimitStore` passes (in-process memory, Redis): `defineLimitStoreSuite` runs
 * once per implementation, like the contract and audit stores' suites. Time is a plain number the
 * tests move; each test opens a fresh store (the Redis harness gives each its own key prefix).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { quotaWindow } from '../quota-window.ts';
import type { LimitStore, QuotaRule, RateDecision, RateRule } from '../types.ts';
import { codeOf } from '../../../core/testing.ts';

const HOUR = 3_600_000;
/** 10:00 on 23 November 2026 in Beijing. */
export const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);


export function rateRule(key: string, limit: number, periodMs: number, burst?: number): RateRule {
  return { name: 'contract-rpm', key, limit, periodMs, burst };
}

const summary = (d: RateDecision) => ({ allowed: d.allowed, remaining: d.remaining, resetMs: d.resetMs, retryAfterMs: d.retryAfterMs });

export function defineLimitStoreSuite(name: string, makeStore: () => Promise<LimitStore>): void {
  describe(`limit store on ${name}`, () => {
    const stores: LimitStore[] = [];
    const fresh = async (): Promise<LimitStore> => {
      const store = await makeStore();
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });

    it('admits exactly the limit among 500 concurrent hits, refusing the rest for one interval', async () => {
      const store = await fresh();
      const rule = rateRule('contract:GX-2026-000001:rph', 100, HOUR);
      const decisions = (await Promise.all(Array.from({ length: 500 }, () => store.hit([rule], T0)))).map((d) => d[0]!);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
      expect(decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(new Set(decisions.filter((d) => !d.allowed).map((d) => d.retryAfterMs))).toEqual(new Set([36_000]));
    });

    it('admits one more unit every interval T, and a whole burst after a quiet period', async () => {
      const store = await fresh();
      const rule = rateRule('contract:GX-2026-000001:rpm', 6, 60_000); // T = 10 s
      for (let i = 0; i < 6; i++) expect((await store.hit([rule], T0))[0]!.allowed).toBe(true);
      expect(summary((await store.hit([rule], T0))[0]!)).toEqual({ allowed: false, remaining: 0, resetMs: 60_000, retryAfterMs: 10_000 });
      expect(summary((await store.hit([rule], T0 + 9_999))[0]!)).toEqual({ allowed: false, remaining: 0, resetMs: 50_001, retryAfterMs: 1 });
      expect(summary((await store.hit([rule], T0 + 10_000))[0]!)).toEqual({ allowed: true, remaining: 0, resetMs: 60_000, retryAfterMs: 0 });
      expect((await store.hit([rule], T0 + 10_000))[0]!.allowed).toBe(false);
      let admitted = 0;
      for (let i = 0; i < 8; i++) if ((await store.hit([rule], T0 + 70_000))[0]!.allowed) admitted++;
      expect(admitted).toBe(6);
    });

    it('admits only the burst at once when it is below the limit', async () => {
      const store = await fresh();
      const rule = rateRule('department:11010001', 60, 60_000, 3);
      const decisions = await Promise.all([1, 2, 3, 4].map(() => store.hit([rule], T0)));
      expect(decisions.map((d) => d[0]!.allowed).sort()).toEqual([false, true, true, true]);
      expect(decisions.find((d) => !d[0]!.allowed)![0]!.retryAfterMs).toBe(1_000);
    });

    it('keeps a fractional interval exact over time: 7 per minute, drained every second', async () => {
      const store = await fresh();
      const rule = rateRule('source:shebao', 7, 60_000);
      let admitted = 0;
      for (let t = 0; t <= 120_000; t += 1_000) {
        while ((await store.hit([rule], T0 + t))[0]!.allowed) admitted++;
        expect(admitted).toBe(7 + Math.floor((t * 7) / 60_000));
      }
    });

    it('charges cost units at once, refuses a cost that does not fit yet, and never one above the burst', async () => {
      const store = await fresh();
      const rule = rateRule('contract:GX-2026-000002:rps', 10, 1_000);
      expect(summary((await store.hit([rule], T0, 4))[0]!)).toEqual({ allowed: true, remaining: 6, resetMs: 400, retryAfterMs: 0 });
      expect(summary((await store.hit([rule], T0, 4))[0]!)).toEqual({ allowed: true, remaining: 2, resetMs: 800, retryAfterMs: 0 });
      expect(summary((await store.hit([rule], T0, 4))[0]!)).toEqual({ allowed: false, remaining: 2, resetMs: 800, retryAfterMs: 200 });
      expect(summary((await store.hit([rule], T0, 11))[0]!)).toEqual({ allowed: false, remaining: 2, resetMs: 800, retryAfterMs: Infinity });
      expect(summary((await store.hit([rule], T0, 2))[0]!)).toEqual({ allowed: true, remaining: 0, resetMs: 1_000, retryAfterMs: 0 });
    });

    it('charges every rule or none: a refusal by one rule charges neither', async () => {
      const store = await fresh();
      const contract = rateRule('contract:GX-2026-000003:rpm', 10, HOUR);
      const department = rateRule('department:11010002', 2, HOUR);
      for (let i = 0; i < 2; i++) expect((await store.hit([contract, department], T0)).map((d) => d.allowed)).toEqual([true, true]);
      const refused = await store.hit([contract, department], T0);
      expect(refused.map((d) => [d.rule.key, d.allowed])).toEqual([
        [contract.key, true],
        [department.key, false],
      ]);
      expect((await store.peek([contract], T0))[0]!.remaining).toBe(8);
      expect((await store.hit([contract], T0))[0]!.remaining).toBe(7); // alone, the contract still admits
    });

    it('answers one decision per rule, in the order given', async () => {
      const store = await fresh();
      const rules = [rateRule('b', 5, HOUR), rateRule('a', 3, HOUR), rateRule('c', 4, HOUR)];
      const decisions = await store.hit(rules, T0);
      expect(decisions.map((d) => [d.rule, d.remaining])).toEqual([
        [rules[0], 4],
        [rules[1], 2],
        [rules[2], 3],
      ]);
      expect(await store.hit([], T0)).toEqual([]);
    });

    it('peeks without charging', async () => {
      const store = await fresh();
      const rule = rateRule('anonymous:203.0.113.7', 5, 60_000);
      for (let i = 0; i < 3; i++) expect(summary((await store.peek([rule], T0))[0]!)).toEqual({ allowed: true, remaining: 5, resetMs: 0, retryAfterMs: 0 });
      for (let i = 0; i < 5; i++) await store.hit([rule], T0);
      expect(summary((await store.peek([rule], T0 + 1_000))[0]!)).toEqual({ allowed: false, remaining: 0, resetMs: 59_000, retryAfterMs: 11_000 });
      expect(summary((await store.peek([rule], T0 + 1_000))[0]!)).toEqual({ allowed: false, remaining: 0, resetMs: 59_000, retryAfterMs: 11_000 });
    });

    it('keeps buckets with different keys apart', async () => {
      const store = await fresh();
      const one = rateRule('contract:GX-2026-000004:rpm', 2, HOUR);
      const other = rateRule('contract:GX-2026-000005:rpm', 2, HOUR);
      for (let i = 0; i < 3; i++) await store.hit([one], T0);
      expect((await store.peek([other], T0))[0]!.remaining).toBe(2);
      expect((await store.hit([other], T0))[0]!.allowed).toBe(true);
    });

    it('keeps the time already owed when a rule changes its limit under the same key', async () => {
      const store = await fresh();
      const before = rateRule('contract:GX-2026-000006:rps', 10, 1_000);
      for (let i = 0; i < 10; i++) await store.hit([before], T0);
      const after = rateRule(before.key, 20, 1_000);
      expect(summary((await store.hit([after], T0))[0]!)).toEqual({ allowed: false, remaining: 0, resetMs: 1_000, retryAfterMs: 50 });
      expect(summary((await store.hit([after], T0 + 500))[0]!)).toEqual({ allowed: true, remaining: 9, resetMs: 550, retryAfterMs: 0 });
    });

    it('takes up to what is wanted from a quota, then what is left, then nothing', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000001:records', limit: 250 };
      const takes = [];
      for (const wanted of [100, 100, 100, 10]) takes.push(await store.take(rule, wanted, T0));
      expect(takes.map((t) => [t.granted, t.used, t.remaining])).toEqual([
        [100, 100, 150],
        [100, 200, 50],
        [50, 250, 0],
        [0, 250, 0],
      ]);
      expect(takes[0]!.window).toEqual(quotaWindow(T0));
      expect(takes[0]!.rule).toBe(rule);
    });

    it('grants a quota exactly once among concurrent takes', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000007:records', limit: 100 };
      const takes = await Promise.all(Array.from({ length: 50 }, () => store.take(rule, 7, T0)));
      expect(takes.reduce((sum, t) => sum + t.granted, 0)).toBe(100);
      expect(takes.map((t) => t.granted).sort((a, b) => b - a).slice(0, 16)).toEqual([...Array(14).fill(7), 2, 0]);
      expect((await store.usage(rule, T0)).used).toBe(100);
    });

    it('starts a fresh quota window at midnight in Beijing', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000008:records', limit: 250 };
      const { endMs } = quotaWindow(T0);
      await store.take(rule, 250, T0);
      expect(await store.take(rule, 1, endMs - 1)).toMatchObject({ granted: 0, used: 250 });
      const next = await store.take(rule, 100, endMs);
      expect(next).toMatchObject({ granted: 100, used: 100, remaining: 150 });
      expect(next.window).toMatchObject({ id: '2026-11-24', startMs: endMs });
    });

    it('reads a quota without taking, and grants nothing for nothing wanted or a zero limit', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000009:records', limit: 10 };
      expect(await store.usage(rule, T0)).toMatchObject({ granted: 0, used: 0, remaining: 10 });
      await store.take(rule, 4, T0);
      expect(await store.usage(rule, T0)).toMatchObject({ granted: 0, used: 4, remaining: 6 });
      expect(await store.usage(rule, T0)).toMatchObject({ used: 4 });
      expect(await store.take(rule, 0, T0)).toMatchObject({ granted: 0, used: 4 });
      const none: QuotaRule = { ...rule, key: 'contract:GX-2026-000010:records', limit: 0 };
      expect(await store.take(none, 5, T0)).toMatchObject({ granted: 0, used: 0, remaining: 0 });
    });

    it('hands back what a take did not use, never below zero, to the day it was taken from', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000011:records', limit: 10 };
      const reserved = await store.take(rule, 8, T0);
      expect(await store.refund(rule, reserved.window, 5)).toBe(5);
      expect(await store.usage(rule, T0)).toMatchObject({ used: 3, remaining: 7 });
      expect(await store.refund(rule, reserved.window, 9)).toBe(3); // more than is used: down to zero, not below
      expect(await store.usage(rule, T0)).toMatchObject({ used: 0, remaining: 10 });
      expect(await store.refund(rule, reserved.window, 0)).toBe(0);
      // Taken before midnight, handed back after it: yesterday's counter, not today's.
      const { endMs } = quotaWindow(T0);
      const late = await store.take(rule, 6, endMs - 1);
      await store.take(rule, 4, endMs);
      expect(await store.refund(rule, late.window, 6)).toBe(6);
      expect(await store.usage(rule, endMs)).toMatchObject({ used: 4 });
      expect(await store.usage(rule, endMs - 1)).toMatchObject({ used: 0 });
    });

    it('stays exact under concurrent takes and refunds: nothing granted twice, nothing handed back twice', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000012:records', limit: 100 };
      // 60 requests each reserve 7 rows, use at most 4 and hand back the rest, all at once.
      const used = await Promise.all(
        Array.from({ length: 60 }, async () => {
          const t = await store.take(rule, 7, T0);
          const kept = Math.min(4, t.granted);
          await store.refund(rule, t.window, t.granted - kept);
          return kept;
        }),
      );
      const total = used.reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(100);
      expect((await store.usage(rule, T0)).used).toBe(total);
      // What was handed back is granted again, exactly once, to the next wave.
      const again = await Promise.all(Array.from({ length: 60 }, () => store.take(rule, 7, T0)));
      expect(again.reduce((sum, t) => sum + t.granted, 0)).toBe(100 - total);
      expect((await store.usage(rule, T0)).used).toBe(100);
    });

    it('refuses a refund of a negative or fractional amount with BAD_USER_INPUT', async () => {
      const store = await fresh();
      const rule: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000013:records', limit: 10 };
      const t = await store.take(rule, 5, T0);
      expect(await codeOf(store.refund(rule, t.window, -1))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.refund(rule, t.window, 1.5))).toBe('BAD_USER_INPUT');
      expect((await store.usage(rule, T0)).used).toBe(5);
    });

    it('rejects invalid rules with CONFIG_INVALID and invalid amounts with BAD_USER_INPUT', async () => {
      const store = await fresh();
      const rule = rateRule('k', 10, 1_000);
      expect(await codeOf(store.hit([{ ...rule, limit: 0 }], T0))).toBe('CONFIG_INVALID');
      expect(await codeOf(store.peek([rule, rule], T0))).toBe('CONFIG_INVALID');
      expect(await codeOf(store.hit([rule], T0, 0))).toBe('BAD_USER_INPUT');
      expect(await codeOf(store.take({ name: 'q', key: 'q', limit: -1 }, 1, T0))).toBe('CONFIG_INVALID');
      expect(await codeOf(store.take({ name: 'q', key: 'q', limit: 1 }, -1, T0))).toBe('BAD_USER_INPUT');
    });

    it('is healthy while open; once closed it rejects every call with RATE_LIMIT_UNAVAILABLE', async () => {
      const store = await fresh();
      await store.hit([rateRule('k', 1, 1_000)], T0);
      expect(store.healthy()).toBe(true);
      await store.close();
      expect(store.healthy()).toBe(false);
      expect(await codeOf(store.hit([rateRule('k', 1, 1_000)], T0))).toBe('RATE_LIMIT_UNAVAILABLE');
      expect(await codeOf(store.usage({ name: 'q', key: 'q', limit: 1 }, T0))).toBe('RATE_LIMIT_UNAVAILABLE');
      await store.close(); // twice is fine
    });
  });
}
