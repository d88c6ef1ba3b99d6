/**
 * The Redis limit store: the shared suite against the Redis at 127.0.0.1:6379 (every store under
 * its own key prefix, all deleted afterwards), then what only Redis has: the key layout, agreement
 * with the memory store decision for decision, exactness across processes, and an outage of a
 * private redis-server that the same store object survives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../../core/index.ts';
import { decodeGcraState } from '../gcra.ts';
import { createMemoryLimitStore } from '../memory-store.ts';
import { quotaWindow } from '../quota-window.ts';
import { openRedisLimitStore, type RedisLimitStoreOptions } from '../redis-store.ts';
import type { LimitStore, QuotaRule } from '../types.ts';
import { codeOf } from '../../../core/testing.ts';
import { freePort, startRedisServer } from './private-redis.ts';
import { defineLimitStoreSuite, rateRule, T0 } from './store-suite.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const RUN_PREFIX = `tongxiang-test:limit:${process.pid}-${Date.now()}:`;
const CHILD = fileURLToPath(new URL('./redis-hit-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const admin = createClient({ url: REDIS_URL });
const opened: LimitStore[] = [];
const children: ChildProcess[] = [];
let stores = 0;

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(opened.map((s) => s.close()));
  const keys: string[] = [];
  for await (const batch of admin.scanIterator({ MATCH: `${RUN_PREFIX}*`, COUNT: 500 })) keys.push(...batch);
  if (keys.length > 0) await admin.del(keys);
  admin.destroy();
});

async function until(condition: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${withinMs} ms`);
    await sleep(25);
  }
}

/** A store under a prefix of its own, once connected. */
async function connected(options: Partial<RedisLimitStoreOptions> = {}): Promise<{ store: LimitStore; keyPrefix: string }> {
  const keyPrefix = `${RUN_PREFIX}${stores++}:`;
  const store = openRedisLimitStore({ url: REDIS_URL, keyPrefix, ...options });
  opened.push(store);
  await until(() => store.healthy(), 10_000, 'connected');
  return { store, keyPrefix };
}

defineLimitStoreSuite('Redis', async () => (await connected()).store);

describe('Redis limit store', () => {
  it('keeps a bucket at prefix + key as at:debt:limit and a quota at prefix + key:window, both expiring', async () => {
    const { store, keyPrefix } = await connected();
    const rule = rateRule('contract:GX-2026-000001:rpm', 7, 60_000);
    await store.hit([rule], T0, 2);
    expect(decodeGcraState(await admin.get(`${keyPrefix}${rule.key}`))).toEqual({ at: T0, debt: 120_000, limit: 7 });
    const ttl = await admin.pTTL(`${keyPrefix}${rule.key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(17_143 + 60_000); // resetMs + the skew margin

    const quota: QuotaRule = { name: 'contract-records', key: 'contract:GX-2026-000001:records', limit: 500 };
    await store.take(quota, 120, T0);
    const window = quotaWindow(T0);
    expect(await admin.get(`${keyPrefix}${quota.key}:${window.id}`)).toBe('120');
    expect(await admin.pTTL(`${keyPrefix}${quota.key}:${window.id}`)).toBeLessThanOrEqual(window.endMs - T0 + 3_600_000);
  });

  it('decides exactly as the memory store over a long random sequence of hits, peeks and takes', async () => {
    const { store: redis } = await connected();
    const memory = createMemoryLimitStore();
    const rules = [rateRule('a', 7, 60_000), rateRule('b', 3, 1_000, 2), rateRule('c', 100, 3_600_000, 10), rateRule('d', 13, 7_777, 20)];
    const quota: QuotaRule = { name: 'contract-records', key: 'q', limit: 1_000 };
    let seed = 20261123;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0; // a fixed sequence, the same every run
      return (seed >>> 16) % n;
    };
    let now = T0;
    const seen = new Set<string>();
    for (let step = 0; step < 400; step++) {
      now += random(4) === 0 ? random(20_000) : random(300);
      const chosen = rules.filter(() => random(2) === 0);
      const cost = random(10) === 0 ? 21 : 1 + random(4);
      const kind = random(6);
      if (kind === 0) expect(await redis.peek(chosen, now)).toEqual(await memory.peek(chosen, now));
      else if (kind === 1) {
        const wanted = random(60);
        expect(await redis.take(quota, wanted, now)).toEqual(await memory.take(quota, wanted, now));
      } else {
        const decisions = await redis.hit(chosen, now, cost);
        expect(decisions).toEqual(await memory.hit(chosen, now, cost));
        for (const d of decisions) seen.add(d.allowed ? 'allowed' : d.retryAfterMs === Infinity ? 'never' : 'refused');
      }
    }
    expect([...seen].sort()).toEqual(['allowed', 'never', 'refused']); // the sequence reached every branch
    await memory.close();
  });

  it('admits exactly the limit among hits from three processes at once', async () => {
    const keyPrefix = `${RUN_PREFIX}${stores++}:`;
    const runs = [167, 167, 167].map((count) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, REDIS_URL, keyPrefix, 'contract:GX-2026-000001:rph', String(count), String(T0)], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8');
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const ready = new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: string) => {
          stdout += d;
          if (stdout.includes('ready\n')) resolve();
        });
      });
      const result = once(child, 'exit').then(([code]) => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (code !== 0 || line === undefined) throw new Error(`child exited with ${String(code)}: ${stderr}`);
        return JSON.parse(line) as { admitted: number; refused: number };
      });
      return { child, ready, result };
    });
    await Promise.race([Promise.all(runs.map((r) => r.ready)), Promise.all(runs.map((r) => r.result))]);
    for (const { child } of runs) child.stdin!.end('go\n');
    const results = await Promise.all(runs.map((r) => r.result));
    expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(100);
    expect(results.reduce((sum, r) => sum + r.admitted + r.refused, 0)).toBe(501);
  });

  it('fails fast with RATE_LIMIT_UNAVAILABLE while Redis cannot be reached, never showing the password', async () => {
    const errors: unknown[] = [];
    const port = await freePort();
    const store = openRedisLimitStore({ url: `redis://hub:s3cret-pw@127.0.0.1:${port}`, keyPrefix: RUN_PREFIX, onError: (e) => errors.push(e) });
    opened.push(store);
    const failure = await store.hit([rateRule('k', 1, 1_000)], T0).catch((error: unknown) => error);
    expect(isTongxiangError(failure) && failure.code).toBe('RATE_LIMIT_UNAVAILABLE');
    expect(store.healthy()).toBe(false);
    await until(() => errors.length > 0, 10_000, 'reporting a connection error');
    const shown = [failure, ...errors].map((e) => `${String(e)} ${JSON.stringify(isTongxiangError(e) ? e.toExtensions() : e)}`).join('\n');
    expect(shown).not.toContain('s3cret-pw');
    await store.close(); // never connected: still closes
  });

  it('refuses a URL that is not redis:// or rediss:// without echoing it (CONFIG_INVALID)', () => {
    let caught: unknown;
    try {
      openRedisLimitStore({ url: 'http://hub:s3cret-pw@127.0.0.1:6379' });
    } catch (error) {
      caught = error;
    }
    expect(isTongxiangError(caught) && caught.code).toBe('CONFIG_INVALID');
    expect(String(caught)).not.toContain('s3cret-pw');
  });

  describe('through an outage of its Redis', () => {
    const servers: ChildProcess[] = [];
    afterAll(async () => {
      for (const server of servers) {
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGKILL');
          await once(server, 'exit');
        }
      }
    });

    const startRedis = (port: number): ChildProcess => {
      const server = startRedisServer(port);
      servers.push(server);
      return server;
    };

    it('rejects while Redis is down and recovers by itself, the same store object, when it is back', async () => {
      const port = await freePort();
      let server = startRedis(port);
      const rule = rateRule('contract:GX-2026-000001:rpm', 100, 3_600_000);
      const store = openRedisLimitStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: RUN_PREFIX, commandTimeoutMs: 500 });
      opened.push(store);
      await until(() => store.healthy(), 10_000, 'connected');
      expect((await store.hit([rule], T0))[0]!.allowed).toBe(true);

      server.kill('SIGKILL');
      await once(server, 'exit');
      for (let i = 0; i < 3; i++) expect(await codeOf(store.hit([rule], T0))).toBe('RATE_LIMIT_UNAVAILABLE');
      expect(await codeOf(store.take({ name: 'q', key: 'q', limit: 5 }, 1, T0))).toBe('RATE_LIMIT_UNAVAILABLE');
      expect(store.healthy()).toBe(false);

      server = startRedis(port);
      await until(() => store.hit([rule], T0).then((d) => d[0]!.allowed, () => false), 10_000, 'recovered');
      expect(store.healthy()).toBe(true);
      await store.close();
      server.kill('SIGKILL');
      await once(server, 'exit');
    });

    it('answers RATE_LIMIT_UNAVAILABLE when Redis stops answering (command timeout), and carries on once it answers', async () => {
      const port = await freePort();
      const server = startRedis(port);
      const rule = rateRule('contract:GX-2026-000002:rpm', 100, 3_600_000);
      const store = openRedisLimitStore({ url: `redis://127.0.0.1:${port}`, keyPrefix: RUN_PREFIX, commandTimeoutMs: 300 });
      opened.push(store);
      await until(() => store.healthy(), 10_000, 'connected');
      server.kill('SIGSTOP'); // connection open, nobody answering
      try {
        expect(await codeOf(store.hit([rule], T0))).toBe('RATE_LIMIT_UNAVAILABLE');
        expect(store.healthy()).toBe(false);
      } finally {
        server.kill('SIGCONT');
      }
      await until(() => store.hit([rule], T0).then((d) => d[0]!.allowed, () => false), 10_000, 'answering again');
      expect(store.healthy()).toBe(true);
      expect([98, 99]).toContain((await store.peek([rule], T0))[0]!.remaining); // the timed-out hit may or may not have landed
      await store.close();
      server.kill('SIGKILL');
      await once(server, 'exit');
    });
  });
});
