/**
 * One benchmark target in a process of its own, as a hub runs in production: started by
 * bench/run.ts, never by hand.
 *
 * Why a process each: targets sharing one process share one heap (a target's collections mark
 * every other target's objects), one libuv thread pool, the idle targets' timers, and V8's type
 * feedback for the functions they have in common (every hub runs the same code on objects of
 * other shapes). Measured side by side in one process, the first hub started ran up to 1.5 ms of
 * CPU per request slower than the same hub alone, and the run-to-run spread hid the ratios.
 *
 * Protocol, one JSON line each way:
 *   stdin  {"type":"start","id":"A","variables":{…},"bodies":{"q1":"…"}}   (bodies: C only)
 *   stdout {"type":"ready","id":"A","urls":{"q1":"http://…"},"headers":{…},"redis":{"local":true}|null}
 *   stdin  "cpu"   → {"type":"cpu","userUs":…,"systemUs":…}
 *   stdin  "redis" → {"type":"redis","ms":… | null}       (R: the Redis server's CPU so far)
 *   stdin  "gc"    → {"type":"gc"}                          (a full collection, --expose-gc)
 * Closing stdin (or SIGINT / SIGTERM) closes the target and exits. The start line carries this
 * run's upstream credentials: it is for the pipe from bench/run.ts only.
 */
import { createInterface } from 'node:readline';
import {
  startBareApollo,
  startRawHttp,
  startTongxiang,
  startTongxiangWithoutAudit,
  startTongxiangWithoutLimits,
  startTongxiangWithoutPolicies,
  startTongxiangWithRedisLimits,
  type Target,
  type TargetId,
} from './targets.ts';
import { startMeshPeer } from './mesh-peer.ts';

interface StartMessage {
  readonly type: 'start';
  readonly id: TargetId;
  readonly variables: Record<string, string>;
  readonly queryIds: readonly string[];
  readonly bodies?: Record<string, string>;
}

export interface TargetReady {
  readonly type: 'ready';
  readonly id: TargetId;
  readonly urls: Record<string, string>;
  readonly headers: Record<string, string> | null;
  readonly redis: { readonly local: boolean } | null;
}

export type TargetAnswer =
  | TargetReady
  | { readonly type: 'cpu'; readonly userUs: number; readonly systemUs: number }
  | { readonly type: 'redis'; readonly ms: number | null }
  | { readonly type: 'gc' }
  | { readonly type: 'failed'; readonly error: string };

if (process.stdout.isTTY) {
  process.stderr.write('bench/target-process.ts is started by bench/run.ts (npm run bench), not by hand.\n');
  process.exit(2);
}

const send = (message: TargetAnswer) => process.stdout.write(JSON.stringify(message) + '\n');

function start(message: StartMessage): Promise<Target> {
  switch (message.id) {
    case 'A':
      return startTongxiang(message.variables);
    case 'B':
      return startBareApollo(message.variables);
    case 'C':
      return startRawHttp(new Map(Object.entries(message.bodies ?? {})));
    case 'D':
      return startTongxiangWithoutPolicies(message.variables);
    case 'E':
      return startTongxiangWithoutAudit(message.variables);
    case 'L':
      return startTongxiangWithoutLimits(message.variables);
    case 'R':
      return startTongxiangWithRedisLimits(message.variables);
    case 'M':
      return startMeshPeer(message.variables);
  }
}

let target: Target | undefined;
let stopping: Promise<void> | null = null;
const stop = () => {
  stopping ??= (async () => {
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await target?.close().catch((error: unknown) => process.stderr.write(`bench target: close: ${(error as Error).message}\n`));
    process.exit(0);
  })();
  return stopping;
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const text = line.trim();
    if (text === 'cpu') {
      const { user, system } = process.cpuUsage();
      // M serves from a child process (mesh start): its CPU is the target's too.
      void (target?.childCpuUs ? target.childCpuUs() : Promise.resolve(null)).then((child) =>
        send({ type: 'cpu', userUs: user + (child?.userUs ?? 0), systemUs: system + (child?.systemUs ?? 0) }),
      );
    } else if (text === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'gc' });
    } else if (text === 'redis') {
      void (target?.redis ? target.redis.cpuMs() : Promise.resolve(null)).then((ms) => send({ type: 'redis', ms }));
    } else if (text.startsWith('{')) {
      const message = JSON.parse(text) as StartMessage;
      start(message).then(
        (started) => {
          target = started;
          const urls = Object.fromEntries(message.queryIds.map((q) => [q, started.urlFor(q)]));
          send({ type: 'ready', id: started.id, urls, headers: started.headers ? { ...started.headers } : null, redis: started.redis ? { local: started.redis.local } : null });
        },
        (error: unknown) => {
          send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
          void stop();
        },
      );
    }
  })
  .on('close', () => void stop());
