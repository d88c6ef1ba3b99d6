/**
 * The in-process `LimitStore`: one replica's buckets and counters in two maps. Same decisions as
 * the Redis store (both run gcra.ts's arithmetic; quotas grant what is left, at most `wanted`).
 * Every method runs to completion without awaiting, so each is atomic within the process.
 *
 * Memory stays bounded by what is live: a bucket whose TAT has passed is full, so it is dropped;
 * a quota window that has ended is dropped. The sweep runs at most once per `sweepIntervalMs` of
 * the callers' clock, amortised over calls, so no timer keeps the process alive.
 */
import { TongxiangError } from '../../core/index.ts';
import { checkCost, gcraHit, gcraPeek, validateRateRules, wholeMs, type GcraOutcome, type GcraState } from './gcra.ts';
import { checkWanted, quotaGrant, quotaTakeOf, quotaWindow, validateQuotaRule } from './quota-window.ts';
import type { LimitStore, QuotaRule, QuotaTake, QuotaWindow, RateDecision, RateRule } from './types.ts';

export interface MemoryLimitStoreOptions {
  /** Least time (callers' clock) between two sweeps of expired entries; default 60 000 ms. */
  readonly sweepIntervalMs?: number;
}

export interface MemoryLimitStore extends LimitStore {
  readonly kind: 'memory';
  /** Buckets plus quota windows held now (for status and tests). */
  size(): number;
}

interface Bucket {
  readonly state: GcraState;
  /** When the bucket is full again: from then on it is as good as absent. */
  readonly fullAt: number;
}

interface Counter {
  used: number;
  readonly endMs: number;
}

export function createMemoryLimitStore(options: MemoryLimitStoreOptions = {}): MemoryLimitStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'memory limit store: sweepIntervalMs must be a number ≥ 0' });
  }
  const buckets = new Map<string, Bucket>();
  const counters = new Map<string, Counter>();
  let nextSweepAt = -Infinity;
  let closed = false;

  /** Checks the store is open and sweeps when due; returns `now` in whole ms. */
  const enter = (now: number): number => {
    if (closed) throw new TongxiangError('RATE_LIMIT_UNAVAILABLE', { reason: 'closed' });
    const ms = wholeMs(now);
    if (ms >= nextSweepAt) {
      for (const [key, bucket] of buckets) if (bucket.fullAt <= ms) buckets.delete(key);
      for (const [key, counter] of counters) if (counter.endMs <= ms) counters.delete(key);
      nextSweepAt = ms + sweepIntervalMs;
    }
    return ms;
  };

  const decision = (rule: RateRule, outcome: GcraOutcome): RateDecision =>
    Object.freeze({ rule, allowed: outcome.allowed, remaining: outcome.remaining, resetMs: outcome.resetMs, retryAfterMs: outcome.retryAfterMs });

  const counterKey = (rule: QuotaRule, windowId: string): string => `${rule.key}:${windowId}`;

  return Object.freeze({
    kind: 'memory' as const,

    async hit(rules: readonly RateRule[], now: number, cost = 1): Promise<RateDecision[]> {
      const ms = enter(now);
      validateRateRules(rules);
      checkCost(cost);
      const outcomes = rules.map((rule) => gcraHit(buckets.get(rule.key)?.state ?? null, ms, rule, cost));
      // All or nothing: charge only when every rule admits.
      if (outcomes.every((o) => o.allowed)) {
        rules.forEach((rule, i) => {
          const outcome = outcomes[i]!;
          buckets.set(rule.key, { state: outcome.state!, fullAt: ms + outcome.resetMs });
        });
      }
      return rules.map((rule, i) => decision(rule, outcomes[i]!));
    },

    async peek(rules: readonly RateRule[], now: number): Promise<RateDecision[]> {
      const ms = enter(now);
      validateRateRules(rules);
      return rules.map((rule) => decision(rule, gcraPeek(buckets.get(rule.key)?.state ?? null, ms, rule)));
    },

    async take(rule: QuotaRule, wanted: number, now: number): Promise<QuotaTake> {
      const ms = enter(now);
      validateQuotaRule(rule);
      checkWanted(wanted);
      const window = quotaWindow(ms);
      const key = counterKey(rule, window.id);
      const counter = counters.get(key);
      const used = counter?.used ?? 0;
      const granted = quotaGrant(used, wanted, rule.limit);
      if (granted > 0) {
        if (counter) counter.used += granted;
        else counters.set(key, { used: granted, endMs: window.endMs });
      }
      return quotaTakeOf(rule, window, granted, used + granted);
    },

    async usage(rule: QuotaRule, now: number): Promise<QuotaTake> {
      const ms = enter(now);
      validateQuotaRule(rule);
      const window = quotaWindow(ms);
      return quotaTakeOf(rule, window, 0, counters.get(counterKey(rule, window.id))?.used ?? 0);
    },

    async refund(rule: QuotaRule, window: QuotaWindow, units: number): Promise<number> {
      if (closed) throw new TongxiangError('RATE_LIMIT_UNAVAILABLE', { reason: 'closed' });
      validateQuotaRule(rule);
      checkWanted(units);
      const counter = counters.get(counterKey(rule, window.id));
      const back = Math.min(units, counter?.used ?? 0);
      if (counter && back > 0) counter.used -= back;
      return back;
    },

    healthy: () => !closed,

    async close(): Promise<void> {
      closed = true;
      buckets.clear();
      counters.clear();
    },

    size: () => buckets.size + counters.size,
  });
}
