/**
 * The resilience policies on their own (mesh/resilience.ts), with attempts simulated in process:
 * which failures are retried, when the circuit opens and closes, how the bulkhead refuses.
 */
import { describe, expect, it } from 'vitest';
import { graphQLError, isTongxiangError, type ErrorCode } from '../../core/index.ts';
import { createSourceResilience, DEFAULT_RESILIENCE, isBreakerFailure, isRetryable, type ResilientSource } from '../resilience.ts';

const fail = (code: ErrorCode, reason: string) => graphQLError(code, { source: 'S', sourceLabel: 'S 系统', reason });
const unavailable = () => fail('UPSTREAM_UNAVAILABLE', 'connection reset');
const codeOf = (e: unknown) => (e as { extensions?: { code?: string } }).extensions?.code;

function source(overrides: Partial<ResilientSource> = {}): ResilientSource {
  return { ...DEFAULT_RESILIENCE, retryBaseDelayMs: 1, retryMaxDelayMs: 5, label: 'S 系统', timeoutMs: 1000, ...overrides };
}

function policyOf(overrides: Partial<ResilientSource> = {}) {
  const registry = createSourceResilience({ sources: { S: source(overrides) } });
  return { registry, policy: registry.policy('S')! };
}

/** An attempt that fails with the given errors in turn, then answers 'ok'; counts its calls. */
function scripted(...errors: unknown[]) {
  const calls = { n: 0 };
  const attempt = async () => {
    const error = errors[calls.n++];
    if (error) throw error;
    return 'ok';
  };
  return { calls, attempt };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('classification', () => {
  it('retries transport failures and 5xx only', () => {
    expect(isRetryable(unavailable())).toBe(true);
    expect(isRetryable(fail('UPSTREAM_UNAVAILABLE', 'HTTP 503'))).toBe(true);
    expect(isRetryable(fail('UPSTREAM_UNAVAILABLE', 'HTTP 429'))).toBe(false);
    expect(isRetryable(fail('UPSTREAM_UNAVAILABLE', 'timeout'))).toBe(false);
    expect(isRetryable(fail('UPSTREAM_AUTH_FAILED', 'HTTP 401'))).toBe(false);
    expect(isRetryable(fail('UPSTREAM_INVALID', 'malformed JSON'))).toBe(false);
    expect(isRetryable(graphQLError('RATE_LIMITED', { limit: 'source' }))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });

  it('counts unavailable and malformed answers against the circuit, never refusals', () => {
    expect(isBreakerFailure(unavailable())).toBe(true);
    expect(isBreakerFailure(fail('UPSTREAM_UNAVAILABLE', 'timeout'))).toBe(true);
    expect(isBreakerFailure(fail('UPSTREAM_INVALID', 'malformed JSON'))).toBe(true);
    expect(isBreakerFailure(fail('UPSTREAM_INVALID', 'HTTP 404'))).toBe(false);
    expect(isBreakerFailure(fail('UPSTREAM_AUTH_FAILED', 'HTTP 401'))).toBe(false);
    expect(isBreakerFailure(graphQLError('RATE_LIMITED', { limit: 'source' }))).toBe(false);
    expect(isBreakerFailure(graphQLError('UPSTREAM_BUSY', { source: 'S', reason: 'full' }))).toBe(false);
  });
});

describe('retries', () => {
  it('retries a transient failure of a read and returns its answer', async () => {
    const { policy } = policyOf();
    const { calls, attempt } = scripted(unavailable());
    await expect(policy.execute(attempt, { idempotent: true })).resolves.toBe('ok');
    expect(calls.n).toBe(2);
  });

  it('stops after the configured number of retries with the last failure', async () => {
    const { policy } = policyOf({ retries: 2 });
    const { calls, attempt } = scripted(unavailable(), unavailable(), unavailable(), unavailable());
    expect(codeOf(await rejection(policy.execute(attempt, { idempotent: true })))).toBe('UPSTREAM_UNAVAILABLE');
    expect(calls.n).toBe(3);
  });

  it.each([
    ['a refused credential', fail('UPSTREAM_AUTH_FAILED', 'HTTP 401')],
    ['a 4xx', fail('UPSTREAM_INVALID', 'HTTP 404')],
    ['the hub\'s own rate limit', graphQLError('RATE_LIMITED', { limit: 'source' })],
    ['a timeout', fail('UPSTREAM_UNAVAILABLE', 'timeout')],
    ['a malformed answer', fail('UPSTREAM_INVALID', 'malformed JSON')],
  ])('never retries %s', async (_name, error) => {
    const { policy } = policyOf();
    const { calls, attempt } = scripted(error);
    expect(await rejection(policy.execute(attempt, { idempotent: true }))).toBe(error);
    expect(calls.n).toBe(1);
  });

  it('never retries a write', async () => {
    const { policy } = policyOf();
    const { calls, attempt } = scripted(unavailable());
    await rejection(policy.execute(attempt, { idempotent: false }));
    expect(calls.n).toBe(1);
  });

  it('does not retry when the back-off would not leave time within the budget', async () => {
    const { policy } = policyOf({ timeoutMs: 200, retryBaseDelayMs: 180, retryMaxDelayMs: 180 });
    const { calls, attempt } = scripted(unavailable(), unavailable());
    await rejection(policy.execute(attempt, { idempotent: true }));
    expect(calls.n).toBe(1);
  });

  it('hands every attempt a signal that aborts at the call\'s deadline', async () => {
    const { policy } = policyOf({ timeoutMs: 30 });
    let seen: AbortSignal | undefined;
    await rejection(
      policy.execute(
        (signal) =>
          new Promise((_, reject) => {
            seen = signal;
            signal.addEventListener('abort', () => reject(fail('UPSTREAM_UNAVAILABLE', 'timeout')));
          }),
        { idempotent: true },
      ),
    );
    expect(seen?.aborted).toBe(true);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failed calls and then refuses without calling the upstream', async () => {
    const { policy, registry } = policyOf({ retries: 0, breakerConsecutiveFailures: 3, breakerFailureRatio: null });
    const { calls, attempt } = scripted(unavailable(), unavailable(), unavailable(), unavailable());
    for (let i = 0; i < 3; i++) await rejection(policy.execute(attempt, { idempotent: true }));
    expect(registry.circuits()).toEqual([{ source: 'S', state: 'open' }]);
    const refused = await rejection(policy.execute(attempt, { idempotent: true }));
    expect(calls.n).toBe(3);
    expect(codeOf(refused)).toBe('UPSTREAM_CIRCUIT_OPEN');
    expect((refused as { extensions: Record<string, unknown> }).extensions).toMatchObject({ source: 'S', sourceLabel: 'S 系统', retryAfterS: expect.any(Number) });
  });

  it('counts one outcome per call, not per retry', async () => {
    const { policy } = policyOf({ retries: 2, breakerConsecutiveFailures: 2, breakerFailureRatio: null });
    const { attempt } = scripted(unavailable(), unavailable(), unavailable());
    await rejection(policy.execute(attempt, { idempotent: true }));
    expect(policy.state()).toBe('closed');
  });

  it('a success in between resets the consecutive count', async () => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 2, breakerFailureRatio: null });
    await rejection(policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    await policy.execute(scripted().attempt, { idempotent: true });
    await rejection(policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    expect(policy.state()).toBe('closed');
  });

  it('opens on the failure ratio over the last calls even without a long run of failures', async () => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 3, breakerFailureRatio: 0.5, breakerWindow: 10, breakerMinimumCalls: 6 });
    // failed, failed, ok, failed, failed, ok, failed: 5 of 7 — no three in a row
    for (let i = 0; i < 7; i++) {
      const attempt = i % 3 === 2 ? scripted().attempt : scripted(unavailable()).attempt;
      await policy.execute(attempt, { idempotent: true }).catch(() => undefined);
    }
    expect(policy.state()).toBe('open');
  });

  it('ignores refusals: the hub\'s rate limit and a refused credential leave it closed', async () => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null });
    await rejection(policy.execute(scripted(graphQLError('RATE_LIMITED', { limit: 'source' })).attempt, { idempotent: true }));
    await rejection(policy.execute(scripted(fail('UPSTREAM_AUTH_FAILED', 'HTTP 401')).attempt, { idempotent: true }));
    expect(policy.state()).toBe('closed');
  });

  it('after the cool-down lets one probe through; success closes the circuit', async () => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null, breakerCooldownMs: 40 });
    await rejection(policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    expect(policy.state()).toBe('open');
    await sleep(50);
    expect(policy.state()).toBe('half-open');
    let release!: () => void;
    const probe = policy.execute(() => new Promise<string>((resolve) => (release = () => resolve('probe'))), { idempotent: true });
    // While the probe runs, others are refused at once rather than queued behind it.
    const other = scripted();
    expect(codeOf(await rejection(policy.execute(other.attempt, { idempotent: true })))).toBe('UPSTREAM_CIRCUIT_OPEN');
    expect(other.calls.n).toBe(0);
    release();
    await expect(probe).resolves.toBe('probe');
    expect(policy.state()).toBe('closed');
    await expect(policy.execute(other.attempt, { idempotent: true })).resolves.toBe('ok');
  });

  it('a failed probe opens the circuit for another cool-down', async () => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null, breakerCooldownMs: 40 });
    await rejection(policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    await sleep(50);
    await rejection(policy.execute(scripted(fail('UPSTREAM_INVALID', 'malformed JSON')).attempt, { idempotent: true }));
    expect(policy.state()).toBe('open');
  });

  it.each([
    ['the hub\'s own source ceiling', () => graphQLError('RATE_LIMITED', { limit: 'source' })],
    ['a full bulkhead', () => graphQLError('UPSTREAM_BUSY', { source: 'x', reason: 'max 1 calls' })],
  ])('a probe refused before it reached the source (%s) proves nothing: the circuit opens again, it does not close', async (_, refusal) => {
    const { policy } = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null, breakerCooldownMs: 40 });
    await rejection(policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    await sleep(50);
    expect(policy.state()).toBe('half-open');
    expect(codeOf(await rejection(policy.execute(scripted(refusal()).attempt, { idempotent: true })))).toBe(codeOf(refusal()));
    expect(policy.state()).toBe('open');
    // The next probe, after another cool-down, is the one that decides.
    await sleep(50);
    await expect(policy.execute(scripted().attempt, { idempotent: true })).resolves.toBe('ok');
    expect(policy.state()).toBe('closed');
  });
});

describe('bulkhead', () => {
  it('runs at most maxConcurrent calls, queues maxQueued, refuses the rest at once with UPSTREAM_BUSY', async () => {
    const { policy } = policyOf({ maxConcurrent: 2, maxQueued: 1 });
    let inFlight = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const call = () =>
      new Promise<string>((resolve) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        releases.push(() => {
          inFlight--;
          resolve('ok');
        });
      });
    const signal = new AbortController().signal;
    const running = [policy.limit(call, signal), policy.limit(call, signal), policy.limit(call, signal)];
    const refused = await rejection(policy.limit(call, signal));
    expect(codeOf(refused)).toBe('UPSTREAM_BUSY');
    expect((refused as { extensions: Record<string, unknown> }).extensions).toMatchObject({ source: 'S', sourceLabel: 'S 系统' });
    while (releases.length > 0 || inFlight > 0) {
      releases.shift()?.();
      await sleep(1);
    }
    await expect(Promise.all(running)).resolves.toEqual(['ok', 'ok', 'ok']);
    expect(peak).toBe(2);
  });

  it('a queued call gives up at its deadline', async () => {
    const { policy } = policyOf({ maxConcurrent: 1, maxQueued: 1 });
    let release!: () => void;
    const first = policy.limit(() => new Promise<void>((resolve) => (release = resolve)), new AbortController().signal);
    const waiting = policy.limit(async () => 'never', AbortSignal.timeout(20));
    const error = await rejection(waiting);
    expect((error as { extensions: Record<string, unknown> }).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'timeout' });
    release();
    await first;
  });
});

describe('registry', () => {
  it('keeps state per registry: two hubs never share a circuit', async () => {
    const a = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null });
    const b = policyOf({ retries: 0, breakerConsecutiveFailures: 1, breakerFailureRatio: null });
    await rejection(a.policy.execute(scripted(unavailable()).attempt, { idempotent: true }));
    expect(a.registry.circuits()[0]!.state).toBe('open');
    expect(b.registry.circuits()[0]!.state).toBe('closed');
  });

  it('has no policy for sources it was not given', () => {
    expect(policyOf().registry.policy('CivilAffairsRosters')).toBeNull();
  });

  it('refuses invalid settings with CONFIG_INVALID', () => {
    let error: unknown;
    try {
      createSourceResilience({ sources: { S: source({ maxConcurrent: 0 }) } });
    } catch (e) {
      error = e;
    }
    expect(isTongxiangError(error) && error.code).toBe('CONFIG_INVALID');
  });
});
