/**
 * The hub's Prometheus metrics, in a registry of its own (several hubs in one process never
 * share one; the global default registry is not used). What is counted where:
 *
 * - an Apollo plugin, after the public-error mapping: the field decisions of each operation
 *   (the enforcement's decision record), the limits that refused it (RATE_LIMITED,
 *   RATE_LIMIT_UNAVAILABLE, OPERATION_TOO_COMPLEX in the response, or thrown while the context
 *   was made: the per-address budget), its operation type;
 * - Fastify's `onResponse` for /graphql: one request by outcome and HTTP status, its duration,
 *   and each upstream call the transports noted in the request's facts (audit on or off);
 * - at scrape time: the audit writer and Kafka shipper, each file-drop dataset's freshness, the
 *   circuit breakers (when a provider is given).
 *
 * Label values are bounded and never personal: outcomes, status codes, operation types,
 * department codes, source and dataset names, decision kinds and limit names — no request ids,
 * no subjects, no tokens, no operation names (a client chooses those).
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLError } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SourceCall } from '../../mesh/index.ts';
import { outcomeOf } from '../audit/access-record.ts';
import { factsOf, requestAudit, type RequestAudit } from '../audit/http.ts';
import type { HubAudit } from '../audit/hub-audit.ts';
import { decisionRecordOf, type DecisionRecord } from '../enforcement/index.ts';
import type { Logger } from '../log.ts';

export type CircuitState = 'closed' | 'half-open' | 'open';
export type CircuitsProvider = () => ReadonlyArray<{ readonly source: string; readonly state: CircuitState }>;

/** What one dataset's freshness needs (the file-drop pipeline's `status`). */
export interface FreshnessSource {
  status(at?: Date): Promise<ReadonlyArray<{ readonly dataset: string; readonly department: string; readonly lastPublishedAt: Date | null; readonly overdue: boolean }>>;
}

export interface HubMetricsOptions {
  readonly audit?: HubAudit | null;
  /** The file-drop pipeline, when the hub has one (read at scrape time). */
  readonly datasets?: () => FreshnessSource | null;
  /** The circuit breakers' states, read at scrape time; absent: no `tongxiang_upstream_circuit_state`. */
  readonly circuits?: CircuitsProvider;
  /** Process metrics (CPU, memory, event loop, GC) in this registry; default true. */
  readonly processMetrics?: boolean;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** What the Apollo plugin learnt about a request, for its `onResponse`. */
export interface OperationNote {
  operationType: string;
  operationName: string | null;
  errorCodes: string[];
  decision: DecisionRecord | undefined;
}

export interface FinishedRequest {
  readonly facts: RequestAudit;
  readonly note: OperationNote | undefined;
  readonly status: number;
  readonly outcome: string;
  readonly department: string | null;
  readonly durationMs: number;
  readonly sources: readonly SourceCall[];
}

export interface HubMetrics {
  readonly registry: Registry;
  readonly plugin: ApolloServerPlugin<BaseContext>;
  /** Counts a finished /graphql request (Fastify `onResponse`); returns what was counted. */
  finish(request: FastifyRequest, reply: FastifyReply): FinishedRequest | null;
}

const LIMIT_CODES = new Set(['RATE_LIMITED', 'RATE_LIMIT_UNAVAILABLE', 'OPERATION_TOO_COMPLEX']);
const OUTCOMES = ['ok', 'partial', 'refused', 'rate-limited', 'unauthenticated', 'error'];
/** Label values that come from elsewhere are cut to a safe shape (bounded sets in practice). */
const label = (v: unknown, fallback = 'unknown'): string => {
  const s = typeof v === 'string' || typeof v === 'number' ? String(v).replace(/\s+/g, '') : '';
  // e.g. keep(3,4) as a masking rule; anything else odd is not worth a series of its own.
  return /^[A-Za-z0-9._:,()-]{1,64}$/.test(s) ? s : fallback;
};

function limitName(extensions: Record<string, unknown> | undefined): string {
  if (!extensions) return 'unknown';
  if (extensions.code === 'OPERATION_TOO_COMPLEX') return label(extensions.measure);
  return label(extensions.limit);
}

export function createHubMetrics(options: HubMetricsOptions = {}): HubMetrics {
  const registry = new Registry();
  const now = options.now ?? Date.now;
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tongxiang_' });

  const requests = new Counter({
    name: 'tongxiang_graphql_requests_total',
    help: 'GraphQL requests over HTTP, by outcome, HTTP status, operation type and calling department',
    labelNames: ['outcome', 'status', 'operation_type', 'department'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tongxiang_graphql_request_duration_seconds',
    help: 'Time from a GraphQL request arriving to its response sent, by outcome and operation type',
    labelNames: ['outcome', 'operation_type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  for (const outcome of OUTCOMES) duration.zero({ outcome, operation_type: 'query' });
  const decisions = new Counter({
    name: 'tongxiang_field_decisions_total',
    help: 'Field decisions of the enforcement (one per field coordinate of an operation): allow, mask or deny, with the basis (unconditional, owner, contract), masking rule or deny reason',
    labelNames: ['decision', 'basis'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'tongxiang_limit_refusals_total',
    help: 'Requests (or upstream calls, or lists cut) refused by a limit: RATE_LIMITED, RATE_LIMIT_UNAVAILABLE or OPERATION_TOO_COMPLEX, by limit name (or operation measure)',
    labelNames: ['code', 'limit'] as const,
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'tongxiang_upstream_call_duration_seconds',
    help: 'Upstream calls made for GraphQL requests, by source and status (ok or the error code)',
    labelNames: ['source', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const audit = options.audit ?? null;
  if (audit) {
    const writerGauge = (name: string, help: string, read: (s: ReturnType<HubAudit['writer']['status']>) => number | null) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const value = read(audit.writer.status());
          if (value !== null) this.set(value);
        },
      });
    writerGauge('tongxiang_audit_chain_seq', 'Sequence number of the head of this instance\'s audit hash chain (the last record written)', (s) => s.seq);
    writerGauge('tongxiang_audit_last_checkpoint_seq', 'Sequence number covered by the last durable signed checkpoint', (s) => s.lastCheckpointSeq ?? 0);
    writerGauge('tongxiang_audit_queue_depth', 'Audit records accepted and not yet durable (async queue; strict backlog while the store fails)', (s) => s.queued);
    writerGauge('tongxiang_audit_store_failing', '1 while the last append to the audit store failed and has not yet succeeded on retry', (s) => (s.failing ? 1 : 0));
    const shipper = audit.shipper;
    if (shipper) {
      new Gauge({
        name: 'tongxiang_audit_kafka_pending',
        help: 'Audit log entries written locally and not yet acknowledged by Kafka',
        registers: [registry],
        collect() {
          this.set(shipper.status().pending);
        },
      });
      new Gauge({
        name: 'tongxiang_audit_kafka_shipped',
        help: 'Audit log entries acknowledged by Kafka',
        registers: [registry],
        collect() {
          this.set(shipper.status().shipped);
        },
      });
      new Gauge({
        name: 'tongxiang_audit_kafka_connected',
        help: '1 while the audit shipper talks to a Kafka broker',
        registers: [registry],
        collect() {
          this.set(shipper.status().connected ? 1 : 0);
        },
      });
    }
  }

  const datasets = options.datasets;
  if (datasets) {
    let statuses: Promise<Awaited<ReturnType<FreshnessSource['status']>>> | null = null;
    // One status read per scrape, shared by both gauges.
    const read = () => {
      statuses ??= (async () => {
        try {
          return (await datasets()?.status(new Date(now()))) ?? [];
        } catch (error) {
          options.logger?.warn('dataset freshness not available for metrics', { error: error instanceof Error ? error.name : 'error' });
          return [];
        } finally {
          setImmediate(() => (statuses = null));
        }
      })();
      return statuses;
    };
    new Gauge({
      name: 'tongxiang_dataset_age_seconds',
      help: 'Seconds since the current version of each file-drop dataset was published, per department (absent: never published)',
      labelNames: ['dataset', 'department'] as const,
      registers: [registry],
      async collect() {
        const list = await read();
        this.reset();
        for (const s of list) {
          if (s.lastPublishedAt) this.set({ dataset: label(s.dataset), department: label(s.department) }, Math.max(0, (now() - s.lastPublishedAt.getTime()) / 1000));
        }
      },
    });
    new Gauge({
      name: 'tongxiang_dataset_overdue',
      help: '1 when a department\'s dataset is past its update cycle\'s due time without a new version',
      labelNames: ['dataset', 'department'] as const,
      registers: [registry],
      async collect() {
        const list = await read();
        this.reset();
        for (const s of list) this.set({ dataset: label(s.dataset), department: label(s.department) }, s.overdue ? 1 : 0);
      },
    });
  }

  const circuits = options.circuits;
  if (circuits) {
    const value: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };
    new Gauge({
      name: 'tongxiang_upstream_circuit_state',
      help: 'Circuit breaker of each upstream source: 0 closed, 1 half-open, 2 open',
      labelNames: ['source'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of circuits()) this.set({ source: label(c.source) }, value[c.state] ?? 0);
      },
    });
  }

  const notes = new WeakMap<RequestAudit, OperationNote>();
  const countLimit = (extensions: Record<string, unknown> | undefined) => {
    const code = extensions?.code;
    if (typeof code === 'string' && LIMIT_CODES.has(code)) refusals.inc({ code, limit: limitName(extensions) });
  };

  /**
   * The decisions' counts by label pair, once per decision list: the enforcement hands out the
   * same frozen list for the same operation and grants, so a request costs one increment per pair.
   */
  const countsByList = new WeakMap<readonly DecisionRecord['coordinates'][number][], ReadonlyArray<readonly [{ decision: string; basis: string }, number]>>();
  const decisionCounts = (coordinates: DecisionRecord['coordinates']) => {
    let counts = countsByList.get(coordinates);
    if (!counts) {
      const byKey = new Map<string, [{ decision: string; basis: string }, number]>();
      for (const c of coordinates) {
        const labels = { decision: c.decision, basis: label(c.detail) };
        const key = `${labels.decision}\u0000${labels.basis}`;
        const known = byKey.get(key);
        if (known) known[1] += 1;
        else byKey.set(key, [labels, 1]);
      }
      counts = [...byKey.values()];
      if (Object.isFrozen(coordinates)) countsByList.set(coordinates, counts);
    }
    return counts;
  };

  const plugin: ApolloServerPlugin<BaseContext> = {
    // The per-address budget of callers without credentials refuses while the context is made.
    async contextCreationDidFail({ error }) {
      countLimit((error as Partial<GraphQLError>).extensions as Record<string, unknown> | undefined);
    },
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation }) {
          const decision = decisionRecordOf(contextValue);
          const note: OperationNote = { operationType: operation?.operation ?? 'none', operationName: operation?.name?.value ?? null, errorCodes: [], decision };
          const facts = factsOf(contextValue);
          if (facts) notes.set(facts, note);
          if (decision) for (const [labels, n] of decisionCounts(decision.coordinates)) decisions.inc(labels, n);
          if (response.body.kind !== 'single') return;
          for (const e of response.body.singleResult.errors ?? []) {
            const code = e.extensions?.code;
            if (typeof code === 'string') note.errorCodes.push(code);
            countLimit(e.extensions);
          }
        },
      };
    },
  };

  return {
    registry,
    plugin,
    finish(request, reply) {
      const facts = requestAudit(request);
      // The landing page (a browser's GET without a query) is no GraphQL request.
      if (request.method === 'GET' && facts.query === null && String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return null;
      const note = notes.get(facts);
      const status = reply.statusCode;
      const decision = note?.decision ?? (facts.context ? decisionRecordOf(facts.context) : undefined);
      const outcome = outcomeOf(status, note?.errorCodes ?? facts.errorCodes, decision);
      const operationType = note?.operationType ?? 'none';
      const department = facts.principal?.department.code ?? null;
      const durationMs = reply.elapsedTime;
      requests.inc({ outcome, status: String(status), operation_type: operationType, department: department === null ? 'none' : label(department) });
      duration.observe({ outcome, operation_type: operationType }, durationMs / 1000);
      for (const call of facts.sources) upstream.observe({ source: label(call.source), status: label(call.status) }, call.latencyMs / 1000);
      return { facts, note, status, outcome, department, durationMs, sources: facts.sources };
    },
  };
}

