/**
 * Subscriptions in the hub's graph (在线订阅接口): `subscribeDataset`, `cancelSubscription`,
 * `replayDeadLetter`; `mySubscriptions`, `myDeadLetters`, `myDeliveries`. Every operation acts as
 * `context.principal` for its own department; the exchange decides who may do what and its
 * TongxiangErrors become coded GraphQL errors. Not catalogue data: ungoverned coordinates (the
 * field enforcement lets `isExchangeCoordinate` through, as it does the admin API's).
 *
 * `extendWithExchange(schema, services)` adds the SDL with graphql-js `extendSchema` (the Mesh
 * resolvers stay as they are) and attaches the resolvers. The SSE endpoint has a small schema of
 * its own (sse.ts) sharing the `DatasetChange` type's SDL.
 */
import { extendSchema, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { graphQLError, isTongxiangError, toGraphQLError, TongxiangError, type Principal } from '../../core/index.ts';
import type { Exchange } from './exchange.ts';
import type { ChangeEvent, Delivery, Subscription } from './model.ts';

export const EXCHANGE_TYPES = ['DatasetSubscription', 'DatasetSubscriptionState', 'DatasetChange', 'Delivery', 'DeliveryStatus', 'DeadLetter'] as const;
export const EXCHANGE_QUERY_FIELDS = ['mySubscriptions', 'myDeadLetters', 'myDeliveries'] as const;
export const EXCHANGE_MUTATION_FIELDS = ['subscribeDataset', 'cancelSubscription', 'replayDeadLetter'] as const;

/** True for a coordinate the exchange adds (authorised by the exchange, not by the catalogue). */
export function isExchangeCoordinate(coordinate: string, roots = { query: 'Query', mutation: 'Mutation' }): boolean {
  const [type, field] = coordinate.split('.');
  if (type === undefined || field === undefined) return false;
  if (type === roots.query) return (EXCHANGE_QUERY_FIELDS as readonly string[]).includes(field);
  if (type === roots.mutation) return (EXCHANGE_MUTATION_FIELDS as readonly string[]).includes(field);
  return (EXCHANGE_TYPES as readonly string[]).includes(type);
}

/** The change event, shared with the SSE schema. */
export const DATASET_CHANGE_SDL = /* GraphQL */ `
"""
数据集的一个新版本（变更事件）：只有计数，不含任何字段值；数据本身按协议通过图查询。
A new version of a department's dataset (a change event): counts only, never a field value; the rows themselves are read through the graph, under a contract.
"""
type DatasetChange {
  "事件编号 <dataset>/<department>/v<version>，重投时不变 / event id, stable across redelivery"
  id: ID!
  "全局递增序号 / store-wide sequence number, increasing in publication order"
  seq: Int!
  "数据集 / dataset, e.g. dibao"
  dataset: String!
  "提供方（投递部门）/ providing (dropping) department, e.g. 341623.mzj"
  department: String!
  "版本号 / version number"
  version: Int!
  "file（新文件）或 rollback（回滚）/ file or rollback"
  kind: String!
  "新增的键数 / keys added"
  added: Int!
  "变化的键数 / keys changed"
  changed: Int!
  "删除的键数 / keys removed"
  removed: Int!
  "该版本的行数 / rows in the version"
  rows: Int!
  "发布时间（ISO 8601）/ published at"
  at: String!
}
`;

const SDL = /* GraphQL */ `
${DATASET_CHANGE_SDL}

"订阅状态 / subscription state"
enum DatasetSubscriptionState {
  "有效 / active"
  ACTIVE
  "已取消 / cancelled"
  CANCELLED
}

"""
数据集订阅：提供方每发布一个新版本，平台即向回调地址推送一次（JWS 签名，失败重试，最终进入死信）。
A dataset subscription: each new version the provider publishes is POSTed to the webhook (JWS-signed, retried, finally dead-lettered).
"""
type DatasetSubscription {
  id: ID!
  "订阅部门 / subscribing department"
  consumer: String!
  "订阅人 / who subscribed (sub)"
  createdBy: String!
  "数据集 / dataset"
  dataset: String!
  "提供方部门 / providing department"
  provider: String!
  "回调地址 / webhook URL"
  webhookUrl: String!
  state: DatasetSubscriptionState!
  "创建时间（ISO 8601）/ created at"
  createdAt: String!
  "取消时间 / cancelled at"
  cancelledAt: String
}

"投递状态 / delivery status"
enum DeliveryStatus {
  "待投递或重试中 / to be sent, or retrying"
  PENDING
  "已送达（2xx）/ delivered (2xx)"
  DELIVERED
  "多次失败后进入死信 / dead after its last attempt"
  DEAD
  "到期时协议已不再覆盖，未发送 / not sent: no contract covered it any more when it was due"
  NOT_ENTITLED
  "订阅已取消，未发送 / not sent: the subscription was cancelled"
  CANCELLED
}

"一次推送（订阅 × 事件）/ one delivery (subscription × event)"
type Delivery {
  id: ID!
  subscriptionId: ID!
  event: DatasetChange!
  status: DeliveryStatus!
  "已尝试次数 / POSTs made"
  attempts: Int!
  "下次尝试时间 / next attempt at"
  nextAttemptAt: String
  lastAttemptAt: String
  "最近一次失败（状态码或网络错误类型，不含响应内容）/ last failure (status code or network error class, never a response body)"
  lastError: String
  deliveredAt: String
  createdAt: String!
}

"死信：多次推送失败的事件，可重放 / a dead letter: an event every attempt failed to deliver; it can be replayed"
type DeadLetter {
  "投递编号（用于重放）/ delivery id (to replay)"
  id: ID!
  subscriptionId: ID!
  dataset: String!
  provider: String!
  event: DatasetChange!
  attempts: Int!
  lastError: String
  "进入死信的时间 / dead since"
  failedAt: String!
}
`;

const QUERY_SDL = /* GraphQL */ `
  "本部门的数据集订阅 / my department's dataset subscriptions"
  mySubscriptions: [DatasetSubscription!]!
  "本部门的死信 / my department's dead letters, most recent first"
  myDeadLetters(first: Int = 50): [DeadLetter!]!
  "某订阅的推送记录 / one subscription's deliveries, most recent first"
  myDeliveries(subscriptionId: ID!, first: Int = 50): [Delivery!]!
`;

const MUTATION_SDL = /* GraphQL */ `
  "订阅数据集：需持有提供方授予、覆盖该数据集的有效协议；回调地址须在平台允许清单内 / subscribe to a dataset: needs an active contract from the provider covering it; the webhook must be on the platform's allow-list"
  subscribeDataset(dataset: String!, provider: String!, webhookUrl: String!): DatasetSubscription!
  "取消订阅 / cancel a subscription"
  cancelSubscription(id: ID!): DatasetSubscription!
  "重放死信（重新计数尝试次数，并再次核对协议）/ replay a dead letter (attempts reset, the contract checked again)"
  replayDeadLetter(id: ID!): Delivery!
`;

interface Ctx {
  readonly principal?: Principal | null;
}

type Resolver = GraphQLFieldResolver<unknown, Ctx | undefined, any>;

function principalOf(context: Ctx | undefined): Principal {
  const principal = context?.principal;
  if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: 'no principal' });
  return principal;
}

function coded(fn: Resolver): Resolver {
  return async (source, args, context, info) => {
    try {
      return await fn(source, args, context, info);
    } catch (error) {
      if (isTongxiangError(error)) throw toGraphQLError(error);
      throw error;
    }
  };
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const toEnum = (value: string) => value.toUpperCase().replace(/-/g, '_');

export function subscriptionView(s: Subscription) {
  return {
    id: s.id,
    consumer: s.consumer,
    createdBy: s.createdBy,
    dataset: s.dataset,
    provider: s.provider,
    webhookUrl: s.webhookUrl,
    state: toEnum(s.state),
    createdAt: s.createdAt.toISOString(),
    cancelledAt: iso(s.cancelledAt),
  };
}

export function eventView(e: ChangeEvent) {
  return { id: e.id, seq: e.seq, dataset: e.dataset, department: e.department, version: e.version, kind: e.kind, added: e.added, changed: e.changed, removed: e.removed, rows: e.rows, at: e.at };
}

function deliveryView(d: Delivery) {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    event: eventView(d.event),
    status: toEnum(d.status),
    attempts: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
    createdAt: d.createdAt.toISOString(),
  };
}

function deadLetterView(d: Delivery) {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    dataset: d.dataset,
    provider: d.provider,
    event: eventView(d.event),
    attempts: d.attempts,
    lastError: d.lastError,
    failedAt: (d.lastAttemptAt ?? d.updatedAt).toISOString(),
  };
}

export function extendWithExchange(schema: GraphQLSchema, services: { exchange: Exchange }): GraphQLSchema {
  const { exchange } = services;
  const query = schema.getQueryType();
  const mutation = schema.getMutationType();
  if (!query || query.name !== 'Query' || (mutation && mutation.name !== 'Mutation')) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange schema: needs a Query root (and a Mutation root named Mutation, if any)' });
  }
  const clashes = [
    ...EXCHANGE_TYPES.filter((t) => schema.getType(t)),
    ...EXCHANGE_QUERY_FIELDS.filter((f) => query.getFields()[f]),
    ...EXCHANGE_MUTATION_FIELDS.filter((f) => mutation?.getFields()[f]),
  ];
  if (clashes.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `exchange schema: already in the graph: ${clashes.join(', ')}` });
  const mutationSdl = mutation ? `extend type Mutation {${MUTATION_SDL}}` : `type Mutation {${MUTATION_SDL}}\nextend schema { mutation: Mutation }`;
  const extended = extendSchema(schema, parse(`${SDL}\nextend type Query {${QUERY_SDL}}\n${mutationSdl}`));

  const as = principalOf;
  const resolvers: { Query: Record<string, Resolver>; Mutation: Record<string, Resolver> } = {
    Query: {
      mySubscriptions: coded(async (_s, _a, ctx) => (await exchange.subscriptions(as(ctx))).map(subscriptionView)),
      myDeadLetters: coded(async (_s, a: { first?: number | null }, ctx) => (await exchange.deadLetters(as(ctx), a.first ?? undefined)).map(deadLetterView)),
      myDeliveries: coded(async (_s, a: { subscriptionId: string; first?: number | null }, ctx) =>
        (await exchange.deliveries(as(ctx), a.subscriptionId, a.first ?? undefined)).map(deliveryView),
      ),
    },
    Mutation: {
      subscribeDataset: coded(async (_s, a: { dataset: string; provider: string; webhookUrl: string }, ctx) =>
        subscriptionView(await exchange.subscribe(as(ctx), { dataset: a.dataset, provider: a.provider, webhookUrl: a.webhookUrl })),
      ),
      cancelSubscription: coded(async (_s, a: { id: string }, ctx) => subscriptionView(await exchange.cancel(as(ctx), a.id))),
      replayDeadLetter: coded(async (_s, a: { id: string }, ctx) => deliveryView(await exchange.replay(as(ctx), a.id))),
    },
  };
  const queryFields = extended.getQueryType()!.getFields();
  for (const [name, resolve] of Object.entries(resolvers.Query)) queryFields[name]!.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
  const mutationFields = extended.getMutationType()!.getFields();
  for (const [name, resolve] of Object.entries(resolvers.Mutation)) mutationFields[name]!.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
  return extended;
}
