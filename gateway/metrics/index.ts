/**
 * Observability of a running hub: Prometheus metrics at /metrics (a registry per hub), and
 * OpenTelemetry traces when an OTLP endpoint is configured. `startObservability` gives the Apollo
 * plugins to add (after the public-error plugin), `install(app)` adds the Fastify hooks and the
 * route, `close()` flushes the traces. See docs/operations.md.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestAudit } from '../audit/http.ts';
import type { HubAudit } from '../audit/hub-audit.ts';
import type { Logger } from '../log.ts';
import { createHubMetrics, type CircuitsProvider, type FreshnessSource, type HubMetrics } from './hub-metrics.ts';
import { registerMetricsRoute } from './route.ts';
import type { MetricsSettings, OtelSettings } from './settings.ts';
import { startTracing, type Tracing } from './tracing.ts';

export { createHubMetrics, type CircuitState, type CircuitsProvider, type FreshnessSource, type HubMetrics, type HubMetricsOptions } from './hub-metrics.ts';
export { bearerMatches, METRICS_PATH, registerMetricsRoute } from './route.ts';
export { readMetricsSettings, readOtelSettings, type MetricsSettings, type OtelSettings } from './settings.ts';
export { startTracing, type RequestSpan, type Tracing } from './tracing.ts';

export interface ObservabilityOptions {
  readonly audit: HubAudit | null;
  /** The file-drop pipeline, when there is one. */
  readonly datasets: () => FreshnessSource | null;
  /** The circuit breakers' states (per-upstream resilience), when the hub has them. */
  readonly circuits?: CircuitsProvider;
  readonly logger: Logger;
  readonly graphqlPath?: string;
}

export interface Observability {
  readonly metrics: HubMetrics;
  /** Add to Apollo's plugins after the public-error plugin (they read the public error codes). */
  readonly plugins: ReadonlyArray<ApolloServerPlugin<BaseContext>>;
  /** The hooks on /graphql and the /metrics route (when metrics are on); before the routes. */
  install(app: FastifyInstance): void;
  close(): Promise<void>;
}

export async function startObservability(config: { readonly metrics: MetricsSettings; readonly otel: OtelSettings }, options: ObservabilityOptions): Promise<Observability> {
  const { logger } = options;
  const path = options.graphqlPath ?? '/graphql';
  const metrics = createHubMetrics({
    audit: options.audit,
    datasets: options.datasets,
    ...(options.circuits ? { circuits: options.circuits } : {}),
    processMetrics: config.metrics.enabled,
    logger,
  });
  const tracing: Tracing | null = await startTracing(config.otel, { instance: options.audit?.instance ?? null });
  const isGraphQL = (request: FastifyRequest) => request.method !== 'OPTIONS' && (request.url === path || request.url.startsWith(`${path}?`));
  let warned = false;

  return {
    metrics,
    plugins: [metrics.plugin],
    install(app) {
      if (tracing) {
        app.addHook('preHandler', async (request) => {
          if (isGraphQL(request)) tracing.watch(requestAudit(request).sources);
        });
      }
      app.addHook('onResponse', async (request, reply) => {
        if (!isGraphQL(request)) return;
        try {
          const finished = metrics.finish(request, reply);
          if (finished && tracing) {
            tracing.record({
              startedAtMs: Date.now() - finished.durationMs,
              durationMs: finished.durationMs,
              method: request.method,
              status: finished.status,
              outcome: finished.outcome,
              operationType: finished.note?.operationType ?? 'none',
              operationName: finished.note?.operationName ?? null,
              department: finished.department,
              calls: finished.sources,
            });
          }
        } catch (error) {
          if (!warned) logger.warn('metrics or traces of a request not recorded', { error: error instanceof Error ? error.name : 'error' });
          warned = true;
        }
      });
      if (config.metrics.enabled) {
        registerMetricsRoute(app, {
          registry: metrics.registry,
          token: config.metrics.token,
          onError: (error) => logger.error('metrics collection failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
        });
      }
    },
    async close() {
      await tracing?.close();
    },
  };
}
