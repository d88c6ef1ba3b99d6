/**
 * The behaviour every audit log store passes (the JSONL file, PostgreSQL): `defineAuditStoreSuite`
 * runs once per implementation, like the contract store's conformance suite. Each test opens a
 * fresh log (a new file, or a new schema) so tests never see each other's entries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditLogStore, LogEntry } from '../types.ts';
import { openAuditWriter } from '../writer.ts';
import { chainedEntries, checkChain, newRecord, readAll, testSigner } from './store-fixtures.ts';
import { codeOf } from '../../core/testing.ts';

export interface AuditStoreHarness {
  /** Opens the store over this harness's log (again, after a close: the same log). */
  open(): Promise<AuditLogStore>;
  /** Removes the log (file and directory, or schema). */
  dispose(): Promise<void>;
}


export function defineAuditStoreSuite(name: string, makeHarness: () => Promise<AuditStoreHarness>): void {
  describe(`audit log store on ${name}`, () => {
    const opened: AuditStoreHarness[] = [];
    const stores: AuditLogStore[] = [];
    const fresh = async (): Promise<{ harness: AuditStoreHarness; store: AuditLogStore }> => {
      const harness = await makeHarness();
      opened.push(harness);
      const store = await harness.open();
      stores.push(store);
      return { harness, store };
    };
    const reopen = async (harness: AuditStoreHarness): Promise<AuditLogStore> => {
      const store = await harness.open();
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      for (const h of opened.splice(0)) await h.dispose();
    });

    it('starts empty: nothing to read and no tail for any instance', async () => {
      const { store } = await fresh();
      expect(await readAll(store)).toEqual([]);
      expect(await store.tail('gw-1')).toEqual({ last: null, lastCheckpointSeq: null });
    });

    it('reads back every appended entry, in append order, exactly as appended', async () => {
      const { store } = await fresh();
      const first = chainedEntries('gw-1', 1, 5);
      const checkpoint: LogEntry = { kind: 'checkpoint', instance: 'gw-1', seq: 5, jws: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' };
      const second = chainedEntries('gw-1', 6, 8, first[4]!.hash);
      await store.append([...first, checkpoint]);
      await store.append(second);
      const back = await readAll(store);
      expect(back).toEqual([...first, checkpoint, ...second]);
      // Key order and non-ASCII text survive: the same JSON text comes back.
      expect(back.map((e) => JSON.stringify(e))).toEqual([...first, checkpoint, ...second].map((e) => JSON.stringify(e)));
      expect(checkChain(back, 'gw-1').problems).toEqual([]);
    });

    it('reads from an entry index on, the same entries read() gives from there, forward reads starting where the last ended', async () => {
      const { store } = await fresh();
      {
        const first = chainedEntries('gw-1', 1, 700);
        for (let i = 0; i < first.length; i += 100) await store.append(first.slice(i, i + 100));
        const collect = async (from: number) => {
          const out: string[] = [];
          for await (const e of store.readFrom!(from)) out.push(JSON.stringify(e));
          return out;
        };
        const all = (await readAll(store)).map((e) => JSON.stringify(e));
        expect(await collect(0)).toEqual(all);
        expect(await collect(650)).toEqual(all.slice(650));
        // Moving forward past more appends, as the Kafka shipper does.
        await store.append(chainedEntries('gw-1', 701, 760, JSON.parse(all.at(-1)!).hash));
        const now = (await readAll(store)).map((e) => JSON.stringify(e));
        expect(await collect(700)).toEqual(now.slice(700));
        expect(await collect(759)).toEqual(now.slice(759));
        // Going back starts from the top again; past the end is nothing.
        expect(await collect(10)).toEqual(now.slice(10));
        expect(await collect(5000)).toEqual([]);
      }
    });

    it('tells the tail of each instance: its last record and its last checkpoint seq', async () => {
      const { store } = await fresh();
      const a = chainedEntries('gw-a', 1, 4);
      const b = chainedEntries('gw-b', 1, 2);
      await store.append([a[0]!, b[0]!, a[1]!, { kind: 'checkpoint', instance: 'gw-a', seq: 2, jws: 'x.y.z' }]);
      await store.append([a[2]!, b[1]!, a[3]!]);
      expect(await store.tail('gw-a')).toEqual({ last: a[3], lastCheckpointSeq: 2 });
      expect(await store.tail('gw-b')).toEqual({ last: b[1], lastCheckpointSeq: null });
      expect(await store.tail('gw-c')).toEqual({ last: null, lastCheckpointSeq: null });
    });

    it('reads one instance on its own when asked', async () => {
      const { store } = await fresh();
      const a = chainedEntries('gw-a', 1, 3);
      const b = chainedEntries('gw-b', 1, 3);
      const cp: LogEntry = { kind: 'checkpoint', instance: 'gw-b', seq: 3, jws: 'x.y.z' };
      await store.append([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!, cp]);
      expect(await readAll(store, 'gw-b')).toEqual([...b, cp]);
      expect(await readAll(store, 'gw-a')).toEqual(a);
      expect(await readAll(store, 'gw-z')).toEqual([]);
    });

    it('keeps concurrent appends whole and in call order (never interleaved)', async () => {
      const { store } = await fresh();
      const all = chainedEntries('gw-1', 1, 100);
      const groups = Array.from({ length: 20 }, (_, i) => all.slice(i * 5, i * 5 + 5));
      await Promise.all(groups.map((g) => store.append(g)));
      expect(await readAll(store)).toEqual(all);
    });

    it('takes a large group in one append and reads it back in order', async () => {
      const { store } = await fresh();
      const all = chainedEntries('gw-1', 1, 2500);
      await store.append(all);
      const back = await readAll(store);
      expect(back.length).toBe(2500);
      expect(checkChain(back, 'gw-1')).toMatchObject({ problems: [], head: all[2499]!.hash });
    });

    it('stops early without trouble when a reader breaks off', async () => {
      const { store } = await fresh();
      await store.append(chainedEntries('gw-1', 1, 50));
      let n = 0;
      for await (const _ of store.read()) if (++n === 3) break;
      expect(n).toBe(3);
      expect((await readAll(store)).length).toBe(50);
    });

    it('never rewrites what it holds: later appends leave earlier entries as they were', async () => {
      const { store } = await fresh();
      const first = chainedEntries('gw-1', 1, 10);
      await store.append(first);
      const before = await readAll(store);
      await store.append(chainedEntries('gw-1', 11, 20, first[9]!.hash));
      expect((await readAll(store)).slice(0, 10)).toEqual(before);
    });

    it('keeps everything across a reopen, and a writer continues the chain from the tail', async () => {
      const { harness, store } = await fresh();
      const signer = await testSigner();
      const options = { instance: 'gw-1', alg: 'sha256' as const, mode: 'strict' as const, queueLimit: 1000, checkpointEvery: 10, checkpointIntervalMs: 60_000, sign: signer.sign };
      const w1 = await openAuditWriter({ ...options, store });
      await Promise.all(Array.from({ length: 25 }, (_, i) => w1.write(newRecord(i))));
      await w1.close();
      const head = w1.status().head;
      await store.close();

      const again = await reopen(harness);
      expect(await again.tail('gw-1')).toMatchObject({ last: { hash: head, record: { seq: 25 } }, lastCheckpointSeq: 25 });
      const w2 = await openAuditWriter({ ...options, store: again });
      expect(w2.status()).toMatchObject({ seq: 25, head, lastCheckpointSeq: 25 });
      const next = await w2.write(newRecord(99));
      expect(next.record.seq).toBe(26);
      expect(next.prev).toBe(head);
      await w2.close();
      const report = checkChain(await readAll(again), 'gw-1');
      expect(report.problems).toEqual([]);
      expect(report.seqs).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
      for (const cp of report.checkpoints) {
        const payload = await signer.verify(cp);
        expect(payload).toMatchObject({ instance: 'gw-1', seq: cp.seq, alg: 'sha256' });
      }
      expect(report.checkpoints.map((c) => c.seq)).toEqual([10, 20, 25, 26]);
    });

    it('refuses appends after close with AUDIT_UNAVAILABLE', async () => {
      const { store } = await fresh();
      await store.close();
      expect(await codeOf(store.append(chainedEntries('gw-1', 1, 1)))).toBe('AUDIT_UNAVAILABLE');
    });
  });
}
