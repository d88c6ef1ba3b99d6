/**
 * The audit writer over a real JSONL file store in a temp directory. Failures and slowness are
 * made by a wrapper around the real store (the writer is never mocked): `failing` makes `append`
 * throw as a full disk would, `gate` holds appends until released, and every call is counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryText } from '../entry-text.ts';
import { openFileAuditStore, type FileAuditStore } from '../file-store.ts';
import type { AuditLogStore, LogEntry } from '../types.ts';
import { openAuditWriter, type AuditWriter, type AuditWriterOptions } from '../writer.ts';
import { checkChain, hashOf, manualClock, newRecord, readAll, T0, testSigner, type TestSigner } from './store-fixtures.ts';
import { codeOf } from '../../core/testing.ts';

interface Harness {
  store: FileAuditStore;
  /** What the writer talks to: the real store, counted, failing or held on demand. */
  wrapped: AuditLogStore;
  appends: number[];
  failing: boolean;
  gate: Promise<void> | null;
}


/** Polls (every few ms, bounded) until `check` holds: no fixed sleeps. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('audit writer', () => {
  const dirs: string[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  let signer: TestSigner;

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function harness(): Promise<Harness> {
    const dir = await mkdtemp(join(tmpdir(), 'tx-audit-writer-'));
    dirs.push(dir);
    const store = await openFileAuditStore({ path: join(dir, 'audit.jsonl') });
    cleanup.push(() => store.close());
    const h: Harness = {
      store,
      appends: [],
      failing: false,
      gate: null,
      wrapped: {
        async append(entries) {
          h.appends.push(entries.length);
          if (h.gate) await h.gate;
          if (h.failing) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          return store.append(entries);
        },
        read: (o) => store.read(o),
        tail: (i) => store.tail(i),
        close: () => store.close(),
      },
    };
    return h;
  }

  async function writer(h: Harness, overrides: Partial<AuditWriterOptions> = {}): Promise<AuditWriter> {
    signer ??= await testSigner();
    const w = await openAuditWriter({
      store: h.wrapped,
      instance: 'gw-1',
      alg: 'sha256',
      mode: 'strict',
      queueLimit: 10_000,
      checkpointEvery: 1000,
      checkpointIntervalMs: 60_000,
      sign: signer.sign,
      retry: { initialMs: 5, maxMs: 20 },
      ...overrides,
    });
    cleanup.push(() => w.close());
    return w;
  }

  it('hands stores the very text JSON.stringify gives for each entry, without serialising the record again', async () => {
    const h = await harness();
    const w = await writer(h, { alg: 'sm3' });
    const written = await Promise.all(Array.from({ length: 30 }, (_, n) => w.write(newRecord(n + 1))));
    for (const entry of written) expect(entryText(entry)).toBe(JSON.stringify(entry));
    // A record with what JSON escapes and numbers in several forms reads back the same from the store.
    const odd = await w.write({ ...(newRecord(2) as object), purposes: ['"引号" \\ 反斜杠 \n 换行 \u2028'], durationMs: 1e-7 } as never);
    expect(entryText(odd)).toBe(JSON.stringify(odd));
    await w.flush();
    const back = (await readAll(h.store)).filter((e) => e.kind === 'record');
    expect(back.map((e) => JSON.stringify(e))).toEqual([...written, odd].map((e) => JSON.stringify(e)));
  });

  function release(h: Harness): void {
    // A held gate opens by being replaced with null; appends waiting on the old one go on.
    h.gate = null;
  }

  function hold(h: Harness): () => void {
    let open!: () => void;
    h.gate = new Promise<void>((r) => {
      open = r;
    });
    return () => {
      release(h);
      open();
    };
  }

  it('numbers and chains records in call order, filling instance and seq into the record', async () => {
    const h = await harness();
    const w = await writer(h);
    const entries = await Promise.all([1, 2, 3].map((n) => w.write(newRecord(n))));
    expect(entries.map((e) => [e.record.instance, e.record.seq])).toEqual([['gw-1', 1], ['gw-1', 2], ['gw-1', 3]]);
    expect(entries[0]!.prev).toBe('0'.repeat(64));
    expect(entries[1]!.prev).toBe(entries[0]!.hash);
    expect(w.status()).toMatchObject({ instance: 'gw-1', alg: 'sha256', mode: 'strict', seq: 3, head: entries[2]!.hash, queued: 0, failing: false });
    const back = await readAll(h.store);
    expect(back).toEqual(entries);
    expect(checkChain(back, 'gw-1').problems).toEqual([]);
  });

  it('chains with SM3 when configured', async () => {
    const h = await harness();
    const w = await writer(h, { alg: 'sm3' });
    await Promise.all([1, 2].map((n) => w.write(newRecord(n))));
    const back = await readAll(h.store);
    expect(back.every((e) => e.kind === 'record' && e.alg === 'sm3')).toBe(true);
    expect(checkChain(back, 'gw-1').problems).toEqual([]);
  });

  it('group-commits: 200 concurrent writes share far fewer appends (one fsync each)', async () => {
    const h = await harness();
    const w = await writer(h);
    await Promise.all(Array.from({ length: 200 }, (_, i) => w.write(newRecord(i))));
    const sameTick = h.appends.length;

    // Requests arriving over many ticks while an fsync is in flight still share appends.
    const spread: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i += 1) {
      spread.push(w.write(newRecord(i)));
      if (i % 5 === 4) await tick();
    }
    await Promise.all(spread);
    const overTicks = h.appends.length - sameTick;
    console.info(`audit writer: 200 writes in one tick → ${sameTick} append(s); 200 writes over 40 ticks → ${overTicks} appends`);
    expect(sameTick).toBe(1);
    expect(overTicks).toBeLessThan(40);
    const report = checkChain(await readAll(h.store), 'gw-1');
    expect(report.problems).toEqual([]);
    expect(report.seqs).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('strict: write resolves only once durable; async: once queued', async () => {
    const h = await harness();
    const strict = await writer(h);
    const open = hold(h);
    let done = false;
    const pending = strict.write(newRecord(1)).then(() => (done = true));
    await until(() => h.appends.length === 1, 'the append to start');
    await tick();
    expect(done).toBe(false);
    expect(strict.status().queued).toBe(1);
    open();
    await pending;
    expect((await readAll(h.store)).length).toBe(1);
    await strict.close();

    const h2 = await harness();
    const lazy = await writer(h2, { mode: 'async' });
    const open2 = hold(h2);
    const entry = await lazy.write(newRecord(1));
    expect(entry.record.seq).toBe(1);
    expect(lazy.status().queued).toBe(1);
    expect(await readAll(h2.store)).toEqual([]);
    open2();
    await lazy.flush();
    expect(lazy.status().queued).toBe(0);
    expect(await readAll(h2.store)).toEqual([entry]);
  });

  it('signs a checkpoint every N records, after the record it names, over that record\'s hash', async () => {
    const h = await harness();
    const clock = manualClock();
    const w = await writer(h, { checkpointEvery: 10, clock });
    await Promise.all(Array.from({ length: 35 }, (_, i) => w.write(newRecord(i))));
    await w.flush();
    await until(() => w.status().lastCheckpointSeq === 30, 'checkpoint 30');
    const back = await readAll(h.store);
    const report = checkChain(back, 'gw-1');
    expect(report.problems).toEqual([]);
    expect(report.checkpoints.map((c) => c.seq)).toEqual([10, 20, 30]);
    for (const cp of report.checkpoints) {
      expect(await signer.verify(cp)).toEqual({ instance: 'gw-1', seq: cp.seq, head: hashOf(back, 'gw-1', cp.seq), alg: 'sha256', time: new Date(T0).toISOString() });
    }
  });

  it('signs a checkpoint the interval after the first unsigned record, even when few records come', async () => {
    const h = await harness();
    const w = await writer(h, { checkpointEvery: 1000, checkpointIntervalMs: 30 });
    await w.write(newRecord(1));
    await w.write(newRecord(2));
    await until(() => w.status().lastCheckpointSeq === 2, 'the interval checkpoint');
    // The next unsigned record starts the next interval.
    const later = await w.write(newRecord(3));
    await until(() => w.status().lastCheckpointSeq === 3, 'the second interval checkpoint');
    const report = checkChain(await readAll(h.store), 'gw-1');
    expect(report.checkpoints.map((c) => c.seq)).toEqual([2, 3]);
    expect((await signer.verify(report.checkpoints[1]!)).head).toBe(later.hash);
  });

  it('checkpoint() signs the head now and resolves once it is durable; null when nothing is new', async () => {
    const h = await harness();
    const w = await writer(h);
    expect(await w.checkpoint()).toBeNull();
    const last = (await Promise.all([1, 2, 3].map((n) => w.write(newRecord(n)))))[2]!;
    const cp = await w.checkpoint();
    expect(cp).toMatchObject({ kind: 'checkpoint', instance: 'gw-1', seq: 3 });
    expect((await signer.verify(cp!)).head).toBe(last.hash);
    expect((await readAll(h.store)).at(-1)).toEqual(cp);
    expect(w.status().lastCheckpointSeq).toBe(3);
    expect(await w.checkpoint()).toBeNull();
  });

  it('strict: while the store fails, the failed group is refused, and new writes are refused once the backlog is full', async () => {
    const h = await harness();
    const errors: unknown[] = [];
    const w = await writer(h, { queueLimit: 3, onError: (e) => errors.push(e) });
    h.failing = true;
    expect(await codeOf(w.write(newRecord(1)))).toBe('AUDIT_UNAVAILABLE');
    expect(w.status()).toMatchObject({ failing: true, seq: 1, queued: 1 });
    expect((errors[0] as { code?: string }).code).toBe('ENOSPC');
    // Still room in the backlog: these wait for the retry, which fails too.
    const second = codeOf(w.write(newRecord(2)));
    const third = codeOf(w.write(newRecord(3)));
    expect(await codeOf(w.write(newRecord(4)))).toBe('AUDIT_UNAVAILABLE');
    expect(w.status()).toMatchObject({ seq: 3, queued: 3 });
    expect(await second).toBe('AUDIT_UNAVAILABLE');
    expect(await third).toBe('AUDIT_UNAVAILABLE');
    expect(await readAll(h.store)).toEqual([]);

    // The store comes back: the retried group lands, same seqs, in order.
    h.failing = false;
    await until(() => !w.status().failing && w.status().queued === 0, 'recovery');
    const next = await w.write(newRecord(5));
    expect(next.record.seq).toBe(4);
    const report = checkChain(await readAll(h.store), 'gw-1');
    expect(report).toMatchObject({ problems: [], seqs: [1, 2, 3, 4] });
  });

  it('async: a full queue refuses with AUDIT_UNAVAILABLE (never a silent drop), and nothing is lost after recovery', async () => {
    const h = await harness();
    const w = await writer(h, { mode: 'async', queueLimit: 5 });
    h.failing = true;
    const accepted = await Promise.all([1, 2, 3, 4, 5].map((n) => w.write(newRecord(n))));
    expect(accepted.map((e) => e.record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await codeOf(w.write(newRecord(6)))).toBe('AUDIT_UNAVAILABLE');
    await until(() => w.status().failing, 'the failure to show');
    expect(w.status()).toMatchObject({ queued: 5, seq: 5 });
    h.failing = false;
    await until(() => !w.status().failing && w.status().queued === 0, 'recovery');
    expect((await w.write(newRecord(7))).record.seq).toBe(6);
    await w.flush();
    expect(checkChain(await readAll(h.store), 'gw-1')).toMatchObject({ problems: [], seqs: [1, 2, 3, 4, 5, 6] });
  });

  it('keeps seqs 1..n whole through a flapping store: never a gap, never a duplicate, never reordered', async () => {
    const h = await harness();
    const w = await writer(h, { mode: 'async', queueLimit: 10_000, checkpointEvery: 25 });
    const written: number[] = [];
    for (let i = 0; i < 300; i += 1) {
      if (i % 40 === 0) h.failing = !h.failing;
      written.push((await w.write(newRecord(i))).record.seq);
      if (i % 3 === 0) await tick();
    }
    h.failing = false;
    await until(() => !w.status().failing && w.status().queued === 0, 'recovery');
    await w.close();
    expect(written).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const report = checkChain(await readAll(h.store), 'gw-1');
    expect(report.problems).toEqual([]);
    expect(report.seqs).toEqual(written);
    expect(report.checkpoints.at(-1)!.seq).toBe(300);
    const seqs = report.checkpoints.map((c) => c.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('close writes a final checkpoint and stops; later writes are refused', async () => {
    const h = await harness();
    const w = await writer(h, { checkpointEvery: 100 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => w.write(newRecord(i))));
    await w.close();
    const back: LogEntry[] = await readAll(h.store);
    expect(back.at(-1)).toMatchObject({ kind: 'checkpoint', instance: 'gw-1', seq: 7 });
    expect(w.status()).toMatchObject({ lastCheckpointSeq: 7, queued: 0 });
    expect(await codeOf(w.write(newRecord(8)))).toBe('AUDIT_UNAVAILABLE');
    expect(await codeOf(w.checkpoint())).toBe('AUDIT_UNAVAILABLE');
    await w.close();
    expect(await readAll(h.store)).toEqual(back);
  });

  it('close on a failing store says AUDIT_UNAVAILABLE, and a later close lands everything', async () => {
    const h = await harness();
    const w = await writer(h, { mode: 'async' });
    await w.write(newRecord(1));
    h.failing = true;
    await w.write(newRecord(2));
    expect(await codeOf(w.close())).toBe('AUDIT_UNAVAILABLE');
    h.failing = false;
    await w.close();
    expect(checkChain(await readAll(h.store), 'gw-1')).toMatchObject({ problems: [], seqs: [1, 2] });
    expect((await readAll(h.store)).at(-1)).toMatchObject({ kind: 'checkpoint', seq: 2 });
  });

  it('signs the records a previous run left unsigned', async () => {
    const h = await harness();
    const w1 = await writer(h, { mode: 'async', checkpointIntervalMs: 60_000 });
    await Promise.all([1, 2, 3].map((n) => w1.write(newRecord(n))));
    await w1.flush();
    // As after a crash: records durable, no checkpoint. (The first writer is simply abandoned.)
    const w2 = await openAuditWriter({
      store: h.wrapped, instance: 'gw-1', alg: 'sha256', mode: 'strict', queueLimit: 10,
      checkpointEvery: 100, checkpointIntervalMs: 20, sign: signer.sign,
    });
    cleanup.push(() => w2.close());
    expect(w2.status()).toMatchObject({ seq: 3, lastCheckpointSeq: null });
    await until(() => w2.status().lastCheckpointSeq === 3, 'the leftover records to be signed');
  });

  it('reports a failing signer and signs again later', async () => {
    const h = await harness();
    const errors: unknown[] = [];
    let refuse = true;
    const w = await writer(h, {
      checkpointEvery: 2,
      checkpointIntervalMs: 20,
      onError: (e) => errors.push(e),
      sign: (p) => (refuse ? Promise.reject(new Error('HSM offline')) : signer.sign(p)),
    });
    await Promise.all([1, 2].map((n) => w.write(newRecord(n))));
    await until(() => errors.length > 0, 'the signing error');
    refuse = false;
    await until(() => w.status().lastCheckpointSeq === 2, 'the checkpoint after the signer came back');
  });

  it('refuses bad options with CONFIG_INVALID', async () => {
    const h = await harness();
    const base = { store: h.wrapped, instance: 'gw-1', alg: 'sha256', mode: 'strict', queueLimit: 1, checkpointEvery: 1, checkpointIntervalMs: 1, sign: async () => null } as unknown as AuditWriterOptions;
    for (const bad of [{ instance: '' }, { alg: 'md5' }, { mode: 'lazy' }, { queueLimit: 0 }, { checkpointEvery: 1.5 }, { checkpointIntervalMs: -1 }]) {
      expect(await codeOf(openAuditWriter({ ...base, ...bad } as AuditWriterOptions))).toBe('CONFIG_INVALID');
    }
  });
});
