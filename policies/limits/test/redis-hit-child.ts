/**
 * Child process of redis-store.test.ts (exactness across processes): opens its own Redis limit
 * store, prints `ready` once connected, waits for `go` on stdin, fires `count` concurrent hits on
 * one rule (limit 100 per hour) at the given time and prints `{ admitted, refused }` as JSON.
 * Arguments: url, keyPrefix, rule key, count, now.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRedisLimitStore } from '../redis-store.ts';

const [url = '', keyPrefix = '', key = '', count = '0', now = '0'] = process.argv.slice(2);
const store = openRedisLimitStore({ url, keyPrefix });
const deadline = Date.now() + 10_000;
while (!store.healthy()) {
  if (Date.now() > deadline) throw new Error('child: Redis not ready within 10 s');
  await sleep(20);
}
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8');
await once(process.stdin, 'data');

const rule = { name: 'contract-rpm', key, limit: 100, periodMs: 3_600_000 };
const decisions = await Promise.all(Array.from({ length: Number(count) }, () => store.hit([rule], Number(now))));
const admitted = decisions.filter((d) => d[0]!.allowed).length;
process.stdout.write(`${JSON.stringify({ admitted, refused: decisions.length - admitted })}\n`);
await store.close();
