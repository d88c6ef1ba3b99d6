/**
 * A Mesh plugin guarding every HTTP call a source makes through Mesh's fetch (the OpenAPI/REST
 * sources): a hard timeout per source, and upstream failures turned into catalogue errors at the
 * field's path — UPSTREAM_UNAVAILABLE (refused, reset, timeout, 5xx), UPSTREAM_AUTH_FAILED
 * (401/403: the hub's credential was refused), UPSTREAM_INVALID (a 2xx that is not JSON).
 * Sources with their own transport (the SOAP handler) apply the same rules themselves. Each call
 * passes mesh/source-calls.ts `timedSourceCall`: audit note, source guard, and the source's
 * circuit breaker, retries (GETs only) and bulkhead (mesh/resilience.ts).
 */
import type { MeshFetch, MeshPlugin } from '@graphql-mesh/types';
import type { GraphQLError } from 'graphql';
import { graphQLError, type ErrorCode } from '../core/index.ts';
import { timedSourceCall } from './source-calls.ts';

export interface GuardedSource {
  readonly label: string;
  readonly timeoutMs: number;
  /** Base URL of the source; a call is attributed to the source whose endpoint prefixes its URL. */
  readonly endpoint?: string;
}

export interface UpstreamGuardOptions {
  readonly sources: Readonly<Record<string, GuardedSource>>;
  readonly defaultTimeoutMs: number;
}

export function upstreamError(code: ErrorCode, source: string, label: string, reason: string, cause?: unknown): GraphQLError {
  return graphQLError(code, { source, sourceLabel: label, reason }, cause);
}

/** Names a network failure without echoing URLs or headers. */
export function describeNetworkFailure(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { name, code } = current as { name?: string; code?: string };
    if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection reset';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT' || code === 'ECONNABORTED') return 'timeout';
    current = (current as { cause?: unknown }).cause;
  }
  return 'network error';
}

/**
 * Every answer that is not a 2xx JSON body is the upstream's failure, classified here where the
 * source is known: 401/403 the hub's credential was refused; 408/429/5xx the source is busy or
 * down; any other 4xx means the source rejected a request the hub built from its own contract.
 */
export function classifyResponse(status: number, contentType: string): { code: ErrorCode; reason: string } | null {
  if (status === 401 || status === 403) return { code: 'UPSTREAM_AUTH_FAILED', reason: `HTTP ${status}` };
  if (status === 408 || status === 429 || status >= 500) return { code: 'UPSTREAM_UNAVAILABLE', reason: `HTTP ${status}` };
  if (status < 200 || status >= 300) return { code: 'UPSTREAM_INVALID', reason: `HTTP ${status}` };
  if (status !== 204 && !/json/i.test(contentType)) {
    return { code: 'UPSTREAM_INVALID', reason: `unexpected content type ${contentType.split(';')[0] || 'none'}` };
  }
  return null;
}

export function useUpstreamGuard(options: UpstreamGuardOptions): MeshPlugin<unknown> {
  const { sources, defaultTimeoutMs } = options;
  const byEndpoint = Object.entries(sources)
    .filter(([, s]) => s.endpoint)
    .map(([name, s]) => ({ name, prefix: s.endpoint!.replace(/\/+$/, '') }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const sourceOf = (url: string, info: unknown): string =>
    byEndpoint.find((e) => url === e.prefix || url.startsWith(`${e.prefix}/`) || url.startsWith(`${e.prefix}?`))?.name ??
    (info as { sourceName?: string } | undefined)?.sourceName ??
    'unknown';
  return {
    onFetch({ url, info, fetchFn, setFetchFn }) {
      const sourceName = sourceOf(url, info);
      const source = sources[sourceName];
      const label = source?.label ?? sourceName;
      const timeoutMs = source?.timeoutMs ?? defaultTimeoutMs;
      const inner: MeshFetch = fetchFn;
      // Only reads are retried (mesh/resilience.ts): a GET, or a HEAD.
      const guarded: MeshFetch = (url, init, context, fetchInfo) =>
        timedSourceCall(context, sourceName, async (deadline) => guardedCall(url, init, context, fetchInfo, deadline), {
          idempotent: ['GET', 'HEAD'].includes((init?.method ?? 'GET').toUpperCase()),
        });
      const guardedCall = async (url: string, init: Parameters<MeshFetch>[1], context: unknown, fetchInfo: Parameters<MeshFetch>[3], deadline?: AbortSignal): Promise<Response> => {
        const signals = [init?.signal, deadline, AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s != null);
        const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
        let response: Response;
        try {
          response = await inner(url, { ...init, signal }, context, fetchInfo);
        } catch (error) {
          throw upstreamError('UPSTREAM_UNAVAILABLE', sourceName, label, describeNetworkFailure(error), error);
        }
        const problem = classifyResponse(response.status, response.headers.get('content-type') ?? '');
        if (problem) {
          await response.body?.cancel().catch(() => undefined);
          throw upstreamError(problem.code, sourceName, label, problem.reason);
        }
        // Read the body under the same deadline, so a stalled body cannot hang the request.
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          throw upstreamError('UPSTREAM_UNAVAILABLE', sourceName, label, describeNetworkFailure(error), error);
        }
        if (response.status >= 200 && response.status < 300 && text !== '') {
          try {
            JSON.parse(text);
          } catch (error) {
            throw upstreamError('UPSTREAM_INVALID', sourceName, label, 'malformed JSON', error);
          }
        }
        return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
      };
      setFetchFn(guarded);
    },
  };
}
