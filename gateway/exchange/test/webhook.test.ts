/**
 * Webhook delivery end to end: a real receiver on 127.0.0.1, the exchange on PGlite, a real
 * contract service (PGlite) for revocation, signatures checked with only the public key set.
 */
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { CompactSign, compactVerify, createLocalJWKSet, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractService, createPgliteContractStore, type ContractService, type ContractStore } from '../../../contracts/index.ts';
import { demoCatalogue, insuranceRequest } from '../../../contracts/test/fixtures.ts';
import type { Principal } from '../../../core/index.ts';
import { startExchange, type Exchange } from '../exchange.ts';
import { extendWithExchange } from '../schema.ts';
import { EVENT_JWS_TYPE, verifyEventSignature } from '../signing.ts';
import {
  arrayPipeline,
  BOZHOU_MZJ,
  captureLogger,
  eventually,
  FAST,
  grant,
  grantTable,
  LIXIN_MZJ,
  LUAN_MZJ,
  person,
  startReceiver,
  tempDir,
  YEJI_MZJ,
  type Receiver,
} from './fixtures.ts';

const pipeline = arrayPipeline();
const table = grantTable();
const logger = captureLogger();
const bozhou = person(BOZHOU_MZJ);
const yeji = person(YEJI_MZJ);
const receivers: Receiver[] = [];
let exchange: Exchange;
let schema: GraphQLSchema;
let contractStore: ContractStore;
let contracts: ContractService;
let cleanup: () => Promise<void>;
let datasets = 0;
/** A dataset of the test's own (roster1, roster2, …: the 低保 roster under other names). */
const nextDataset = () => `roster${++datasets}`;

beforeAll(async () => {
  const { dir, remove } = await tempDir();
  cleanup = remove;
  contractStore = await createPgliteContractStore({ dataDir: dir });
  contracts = createContractService({ store: contractStore, catalogue: demoCatalogue().lookup });
  // 亳州市民政局 may read 利辛县's roster rows (its jurisdiction covers 341623).
  table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId'), grant(LIXIN_MZJ, 'AllowanceHousehold.members')]);
  exchange = await startExchange({
    pipeline,
    contracts: { grants: async (department, now) => [...(await table.grants(department)), ...(await contracts.grants(department, now))] },
    dataDir: dir,
    delivery: FAST,
    // Retries run on their own timer; the poll (for kicks missed) is not what these tests wait on.
    pollMs: 60_000,
    logger,
  });
  schema = extendWithExchange(buildSchema('type Query { hub: String }'), { exchange });
}, 120_000);

afterAll(async () => {
  await exchange?.close();
  await contractStore?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await cleanup?.();
}, 60_000);

async function receiver(answer: Receiver['answer']): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

async function gql(principal: Principal, source: string, variableValues: Record<string, unknown> = {}) {
  const result = await graphql({ schema, source, variableValues, contextValue: { principal } });
  return { data: result.data as Record<string, any> | null | undefined, codes: (result.errors ?? []).map((e) => e.extensions?.code) };
}

const deliveriesOf = (principal: Principal, subscriptionId: string) => exchange.deliveries(principal, subscriptionId);

describe('webhook delivery', () => {
  it('delivers on the third attempt after two 500s, once, signed so that only the public key set verifies it', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const dataset = nextDataset();
    const sub = await exchange.subscribe(bozhou, { dataset, provider: LIXIN_MZJ, webhookUrl: `${r.url}?secret=s3cr3t-in-query` });
    const event = pipeline.publish(dataset, LIXIN_MZJ, { added: 5, changed: 2, removed: 1, rows: 42 });

    const delivered = await eventually(async () => (await deliveriesOf(bozhou, sub.id)).find((d) => d.status === 'delivered'), 10_000, 'the delivery');
    expect(delivered).toMatchObject({ attempts: 3, lastError: null, event: { id: event.id, seq: event.seq } });
    // Nothing more comes after the 2xx, whatever runs next.
    exchange.kick();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.requests.map((q) => q.status)).toEqual([500, 500, 200]);
    expect(r.requests.filter((q) => q.status >= 200 && q.status < 300)).toHaveLength(1);

    for (const [i, q] of r.requests.entries()) {
      expect(q).toMatchObject({ method: 'POST', url: '/hook?secret=s3cr3t-in-query' });
      expect(q.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(q.headers['tongxiang-event-id']).toBe(event.id);
      expect(q.headers['tongxiang-delivery-id']).toBe(delivered.id);
      expect(q.headers['tongxiang-delivery-attempt']).toBe(String(i + 1));
    }
    const last = r.requests[2]!;
    // The event, counts only, and the subscription: nothing else.
    const body = JSON.parse(last.body.toString('utf8'));
    expect(Object.keys(body)).toEqual(['id', 'seq', 'dataset', 'department', 'version', 'kind', 'added', 'changed', 'removed', 'rows', 'at', 'subscriptionId']);
    expect(body).toEqual({ ...event, subscriptionId: sub.id });

    const signature = String(last.headers['tongxiang-signature']);
    const jwks = exchange.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const [h, payload, s] = signature.split('.');
    expect(payload).toBe(''); // detached (RFC 7515 appendix F)
    expect(decodeProtectedHeader(signature)).toMatchObject({ alg: 'EdDSA', kid: jwks.keys[0]!.kid, typ: EVENT_JWS_TYPE });
    // A receiver's own check, with jose and the public keys only.
    const verified = await compactVerify(`${h}.${last.body.toString('base64url')}.${s}`, createLocalJWKSet(jwks));
    expect(Buffer.from(verified.payload).equals(last.body)).toBe(true);
    await expect(verifyEventSignature(last.body, signature, jwks)).resolves.toMatchObject({ kid: jwks.keys[0]!.kid });

    // A body changed in transit fails.
    const tampered = Buffer.from(last.body.toString('utf8').replace('"added":5', '"added":6'), 'utf8');
    expect(tampered.equals(last.body)).toBe(false);
    await expect(verifyEventSignature(tampered, signature, jwks)).rejects.toThrow();
    // A JWS made with another key, even one naming the hub's kid, fails.
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new CompactSign(last.body).setProtectedHeader({ alg: 'EdDSA', kid: jwks.keys[0]!.kid, typ: EVENT_JWS_TYPE }).sign(privateKey);
    const [fh, , fs] = forged.split('.');
    await expect(verifyEventSignature(last.body, `${fh}..${fs}`, jwks)).rejects.toThrow();

    // The log names the webhook without its query string and never carries a response body.
    const log = logger.lines.join('\n');
    expect(log).toContain('exchange webhook delivered');
    expect(log).not.toContain('s3cr3t-in-query');
    expect(log).not.toContain('SECRET-RESPONSE-BODY');
  });

  it('keeps each subscription\'s deliveries in event order: a later event waits for the one failing before it', async () => {
    const r = await receiver((n) => (n < 2 ? 503 : 204));
    const dataset = nextDataset();
    const sub = await exchange.subscribe(bozhou, { dataset, provider: LIXIN_MZJ, webhookUrl: r.url });
    const first = pipeline.publish(dataset, LIXIN_MZJ);
    const second = pipeline.publish(dataset, LIXIN_MZJ);
    await eventually(async () => (await deliveriesOf(bozhou, sub.id)).every((d) => d.status === 'delivered') && r.requests.length >= 4, 10_000, 'both deliveries');
    expect(r.requests.map((q) => [JSON.parse(q.body.toString()).id, q.status])).toEqual([
      [first.id, 503],
      [first.id, 503],
      [first.id, 204],
      [second.id, 204],
    ]);
  });

  it('dead-letters after the last attempt; the owner lists and replays it, delivered once the receiver recovers', async () => {
    let up = false;
    const r = await receiver(() => (up ? 200 : 503));
    const dataset = nextDataset();
    const sub = await exchange.subscribe(bozhou, { dataset, provider: LIXIN_MZJ, webhookUrl: r.url });
    const event = pipeline.publish(dataset, LIXIN_MZJ);

    const dead = await eventually(async () => (await deliveriesOf(bozhou, sub.id)).find((d) => d.status === 'dead'), 10_000, 'the dead letter');
    expect(dead).toMatchObject({ attempts: FAST.maxAttempts, lastError: 'HTTP 503', nextAttemptAt: null });
    exchange.kick();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.requests).toHaveLength(FAST.maxAttempts);

    const letters = await gql(bozhou, '{ myDeadLetters { id subscriptionId dataset provider attempts lastError failedAt event { id added rows } } }');
    expect(letters.codes).toEqual([]);
    const letter = letters.data!.myDeadLetters.find((l: { id: string }) => l.id === dead.id);
    expect(letter).toMatchObject({ subscriptionId: sub.id, dataset, provider: LIXIN_MZJ, attempts: 3, lastError: 'HTTP 503', event: { id: event.id, added: 3, rows: 120 } });
    expect(JSON.stringify(letters.data)).not.toContain('SECRET-RESPONSE-BODY');

    // Another department sees nothing of it and cannot replay it.
    expect((await gql(yeji, '{ myDeadLetters { id } }')).data!.myDeadLetters.map((l: { id: string }) => l.id)).not.toContain(dead.id);
    expect((await gql(yeji, 'mutation ($id: ID!) { replayDeadLetter(id: $id) { id } }', { id: dead.id })).codes).toEqual(['DELIVERY_NOT_FOUND']);
    // Only dead letters replay.
    const other = await exchange.subscribe(bozhou, { dataset: nextDataset(), provider: LIXIN_MZJ, webhookUrl: r.url });
    expect((await gql(bozhou, 'mutation ($id: ID!) { replayDeadLetter(id: $id) { id } }', { id: other.id })).codes).toEqual(['DELIVERY_NOT_FOUND']);

    up = true;
    const replayed = await gql(bozhou, 'mutation ($id: ID!) { replayDeadLetter(id: $id) { id status attempts event { id } } }', { id: dead.id });
    expect(replayed.codes).toEqual([]);
    expect(replayed.data!.replayDeadLetter).toMatchObject({ id: dead.id, status: 'PENDING', attempts: 0, event: { id: event.id } });
    const done = await eventually(async () => (await deliveriesOf(bozhou, sub.id)).find((d) => d.status === 'delivered'), 10_000, 'the replayed delivery');
    expect(done).toMatchObject({ id: dead.id, attempts: 1 });
    expect(r.requests.map((q) => q.status)).toEqual([503, 503, 503, 200]);
    expect((await gql(bozhou, 'mutation ($id: ID!) { replayDeadLetter(id: $id) { id } }', { id: dead.id })).codes).toEqual(['DELIVERY_NOT_REPLAYABLE']);
    expect((await gql(bozhou, '{ myDeadLetters { id } }')).data!.myDeadLetters.map((l: { id: string }) => l.id)).not.toContain(dead.id);
  });

  it('does not send, retry or dead-letter an event whose contract was revoked between the event and its delivery', async () => {
    const r = await receiver(() => 200);
    const luanDev = person(LUAN_MZJ);
    const owner = person(YEJI_MZJ, ['data_owner']);
    // 六安市民政局 asks 叶集区民政局 for its 低保 roster (AllowanceHousehold is 叶集区's in the catalogue).
    const requested = await contracts.request(
      luanDev,
      insuranceRequest(Date.now(), { provider: YEJI_MZJ, fields: [{ coordinate: 'AllowanceHousehold.householdId', mode: 'clear' }], quotas: { requestsPerMinute: null, recordsPerDay: null } }),
    );
    const active = await contracts.approve(owner, requested.id);
    expect(active.state).toBe('active');
    const sub = await exchange.subscribe(luanDev, { dataset: 'dibao', provider: YEJI_MZJ, webhookUrl: r.url });

    // The event is in the outbox; before the dispatcher gets to it, the owner revokes the contract.
    const event = pipeline.publish('dibao', YEJI_MZJ, {}, { notify: false });
    await contracts.revoke(owner, active.id, '核查工作结束');
    exchange.kick();
    const refused = await eventually(async () => (await deliveriesOf(luanDev, sub.id)).find((d) => d.event.id === event.id && d.status !== 'pending'), 10_000, 'the decision');
    expect(refused).toMatchObject({ status: 'not-entitled', attempts: 0, deliveredAt: null, nextAttemptAt: null });
    expect(refused.lastError).toMatch(/^not entitled: /);

    // Later events too; none of it is a dead letter, and the receiver heard nothing.
    const later = pipeline.publish('dibao', YEJI_MZJ);
    await eventually(async () => (await deliveriesOf(luanDev, sub.id)).find((d) => d.event.id === later.id && d.status === 'not-entitled'), 10_000, 'the later decision');
    exchange.kick();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.requests).toHaveLength(0);
    expect(await exchange.deadLetters(luanDev)).toEqual([]);
    // Subscribing again is refused now, with the reason.
    await expect(exchange.subscribe(luanDev, { dataset: 'dibao', provider: YEJI_MZJ, webhookUrl: `${r.url}/2` })).rejects.toMatchObject({ code: 'SUBSCRIPTION_NOT_ENTITLED' });
  });

  it('stops delivering to a cancelled subscription', async () => {
    const r = await receiver(() => 200);
    const dataset = nextDataset();
    const sub = await exchange.subscribe(bozhou, { dataset, provider: LIXIN_MZJ, webhookUrl: r.url });
    const cancelled = await gql(bozhou, 'mutation ($id: ID!) { cancelSubscription(id: $id) { id state cancelledAt } }', { id: sub.id });
    expect(cancelled.data!.cancelSubscription).toMatchObject({ id: sub.id, state: 'CANCELLED' });
    pipeline.publish(dataset, LIXIN_MZJ);
    exchange.kick();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.requests).toHaveLength(0);
    expect(await deliveriesOf(bozhou, sub.id)).toEqual([]);
  });
});
