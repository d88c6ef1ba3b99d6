/**
 * A hub restart in the middle of a retry: the pending delivery goes on from the store, what was
 * delivered is not delivered again, what was published while the hub was down is picked up (by
 * the start-up read and the poll: no listener heard it), and no event is enqueued twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExchange, type Exchange, type ExchangeOptions } from '../exchange.ts';
import { createPgliteExchangeStore } from '../store.ts';
import { arrayPipeline, BOZHOU_MZJ, captureLogger, eventually, grant, grantTable, LIXIN_MZJ, person, startReceiver, tempDir, type Receiver } from './fixtures.ts';

const pipeline = arrayPipeline();
const table = grantTable();
const bozhou = person(BOZHOU_MZJ);
let dir = '';
let cleanup: () => Promise<void>;
let receiver: Receiver;
const running: Exchange[] = [];

const options = (): ExchangeOptions => ({
  pipeline,
  contracts: table,
  dataDir: dir,
  // The first retry comes well after the test has stopped the hub.
  delivery: { timeoutMs: 2_000, baseDelayMs: 400, maxDelayMs: 400, maxAttempts: 5 },
  pollMs: 100,
  logger: captureLogger(),
});

async function start(): Promise<Exchange> {
  const exchange = await startExchange(options());
  running.push(exchange);
  return exchange;
}

beforeAll(async () => {
  ({ dir, remove: cleanup } = await tempDir());
  table.set(BOZHOU_MZJ, [grant(LIXIN_MZJ, 'AllowanceHousehold.householdId')]);
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
  await receiver?.close();
  await cleanup?.();
}, 60_000);

describe('restart', () => {
  it('continues the pending delivery after a restart mid-retry, delivering nothing twice and enqueueing nothing twice', async () => {
    let healthy = true;
    receiver = await startReceiver(() => (healthy ? 200 : 500));
    const first = await start();
    const sub = await first.subscribe(bozhou, { dataset: 'dibao', provider: LIXIN_MZJ, webhookUrl: receiver.url });

    const e1 = pipeline.publish('dibao', LIXIN_MZJ);
    await eventually(async () => (await first.deliveries(bozhou, sub.id)).some((d) => d.status === 'delivered'), 10_000, 'the first delivery');

    healthy = false;
    const e2 = pipeline.publish('dibao', LIXIN_MZJ);
    await eventually(async () => (await first.deliveries(bozhou, sub.id)).find((d) => d.event.id === e2.id && d.attempts === 1), 10_000, 'the first failed attempt');
    await first.close();

    // While the hub is down: the receiver recovers, and another version is published.
    healthy = true;
    const e3 = pipeline.publish('dibao', LIXIN_MZJ);
    expect(receiver.requests).toHaveLength(2);

    const second = await start();
    await eventually(async () => {
      const list = await second.deliveries(bozhou, sub.id);
      return list.length === 3 && list.every((d) => d.status === 'delivered');
    }, 10_000, 'every delivery after the restart');
    second.kick();
    await new Promise((resolve) => setTimeout(resolve, 200));

    const seen = receiver.requests.map((q) => [JSON.parse(q.body.toString()).id, q.status]);
    expect(seen).toEqual([
      [e1.id, 200],
      [e2.id, 500],
      [e2.id, 200],
      [e3.id, 200],
    ]);
    const list = await second.deliveries(bozhou, sub.id);
    expect(list.map((d) => d.event.id).sort()).toEqual([e1.id, e2.id, e3.id].sort());
    expect(list.find((d) => d.event.id === e2.id)).toMatchObject({ attempts: 2, lastError: null });
    expect((await second.status()).webhookCursor).toBe(e3.seq);
    await second.close();

    // The store itself: one delivery row per event, the cursor at the last event.
    const store = await createPgliteExchangeStore({ dataDir: dir });
    try {
      const rows = await store.listDeliveries({ subscriptionId: sub.id, limit: 100 });
      expect(rows).toHaveLength(3);
      expect(await store.cursor('webhooks')).toBe(e3.seq);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('delivers an event no listener told it of (another replica published it) on its next poll', async () => {
    const exchange = await start();
    const sub = await exchange.subscribe(bozhou, { dataset: 'roster1', provider: LIXIN_MZJ, webhookUrl: `${receiver.url}/polled` });
    const event = pipeline.publish('roster1', LIXIN_MZJ, {}, { notify: false });
    const delivered = await eventually(async () => (await exchange.deliveries(bozhou, sub.id)).find((d) => d.status === 'delivered'), 5_000, 'the poll');
    expect(delivered.event.id).toBe(event.id);
    expect(receiver.requests.filter((q) => q.url === '/hook/polled')).toHaveLength(1);
  });
});
