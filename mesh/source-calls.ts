/**
 * Which upstreams a request called, with outcome and latency, for its audit record. The gateway
 * puts an array under SOURCE_CALLS into the request's Mesh context; each transport (the REST
 * guard, the SOAP and file-drop handlers) notes its calls there. No array, nothing noted.
 */
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

/** Lets the request's guard refuse a call to `source` before it is made (no guard: nothing). */
export async function guardSourceCall(context: unknown, source: string): Promise<void> {
  const guard = guardOf(context);
  if (guard) await guard(source);
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

/** Runs `call` if the request's guard lets it, noting it (and how it ended) in the request's context. */
export async function timedSourceCall<T>(context: unknown, source: string, call: () => Promise<T>): Promise<T> {
  const guard = guardOf(context);
  if (!callsOf(context) && !guard) return call();
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
