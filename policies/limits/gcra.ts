/**
 * GCRA (generic cell rate algorithm), the token bucket's exact equivalent, as pure functions: the
 * memory store calls them directly and the Redis store's Lua script (redis-store.ts) repeats the
 * same arithmetic step for step.
 *
 * Emission interval T = periodMs / limit, tolerance τ = T·burst. A bucket's state is its
 * theoretical arrival time TAT; a hit of `cost` units at `now` is admitted when
 * max(TAT, now) + cost·T − now ≤ τ, and then moves TAT there. After a quiet period exactly `burst`
 * units are admitted at once, then one more every T.
 *
 * T is often fractional (60 000 ms / 7), and float TATs near 1.7e12 ms drift by an ulp per hit,
 * enough to refuse the last unit of a full burst. So everything is kept in integers: time scaled by
 * `limit` (one scaled unit = 1/limit ms), where T = periodMs and τ = periodMs·burst exactly. The
 * state is `{ at, debt, limit }`: at time `at` (whole ms) the bucket owed `debt` scaled units, i.e.
 * TAT = at + debt/limit. `limit` is kept so a changed rule reinterprets old debt correctly.
 */
import { TongxiangError } from '../../core/index.ts';
import type { RateRule } from './types.ts';

export interface GcraState {
  /** Whole milliseconds (the caller's clock) when the debt was last written. */
  readonly at: number;
  /** What the bucket owed then, in 1/limit ms (TAT = at + debt / limit); ≥ 0, an integer. */
  readonly debt: number;
  /** The rule's limit when written: the unit `debt` is counted in. */
  readonly limit: number;
}

export interface GcraOutcome {
  readonly allowed: boolean;
  /** Whole units that could still be admitted right now (after this hit when allowed). */
  readonly remaining: number;
  /** Whole ms until the bucket is full again (0 when it is). */
  readonly resetMs: number;
  /**
   * Whole ms until `cost` units would be admitted; 0 when allowed. `Infinity` when `cost` exceeds
   * the burst: such a request can never be admitted, however long the caller waits.
   */
  readonly retryAfterMs: number;
  /** The state to store: the new one when allowed, the old one (unchanged) when refused. */
  readonly state: GcraState | null;
}

const MAX_KEY_LENGTH = 200;

/** Throws CONFIG_INVALID unless the rule can be computed exactly (see the module comment). */
export function validateRateRule(rule: RateRule): void {
  const problem = rateRuleProblem(rule);
  if (problem !== null) throw new TongxiangError('CONFIG_INVALID', { reason: `rate rule ${JSON.stringify(rule?.key ?? null)}: ${problem}` });
}

function rateRuleProblem(rule: RateRule): string | null {
  if (typeof rule !== 'object' || rule === null) return 'not an object';
  if (typeof rule.name !== 'string' || rule.name === '') return 'name must be a non-empty string';
  const keyProblem = limitKeyProblem(rule.key);
  if (keyProblem !== null) return keyProblem;
  if (!Number.isSafeInteger(rule.limit) || rule.limit <= 0) return 'limit must be an integer > 0';
  if (!Number.isSafeInteger(rule.periodMs) || rule.periodMs <= 0) return 'periodMs must be an integer > 0';
  const burst = rule.burst ?? rule.limit;
  if (!Number.isSafeInteger(burst) || burst < 1) return 'burst must be an integer ≥ 1';
  // τ and every debt must stay exact in a double (and in Redis's Lua numbers).
  if (!Number.isSafeInteger(rule.periodMs * Math.max(burst, rule.limit))) return 'periodMs × burst (and × limit) must stay below 2^53';
  return null;
}

/** Every rule valid and no key twice (one request charges a bucket once). Throws CONFIG_INVALID. */
export function validateRateRules(rules: readonly RateRule[]): void {
  const keys = new Set<string>();
  for (const rule of rules) {
    validateRateRule(rule);
    if (keys.has(rule.key)) throw new TongxiangError('CONFIG_INVALID', { reason: `rate rule key ${JSON.stringify(rule.key)} appears twice in one request` });
    keys.add(rule.key);
  }
}

/** A bucket or counter key: non-empty, at most 200 characters. */
export function limitKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string' || key === '') return 'key must be a non-empty string';
  if (key.length > MAX_KEY_LENGTH) return `key must be at most ${MAX_KEY_LENGTH} characters`;
  return null;
}

/** Throws BAD_USER_INPUT unless `cost` is a whole number of units ≥ 1. */
export function checkCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 1) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `rate-limit cost must be an integer ≥ 1 (got ${String(cost)})` });
  }
}

/** `now` as whole milliseconds: the scaled arithmetic needs integers. */
export function wholeMs(now: number): number {
  if (!Number.isFinite(now)) throw new TongxiangError('BAD_USER_INPUT', { reason: 'rate-limit time must be a finite number' });
  return Math.floor(now);
}

/** What the bucket owes at `now`, in 1/rule.limit ms; 0 when full. */
export function gcraDebt(state: GcraState | null, now: number, rule: RateRule): number {
  if (state === null) return 0;
  // Debt written under another limit: rescale, rounding up (never forgives a fraction).
  const debt = state.limit === rule.limit ? state.debt : Math.ceil((state.debt * rule.limit) / state.limit);
  return Math.max(0, debt - (now - state.at) * rule.limit);
}

/** Charges `cost` units if the bucket admits them at `now` (whole ms). Pure. */
export function gcraHit(state: GcraState | null, now: number, rule: RateRule, cost = 1): GcraOutcome {
  const { limit, periodMs } = rule;
  const burst = rule.burst ?? limit;
  const tau = periodMs * burst;
  const debt = gcraDebt(state, now, rule);
  const refused = (retryAfterMs: number): GcraOutcome => ({
    allowed: false,
    remaining: unitsLeft(tau, debt, periodMs),
    resetMs: Math.ceil(debt / limit),
    retryAfterMs,
    state,
  });
  if (cost > burst) return refused(Infinity);
  const next = debt + cost * periodMs;
  if (next > tau) return refused(Math.ceil((next - tau) / limit));
  return {
    allowed: true,
    remaining: unitsLeft(tau, next, periodMs),
    resetMs: Math.ceil(next / limit),
    retryAfterMs: 0,
    state: { at: now, debt: next, limit },
  };
}

/** The bucket at `now` without charging: `allowed` and `retryAfterMs` are for one unit. Pure. */
export function gcraPeek(state: GcraState | null, now: number, rule: RateRule): GcraOutcome {
  const tau = rule.periodMs * (rule.burst ?? rule.limit);
  const debt = gcraDebt(state, now, rule);
  const over = debt + rule.periodMs - tau;
  return {
    allowed: over <= 0,
    remaining: unitsLeft(tau, debt, rule.periodMs),
    resetMs: Math.ceil(debt / rule.limit),
    retryAfterMs: over <= 0 ? 0 : Math.ceil(over / rule.limit),
    state,
  };
}

function unitsLeft(tau: number, debt: number, periodMs: number): number {
  return Math.max(0, Math.floor((tau - debt) / periodMs));
}

/** The state as stored in Redis: `at:debt:limit`, integers (the Lua script writes the same). */
export function encodeGcraState(state: GcraState): string {
  return `${state.at}:${state.debt}:${state.limit}`;
}

/** Reads `encodeGcraState`'s text; anything else counts as no state (a full bucket). */
export function decodeGcraState(text: string | null | undefined): GcraState | null {
  const match = typeof text === 'string' ? /^(-?\d+):(\d+):(\d+)$/.exec(text) : null;
  if (match === null) return null;
  const limit = Number(match[3]);
  return limit > 0 ? { at: Number(match[1]), debt: Number(match[2]), limit } : null;
}
