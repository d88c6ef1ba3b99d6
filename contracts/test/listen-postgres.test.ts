/**
 * Cross-replica invalidation on real PostgreSQL: two stores on one schema stand for two replicas;
 * the second follows the first's changes through LISTEN/NOTIFY, wired as the hub wires it
 * (gateway/governance.ts). A lost LISTEN connection makes the cache untrusted until LISTEN is back,
 * and then empties it: notifications sent meanwhile are gone. Unreachable PostgreSQL fails the run
 * when CI=true and skips it, saying so, elsewhere.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openPg } from '../db.ts';
import { CONTRACT_CHANNEL, contractChangePayload, listenForContractChanges, type ContractChange, type ContractListener } from '../listen.ts';
import { createContractService, type ContractService } from '../service.ts';
import { createPgContractStore } from '../store.ts';
import type { ContractStore } from '../store.ts';
import { demoCatalogue, insuranceRequest, LIXIN_MZJ, manualClock, person, RSJ, YEJI_MZJ } from './fixtures.ts';

const url = process.env.TONGXIANG_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const inCI = process.env.CI === 'true';
/** The bound docs/scaling.md states for a listening replica. */
const BOUND_MS = 1000;

async function reachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message || (error as { code?: string }).code || 'unreachable';
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > deadlineMs) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Replica {
  readonly store: ContractStore;
  readonly service: ContractService;
  readonly events: { changes: ContractChange[]; listening: number; lost: number; ignored: number };
  listener?: ContractListener;
}

const problem = await reachable();

if (problem === null) {
  describe('contract cache across replicas (PostgreSQL LISTEN/NOTIFY)', () => {
    const schema = `tx_listen_${randomBytes(6).toString('hex')}`;
    const appName = `tongxiang-listen-test-${randomBytes(4).toString('hex')}`;
    const opened: Replica[] = [];
    const catalogue = demoCatalogue();
    const clock = manualClock();
    const consumer = person(YEJI_MZJ, ['developer']);
    const owner = person(RSJ, ['data_owner']);

    /** A replica: its own store (pool) on the shared schema; `follow` wires the listener as governance does. */
    async function replica(follow: boolean): Promise<Replica> {
      const store = await createPgContractStore({ connectionString: url, schema, poolSize: 2 });
      const service = createContractService({ store, catalogue: catalogue.lookup, clock });
      const r: Replica = { store, service, events: { changes: [], listening: 0, lost: 0, ignored: 0 } };
      opened.push(r);
      if (follow) {
        service.trustCache(false);
        r.listener = listenForContractChanges({
          connectionString: url,
          schema,
          applicationName: appName,
          retryMs: 300,
          pingMs: 200,
          pingTimeoutMs: 500,
          onChange: (change) => {
            r.events.changes.push(change);
            service.invalidate(change.consumer);
          },
          onListening: () => {
            r.events.listening++;
            service.trustCache(true);
          },
          onLost: () => {
            r.events.lost++;
            service.trustCache(false);
          },
          onIgnored: () => {
            r.events.ignored++;
          },
        });
        await r.listener.started;
        expect(r.listener.listening).toBe(true);
      }
      return r;
    }

    afterEach(async () => {
      for (const r of opened.splice(0)) {
        await r.listener?.close();
        await r.store.close();
      }
      const db = openPg(url, 'public', 1);
      await db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => db.close());
    });

    async function activeContract(on: Replica): Promise<string> {
      const requested = await on.service.request(consumer, insuranceRequest(clock.now()));
      return (await on.service.approve(owner, requested.id)).id;
    }

    it('shows a contract approved on one replica in the other\'s grants within 1 s, and its suspension likewise', async () => {
      const one = await replica(false);
      const two = await replica(true);
      expect(await two.service.grants(YEJI_MZJ)).toEqual([]); // cached: nothing active yet

      const id = await activeContract(one);
      const applied = await until('the approval reaches replica two', async () => (await two.service.grants(YEJI_MZJ)).length > 0, BOUND_MS);
      expect(two.events.changes.some((c) => c.contractId === id && c.consumer === YEJI_MZJ && c.schema === schema)).toBe(true);

      await one.service.suspend(owner, id, '核查 / review');
      const suspended = await until('the suspension reaches replica two', async () => (await two.service.grants(YEJI_MZJ)).length === 0, BOUND_MS);
      console.info(`contract change propagation: approval ${applied.toFixed(1)} ms, suspension ${suspended.toFixed(1)} ms`);
    });

    it('sends one notification per stored step and none for a refused one', async () => {
      const one = await replica(false);
      const two = await replica(true);
      const requested = await one.service.request(consumer, insuranceRequest(clock.now()));
      await until('the request is notified', () => two.events.changes.filter((c) => c.contractId === requested.id).length >= 2, BOUND_MS);
      const before = two.events.changes.length;
      await one.service.approve(owner, requested.id);
      await until('the approval is notified', () => two.events.changes.length === before + 1, BOUND_MS);
      // Approving it again is refused: nothing stored, nothing sent.
      await expect(one.service.approve(owner, requested.id)).rejects.toMatchObject({ code: 'CONTRACT_TRANSITION_INVALID' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(two.events.changes.length).toBe(before + 1);
    });

    it('ignores notifications of another schema on the same channel', async () => {
      const two = await replica(true);
      await sql('SELECT pg_notify($1, $2)', [CONTRACT_CHANNEL, contractChangePayload({ schema: 'someone_else', consumer: YEJI_MZJ, contractId: 'GX-2026-999999' })]);
      await sql('SELECT pg_notify($1, $2)', [CONTRACT_CHANNEL, 'not json']);
      await until('both are seen and ignored', () => two.events.ignored === 2, BOUND_MS);
      expect(two.events.changes).toEqual([]);
    });

    it('after a lost LISTEN connection reads through while it is down and empties the whole cache once listening again', async () => {
      const one = await replica(false);
      const two = await replica(true);
      // Both departments cached with nothing active.
      expect(await two.service.grants(YEJI_MZJ)).toEqual([]);
      expect(await two.service.grants(LIXIN_MZJ)).toEqual([]);
      expect(two.events.listening).toBe(1);

      // The server drops the LISTEN connection (a failover, a restart, an idle-connection killer).
      const killed = await sql<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [appName]);
      expect(killed.map((r) => r.ok)).toEqual([true]);
      await until('the loss is noticed', () => two.events.lost === 1, 3000);
      expect(two.listener!.listening).toBe(false);

      // Changed while nobody listened: the notifications are lost for replica two.
      const seen = two.events.changes.length;
      await activeContract(one);
      // While down, the cache is not used: the change is visible at once.
      expect((await two.service.grants(YEJI_MZJ)).length).toBeGreaterThan(0);

      await until('LISTEN is back', () => two.events.listening === 2, 5000);
      expect(two.listener!.listening).toBe(true);
      expect(two.events.changes.length).toBe(seen); // those notifications never arrived
      expect((await two.service.grants(YEJI_MZJ)).length).toBeGreaterThan(0);

      // And the cache works again: cached now, invalidated by the next notification.
      const id = (await two.service.grants(YEJI_MZJ))[0]!.contractId;
      await one.service.revoke(owner, id, '撤销 / revoked');
      await until('the revocation reaches replica two', async () => (await two.service.grants(YEJI_MZJ)).length === 0, BOUND_MS);
    });
  });

  describe('contract cache: trustCache and invalidate', () => {
    it('empties the cache when trusted again, so a change made behind its back is seen', async () => {
      const schema = `tx_listen_${randomBytes(6).toString('hex')}`;
      const clock = manualClock();
      const catalogue = demoCatalogue();
      const a = await createPgContractStore({ connectionString: url, schema, poolSize: 1 });
      const b = await createPgContractStore({ connectionString: url, schema, poolSize: 1 });
      try {
        const one = createContractService({ store: a, catalogue: catalogue.lookup, clock });
        const two = createContractService({ store: b, catalogue: catalogue.lookup, clock });
        expect(await two.grants(YEJI_MZJ)).toEqual([]);
        const requested = await one.request(person(YEJI_MZJ, ['developer']), insuranceRequest(clock.now()));
        await one.approve(person(RSJ, ['data_owner']), requested.id);
        expect(await two.grants(YEJI_MZJ)).toEqual([]); // no listener: still the cached list
        two.trustCache(true);
        expect((await two.grants(YEJI_MZJ)).length).toBeGreaterThan(0);
        await one.suspend(person(RSJ, ['data_owner']), requested.id);
        expect((await two.grants(YEJI_MZJ)).length).toBeGreaterThan(0);
        two.invalidate();
        expect(await two.grants(YEJI_MZJ)).toEqual([]);
      } finally {
        await a.close();
        await b.close();
        const db = openPg(url, 'public', 1);
        await db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => db.close());
      }
    });
  });
} else if (inCI) {
  describe('contract cache across replicas on PostgreSQL', () => {
    it(`reaches PostgreSQL at ${url}`, () => {
      throw new Error(`PostgreSQL is required in CI and is unreachable: ${problem}`);
    });
  });
} else {
  console.warn(`contracts: LISTEN/NOTIFY suite skipped, ${url} unreachable (${problem}); CI=true makes this a failure`);
  describe.skip(`contract cache across replicas — skipped: ${url} unreachable (${problem}); CI=true makes this a failure`, () => {
    it('follows other replicas\' changes', () => undefined);
  });
}
