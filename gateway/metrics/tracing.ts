/**
 * OpenTelemetry traces, only when an OTLP/HTTP endpoint is configured: nothing of the SDK is
 * loaded otherwise. One tracer provider per hub (never the global one), a batch span processor
 * and the OTLP exporter (JSON over HTTP). Each GraphQL request becomes a server span (operation
 * type and name, HTTP status, outcome, calling department) with a client span per upstream call
 * (source, status, latency), made when the response has gone, from the request's facts — so the
 * trace carries exactly what the audit record does, never variables, tokens or data subjects.
 */
import type { Attributes, Tracer } from '@opentelemetry/api';
import type { SourceCall } from '../../mesh/index.ts';
import type { OtelSettings } from './settings.ts';

export interface RequestSpan {
  /** When the request arrived, ms since the epoch. */
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly method: string;
  readonly status: number;
  readonly outcome: string;
  readonly operationType: string;
  readonly operationName: string | null;
  readonly department: string | null;
  readonly calls: readonly SourceCall[];
}

export interface Tracing {
  /** Starts noting when each call pushed onto `calls` ended (for the upstream spans' times). */
  watch(calls: SourceCall[]): void;
  record(request: RequestSpan): void;
  /** Exports what is buffered and stops; within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/** ms since the epoch → OpenTelemetry's [seconds, nanoseconds]. */
function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

/** An operation name is the client's choice: one that carries a long number (an ID number?) is not exported. */
function safeOperationName(name: string | null): string | null {
  if (name === null) return null;
  return /[0-9]{6,}/.test(name) ? '[redacted]' : name.slice(0, 128);
}

export async function startTracing(settings: OtelSettings, options: { instance?: string | null } = {}): Promise<Tracing | null> {
  if (!settings.endpoint) return null;
  const [api, { BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = new OTLPTraceExporter({ url: settings.endpoint, timeoutMillis: 10_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      ...(options.instance ? { 'service.instance.id': options.instance } : {}),
    }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 2000, exportTimeoutMillis: 10_000, maxQueueSize: 4096 })],
  });
  const tracer: Tracer = provider.getTracer('tongxiang');
  const ended = new WeakMap<SourceCall, number>();
  let closing: Promise<void> | null = null;

  return {
    watch(calls) {
      // The transports push each call when it has ended (mesh/source-calls.ts): note the time.
      Object.defineProperty(calls, 'push', {
        value: (...items: SourceCall[]) => {
          const at = Date.now();
          for (const item of items) ended.set(item, at);
          return Array.prototype.push.apply(calls, items);
        },
        enumerable: false,
        configurable: true,
        writable: true,
      });
    },
    record(r) {
      if (closing) return;
      const operationName = safeOperationName(r.operationName);
      const attributes: Attributes = {
        'graphql.operation.type': r.operationType,
        'http.request.method': r.method,
        'http.route': '/graphql',
        'http.response.status_code': r.status,
        'tongxiang.outcome': r.outcome,
        'tongxiang.upstream_calls': r.calls.length,
      };
      if (operationName) attributes['graphql.operation.name'] = operationName;
      if (r.department) attributes['tongxiang.department'] = r.department;
      const endMs = r.startedAtMs + r.durationMs;
      const span = tracer.startSpan(operationName ? `${r.operationType} ${operationName}` : `graphql ${r.operationType}`, { kind: api.SpanKind.SERVER, startTime: hrTime(r.startedAtMs), attributes });
      if (r.status >= 500 || r.outcome === 'error') span.setStatus({ code: api.SpanStatusCode.ERROR, message: r.outcome });
      const parent = api.trace.setSpan(api.ROOT_CONTEXT, span);
      for (const call of r.calls) {
        const callEnd = Math.min(ended.get(call) ?? endMs, endMs);
        const child = tracer.startSpan(
          `upstream ${call.source}`,
          {
            kind: api.SpanKind.CLIENT,
            startTime: hrTime(Math.max(r.startedAtMs, callEnd - call.latencyMs)),
            attributes: { 'tongxiang.source': call.source, 'tongxiang.status': call.status, 'tongxiang.latency_ms': call.latencyMs },
          },
          parent,
        );
        if (call.status !== 'ok') child.setStatus({ code: api.SpanStatusCode.ERROR, message: call.status });
        child.end(hrTime(callEnd));
      }
      span.end(hrTime(endMs));
    },
    close(timeoutMs = 5000) {
      closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([provider.shutdown().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
