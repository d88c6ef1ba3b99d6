/**
 * The hub's limits on Redis through an outage: a private redis-server (its own port, started and
 * stopped by the test) goes away mid-test. Contract limits fail closed (503
 * RATE_LIMIT_UNAVAILABLE), the department ceiling fails open (the request is answered), and both
 * recover by themselves — no restart — when Redis is back.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killRedisServer, startRedisServer } from '../../policies/limits/test/private-redis.ts';
import { startTestHub, type TestHub } from './harness.ts';
import { HOUSEHOLDS, accessRecords, rosterContract } from './limits-fixtures.ts';

let port: number;
let server: ChildProcess | undefined;
let t: TestHub;

function startRedis(): ChildProcess {
  return startRedisServer(port);
}

async function stopRedis(): Promise<void> {
  await killRedisServer(server);
}

async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  port = await freePort();
  server = startRedis();
  t = await startTestHub({ limits: { redisUrl: `redis://127.0.0.1:${port}`, departmentLimit: 1000 } });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await stopRedis();
}, 30_000);

describe('limits on a Redis that goes away', () => {
  it('refuses contract-limited requests with 503 while Redis is down, answers the others, and recovers when it is back', async () => {
    const { token } = await rosterContract(t, { requestsPerMinute: 100, recordsPerDay: 1000 });
    const limited = () => t.query(HOUSEHOLDS(2), {}, { token });
    const plain = () => t.query('{ allowanceHouseholds(regionCode: "341504", first: 1) { total } }');
    await until(async () => (await limited()).status === 200, 10_000);
    expect((await plain()).status).toBe(200);

    await stopRedis();
    const down = await limited();
    expect(down.status).toBe(503);
    expect(down.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMIT_UNAVAILABLE' });
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.body.data ?? null).toBeNull();
    // Only the department ceiling applies to the harness's own department: it fails open.
    const open = await plain();
    expect(open.status).toBe(200);
    expect(open.body.errors).toBeUndefined();
    const record = (await accessRecords(t.dataDir)).find((r) => r.requestId === down.headers.get('x-request-id'));
    expect(record).toMatchObject({ outcome: 'error', httpStatus: 503, errorCodes: ['RATE_LIMIT_UNAVAILABLE'] });

    server = startRedis();
    await until(async () => (await limited()).status === 200, 15_000);
    const back = await limited();
    expect(back.status).toBe(200);
    expect(back.headers.get('ratelimit-policy')).toContain('"contract-rpm";q=100;w=60');
  }, 60_000);
});
