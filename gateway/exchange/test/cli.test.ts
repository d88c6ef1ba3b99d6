/**
 * `tongxiang drop subscribe|cancel|subscriptions|dead-letters|replay|deliveries` against the
 * exchange's GraphQL API, the hub's HTTP answered in-process (the token names the department).
 */
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/index.ts';
import { EXCHANGE_CLI_VERBS, type ExchangeCliIo } from '../cli.ts';
import { startExchange, type Exchange } from '../exchange.ts';
import { extendWithExchange } from '../schema.ts';
import { arrayPipeline, BOZHOU_MZJ, captureLogger, eventually, FAST, grant, grantTable, LIXIN_MZJ, person, startReceiver, tempDir, YEJI_MZJ, type Receiver } from './fixtures.ts';

const pipeline = arrayPipeline();
const table = grantTable();
const TOKENS: Record<string, Principal> = { 'tok-bozhou': person(BOZHOU_MZJ), 'tok-yeji': person(YEJI_MZJ) };
let exchange: Exchange;
let schema: GraphQLSchema;
let receiver: Receiver;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const { dir, remove } = await tempDir();
  cleanup = remove;
  table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId')]);
  exchange = await startExchange({ pipeline, contracts: table, dataDir: dir, delivery: FAST, pollMs: 60_000, logger: captureLogger() });
  schema = extendWithExchange(buildSchema('type Query { hub: String }'), { exchange });
  receiver = await startReceiver(() => 500);
}, 120_000);

afterAll(async () => {
  await exchange?.close();
  await receiver?.close();
  await cleanup?.();
}, 60_000);

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly urls: string[];
}

async function run(verb: keyof typeof EXCHANGE_CLI_VERBS, args: string[], env: Record<string, string> = { TONGXIANG_TOKEN: 'tok-bozhou' }): Promise<Run> {
  let out = '';
  let err = '';
  const urls: string[] = [];
  const io: ExchangeCliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env,
    fetch: (async (url: string | URL, init?: RequestInit) => {
      urls.push(String(url));
      if (String(url).includes('unreachable')) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
      const token = /^Bearer (.+)$/.exec(String((init?.headers as Record<string, string>).authorization))?.[1];
      const principal = token ? TOKENS[token] : undefined;
      const { query, variables } = JSON.parse(String(init?.body)) as { query: string; variables: Record<string, unknown> };
      const result = await graphql({ schema, source: query, variableValues: variables, contextValue: { principal } });
      return new Response(JSON.stringify(result), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch,
  };
  const code = await EXCHANGE_CLI_VERBS[verb](args, io);
  return { code, out, err, urls };
}

describe('tongxiang drop: subscription verbs', () => {
  it('subscribes, lists and cancels, in Chinese and English, hiding the webhook\'s query string in tables', async () => {
    const hook = `${receiver.url}?key=s3cr3t`;
    const made = await run('subscribe', ['--dataset', 'roster1', '--provider', LIXIN_MZJ, '--url', hook, '--hub', 'http://hub.test:4000/graphql']);
    expect(made.err).toBe('');
    expect(made.code).toBe(0);
    expect(made.urls).toEqual(['http://hub.test:4000/graphql']);
    expect(made.out).toMatch(/编号 id\s+状态 state\s+数据集 dataset\s+提供方 provider\s+回调 webhook/);
    expect(made.out).toContain('有效 active');
    expect(made.out).toContain(`${receiver.url}?…`);
    expect(made.out).not.toContain('s3cr3t');
    const id = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s/m.exec(made.out)?.[1];
    expect(id).toBeDefined();

    const json = await run('subscriptions', ['--json'], { TONGXIANG_TOKEN: 'tok-bozhou', TONGXIANG_URL: 'http://env-hub.test/graphql' });
    expect(json.code).toBe(0);
    expect(json.urls).toEqual(['http://env-hub.test/graphql']);
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ id, dataset: 'roster1', provider: LIXIN_MZJ, webhookUrl: hook, state: 'ACTIVE' })]);

    // Another department's token sees none of it, and cannot cancel it.
    expect((await run('subscriptions', [], { TONGXIANG_TOKEN: 'tok-yeji' })).out).toContain('（无 / none）');
    const foreign = await run('cancel', [id!], { TONGXIANG_TOKEN: 'tok-yeji' });
    expect(foreign.code).toBe(1);
    expect(foreign.err).toMatch(/\[SUBSCRIPTION_NOT_FOUND\] 订阅 .* 不存在\n\[SUBSCRIPTION_NOT_FOUND\] Subscription .* does not exist/);

    const cancelled = await run('cancel', [id!, '--url', 'http://other-hub.test/graphql']);
    expect(cancelled.code).toBe(0);
    expect(cancelled.urls).toEqual(['http://other-hub.test/graphql']);
    expect(cancelled.out).toContain('已取消 cancelled');
  });

  it('lists dead letters and deliveries, and replays one', async () => {
    const made = await run('subscribe', ['--dataset', 'roster2', '--provider', LIXIN_MZJ, '--webhook', receiver.url, '--json']);
    const sub = JSON.parse(made.out) as { id: string };
    const event = pipeline.publish('roster2', LIXIN_MZJ);
    await eventually(async () => (await exchange.deliveries(TOKENS['tok-bozhou']!, sub.id)).some((d) => d.status === 'dead'), 10_000, 'the dead letter');

    const letters = await run('dead-letters', []);
    expect(letters.code).toBe(0);
    expect(letters.out).toMatch(/投递 delivery\s+订阅 subscription\s+事件 event\s+次数 attempts\s+最近错误 last error/);
    expect(letters.out).toContain(`${event.id} (+3 ~1 -0)`);
    expect(letters.out).toContain('HTTP 500');
    const deliveryId = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s/m.exec(letters.out)?.[1];

    const list = await run('deliveries', [sub.id, '--first', '5']);
    expect(list.code).toBe(0);
    expect(list.out).toContain('死信 dead');

    const replayed = await run('replay', [deliveryId!]);
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain('待投递 pending');
    expect((await run('replay', ['no-such-delivery'])).err).toContain('[DELIVERY_NOT_FOUND]');
  });

  it('refuses with the hub\'s code, exit 1', async () => {
    const refused = await run('subscribe', ['--dataset', 'roster3', '--provider', LIXIN_MZJ, '--url', 'http://10.0.0.1/hook']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^\[WEBHOOK_URL_REFUSED\] 回调地址不可用.*\n\[WEBHOOK_URL_REFUSED\] Webhook URL refused/);
    const unreachable = await run('subscriptions', ['--hub', 'http://unreachable.test/graphql']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain('[UPSTREAM_UNAVAILABLE]');
  });

  it('says what is missing, exit 2, before calling the hub', async () => {
    const cases: [keyof typeof EXCHANGE_CLI_VERBS, string[], Record<string, string>, RegExp][] = [
      ['subscribe', ['--dataset', 'dibao'], { TONGXIANG_TOKEN: 't' }, /--provider, --url/],
      ['cancel', [], { TONGXIANG_TOKEN: 't' }, /cancel 需要编号/],
      ['subscriptions', [], {}, /需要令牌 \/ a token is needed/],
      ['deliveries', ['x', '--first', '0'], { TONGXIANG_TOKEN: 't' }, /--first 0: 1\.\.500/],
      ['replay', ['a', 'b'], { TONGXIANG_TOKEN: 't' }, /unexpected arguments: b/],
      ['subscriptions', ['--bogus'], { TONGXIANG_TOKEN: 't' }, /bogus/],
      ['subscriptions', ['--hub', 'a', '--url', 'b'], { TONGXIANG_TOKEN: 't' }, /--hub or --url, not both/],
    ];
    for (const [verb, args, env, message] of cases) {
      const r = await run(verb, args, env);
      expect(r.code, `${verb} ${args.join(' ')}`).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toContain('用法 / usage');
      expect(r.urls).toEqual([]);
    }
  });
});
