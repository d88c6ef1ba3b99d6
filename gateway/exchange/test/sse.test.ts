/**
 * The GraphQL subscription over SSE on a real Fastify server, read by graphql-sse's own client:
 * an entitled department receives the event, an unentitled one nothing of that provider, no
 * token is a 401 — and the public keys are served beside it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { createClient, type Client } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TongxiangError, type Principal } from '../../../core/index.ts';
import { startExchange, type Exchange } from '../exchange.ts';
import { registerExchangeRoutes } from '../sse.ts';
import { arrayPipeline, BOZHOU_MZJ, captureLogger, eventually, grant, grantTable, LIXIN_MZJ, person, tempDir, YEJI_MZJ } from './fixtures.ts';

const pipeline = arrayPipeline();
const table = grantTable();
const TOKENS: Record<string, Principal> = {
  'token-bozhou': person(BOZHOU_MZJ),
  'token-yeji': person(YEJI_MZJ),
};
let exchange: Exchange;
let app: FastifyInstance;
let base = '';
let cleanup: () => Promise<void>;
const clients: Client[] = [];

/** Stands in for the hub's identity: a bearer token to a principal, UNAUTHENTICATED otherwise. */
async function authenticate(authorization: string | undefined): Promise<Principal> {
  if (!authorization) throw new TongxiangError('UNAUTHENTICATED', { reason: 'missing' });
  const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
  const principal = token ? TOKENS[token] : undefined;
  if (!principal) throw new TongxiangError('UNAUTHENTICATED', { reason: 'bad signature' });
  return principal;
}

beforeAll(async () => {
  const { dir, remove } = await tempDir();
  cleanup = remove;
  table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId')]);
  exchange = await startExchange({ pipeline, contracts: table, dataDir: dir, pollMs: 60_000, logger: captureLogger() });
  app = Fastify({ logger: false, forceCloseConnections: true });
  registerExchangeRoutes(app, exchange, { authenticate });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.dispose();
  await exchange?.close();
  await app?.close();
  await cleanup?.();
}, 60_000);

function client(token: string): Client {
  const c = createClient({ url: `${base}/graphql/stream`, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0, fetchFn: fetch });
  clients.push(c);
  return c;
}

interface Received {
  readonly events: Record<string, unknown>[];
  readonly errors: unknown[];
  done: boolean;
}

function listen(c: Client, dataset: string, provider: string | null): Received {
  const received: Received = { events: [], errors: [], done: false };
  c.subscribe(
    {
      query: 'subscription ($d: String!, $p: String) { datasetChanged(dataset: $d, provider: $p) { id seq dataset department version kind added changed removed rows at } }',
      variables: { d: dataset, p: provider },
    },
    {
      next: (result) => {
        if (result.errors) received.errors.push(...result.errors);
        if (result.data) received.events.push(result.data.datasetChanged as Record<string, unknown>);
      },
      error: (error) => void received.errors.push(error),
      complete: () => void (received.done = true),
    },
  );
  return received;
}

describe('GraphQL subscriptions over SSE', () => {
  it('delivers an event to an entitled department and nothing of that provider to an unentitled one', async () => {
    const entitled = listen(client('token-bozhou'), 'dibao', LIXIN_MZJ);
    // 叶集区 listens to every provider of the roster: it is entitled to its own, not to 利辛县's.
    const unentitled = listen(client('token-yeji'), 'dibao', null);
    await eventually(async () => (await exchange.status()).liveStreams === 2, 10_000, 'both streams to open');

    const lixin = pipeline.publish('dibao', LIXIN_MZJ, { added: 7, changed: 0, removed: 2, rows: 99 });
    const own = pipeline.publish('dibao', YEJI_MZJ);
    await eventually(() => entitled.events.length >= 1 && unentitled.events.length >= 1, 10_000, 'the events');

    expect(entitled.events).toEqual([{ ...lixin }]);
    // The sentinel (its own roster) came after 利辛县's event, which it never saw.
    expect(unentitled.events).toEqual([{ ...own }]);
    expect(entitled.errors).toEqual([]);
    expect(unentitled.errors).toEqual([]);
  });

  it('refuses a stream for a named provider the caller is not entitled to', async () => {
    const refused = listen(client('token-yeji'), 'dibao', LIXIN_MZJ);
    await eventually(() => refused.errors.length > 0 || refused.done, 10_000, 'the refusal');
    expect(JSON.stringify(refused.errors)).toContain('SUBSCRIPTION_NOT_ENTITLED');
    expect(refused.events).toEqual([]);
  });

  it('stops handing out events once the contract is gone, as each is sent', async () => {
    const before = (await exchange.status()).liveStreams;
    const stream = listen(client('token-bozhou'), 'dibao', LIXIN_MZJ);
    await eventually(async () => (await exchange.status()).liveStreams === before + 1, 10_000, 'the stream to open');
    table.set(BOZHOU_MZJ, []);
    try {
      pipeline.publish('dibao', LIXIN_MZJ);
      // 亳州市 is entitled to its own roster: the sentinel.
      const sentinel = pipeline.publish('dibao', BOZHOU_MZJ);
      const own = listen(client('token-bozhou'), 'dibao', null);
      await eventually(async () => (await exchange.status()).liveStreams === before + 2, 10_000, 'the second stream');
      const second = pipeline.publish('dibao', BOZHOU_MZJ);
      await eventually(() => own.events.length >= 1, 10_000, 'the sentinel');
      expect(own.events.map((e) => e.id)).toEqual([second.id]);
      expect(sentinel.seq).toBeLessThan(second.seq);
      expect(stream.events).toEqual([]);
    } finally {
      table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId')]);
    }
  });

  it('answers 401 with a coded body and a challenge without a token or with a bad one', async () => {
    const body = JSON.stringify({ query: 'subscription { datasetChanged(dataset: "dibao") { id } }' });
    for (const headers of [{}, { authorization: 'Bearer forged' }] as Record<string, string>[]) {
      const response = await fetch(`${base}/graphql/stream`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="tongxiang"/);
      const json = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(json.errors[0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('serves the webhook signing keys, public parts only', async () => {
    const response = await fetch(`${base}/exchange/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(jwks).toEqual(exchange.jwks());
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});
