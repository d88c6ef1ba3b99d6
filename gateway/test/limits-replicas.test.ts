/**
 * Limits hold exactly across gateway replicas: three hub processes share one real Redis
 * (127.0.0.1:6379, as in CI); 500 concurrent requests against a ceiling of 100 admit exactly 100.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../demo.ts';
import { issueLocalToken } from '../identity/index.ts';
import { COUNTY_DEVELOPER, postGraphQL } from './harness.ts';

const REDIS_URL = process.env.TONGXIANG_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHILD = fileURLToPath(new URL('./limits-replica-child.ts', import.meta.url));
const PREFIX = `tongxiang-test:${process.pid}:${Date.now()}:`;

let upstreams: DemoUpstreams;
const dirs: string[] = [];
const children: ChildProcess[] = [];
const urls: string[] = [];
let token: string;

async function startReplica(dataDir: string, instance: string): Promise<string> {
  // Each replica its own copy of the drop folder: a hub moves what it ingests to archive/.
  const dropDir = join(dataDir, 'hub-drop');
  await cp(upstreams.dropDir, dropDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CHILD,
      JSON.stringify({
        dataDir,
        instance,
        variables: { ...upstreams.variables, TONGXIANG_DROP_DIR: dropDir },
        // A generous Redis timeout: three hubs on two cores lag, and a timed-out hit would fail open.
        limits: { redisUrl: REDIS_URL, redisKeyPrefix: PREFIX, redisTimeoutMs: 10_000, departmentLimit: 100, departmentWindowS: 3600 },
      }),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replica exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
}

beforeAll(async () => {
  const up = await mkdtemp(join(tmpdir(), 'tongxiang-replicas-up-'));
  dirs.push(up);
  upstreams = await startDemoUpstreams({ dataDir: up });
  for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(join(tmpdir(), `tongxiang-replica-${i}-`)));
  // One local issuer for all three: the first replica's key, copied to the others.
  token = await issueLocalToken(loadConfig({ env: {}, overrides: { dataDir: dirs[1]! } }).identity, dirs[1]!, { ...COUNTY_DEVELOPER, ttlSeconds: 3600 });
  for (const dir of dirs.slice(2)) await cp(join(dirs[1]!, 'identity'), join(dir, 'identity'), { recursive: true });
  urls.push(...(await Promise.all(dirs.slice(1).map((dir, i) => startReplica(dir, `replica-${i}`)))));
}, 300_000);

afterAll(async () => {
  for (const child of children) {
    child.stdin?.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    clearTimeout(killer);
  }
  await upstreams?.close();
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*` })) if (keys.length > 0) await redis.del(keys);
  await redis.quit();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 60_000);

describe('three gateway replicas on one Redis', () => {
  it('admit exactly 100 of 500 concurrent requests against a department ceiling of 100; the rest get 429 RATE_LIMITED', async () => {
    const query = '{ allowanceHouseholds(regionCode: "341504", first: 1) { total } }';
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => postGraphQL<{ allowanceHouseholds: { total: number } }>(urls[i % 3]!, query, {}, { token })));
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(100);
    expect(refused).toHaveLength(400);
    expect(admitted.every((r) => typeof r.body.data?.allowanceHouseholds?.total === 'number')).toBe(true);
    expect(refused.every((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED' && r.body.errors[0].extensions.limit === 'department')).toBe(true);
  }, 120_000);
});
