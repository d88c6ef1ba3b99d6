/**
 * The exchange store's behaviour, run against PGlite and PostgreSQL alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../sources/filedrop/model.ts';
import type { DeliveryOutcome } from '../model.ts';
import type { ExchangeStore } from '../store.ts';
import { BOZHOU_MZJ, LIXIN_MZJ, YEJI_MZJ } from './fixtures.ts';

export interface StoreHarness {
  /** Opens the store (again: same data). */
  open(): Promise<ExchangeStore>;
  /** A second, simultaneously open store on the same data (another replica), where the driver allows it. */
  readonly replica?: (() => Promise<ExchangeStore>) | undefined;
  dispose(): Promise<void>;
}

let seqs = 1_000;
function event(dataset: string, department: string, version: number): ChangeEvent {
  seqs += 2;
  return { id: `${dataset}/${department}/v${version}`, seq: seqs, dataset, department, version, kind: 'file', added: 1, changed: 2, removed: 3, rows: 40, at: new Date().toISOString() };
}

const T = (ms: number) => new Date(Date.UTC(2026, 10, 1) + ms);

const delivered = (attempts: number, at: Date): DeliveryOutcome => ({ status: 'delivered', attempts, nextAttemptAt: null, lastAttemptAt: at, lastError: null, deliveredAt: at });

export function defineExchangeStoreSuite(name: string, make: () => Promise<StoreHarness>): void {
  describe(`exchange store on ${name}`, () => {
    let harness: StoreHarness;
    let store: ExchangeStore;
    let n = 0;
    /** A dataset of the test's own, so tests do not see each other's deliveries. */
    const dataset = () => `ds${++n}`;

    beforeAll(async () => {
      harness = await make();
      store = await harness.open();
    }, 120_000);

    afterAll(async () => {
      await store?.close();
      await harness?.dispose();
    }, 60_000);

    const sub = (ds: string, consumer = BOZHOU_MZJ, url = `http://127.0.0.1:9/${ds}`) =>
      store.createSubscription({ consumer, createdBy: `dev@${consumer}`, dataset: ds, provider: LIXIN_MZJ, webhookUrl: url }, T(0)).then((r) => r.subscription);

    it('enqueues one delivery per active subscription and event, and never twice', async () => {
      const ds = dataset();
      const a = await sub(ds);
      const b = await sub(ds, YEJI_MZJ);
      const e1 = event(ds, LIXIN_MZJ, 1);
      const e2 = event(ds, LIXIN_MZJ, 2);
      const other = event(ds, YEJI_MZJ, 1);
      const first = await store.enqueue([e1, e2, other], T(1));
      expect(first).toEqual({ cursor: other.seq, enqueued: 4 });
      // The same events again, and overlapping batches: nothing new.
      expect(await store.enqueue([e1, e2, other], T(2))).toEqual({ cursor: other.seq, enqueued: 0 });
      expect(await store.enqueue([e2], T(2))).toEqual({ cursor: other.seq, enqueued: 0 });
      const all = await store.listDeliveries({ consumer: BOZHOU_MZJ, limit: 500 });
      expect(all.filter((d) => d.subscriptionId === a.id).map((d) => d.event.id).sort()).toEqual([e1.id, e2.id]);
      expect((await store.listDeliveries({ subscriptionId: b.id })).map((d) => d.event.id).sort()).toEqual([e1.id, e2.id]);
      const d = (await store.listDeliveries({ subscriptionId: a.id })).find((x) => x.event.id === e1.id)!;
      expect(d).toMatchObject({ consumer: BOZHOU_MZJ, dataset: ds, provider: LIXIN_MZJ, status: 'pending', attempts: 0, event: e1 });
      expect(await store.cursor('webhooks')).toBe(other.seq);
    });

    it('enqueues each event once when replicas enqueue the same events at the same time', async () => {
      const ds = dataset();
      const s = await sub(ds);
      const events = Array.from({ length: 6 }, (_, i) => event(ds, LIXIN_MZJ, i + 1));
      const other = harness.replica ? await harness.replica() : store;
      try {
        // Each replica reads the outbox from the cursor it last saw: a prefix of what is new, or all of it.
        const results = await Promise.all([store.enqueue(events, T(1)), other.enqueue(events.slice(0, 4), T(1)), other.enqueue(events, T(1)), store.enqueue(events.slice(0, 3), T(1))]);
        expect(results.reduce((sum, r) => sum + r.enqueued, 0)).toBe(6);
        const list = await store.listDeliveries({ subscriptionId: s.id, limit: 100 });
        expect(list.map((d) => d.event.seq).sort((x, y) => x - y)).toEqual(events.map((e) => e.seq));
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('a subscription hears only of events past the outbox position it was made at', async () => {
      const ds = dataset();
      const before = event(ds, LIXIN_MZJ, 1);
      await store.enqueue([before], T(1));
      const s = await sub(ds);
      expect(s.afterSeq).toBe(before.seq);
      const after = event(ds, LIXIN_MZJ, 2);
      // A late replica handing over the earlier event again changes nothing.
      await store.enqueue([before, after], T(2));
      expect((await store.listDeliveries({ subscriptionId: s.id })).map((d) => d.event.id)).toEqual([after.id]);
    });

    it('returns the active subscription again instead of a duplicate, and a new one after cancelling', async () => {
      const ds = dataset();
      const first = await store.createSubscription({ consumer: BOZHOU_MZJ, createdBy: 'a', dataset: ds, provider: LIXIN_MZJ, webhookUrl: 'http://127.0.0.1:9/x' }, T(0));
      const again = await store.createSubscription({ consumer: BOZHOU_MZJ, createdBy: 'b', dataset: ds, provider: LIXIN_MZJ, webhookUrl: 'http://127.0.0.1:9/x' }, T(1));
      expect(first.created).toBe(true);
      expect(again).toEqual({ subscription: first.subscription, created: false });
      const cancelled = await store.cancelSubscription(first.subscription.id, 'a', T(2));
      expect(cancelled).toMatchObject({ state: 'cancelled', cancelledBy: 'a', cancelledAt: T(2) });
      // Cancelling again keeps who and when it was first cancelled.
      expect(await store.cancelSubscription(first.subscription.id, 'b', T(3))).toMatchObject({ cancelledBy: 'a', cancelledAt: T(2) });
      const fresh = await store.createSubscription({ consumer: BOZHOU_MZJ, createdBy: 'b', dataset: ds, provider: LIXIN_MZJ, webhookUrl: 'http://127.0.0.1:9/x' }, T(4));
      expect(fresh.created).toBe(true);
      expect(fresh.subscription.id).not.toBe(first.subscription.id);
      expect((await store.listSubscriptions(BOZHOU_MZJ)).filter((s) => s.dataset === ds).map((s) => s.state)).toEqual(['active', 'cancelled']);
      expect(await store.cancelSubscription('no-such-id', 'a', T(5))).toBeNull();
      expect(await store.getSubscription('no-such-id')).toBeNull();
    });

    it('offers per subscription only its first pending delivery, in event order, and each claim to one holder', async () => {
      const ds = dataset();
      const s = await sub(ds);
      const [e1, e2, e3] = [event(ds, LIXIN_MZJ, 1), event(ds, LIXIN_MZJ, 2), event(ds, LIXIN_MZJ, 3)];
      await store.enqueue([e1, e2, e3], T(0));
      const mine = async (at: number) => (await store.dueHeads(T(at), 100)).filter((d) => d.subscriptionId === s.id);

      const [head] = await mine(10);
      expect(head).toMatchObject({ event: e1, webhookUrl: `http://127.0.0.1:9/${ds}`, subscriptionState: 'active' });
      expect(await mine(10)).toHaveLength(1);
      const claims = await Promise.all([store.claim(head!.id, 'one', T(60_000), T(10)), store.claim(head!.id, 'two', T(60_000), T(10))]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      const holder = claims[0] ? 'one' : 'two';
      // Claimed: not offered, and the next one in order is not offered either.
      expect(await mine(20)).toEqual([]);
      expect(await store.nextDueAt()).not.toBeNull();
      // Only the holder records the outcome.
      expect(await store.finish(head!.id, holder === 'one' ? 'two' : 'one', delivered(1, T(30)), T(30))).toBe(false);
      expect(await store.finish(head!.id, holder, { status: 'pending', attempts: 1, nextAttemptAt: T(5_000), lastAttemptAt: T(30), lastError: 'HTTP 500', deliveredAt: null }, T(30))).toBe(true);
      // Retrying later: still the head, not due before its time, e2 waits behind it.
      expect(await mine(1_000)).toEqual([]);
      expect((await mine(5_000)).map((d) => d.event.id)).toEqual([e1.id]);
      expect(await store.claim(head!.id, 'one', T(65_000), T(5_000))).toBe(true);
      expect(await store.finish(head!.id, 'one', delivered(2, T(5_001)), T(5_001))).toBe(true);
      expect((await mine(5_002)).map((d) => d.event.id)).toEqual([e2.id]);
      const done = await store.getDelivery(head!.id);
      expect(done).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: T(5_001), lastAttemptAt: T(5_001), lastError: null });
      expect(done).not.toHaveProperty('webhookUrl');
      // A lapsed claim can be taken over.
      const [second] = await mine(5_002);
      expect(await store.claim(second!.id, 'crashed', T(6_000), T(5_002))).toBe(true);
      expect(await store.claim(second!.id, 'next', T(70_000), T(6_001))).toBe(true);
      expect(await store.finish(second!.id, 'crashed', delivered(1, T(6_002)), T(6_002))).toBe(false);
    });

    it('cancelling a subscription stops its pending deliveries', async () => {
      const ds = dataset();
      const s = await sub(ds);
      await store.enqueue([event(ds, LIXIN_MZJ, 1), event(ds, LIXIN_MZJ, 2)], T(0));
      await store.cancelSubscription(s.id, 'dev', T(1));
      expect((await store.listDeliveries({ subscriptionId: s.id })).map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
      expect((await store.dueHeads(T(10), 100)).filter((d) => d.subscriptionId === s.id)).toEqual([]);
      // Events after cancelling are not enqueued for it.
      await store.enqueue([event(ds, LIXIN_MZJ, 3)], T(2));
      expect(await store.listDeliveries({ subscriptionId: s.id })).toHaveLength(2);
    });

    it('replays only a dead delivery: back to pending, attempts reset, due now', async () => {
      const ds = dataset();
      const s = await sub(ds);
      const e1 = event(ds, LIXIN_MZJ, 1);
      await store.enqueue([e1], T(0));
      const [d] = (await store.dueHeads(T(1), 100)).filter((x) => x.subscriptionId === s.id);
      expect(await store.replay(d!.id, T(1))).toBeNull();
      await store.claim(d!.id, 'h', T(60_000), T(1));
      await store.finish(d!.id, 'h', { status: 'dead', attempts: 3, nextAttemptAt: null, lastAttemptAt: T(2), lastError: 'ECONNREFUSED', deliveredAt: null }, T(2));
      const dead = await store.listDeliveries({ consumer: BOZHOU_MZJ, status: 'dead', limit: 10 });
      expect(dead.map((x) => x.id)).toContain(d!.id);
      const replayed = await store.replay(d!.id, T(3));
      expect(replayed).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T(3), lastError: 'ECONNREFUSED' });
      expect(await store.replay(d!.id, T(4))).toBeNull();
      expect((await store.dueHeads(T(3), 100)).map((x) => x.id)).toContain(d!.id);
    });

    it('moves cursors forward only', async () => {
      await store.advanceCursor('kafka:test', 10, T(0));
      await store.advanceCursor('kafka:test', 7, T(1));
      expect(await store.cursor('kafka:test')).toBe(10);
      await store.advanceCursor('kafka:test', 12, T(2));
      expect(await store.cursor('kafka:test')).toBe(12);
      expect(await store.cursor('kafka:never')).toBe(0);
    });

    it('lists newest first within a limit, and keeps everything across a reopen', async () => {
      const ds = dataset();
      const s = await sub(ds);
      await store.enqueue([1, 2, 3, 4].map((v) => event(ds, LIXIN_MZJ, v)), T(0));
      expect(await store.listDeliveries({ subscriptionId: s.id, limit: 2 })).toHaveLength(2);
      const cursor = await store.cursor('webhooks');
      await store.close();
      store = await harness.open();
      expect(await store.getSubscription(s.id)).toEqual(s);
      expect(await store.listDeliveries({ subscriptionId: s.id, limit: 10 })).toHaveLength(4);
      expect(await store.cursor('webhooks')).toBe(cursor);
      await store.ping();
    });
  });
}
