/**
 * Rate limits and quotas (限流与配额): the vocabulary shared by the pure decisions, the two stores
 * (in-process and Redis) and the gateway.
 *
 * Two kinds of limit:
 * - a **rate** (GCRA, the token bucket's exact equivalent): at most `limit` units per `periodMs`,
 *   with bursts up to `burst` units (default `limit`: a full bucket). Requests per minute of a
 *   contract, a department's ceiling, calls per second to an upstream, unauthenticated callers
 *   per address.
 * - a **quota**: at most `limit` units in a calendar window (a day in China Standard Time, UTC+8),
 *   counted up, reset when the window ends. Records returned per day of a contract.
 *
 * Time is the caller's clock (epoch milliseconds), passed in: every replica uses its own
 * (NTP-synchronised) clock, and tests use a controllable one.
 */

export interface RateRule {
  /** What the limit is, for headers, errors and the audit: `contract-rpm`, `department`, `source`, `anonymous`. */
  readonly name: string;
  /** The bucket's identity, unique across rules: e.g. `contract:GX-2026-000001:rpm`. No personal data. */
  readonly key: string;
  /** Units admitted per period (> 0). */
  readonly limit: number;
  /** Period in milliseconds (> 0). */
  readonly periodMs: number;
  /** Most units admitted at once after a quiet period; default `limit`. */
  readonly burst?: number | undefined;
}

export interface RateDecision {
  readonly rule: RateRule;
  readonly allowed: boolean;
  /** Whole units that could still be admitted right now (after this hit when allowed). */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again (nothing charged any more). */
  readonly resetMs: number;
  /** Milliseconds until `cost` units would be admitted; 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface QuotaRule {
  readonly name: string;
  /** The counter's identity without the window: e.g. `contract:GX-2026-000001:records`. */
  readonly key: string;
  /** Units per window (≥ 0). */
  readonly limit: number;
}

/** One calendar window of a quota (see `quotaWindow`). */
export interface QuotaWindow {
  /** e.g. `2026-11-23` (China Standard Time). */
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface QuotaTake {
  readonly rule: QuotaRule;
  readonly window: QuotaWindow;
  /** Units granted now (≤ wanted; less when the quota ran out). */
  readonly granted: number;
  /** Units used in the window after this take. */
  readonly used: number;
  readonly remaining: number;
}

/**
 * Where buckets and counters live. Every method is atomic with respect to every other caller of
 * the same store, across processes for the Redis store: never get-then-set.
 *
 * A store that cannot answer (Redis down) rejects with RATE_LIMIT_UNAVAILABLE; it never guesses.
 */
export interface LimitStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Charges `cost` units (default 1) to every rule at once if every rule admits them; otherwise
   * charges none. One decision per rule, in order.
   */
  hit(rules: readonly RateRule[], now: number, cost?: number): Promise<RateDecision[]>;
  /** The rules' state without charging (for `myUsage` and headers). */
  peek(rules: readonly RateRule[], now: number): Promise<RateDecision[]>;
  /** Takes up to `wanted` units of the quota's current window (what is left, at most `wanted`). */
  take(rule: QuotaRule, wanted: number, now: number): Promise<QuotaTake>;
  /** The quota's current window without taking anything. */
  usage(rule: QuotaRule, now: number): Promise<QuotaTake>;
  /**
   * Hands back `units` taken from `window` (a take's own window, so a refund after midnight goes
   * to the day the units were taken from) and not used; the counter never goes below zero.
   * Resolves to the units handed back.
   */
  refund(rule: QuotaRule, window: QuotaWindow, units: number): Promise<number>;
  /** Whether the store answered its last call (for status; the Redis store reconnects by itself). */
  healthy(): boolean;
  close(): Promise<void>;
}
