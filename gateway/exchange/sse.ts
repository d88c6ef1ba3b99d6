/**
 * The exchange's HTTP routes: `/graphql/stream` — GraphQL subscriptions over Server-Sent Events
 * (graphql-sse, "distinct connections" mode: one POST or GET with `Accept: text/event-stream` per
 * subscription) with a schema of its own:
 *
 *     type Subscription { datasetChanged(dataset: String!, provider: String): DatasetChange! }
 *
 * — and `/exchange/jwks.json`, the public keys webhook signatures verify with.
 *
 * The caller is authenticated with its bearer token before anything else (401 with a coded body
 * and an RFC 6750 challenge otherwise); each event is checked against the caller's grants at the
 * moment it is sent (Exchange.watch). The single-connection mode of graphql-sse (a stream
 * reserved with PUT and fed by later POSTs) is off: every stream belongs to the request that
 * authenticated it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildSchema, GraphQLError, type GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fastify';
import { isTongxiangError, toGraphQLError, TongxiangError, type Principal } from '../../core/index.ts';
import type { Exchange } from './exchange.ts';
import type { ChangeEvent } from './model.ts';
import { DATASET_CHANGE_SDL, eventView } from './schema.ts';

export const EXCHANGE_STREAM_PATH = '/graphql/stream';
export const EXCHANGE_JWKS_PATH = '/exchange/jwks.json';

export interface ExchangeRouteOptions {
  /** The caller named by an Authorization header; throws (UNAUTHENTICATED) otherwise. */
  readonly authenticate: (authorization: string | undefined) => Promise<Principal>;
  /** Told of failures on the hub's side (never of a caller's bad token). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

interface StreamContext extends Record<PropertyKey, unknown> {
  readonly principal: Principal;
}

const STREAM_SDL = /* GraphQL */ `
${DATASET_CHANGE_SDL}

type Query {
  "事件流端点只服务订阅；查询请用 /graphql / this endpoint serves subscriptions; query /graphql"
  exchangeStream: String!
}

type Subscription {
  """
  数据集的新版本（实时）：provider 为空时为调用方有权获知的所有提供方；每个事件在发送时按调用方当前的协议核对。
  New versions of a dataset, live: of one provider, or (provider null) of every provider the caller is entitled to; each event is checked against the caller's contracts as it is sent.
  """
  datasetChanged(dataset: String!, provider: String): DatasetChange!
}
`;

/** The SSE endpoint's schema over `exchange`. */
export function exchangeStreamSchema(exchange: Exchange): GraphQLSchema {
  const schema = buildSchema(STREAM_SDL);
  schema.getQueryType()!.getFields().exchangeStream!.resolve = () => '/graphql/stream';
  const field = schema.getSubscriptionType()!.getFields().datasetChanged!;
  field.subscribe = async (_root, args: { dataset: string; provider?: string | null }, context: StreamContext) => {
    try {
      return await exchange.watch(context.principal, { dataset: args.dataset, provider: args.provider ?? null });
    } catch (error) {
      if (isTongxiangError(error)) throw toGraphQLError(error);
      throw error;
    }
  };
  field.resolve = (event: ChangeEvent) => eventView(event);
  return schema;
}

/** The body and status a failed authentication answers with: the catalogue's, never the cause. */
function refusal(error: unknown): { status: number; body: unknown; challenge: string | null } {
  if (isTongxiangError(error)) {
    const reason = String(error.fields.reason ?? '');
    const challenge =
      error.code !== 'UNAUTHENTICATED'
        ? null
        : reason === 'missing'
          ? 'Bearer realm="tongxiang"'
          : `Bearer realm="tongxiang", error="invalid_token", error_description="${reason.replace(/[^a-z ]/g, '')}"`;
    return { status: error.status, body: { errors: [{ message: error.message, extensions: error.toExtensions() }] }, challenge };
  }
  if (error instanceof GraphQLError && typeof error.extensions?.code === 'string') {
    const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
    const http = error.extensions.http as { status?: number } | undefined;
    return { status: http?.status ?? 401, body: { errors: [{ message: error.message, extensions }] }, challenge: 'Bearer realm="tongxiang"' };
  }
  const internal = new TongxiangError('INTERNAL', { requestId: 'exchange-stream' });
  return { status: 500, body: { errors: [{ message: internal.message, extensions: internal.toExtensions() }] }, challenge: null };
}

export function registerExchangeRoutes(app: FastifyInstance, exchange: Exchange, options: ExchangeRouteOptions): void {
  if (typeof options?.authenticate !== 'function') throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange routes: authenticate is required' });
  const principals = new WeakMap<FastifyRequest, Principal>();
  const handler = createHandler<StreamContext>({
    schema: exchangeStreamSchema(exchange),
    // No stream tokens: the single-connection mode is off (see the module comment).
    authenticate: () => null,
    context: (req) => ({ principal: principals.get(req.raw)! }),
  });

  const stream = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let principal: Principal;
    try {
      principal = await options.authenticate(request.headers.authorization);
    } catch (error) {
      const { status, body, challenge } = refusal(error);
      if (status >= 500) options.onError?.(error);
      if (challenge) reply.header('www-authenticate', challenge);
      await reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
      return;
    }
    principals.set(request, principal);
    // graphql-sse writes the response itself (headers, then the event stream).
    reply.hijack();
    try {
      await handler(request, reply);
    } catch (error) {
      options.onError?.(error);
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end();
    }
  };

  app.route({ method: ['GET', 'POST'], url: EXCHANGE_STREAM_PATH, handler: stream });
  app.get(EXCHANGE_JWKS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return exchange.jwks();
  });
}
