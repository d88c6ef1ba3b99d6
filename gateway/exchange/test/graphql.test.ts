/**
 * The subscription API in the graph: who may subscribe to what, with which webhook, and what
 * another department can learn of a subscription (nothing). Refusals store nothing.
 */
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOfCall } from '../../../core/testing.ts';
import type { Principal } from '../../../core/index.ts';
import { startExchange, type Exchange, type ExchangeAdminEvent } from '../exchange.ts';
import { extendWithExchange, isExchangeCoordinate } from '../schema.ts';
import { arrayPipeline, BOZHOU_MZJ, captureLogger, grant, grantTable, LIXIN_MZJ, person, tempDir, YEJI_MZJ } from './fixtures.ts';

const pipeline = arrayPipeline();
const table = grantTable();
const bozhou = person(BOZHOU_MZJ);
const yeji = person(YEJI_MZJ);
const lixinOwner = person(LIXIN_MZJ, ['data_owner']);
const admin: { kind: ExchangeAdminEvent; actor: string; details: Record<string, unknown> }[] = [];
let exchange: Exchange;
let schema: GraphQLSchema;
let cleanup: () => Promise<void>;

const SUBSCRIBE = 'mutation ($d: String!, $p: String!, $u: String!) { subscribeDataset(dataset: $d, provider: $p, webhookUrl: $u) { id consumer createdBy dataset provider webhookUrl state createdAt cancelledAt } }';

beforeAll(async () => {
  const { dir, remove } = await tempDir();
  cleanup = remove;
  table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId', { kind: 'jurisdiction' }, 'GX-2026-000042')]);
  // 叶集区 holds a contract from 利辛县 too, but its jurisdiction (341504) does not cover 341623.
  table.set(YEJI_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId', { kind: 'jurisdiction' })]);
  exchange = await startExchange({
    pipeline,
    contracts: table,
    dataDir: dir,
    pollMs: 60_000,
    logger: captureLogger(),
    onAdminEvent: (kind, actor, details) => void admin.push({ kind, actor: `${actor.subject}@${actor.department.code}`, details }),
  });
  schema = extendWithExchange(buildSchema('type Query { hub: String }'), { exchange });
}, 120_000);

afterAll(async () => {
  await exchange?.close();
  await cleanup?.();
}, 60_000);

async function gql(principal: Principal | null, source: string, variableValues: Record<string, unknown> = {}) {
  const result = await graphql({ schema, source, variableValues, contextValue: { principal } });
  return { data: result.data as Record<string, any> | null | undefined, codes: (result.errors ?? []).map((e) => e.extensions?.code), errors: result.errors ?? [] };
}

const mine = async (principal: Principal) => (await gql(principal, '{ mySubscriptions { id dataset provider webhookUrl state } }')).data!.mySubscriptions as { id: string; state: string }[];

describe('subscribing', () => {
  it('subscribes an entitled department once, and tells the audit trail', async () => {
    const url = 'http://127.0.0.1:8080/hooks/dibao?token=abc#frag';
    const first = await gql(bozhou, SUBSCRIBE, { d: 'roster1', p: LIXIN_MZJ, u: url });
    expect(first.codes).toEqual([]);
    const sub = first.data!.subscribeDataset;
    expect(sub).toMatchObject({ consumer: BOZHOU_MZJ, createdBy: `dev@${BOZHOU_MZJ}`, dataset: 'roster1', provider: LIXIN_MZJ, state: 'ACTIVE', cancelledAt: null });
    expect(sub.webhookUrl).toBe('http://127.0.0.1:8080/hooks/dibao?token=abc');
    // The same subscription again is the same subscription.
    const again = await gql(bozhou, SUBSCRIBE, { d: 'roster1', p: LIXIN_MZJ, u: url });
    expect(again.data!.subscribeDataset.id).toBe(sub.id);
    expect((await mine(bozhou)).filter((s) => s.id === sub.id)).toHaveLength(1);
    const created = admin.filter((a) => a.kind === 'subscription-created' && a.details.subscriptionId === sub.id);
    expect(created).toEqual([
      {
        kind: 'subscription-created',
        actor: `dev@${BOZHOU_MZJ}@${BOZHOU_MZJ}`,
        details: { subscriptionId: sub.id, dataset: 'roster1', provider: LIXIN_MZJ, webhook: 'http://127.0.0.1:8080/hooks/dibao?…', contractIds: ['GX-2026-000042'] },
      },
    ]);
  });

  it('lets a department subscribe to its own dataset without a contract', async () => {
    const result = await gql(lixinOwner, SUBSCRIBE, { d: 'dibao', p: LIXIN_MZJ, u: 'http://localhost:9000/own' });
    expect(result.codes).toEqual([]);
    expect(result.data!.subscribeDataset).toMatchObject({ consumer: LIXIN_MZJ, provider: LIXIN_MZJ });
  });

  it('refuses a department without entitlement, saying why, and stores nothing', async () => {
    const refused = await gql(yeji, SUBSCRIBE, { d: 'dibao', p: LIXIN_MZJ, u: 'http://127.0.0.1:9000/hook' });
    expect(refused.codes).toEqual(['SUBSCRIPTION_NOT_ENTITLED']);
    expect(refused.errors[0]!.extensions).toMatchObject({ dataset: 'dibao', provider: LIXIN_MZJ });
    expect(String(refused.errors[0]!.extensions.reason)).toMatch(/341623/);
    expect(String(refused.errors[0]!.extensions.messageZh)).toMatch(/无权订阅/);
    const stranger = person('341602.mzj');
    expect((await gql(stranger, SUBSCRIBE, { d: 'dibao', p: LIXIN_MZJ, u: 'http://127.0.0.1:9000/hook' })).codes).toEqual(['SUBSCRIPTION_NOT_ENTITLED']);
    expect(await mine(yeji)).toEqual([]);
    expect(await mine(stranger)).toEqual([]);
  });

  it.each([
    ['http://10.0.0.1/hook'],
    ['http://user:pw@127.0.0.1/hook'],
    ['file:///etc/passwd'],
    ['http://127.0.0.1.evil.example/'],
    ['http://[::ffff:a00:1]/hook'],
    ['https://169.254.169.254/latest/meta-data/'],
    ['javascript:alert(1)'],
  ])('refuses the webhook %s before anything else, and stores nothing', async (url) => {
    const before = (await mine(bozhou)).length;
    const result = await gql(bozhou, SUBSCRIBE, { d: 'roster2', p: LIXIN_MZJ, u: url });
    expect(result.codes).toEqual(['WEBHOOK_URL_REFUSED']);
    expect(String(result.errors[0]!.extensions.messageEn)).toMatch(/allow-list/);
    expect(await mine(bozhou)).toHaveLength(before);
  });

  it('refuses a dataset that does not exist or that the provider does not publish', async () => {
    expect((await gql(bozhou, SUBSCRIBE, { d: 'nonesuch', p: LIXIN_MZJ, u: 'http://127.0.0.1:9/x' })).codes).toEqual(['SUBSCRIPTION_DATASET_UNKNOWN']);
    expect((await gql(bozhou, SUBSCRIBE, { d: 'dibao', p: '340000.scjgj', u: 'http://127.0.0.1:9/x' })).codes).toEqual(['SUBSCRIPTION_DATASET_UNKNOWN']);
  });

  it('needs a principal and an acting role', async () => {
    expect((await gql(null, SUBSCRIBE, { d: 'dibao', p: LIXIN_MZJ, u: 'http://127.0.0.1:9/x' })).codes).toEqual(['UNAUTHENTICATED']);
    const auditor = person(BOZHOU_MZJ, ['auditor']);
    expect((await gql(auditor, SUBSCRIBE, { d: 'roster3', p: LIXIN_MZJ, u: 'http://127.0.0.1:9/x' })).codes).toEqual(['FORBIDDEN_ACTION']);
    expect((await gql(auditor, '{ mySubscriptions { id } }')).codes).toEqual(['FORBIDDEN_ACTION']);
    const operator = person(BOZHOU_MZJ, ['operator'], 'ops@341600.mzj');
    expect((await gql(operator, SUBSCRIBE, { d: 'roster3', p: LIXIN_MZJ, u: 'http://127.0.0.1:9/x' })).codes).toEqual([]);
  });

  it('treats another department\'s subscription as one that does not exist', async () => {
    const sub = (await gql(bozhou, SUBSCRIBE, { d: 'roster4', p: LIXIN_MZJ, u: 'http://127.0.0.1:9/x' })).data!.subscribeDataset;
    const foreign = await gql(yeji, 'mutation ($id: ID!) { cancelSubscription(id: $id) { id } }', { id: sub.id });
    const missing = await gql(yeji, 'mutation ($id: ID!) { cancelSubscription(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' });
    expect(foreign.codes).toEqual(['SUBSCRIPTION_NOT_FOUND']);
    expect(missing.codes).toEqual(['SUBSCRIPTION_NOT_FOUND']);
    // Same answer, apart from the id asked about.
    expect(foreign.errors[0]!.message.replaceAll(sub.id, 'X')).toBe(missing.errors[0]!.message.replaceAll('00000000-0000-4000-8000-000000000000', 'X'));
    expect((await gql(yeji, 'query ($id: ID!) { myDeliveries(subscriptionId: $id) { id } }', { id: sub.id })).codes).toEqual(['SUBSCRIPTION_NOT_FOUND']);
    expect((await mine(yeji)).map((s) => s.id)).not.toContain(sub.id);
    expect((await mine(bozhou)).find((s) => s.id === sub.id)).toMatchObject({ state: 'ACTIVE' });

    const cancelled = await gql(bozhou, 'mutation ($id: ID!) { cancelSubscription(id: $id) { id state cancelledAt } }', { id: sub.id });
    expect(cancelled.data!.cancelSubscription).toMatchObject({ id: sub.id, state: 'CANCELLED' });
    expect(admin.filter((a) => a.kind === 'subscription-cancelled' && a.details.subscriptionId === sub.id)).toHaveLength(1);
    // Cancelling twice is harmless and not told twice.
    expect((await gql(bozhou, 'mutation ($id: ID!) { cancelSubscription(id: $id) { state } }', { id: sub.id })).data!.cancelSubscription.state).toBe('CANCELLED');
    expect(admin.filter((a) => a.kind === 'subscription-cancelled' && a.details.subscriptionId === sub.id)).toHaveLength(1);
  });

  it('bounds list sizes', async () => {
    expect((await gql(bozhou, '{ myDeadLetters(first: 0) { id } }')).codes).toEqual(['BAD_USER_INPUT']);
    expect((await gql(bozhou, '{ myDeadLetters(first: 501) { id } }')).codes).toEqual(['BAD_USER_INPUT']);
    expect((await gql(bozhou, '{ myDeadLetters(first: 500) { id } }')).codes).toEqual([]);
  });
});

describe('the exchange\'s place in the graph', () => {
  it('names its coordinates as ungoverned, and nothing else', () => {
    for (const c of ['Query.mySubscriptions', 'Query.myDeadLetters', 'Query.myDeliveries', 'Mutation.subscribeDataset', 'Mutation.cancelSubscription', 'Mutation.replayDeadLetter', 'DatasetSubscription.webhookUrl', 'DeadLetter.event', 'DatasetChange.rows', 'Delivery.status']) {
      expect(isExchangeCoordinate(c)).toBe(true);
    }
    for (const c of ['Query.person', 'Mutation.approveContract', 'AllowanceHousehold.headName', 'Query', 'DatasetSubscription']) {
      expect(isExchangeCoordinate(c)).toBe(false);
    }
  });

  it('adds a Mutation root when the graph has none, keeps an existing one, refuses clashes', () => {
    const withMutation = extendWithExchange(buildSchema('type Query { a: String } type Mutation { b: String }'), { exchange });
    expect(Object.keys(withMutation.getMutationType()!.getFields())).toEqual(['b', 'subscribeDataset', 'cancelSubscription', 'replayDeadLetter']);
    expect(schema.getMutationType()!.name).toBe('Mutation');
    expect(codeOfCall(() => extendWithExchange(buildSchema('type Query { a: String } type Delivery { x: Int }'), { exchange }))).toBe('CONFIG_INVALID');
    expect(codeOfCall(() => extendWithExchange(buildSchema('type Query { mySubscriptions: Int }'), { exchange }))).toBe('CONFIG_INVALID');
  });
});
