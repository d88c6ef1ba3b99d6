/**
 * The servers the benchmark compares, all on 127.0.0.1 in the bench process:
 *   A  Tongxiang — the hub as shipped (startHub: Fastify + Apollo + Mesh + request id + error
 *      mapping + identity + field enforcement + the strict audit trail)
 *   D  the same hub with identity and field enforcement off (audit still on) — A/D is the policy tax
 *   E  the same hub with the audit trail off (policies still on) — A/E is the cost of strict audit
 *   R  the same hub with its limits in Redis (TONGXIANG_BENCH_REDIS_URL, default
 *      redis://127.0.0.1:6379) instead of in-process
 *   L  the same hub with the limits off — R/L is the cost of Redis-backed limits, A/L of the
 *      in-process limiter
 *   B  bare Apollo on the Mesh schema — same loadMesh, startStandaloneServer, nothing else
 *   C  raw HTTP — node:http answering the exact bytes A answers, the box's HTTP ceiling
 *
 * A, E, R and L run the limits' every path without ever refusing: the department ceiling and the
 * per-source ceiling at their maximum (BENCH_LIMITS; the defaults, 6000/min and 1000/s, would
 * refuse benchmark traffic), and contracts whose quotas are just as large (BENCH_QUOTAS).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createClient } from 'redis';
import { loadConfig, type HubConfig } from '../gateway/config.ts';
import { parseDepartment } from '../core/index.ts';
import { issueLocalToken, type TokenRequest } from '../gateway/identity/index.ts';
import type { LimitOverrides } from '../gateway/limits/settings.ts';
import { grantEverything, postGraphQL } from '../gateway/test/harness.ts';
import { silentLogger } from '../gateway/log.ts';
import { loadMesh } from '../gateway/mesh-loader.ts';
import { startHub, type StartOptions } from '../gateway/server.ts';

export type TargetId = 'A' | 'B' | 'C' | 'D' | 'E' | 'L' | 'M' | 'R';
export const TARGET_IDS: readonly TargetId[] = ['A', 'D', 'E', 'R', 'L', 'M', 'B', 'C'];

/**
 * The limits of every governed target (A, E, R, L): evaluated on every request, never refusing.
 * 1,000,000,000 is the largest value the settings accept.
 */
export const BENCH_LIMITS: LimitOverrides = Object.freeze({ departmentLimit: 1_000_000_000, sourcePerSecond: 1_000_000_000 });

/** The quotas of the governed targets' contracts, so the contract paths (requests per minute, records per day) run too. */
export const BENCH_QUOTAS = Object.freeze({ requestsPerMinute: 1_000_000_000, recordsPerDay: 1_000_000_000 });

/** The Redis target R keeps its limits in; the bench deletes its keys there when R closes. */
export const BENCH_REDIS_URL = process.env.TONGXIANG_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Target {
  readonly id: TargetId;
  readonly name: string;
  /** The URL a query is POSTed to. */
  urlFor(queryId: string): string;
  /**
   * Headers this target's requests carry: A, E, R and L each a county developer's bearer token
   * from their own issuer; targets without any get A's (the run sends them to D, B and C alike).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * R: CPU time the Redis server has used so far, ms (INFO cpu: the whole server, every client),
   * and whether that server runs on this machine (its CPU then is not "other processes").
   */
  readonly redis?: { readonly local: boolean; cpuMs(): Promise<number | null> };
  /** M: CPU of the server process the target started (mesh start runs as a child), µs so far. */
  childCpuUs?(): Promise<{ userUs: number; systemUs: number } | null>;
  close(): Promise<void>;
}

export const TARGET_NAMES: Record<TargetId, string> = {
  A: 'Tongxiang (startHub)',
  B: 'bare Apollo on the Mesh schema',
  C: 'raw node:http, fixed bytes',
  D: 'Tongxiang, identity and enforcement off',
  E: 'Tongxiang, audit trail off',
  L: 'Tongxiang, limits off',
  M: 'GraphQL Mesh (mesh start) with its JWT and rate-limit plugins',
  R: 'Tongxiang, limits in Redis',
};

async function hubConfig(prefix: string, variables: Record<string, string>, limits?: LimitOverrides): Promise<HubConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  // Each target gets its own copy of the upstreams' drop folder: a hub ingests the files it finds
  // and moves them to archive/, and each target keeps its own file-drop store (one PGlite per
  // folder per process).
  const own = { ...variables };
  if (variables.TONGXIANG_DROP_DIR) {
    own.TONGXIANG_DROP_DIR = join(dataDir, 'drop');
    await cp(variables.TONGXIANG_DROP_DIR, own.TONGXIANG_DROP_DIR, { recursive: true });
  }
  return loadConfig({ env: {}, overrides: { port: 0, dataDir, variables: own, ...(limits ? { limits } : {}) } });
}

/** The Redis URL without its password, for messages. */
function redactedRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparseable REDIS URL)';
  }
}

const redisFailure = (error: unknown) =>
  new Error(
    `target R needs Redis at ${redactedRedisUrl(BENCH_REDIS_URL)} (set TONGXIANG_BENCH_REDIS_URL): ${error instanceof Error ? error.message : String(error)}`,
  );

const adminClient = () => createClient({ url: BENCH_REDIS_URL, socket: { connectTimeout: 5000, reconnectStrategy: false } });

/** A short-lived admin connection to the bench's Redis: connects once (no retries), runs `work`, closes. */
async function withRedis<T>(work: (client: ReturnType<typeof adminClient>) => Promise<T>): Promise<T> {
  const client = adminClient();
  client.on('error', () => undefined); // surfaced by connect() or the command instead
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw redisFailure(error);
  }
  try {
    return await work(client);
  } finally {
    await client.close().catch(() => client.destroy());
  }
}

/** Deletes every key under `prefix` (R's keys: the bench leaves nothing in a shared Redis). */
async function deleteRedisKeys(prefix: string): Promise<number> {
  return withRedis(async (client) => {
    let deleted = 0;
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) deleted += await client.del(keys);
    return deleted;
  });
}

/** used_cpu_user + used_cpu_sys of the Redis server, ms. */
function redisCpuMs(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/**
 * Waits until the hub's limit store answers (a Redis store connects in the background; until it
 * does, the contract quotas fail closed): `myUsage` reads every limit of the caller's contracts.
 */
async function limitStoreAnswering(graphqlUrl: string, token: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await postGraphQL<{ myUsage: { contracts: Array<{ requestsPerMinute: { limit: number } | null }> } }>(
      graphqlUrl,
      '{ myUsage { contracts { requestsPerMinute { limit } } } }',
      {},
      { token },
    );
    const contracts = r.body.data?.myUsage.contracts ?? [];
    if (r.status === 200 && !r.body.errors?.length && contracts.length > 0 && contracts.every((c) => c.requestsPerMinute?.limit === BENCH_QUOTAS.requestsPerMinute)) return;
    if (Date.now() > deadline) throw new Error(`the hub's limit store does not answer: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface GovernedHubOptions {
  readonly start: StartOptions;
  /** Over BENCH_LIMITS (R: the Redis URL and key prefix). */
  readonly limits?: LimitOverrides;
  /** Waits for the limit store before the hub is measured (R). */
  readonly waitForLimitStore?: boolean;
  readonly redis?: Target['redis'];
  /** After the hub has closed, or failed to start (R: deletes its keys in Redis). */
  readonly afterClose?: () => Promise<void>;
}

/**
 * A hub with identity on: a county developer's token from the hub's own issuer, and contracts for
 * every conditional field (with BENCH_QUOTAS), so it answers what bare Apollo answers with every
 * policy on; its limits are BENCH_LIMITS.
 */
async function startGovernedHub(id: 'A' | 'E' | 'R' | 'L', prefix: string, variables: Record<string, string>, options: GovernedHubOptions): Promise<Target> {
  const config = await hubConfig(prefix, variables, { ...BENCH_LIMITS, ...options.limits });
  const cleanup = async () => {
    await rm(config.dataDir, { recursive: true, force: true });
    await options.afterClose?.();
  };
  let hub;
  try {
    hub = await startHub(config, options.start);
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  try {
    const tokenFor = (request: Partial<TokenRequest>) =>
      issueLocalToken(config.identity, config.dataDir, { subject: 'bench', department: '341504.mzj', roles: ['developer'], ttlSeconds: 86_400, ...request });
    const token = await tokenFor({});
    await grantEverything(hub.graphqlUrl, tokenFor, token, BENCH_QUOTAS);
    if (options.waitForLimitStore) await limitStoreAnswering(hub.graphqlUrl, token);
    const started = hub;
    return {
      id,
      name: TARGET_NAMES[id],
      urlFor: () => started.graphqlUrl,
      headers: { authorization: `Bearer ${token}` },
      ...(options.redis ? { redis: options.redis } : {}),
      async close() {
        await started.close();
        await cleanup();
      },
    };
  } catch (error) {
    await hub.close().catch(() => undefined);
    await cleanup().catch(() => undefined);
    throw error;
  }
}

/** The hub as shipped: every policy on, the audit trail in its default (strict) mode, the in-process limiter. */
export function startTongxiang(variables: Record<string, string>): Promise<Target> {
  return startGovernedHub('A', 'tongxiang-bench-a-', variables, { start: { logger: silentLogger } });
}

/** The same hub with the audit trail off, every policy on (the strict-audit baseline). */
export function startTongxiangWithoutAudit(variables: Record<string, string>): Promise<Target> {
  return startGovernedHub('E', 'tongxiang-bench-e-', variables, { start: { logger: silentLogger, benchmarkWithoutAudit: true } });
}

/** The same hub with its limits off entirely (the limits' baseline): no rate limits, quotas or operation limits. */
export function startTongxiangWithoutLimits(variables: Record<string, string>): Promise<Target> {
  return startGovernedHub('L', 'tongxiang-bench-l-', variables, { start: { logger: silentLogger, benchmarkWithoutLimits: true } });
}

/**
 * The same hub with its limits in Redis (as replicas share them) rather than in-process, under a
 * key prefix of its own; its keys are deleted when it closes. Fails at once without that Redis.
 */
export async function startTongxiangWithRedisLimits(variables: Record<string, string>): Promise<Target> {
  const redisKeyPrefix = `tongxiang-bench:${process.pid}:${Date.now()}:`;
  await withRedis((client) => client.ping());
  // One connection for the CPU readings around each run: reconnects by itself, fails fast meanwhile.
  const monitor = createClient({ url: BENCH_REDIS_URL, disableOfflineQueue: true, socket: { connectTimeout: 5000 } });
  monitor.on('error', () => undefined);
  try {
    await monitor.connect();
  } catch (error) {
    monitor.destroy();
    throw redisFailure(error);
  }
  const host = new URL(BENCH_REDIS_URL).hostname;
  return startGovernedHub('R', 'tongxiang-bench-r-', variables, {
    start: { logger: silentLogger },
    limits: { redisUrl: BENCH_REDIS_URL, redisKeyPrefix },
    waitForLimitStore: true,
    redis: {
      local: ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host),
      cpuMs: async () => {
        try {
          const ms = redisCpuMs(await monitor.info('cpu'));
          return Number.isFinite(ms) ? ms : null;
        } catch {
          return null;
        }
      },
    },
    async afterClose() {
      await monitor.close().catch(() => monitor.destroy());
      await deleteRedisKeys(redisKeyPrefix);
    },
  });
}

/** The same hub with identity and field enforcement off, the audit trail still on (the policy-tax baseline). */
export async function startTongxiangWithoutPolicies(variables: Record<string, string>): Promise<Target> {
  const config = await hubConfig('tongxiang-bench-d-', variables);
  const department = parseDepartment('341504.mzj')!;
  const hub = await startHub(config, {
    logger: silentLogger,
    benchmarkWithoutPolicies: { principal: { subject: 'bench', department, roles: ['developer'], client: null, expiresAt: Number.MAX_SAFE_INTEGER } },
  });
  return {
    id: 'D',
    name: TARGET_NAMES.D,
    urlFor: () => hub.graphqlUrl,
    async close() {
      await hub.close();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

export async function startBareApollo(variables: Record<string, string>): Promise<Target> {
  const config = await hubConfig('tongxiang-bench-b-', variables);
  const { mesh } = await loadMesh(config);
  const apollo = new ApolloServer<BaseContext>({ schema: mesh.schema });
  try {
    const { url } = await startStandaloneServer(apollo, {
      listen: { port: 0, host: '127.0.0.1' },
      context: async () => (await mesh.getEnveloped({}).contextFactory({})) as BaseContext,
    });
    const base = new URL(url);
    base.hostname = '127.0.0.1';
    return {
      id: 'B',
      name: TARGET_NAMES.B,
      urlFor: () => base.href,
      async close() {
        await apollo.stop();
        mesh.destroy();
        await rm(config.dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    mesh.destroy();
    throw error;
  }
}

/** Answers POST /<queryId> with the bytes given for that query; reads the request body first. */
export async function startRawHttp(bodies: ReadonlyMap<string, string>): Promise<Target> {
  const encoded = new Map([...bodies].map(([id, body]) => [`/${id}`, Buffer.from(body, 'utf8')]));
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const bytes = encoded.get(req.url ?? '');
      if (!bytes) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length });
      res.end(bytes);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    id: 'C',
    name: TARGET_NAMES.C,
    urlFor: (queryId) => `http://127.0.0.1:${port}/${queryId}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
