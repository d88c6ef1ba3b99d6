/**
 * Which upstreams a request called, with outcome and latency, for its audit record. The gateway
 * puts an array under SOURCE_CALLS into the request's Mesh context; each transport (the REST
 * guard, the SOAP and file-drop handlers) notes its calls there. No array, nothing noted.
 */
import { resilienceOf } from './resilience.ts';

export const SOURCE_CALLS = 'tongxiangSourceCalls';
/**
 * The gateway may also put a guard under SOURCE_GUARD: called with the source's name before each
 * call, it throws (a RATE_LIMITED GraphQL error) to keep the call from reaching the upstream —
 * the protective ceiling per source (gateway/limits).
 */
export const SOURCE_GUARD = 'tongxiangSourceGuard';

export type SourceGuard = (source: string) => Promise<void> | void;

function guardOf(context: unknown): SourceGuard | null {
  const guard = typeof context === 'object' && context !== null ? (context as Record<string, unknown>)[SOURCE_GUARD] : undefined;
  return typeof guard === 'function' ? (guard as SourceGuard) : null;
}

export interface SourceCall {
  readonly source: string;
  /** `ok`, or the UPSTREAM_* code (or another catalogue code) the call ended with. */
  readonly status: string;
  readonly latencyMs: number;
}

function callsOf(context: unknown): SourceCall[] | null {
  const calls = typeof context === 'object' && context !== null ? (context as Record<string, unknown>)[SOURCE_CALLS] : undefined;
  return Array.isArray(calls) ? (calls as SourceCall[]) : null;
}

export function noteSourceCall(context: unknown, source: string, startedAt: number, error?: unknown): void {
  const calls = callsOf(context);
  if (!calls) return;
  const code = error === undefined ? 'ok' : String((error as { extensions?: { code?: unknown }; code?: unknown })?.extensions?.code ?? (error as { code?: unknown })?.code ?? 'error');
  calls.push(Object.freeze({ source, status: code, latencyMs: Math.round((performance.now() - startedAt) * 1000) / 1000 }));
}

async function noted<T>(context: unknown, source: string, guard: SourceGuard | null, call: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  try {
    if (guard) await guard(source);
    const result = await call();
    noteSourceCall(context, source, startedAt);
    return result;
  } catch (error) {
    noteSourceCall(context, source, startedAt, error);
    throw error;
  }
}

export interface SourceCallOptions {
  /** A read (Query field, SOAP query operation, REST GET): may be retried. Default false. */
  readonly idempotent?: boolean;
}

/**
 * The one place every upstream call passes (the REST guard, the SOAP and file-drop handlers).
 * Runs `call` if the request's guard lets it, noting each attempt (and how it ended) in the
 * request's context. When the context holds the hub's SourceResilience (SOURCE_RESILIENCE) and it
 * has a policy for `source`, the call goes through that source's circuit breaker, retries (reads
 * only) and bulkhead; `call` then receives the signal that aborts at the call's deadline. A call
 * refused by an open circuit reaches neither the guard nor the upstream and is noted once.
 */
export async function timedSourceCall<T>(
  context: unknown,
  source: string,
  call: (signal?: AbortSignal) => Promise<T>,
  options: SourceCallOptions = {},
): Promise<T> {
  const guard = guardOf(context);
  const policy = resilienceOf(context)?.policy(source) ?? null;
  if (!policy) {
    if (!callsOf(context) && !guard) return call();
    return noted(context, source, guard, () => call());
  }
  const startedAt = performance.now();
  try {
    return await policy.execute(
      (signal) => noted(context, source, guard, () => policy.limit(() => call(signal), signal)),
      { idempotent: options.idempotent === true },
    );
  } catch (error) {
    if ((error as { extensions?: { code?: unknown } })?.extensions?.code === 'UPSTREAM_CIRCUIT_OPEN') noteSourceCall(context, source, startedAt, error);
    throw error;
  }
}
