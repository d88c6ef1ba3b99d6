/**
 * One access record per GraphQL request, written before the response leaves (strict mode):
 *
 * - `onRequest` (Fastify) opens the request's facts: id, arrival time, the query text; in async
 *   mode a full audit queue refuses the request at once (503 AUDIT_UNAVAILABLE), before it runs;
 * - the `context` function notes the caller, or why there is none (401 is recorded too);
 * - an Apollo plugin notes the error codes of the response (after the public-error mapping);
 * - `onSend` (Fastify) builds the record (with the enforcement's decision record) and waits for
 *   the writer: strict, until durable; async, until queued. If the record cannot be taken, the
 *   response is replaced by 503 AUDIT_UNAVAILABLE: no data leaves without its record.
 */
import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLError } from 'graphql';
import { graphQLError, isTongxiangError, type Principal } from '../../core/index.ts';
import type { SourceCall } from '../../mesh/index.ts';
import type { Catalogue } from '../../policies/index.ts';
import { decisionRecordOf } from '../enforcement/index.ts';
import type { Logger } from '../log.ts';
import { accessRecord } from './access-record.ts';
import type { HubAudit } from './hub-audit.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export interface RequestAudit {
  readonly requestId: string;
  readonly startedAt: number;
  readonly t0: number;
  readonly query: string | null;
  principal: Principal | null;
  reason: string | null;
  errorCodes: string[];
  operationName: string | null;
  context: object | null;
  /** Upstream calls, noted by the transports through the Mesh context. */
  readonly sources: SourceCall[];
  /** Refused before it ran because the audit could not take it: nothing more to record. */
  refusedByAudit: boolean;
}

const byRequest = new WeakMap<object, RequestAudit>();
/**
 * The facts ride on the context value itself: Apollo hands plugins and resolvers a shallow clone
 * of what the `context` function returned (one per operation), which keeps own properties.
 */
const FACTS = Symbol('tongxiang.audit.facts');

/** The request's audit facts (made in onRequest); a request id even when no audit runs. */
export function requestAudit(request: FastifyRequest): RequestAudit {
  let facts = byRequest.get(request.raw);
  if (!facts) {
    const incoming = request.headers['x-request-id'];
    facts = {
      requestId: typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID(),
      startedAt: Date.now(),
      t0: performance.now(),
      query: queryText(request),
      principal: null,
      reason: null,
      errorCodes: [],
      operationName: null,
      context: null,
      sources: [],
      refusedByAudit: false,
    };
    byRequest.set(request.raw, facts);
  }
  return facts;
}

export function bindContext(facts: RequestAudit, context: object): void {
  facts.context = context;
  Object.defineProperty(context, FACTS, { value: facts, enumerable: true, writable: false, configurable: false });
}

/** The request's facts from a context value Apollo hands to plugins (metrics read them too). */
export function factsOf(context: unknown): RequestAudit | undefined {
  return typeof context === 'object' && context !== null ? ((context as Record<symbol, unknown>)[FACTS] as RequestAudit | undefined) : undefined;
}

function queryText(request: FastifyRequest): string | null {
  const body = request.body as { query?: unknown } | undefined;
  if (body && typeof body.query === 'string') return body.query;
  const q = (request.query as { query?: unknown } | undefined)?.query;
  return typeof q === 'string' ? q : null;
}

/** Notes the response's error codes and the operation name (add it after the public-error plugin). */
export function auditApolloPlugin<Ctx extends BaseContext>(): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, operationName }) {
          const facts = factsOf(contextValue);
          if (!facts) return;
          // The context value the operation ran with (the enforcement's decisions are kept beside it).
          facts.context = contextValue as object;
          facts.operationName = operationName ?? null;
          if (response.body.kind !== 'single') return;
          for (const e of response.body.singleResult.errors ?? []) {
            const code = e.extensions?.code;
            if (typeof code === 'string') facts.errorCodes.push(code);
            // Which limit refused the request (or cut its rows): the record says so.
            if (code === 'RATE_LIMITED') facts.reason ??= `rate limit ${String(e.extensions?.limit ?? '')} ${String(e.extensions?.scope ?? '')}`.trim();
            if (code === 'OPERATION_TOO_COMPLEX') facts.reason ??= `operation ${String(e.extensions?.measure ?? '')} ${String(e.extensions?.actual ?? '')} > ${String(e.extensions?.max ?? '')}`;
          }
        },
      };
    },
  };
}

function unavailableBody(reason: string): string {
  const error: GraphQLError = graphQLError('AUDIT_UNAVAILABLE', { reason });
  return JSON.stringify({ errors: [error.toJSON()] });
}

function reasonOf(error: unknown): string {
  if (isTongxiangError(error)) return String(error.fields.reason ?? error.code);
  return 'audit store unavailable';
}

/** Installs the hooks on `app` for requests to `path`. */
export function installAuditHooks(app: FastifyInstance, options: { path: string; audit: HubAudit; catalogue: Catalogue; logger: Logger; mode: 'strict' | 'async'; queueLimit: number }): void {
  const { audit, catalogue, logger, path } = options;
  const isGraphQL = (request: FastifyRequest) => request.url === path || request.url.startsWith(`${path}?`);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isGraphQL(request) || request.method === 'OPTIONS') return;
    const facts = requestAudit(request);
    if (options.mode === 'async' && audit.writer.status().queued >= options.queueLimit) {
      facts.refusedByAudit = true;
      logger.warn('audit queue full: request refused before it ran', { requestId: facts.requestId });
      return reply.code(503).header('content-type', 'application/json; charset=utf-8').header('retry-after', '1').send(unavailableBody('queue full'));
    }
    return undefined;
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!isGraphQL(request) || request.method === 'OPTIONS') return payload;
    const facts = byRequest.get(request.raw);
    if (!facts || facts.refusedByAudit) return payload;
    // The landing page (a browser's GET without a query) is no access to data.
    if (request.method === 'GET' && facts.query === null && String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
    const decision = facts.context ? decisionRecordOf(facts.context) : undefined;
    const record = accessRecord(
      {
        requestId: facts.requestId,
        startedAt: facts.startedAt,
        durationMs: performance.now() - facts.t0,
        httpStatus: reply.statusCode,
        query: facts.query,
        operationName: facts.operationName,
        principal: facts.principal,
        reason: facts.reason,
        errorCodes: facts.errorCodes,
        sources: facts.sources,
      },
      decision,
      audit.subjects,
      catalogue,
    );
    try {
      await audit.writer.write(record);
      return payload;
    } catch (error) {
      logger.error('audit record not taken: response withheld', { requestId: facts.requestId, error: isTongxiangError(error) ? error.code : String(error) });
      reply.code(503).header('content-type', 'application/json; charset=utf-8').header('retry-after', '1');
      reply.removeHeader('content-length');
      return unavailableBody(reasonOf(error));
    }
  });
}
