/**
 * Resilience per upstream source (熔断、重试、隔离): for every source that calls a remote system,
 * one circuit breaker, one retry policy for idempotent reads and one bulkhead, built on cockatiel.
 * A `SourceResilience` registry holds them for one hub instance; the gateway puts it into each
 * request's Mesh context under SOURCE_RESILIENCE and mesh/source-calls.ts runs every upstream call
 * through it. Sources without an entry (the file-drop rosters, read from local files) run as before.
 *
 * For one logical call (a field's fetch):
 *
 *   circuit check ─ open: UPSTREAM_CIRCUIT_OPEN at once, nothing reaches the upstream
 *   └ breaker (counts one outcome per logical call: UPSTREAM_UNAVAILABLE and UPSTREAM_INVALID fail it)
 *     └ deadline: the source's timeout is the budget of all attempts and back-off delays together
 *       └ retry (reads only; transport failures and 5xx; never 401/403/4xx, RATE_LIMITED or a timeout)
 *         └ attempt: the caller's note for the audit, the source guard, then
 *           └ bulkhead (max concurrent + small queue; beyond that UPSTREAM_BUSY at once)
 *
 * Half-open: after the cool-down the next call goes through as the probe; calls arriving while the
 * probe runs are refused at once. A probe that succeeds closes the circuit; one that fails opens it
 * again for another cool-down.
 */
import {
  BrokenCircuitError,
  BulkheadPolicy,
  BulkheadRejectedError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  CountBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  TaskCancelledError,
  type IBreaker,
  type RetryPolicy,
} from 'cockatiel';
import type { GraphQLError } from 'graphql';
import { graphQLError, TongxiangError } from '../core/index.ts';

/** The key under which the gateway puts a hub's SourceResilience into the Mesh context. */
export const SOURCE_RESILIENCE = 'tongxiangSourceResilience';

export type CircuitStateName = 'closed' | 'half-open' | 'open';

export interface CircuitStatus {
  readonly source: string;
  readonly state: CircuitStateName;
}

export interface ResiliencePolicySettings {
  /** Further attempts after a failed read (0: no retry). Writes are never retried. */
  readonly retries: number;
  /** First back-off delay, ms; later ones grow exponentially with decorrelated jitter up to retryMaxDelayMs. */
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Consecutive failed calls that open the circuit. */
  readonly breakerConsecutiveFailures: number;
  /** Opens when more than this share (0 < r < 1) of the last breakerWindow calls failed; null: off. */
  readonly breakerFailureRatio: number | null;
  readonly breakerWindow: number;
  /** Calls in the window before the ratio counts. */
  readonly breakerMinimumCalls: number;
  /** How long an open circuit refuses calls before a probe may go through. */
  readonly breakerCooldownMs: number;
  /** Calls in flight to the source at most. */
  readonly maxConcurrent: number;
  /** Calls waiting for a free slot at most; beyond, UPSTREAM_BUSY at once. */
  readonly maxQueued: number;
}

export interface ResilientSource extends ResiliencePolicySettings {
  /** 中文名 of the source, as errors show it (sourceLabel). */
  readonly label: string;
  /** The source's timeout: the budget of one logical call, retries and back-off included. */
  readonly timeoutMs: number;
}

export interface ResilienceOptions {
  readonly sources: Readonly<Record<string, ResilientSource>>;
  /** Current time in ms (tests); default Date.now — cockatiel's breaker uses Date.now itself. */
  readonly now?: () => number;
}

export interface CallOptions {
  /** Reads (GraphQL Query fields, SOAP query operations, REST GETs) may be retried. */
  readonly idempotent: boolean;
}

export interface SourcePolicy {
  readonly source: string;
  readonly label: string;
  /**
   * One logical call: `attempt(signal)` runs once per attempt; `signal` aborts at the call's
   * deadline. Refused with UPSTREAM_CIRCUIT_OPEN before any attempt when the circuit is open.
   */
  execute<T>(attempt: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T>;
  /** One attempt through the bulkhead; UPSTREAM_BUSY at once when slots and queue are full. */
  limit<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T>;
  state(): CircuitStateName;
}

export interface SourceResilience {
  /** The policy of `source`, or null for a source without one (file drops, unknown names). */
  policy(source: string): SourcePolicy | null;
  /** Circuit state of every source with a breaker, for /readyz and the metrics gauge. */
  circuits(): ReadonlyArray<CircuitStatus>;
}

export const DEFAULT_RESILIENCE: ResiliencePolicySettings = Object.freeze({
  retries: 2,
  retryBaseDelayMs: 50,
  retryMaxDelayMs: 500,
  breakerConsecutiveFailures: 5,
  breakerFailureRatio: 0.8,
  breakerWindow: 20,
  breakerMinimumCalls: 10,
  breakerCooldownMs: 10_000,
  maxConcurrent: 32,
  maxQueued: 16,
});

function codeOf(error: unknown): string | undefined {
  if (error instanceof TongxiangError) return error.code;
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

function reasonOf(error: unknown): string {
  if (error instanceof TongxiangError) return String(error.fields.reason ?? '');
  return String((error as { extensions?: { reason?: unknown } } | null)?.extensions?.reason ?? '');
}

const CLIENT_STATUS = /^HTTP 4\d\d$/;

/**
 * Worth another attempt: the source could not be reached or failed (refused, reset, 5xx). Never a
 * refusal (401/403, any 4xx, the hub's RATE_LIMITED), a malformed answer, a full bulkhead, or a
 * timeout — a timeout has spent the call's whole budget.
 */
export function isRetryable(error: unknown): boolean {
  if (codeOf(error) !== 'UPSTREAM_UNAVAILABLE') return false;
  const reason = reasonOf(error);
  return reason !== 'timeout' && !CLIENT_STATUS.test(reason);
}

/**
 * Counts against the circuit: the source is down, failing or answering garbage. A refusal of the
 * hub's credentials, a 4xx for one request, the hub's own limits and a full bulkhead do not: the
 * source answered, or was never asked.
 */
export function isBreakerFailure(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 'UPSTREAM_UNAVAILABLE') return true;
  if (code === 'UPSTREAM_INVALID') return !CLIENT_STATUS.test(reasonOf(error));
  return false;
}

/** Refused on the hub's side before the source was asked: its own limits, or a full bulkhead. */
export function neverReachedSource(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'RATE_LIMITED' || code === 'RATE_LIMIT_UNAVAILABLE' || code === 'UPSTREAM_BUSY';
}

/** Opens on whichever trips first: N consecutive failures, or a failure ratio over the last calls. */
class EitherBreaker implements IBreaker {
  constructor(private readonly breakers: readonly IBreaker[]) {}
  get state(): unknown {
    return this.breakers.map((b) => b.state);
  }
  set state(value: unknown) {
    (value as unknown[]).forEach((s, i) => (this.breakers[i]!.state = s));
  }
  success(state: CircuitState): void {
    for (const b of this.breakers) b.success(state);
  }
  failure(state: CircuitState): boolean {
    let open = false;
    for (const b of this.breakers) open = b.failure(state) || open;
    return open;
  }
}

function validate(name: string, s: ResilientSource): void {
  const problems: string[] = [];
  const int = (key: keyof ResilientSource, min: number) => {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.push(`${key} must be an integer ≥ ${min}`);
  };
  int('retries', 0);
  int('retryBaseDelayMs', 0);
  int('retryMaxDelayMs', 0);
  int('breakerConsecutiveFailures', 1);
  int('breakerWindow', 1);
  int('breakerMinimumCalls', 1);
  int('breakerCooldownMs', 1);
  int('maxConcurrent', 1);
  int('maxQueued', 0);
  int('timeoutMs', 1);
  if (s.breakerFailureRatio !== null && !(s.breakerFailureRatio > 0 && s.breakerFailureRatio < 1)) problems.push('breakerFailureRatio must be between 0 and 1 (exclusive) or null');
  if (s.retryMaxDelayMs < s.retryBaseDelayMs) problems.push('retryMaxDelayMs must be ≥ retryBaseDelayMs');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `resilience of ${name}: ${problems.join('; ')}` });
}

function circuitOpen(source: string, label: string, retryAfterMs: number): GraphQLError {
  return graphQLError('UPSTREAM_CIRCUIT_OPEN', { source, sourceLabel: label, retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

function createSourcePolicy(source: string, s: ResilientSource, now: () => number): SourcePolicy {
  validate(source, s);
  const breakers: IBreaker[] = [new ConsecutiveBreaker(s.breakerConsecutiveFailures)];
  if (s.breakerFailureRatio !== null) {
    breakers.push(new CountBreaker({ threshold: s.breakerFailureRatio, size: s.breakerWindow, minimumNumberOfCalls: Math.min(s.breakerMinimumCalls, s.breakerWindow) }));
  }
  // A probe (half-open) refused before it reached the source — the hub's own source ceiling, no
  // slot in the bulkhead — proves nothing about the source: it counts as failed, so the circuit
  // opens for another cool-down instead of closing on a source nobody asked.
  const breaker: CircuitBreakerPolicy = circuitBreaker(handleWhen((e) => isBreakerFailure(e) || (breaker.state === CircuitState.HalfOpen && neverReachedSource(e))), {
    halfOpenAfter: s.breakerCooldownMs,
    breaker: breakers.length === 1 ? breakers[0]! : new EitherBreaker(breakers),
  });
  let openedAt = 0;
  breaker.onBreak(() => (openedAt = now()));
  const bulkhead = new BulkheadPolicy(s.maxConcurrent, s.maxQueued);

  // A retry is worth it only when, after the longest back-off, some of the budget is left.
  const minimumAttemptMs = Math.min(100, s.timeoutMs / 4);
  const retryPolicy = (deadline: number): RetryPolicy =>
    retry(handleWhen((e) => isRetryable(e) && deadline - now() >= s.retryMaxDelayMs + minimumAttemptMs), {
      maxAttempts: s.retries,
      backoff: new ExponentialBackoff({ initialDelay: Math.max(1, s.retryBaseDelayMs), maxDelay: Math.max(1, s.retryMaxDelayMs) }),
    });

  const state = (): CircuitStateName => {
    switch (breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        // Open until the cool-down has passed; then the next call is let through as the probe.
        return now() - openedAt >= s.breakerCooldownMs ? 'half-open' : 'open';
    }
  };

  return Object.freeze({
    source,
    label: s.label,
    state,
    async execute<T>(attempt: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T> {
      // Refuse without waiting: open within the cool-down, or a probe already under way.
      // (No await before breaker.execute: the first call after the cool-down becomes the probe.)
      if (breaker.state === CircuitState.HalfOpen || (breaker.state === CircuitState.Open && now() - openedAt < s.breakerCooldownMs)) {
        throw circuitOpen(source, s.label, breaker.state === CircuitState.Open ? s.breakerCooldownMs - (now() - openedAt) : s.timeoutMs);
      }
      try {
        return await breaker.execute(() => {
          const deadline = now() + s.timeoutMs;
          const signal = AbortSignal.timeout(s.timeoutMs);
          if (!options.idempotent || s.retries === 0) return attempt(signal);
          return retryPolicy(deadline).execute(() => attempt(signal));
        });
      } catch (error) {
        if (error instanceof BrokenCircuitError) throw circuitOpen(source, s.label, s.breakerCooldownMs);
        throw error;
      }
    },
    async limit<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
      const timedOut = () => graphQLError('UPSTREAM_UNAVAILABLE', { source, sourceLabel: s.label, reason: 'timeout' });
      if (signal.aborted) throw timedOut();
      let onAbort: (() => void) | undefined;
      const queued = bulkhead.execute(() => call(), signal);
      // A call waiting in the queue gives up at the deadline instead of waiting for a slot.
      const deadline = new Promise<never>((_, reject) => {
        onAbort = () => reject(timedOut());
        signal.addEventListener('abort', onAbort, { once: true });
      });
      queued.catch(() => undefined);
      deadline.catch(() => undefined);
      try {
        return await Promise.race([queued, deadline]);
      } catch (error) {
        if (error instanceof BulkheadRejectedError) {
          throw graphQLError('UPSTREAM_BUSY', { source, sourceLabel: s.label, reason: `max ${s.maxConcurrent} calls, ${s.maxQueued} queued` });
        }
        if (error instanceof TaskCancelledError) throw timedOut();
        throw error;
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
  });
}

export function createSourceResilience(options: ResilienceOptions): SourceResilience {
  const now = options.now ?? Date.now;
  const policies = new Map<string, SourcePolicy>();
  for (const [name, settings] of Object.entries(options.sources)) policies.set(name, createSourcePolicy(name, settings, now));
  return Object.freeze({
    policy: (source: string) => policies.get(source) ?? null,
    circuits: () => [...policies.values()].map((p) => Object.freeze({ source: p.source, state: p.state() })),
  });
}

/** The registry the gateway put into a request's context, if any. */
export function resilienceOf(context: unknown): SourceResilience | null {
  const value = typeof context === 'object' && context !== null ? (context as Record<string, unknown>)[SOURCE_RESILIENCE] : undefined;
  return value && typeof (value as SourceResilience).policy === 'function' ? (value as SourceResilience) : null;
}
