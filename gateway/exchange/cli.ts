/**
 * The subscription verbs of `tongxiang drop` (订阅): the hub's GraphQL API over HTTP with the
 * department's token, exactly as `tongxiang contracts` talks to it, so identity, authorization
 * and audit apply as for any client.
 *
 *   subscribe --dataset D --provider DEPT --url WEBHOOK     订阅 / subscribe with a webhook
 *   cancel ID                                               取消 / cancel
 *   subscriptions                                           本部门的订阅 / my department's subscriptions
 *   dead-letters [--first N]                                死信 / dead letters
 *   replay ID                                               重放死信 / replay a dead letter
 *   deliveries ID [--first N]                               某订阅的推送记录 / a subscription's deliveries
 *
 * Connection: `--hub URL` (env TONGXIANG_URL, default http://127.0.0.1:4000/graphql) and
 * `--token JWT` (env TONGXIANG_TOKEN). In `subscribe`, `--url` is the webhook (also `--webhook`
 * or `--url-hook`); in the other verbs, which have no webhook, `--url` names the hub as it does
 * in the rest of `tongxiang drop`. Output: tables in Chinese and English (webhook query strings
 * hidden: they may hold the receiver's secret), `--json` the GraphQL data as it came.
 * Exit codes: 0 done, 1 refused by the hub or unreachable (the code on stderr), 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_URL, httpExecute, table, type GraphQLResponse } from '../admin/cli.ts';
import { isTongxiangError } from '../../core/index.ts';
import { redactUrl } from './webhook-url.ts';

export interface ExchangeCliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
}

export type ExchangeCliVerb = (args: string[], io: ExchangeCliIo) => Promise<number>;

export const EXCHANGE_CLI_USAGE = `用法 / usage: tongxiang drop <verb> [options]   订阅 / subscriptions

  subscribe --dataset D --provider DEPT --url WEBHOOK   订阅数据集变更 / subscribe to a dataset's new versions
  cancel ID                       取消订阅 / cancel a subscription
  subscriptions                   本部门的订阅 / my department's subscriptions
  dead-letters [--first N]        死信 / dead letters
  replay ID                       重放死信 / replay a dead letter
  deliveries ID [--first N]       推送记录 / a subscription's deliveries

  --hub URL     枢纽 GraphQL 地址 / hub GraphQL URL (env TONGXIANG_URL, default ${DEFAULT_URL})
  --token JWT   令牌 / bearer token (env TONGXIANG_TOKEN)
  --json        输出 JSON / print JSON
`;

const SUBSCRIPTION = 'id consumer createdBy dataset provider webhookUrl state createdAt cancelledAt';
const EVENT = 'event { id seq dataset department version kind added changed removed rows at }';
const DELIVERY = `id subscriptionId status attempts nextAttemptAt lastAttemptAt lastError deliveredAt createdAt ${EVENT}`;
const DEAD_LETTER = `id subscriptionId dataset provider attempts lastError failedAt ${EVENT}`;

interface EventView {
  id: string;
  version: number;
  added: number;
  changed: number;
  removed: number;
}
type Row = Record<string, unknown> & { event?: EventView };

class UsageError extends Error {}

const STATE_ZH: Record<string, string> = { ACTIVE: '有效', CANCELLED: '已取消' };
const STATUS_ZH: Record<string, string> = { PENDING: '待投递', DELIVERED: '已送达', DEAD: '死信', NOT_ENTITLED: '无权（未发送）', CANCELLED: '已取消' };
const label = (zh: Record<string, string>, v: unknown) => (typeof v === 'string' ? `${zh[v] ?? v} ${v.toLowerCase().replace(/_/g, '-')}` : '');
const text = (v: unknown) => (v === null || v === undefined ? '—' : String(v));
const eventText = (e: EventView | undefined) => (e ? `${e.id} (+${e.added} ~${e.changed} -${e.removed})` : '—');

function subscriptionsTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '（无 / none）\n';
  return table(
    ['编号 id', '状态 state', '数据集 dataset', '提供方 provider', '回调 webhook', '创建 created'],
    rows.map((r) => [text(r.id), label(STATE_ZH, r.state), text(r.dataset), text(r.provider), redactUrl(String(r.webhookUrl)), text(r.createdAt)]),
  );
}

function deliveriesTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '（无 / none）\n';
  return table(
    ['投递 delivery', '事件 event', '状态 status', '次数 attempts', '下次 next', '最近错误 last error', '送达 delivered'],
    rows.map((r) => [text(r.id), eventText(r.event), label(STATUS_ZH, r.status), text(r.attempts), text(r.nextAttemptAt), text(r.lastError), text(r.deliveredAt)]),
  );
}

function deadLettersTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '（无 / none）\n';
  return table(
    ['投递 delivery', '订阅 subscription', '事件 event', '次数 attempts', '最近错误 last error', '失败于 failed at'],
    rows.map((r) => [text(r.id), text(r.subscriptionId), eventText(r.event), text(r.attempts), text(r.lastError), text(r.failedAt)]),
  );
}

interface Spec {
  /** Options besides the connection ones. */
  readonly options: Record<string, { type: 'string' }>;
  /** `--url` names the webhook (subscribe) rather than the hub. */
  readonly urlIsWebhook?: boolean;
  build(id: string | undefined, values: Record<string, string | undefined>): { query: string; variables: Record<string, unknown>; field: string };
  print(data: unknown): string;
}

const needId = (verb: string, id: string | undefined): string => {
  if (!id) throw new UsageError(`${verb} 需要编号 / ${verb} needs an id, e.g. tongxiang drop ${verb} 6f1c…`);
  return id;
};

function firstOf(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 500) throw new UsageError(`--first ${value}: 1..500`);
  return Number(value);
}

const SPECS: Readonly<Record<string, Spec>> = {
  subscribe: {
    options: { dataset: { type: 'string' }, provider: { type: 'string' }, webhook: { type: 'string' }, 'url-hook': { type: 'string' } },
    urlIsWebhook: true,
    build(_id, v) {
      const webhookUrl = v.webhook ?? v['url-hook'] ?? v.url;
      const missing = [!v.dataset && '--dataset', !v.provider && '--provider', !webhookUrl && '--url'].filter(Boolean);
      if (missing.length > 0) throw new UsageError(`subscribe 需要 / needs ${missing.join(', ')}`);
      return {
        field: 'subscribeDataset',
        query: `mutation ($dataset: String!, $provider: String!, $webhookUrl: String!) { subscribeDataset(dataset: $dataset, provider: $provider, webhookUrl: $webhookUrl) { ${SUBSCRIPTION} } }`,
        variables: { dataset: v.dataset, provider: v.provider, webhookUrl },
      };
    },
    print: (d) => subscriptionsTable([d as Row]),
  },
  cancel: {
    options: {},
    build: (id) => ({ field: 'cancelSubscription', query: `mutation ($id: ID!) { cancelSubscription(id: $id) { ${SUBSCRIPTION} } }`, variables: { id: needId('cancel', id) } }),
    print: (d) => subscriptionsTable([d as Row]),
  },
  subscriptions: {
    options: {},
    build: () => ({ field: 'mySubscriptions', query: `{ mySubscriptions { ${SUBSCRIPTION} } }`, variables: {} }),
    print: (d) => subscriptionsTable(d as Row[]),
  },
  'dead-letters': {
    options: { first: { type: 'string' } },
    build: (_id, v) => ({ field: 'myDeadLetters', query: `query ($first: Int) { myDeadLetters(first: $first) { ${DEAD_LETTER} } }`, variables: { first: firstOf(v.first) ?? 50 } }),
    print: (d) => deadLettersTable(d as Row[]),
  },
  replay: {
    options: {},
    build: (id) => ({ field: 'replayDeadLetter', query: `mutation ($id: ID!) { replayDeadLetter(id: $id) { ${DELIVERY} } }`, variables: { id: needId('replay', id) } }),
    print: (d) => deliveriesTable([d as Row]),
  },
  deliveries: {
    options: { first: { type: 'string' } },
    build: (id, v) => ({
      field: 'myDeliveries',
      query: `query ($id: ID!, $first: Int) { myDeliveries(subscriptionId: $id, first: $first) { ${DELIVERY} } }`,
      variables: { id: needId('deliveries', id), first: firstOf(v.first) ?? 50 },
    }),
    print: (d) => deliveriesTable(d as Row[]),
  },
};

function printErrors(errors: NonNullable<GraphQLResponse['errors']>, io: ExchangeCliIo): void {
  for (const e of errors) {
    const code = String(e.extensions?.code ?? 'ERROR');
    const zh = e.extensions?.messageZh;
    const en = e.extensions?.messageEn;
    if (typeof zh === 'string' && typeof en === 'string') io.stderr(`[${code}] ${zh}\n[${code}] ${en}\n`);
    else io.stderr(`[${code}] ${e.message}\n`);
  }
}

function verb(name: string, spec: Spec): ExchangeCliVerb {
  return async (args, io) => {
    let request: ReturnType<Spec['build']>;
    let hub: string;
    let token: string | undefined;
    let json: boolean;
    try {
      const { values, positionals } = parseArgs({
        args,
        options: { ...spec.options, hub: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) {
        io.stdout(EXCHANGE_CLI_USAGE);
        return 0;
      }
      const strings = values as unknown as Record<string, string | undefined>;
      if (!spec.urlIsWebhook && strings.url !== undefined && strings.hub !== undefined) throw new UsageError('--url 与 --hub 只需其一 / give --hub or --url, not both');
      const [id, ...extra] = positionals;
      if (extra.length > 0) throw new UsageError(`多余的参数 / unexpected arguments: ${extra.join(' ')}`);
      request = spec.build(id, strings);
      hub = strings.hub ?? (spec.urlIsWebhook ? undefined : strings.url) ?? io.env.TONGXIANG_URL ?? DEFAULT_URL;
      token = strings.token ?? io.env.TONGXIANG_TOKEN;
      if (!token) throw new UsageError('需要令牌 / a token is needed: --token JWT or TONGXIANG_TOKEN (tongxiang token --dept ... --role developer)');
      json = values.json === true;
    } catch (error) {
      io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${EXCHANGE_CLI_USAGE}`);
      return 2;
    }

    let result: GraphQLResponse;
    try {
      result = await httpExecute(hub, token, io.fetch)(request.query, request.variables);
    } catch (error) {
      if (isTongxiangError(error)) io.stderr(`[${error.code}] ${error.messageZh}\n[${error.code}] ${error.messageEn}\n`);
      else io.stderr(`[UPSTREAM_UNAVAILABLE] ${String(error)}\n`);
      return 1;
    }
    if (result.errors?.length) {
      printErrors(result.errors, io);
      return 1;
    }
    const data = result.data?.[request.field] ?? null;
    if (data === null) {
      io.stderr(`[ERROR] ${name}: 枢纽未返回数据 / the hub returned no data\n`);
      return 1;
    }
    io.stdout(json ? JSON.stringify(data, null, 2) + '\n' : spec.print(data));
    return 0;
  };
}

/** For `tongxiang drop <verb>`: each verb takes the arguments after its name. */
export const EXCHANGE_CLI_VERBS: Readonly<Record<'subscribe' | 'cancel' | 'subscriptions' | 'dead-letters' | 'replay' | 'deliveries', ExchangeCliVerb>> =
  Object.freeze({
    subscribe: verb('subscribe', SPECS.subscribe!),
    cancel: verb('cancel', SPECS.cancel!),
    subscriptions: verb('subscriptions', SPECS.subscriptions!),
    'dead-letters': verb('dead-letters', SPECS['dead-letters']!),
    replay: verb('replay', SPECS.replay!),
    deliveries: verb('deliveries', SPECS.deliveries!),
  });
