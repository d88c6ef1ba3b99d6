/**
 * The servers the benchmark compares, all on 127.0.0.1 in the bench process:
 *   A  Tongxiang — the hub as shipped (startHub: Fastify + Apollo + Mesh + request id + error
 *      mapping + identity + field enforcement + the strict audit trail)
 *   D  the same hub with identity and field enforcement off (audit still on) — A/D is the policy tax
 *   E  the same hub with the audit trail off (policies still on) — A/E is the cost of strict audit
 *   B  bare Apollo on the Mesh schema — same loadMesh, startStandaloneServer, nothing else
 *   C  raw HTTP — node:http answering the exact bytes A answers, the box's HTTP ceiling
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { loadConfig, type HubConfig } from '../gateway/config.ts';
import { parseDepartment } from '../core/index.ts';
import { issueLocalToken, type TokenRequest } from '../gateway/identity/index.ts';
import { grantEverything } from '../gateway/test/harness.ts';
import { silentLogger } from '../gateway/log.ts';
import { loadMesh } from '../gateway/mesh-loader.ts';
import { startHub, type StartOptions } from '../gateway/server.ts';

export type TargetId = 'A' | 'B' | 'C' | 'D' | 'E';
export const TARGET_IDS: readonly TargetId[] = ['A', 'D', 'E', 'B', 'C'];

export interface Target {
  readonly id: TargetId;
  readonly name: string;
  /** The URL a query is POSTed to. */
  urlFor(queryId: string): string;
  /**
   * Headers this target's requests carry: A and E each a county developer's bearer token from
   * their own issuer; targets without any get A's (the run sends them to D, B and C alike).
   */
  readonly headers?: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export const TARGET_NAMES: Record<TargetId, string> = {
  A: 'Tongxiang (startHub)',
  B: 'bare Apollo on the Mesh schema',
  C: 'raw node:http, fixed bytes',
  D: 'Tongxiang, identity and enforcement off',
  E: 'Tongxiang, audit trail off',
};

async function hubConfig(prefix: string, variables: Record<string, string>): Promise<HubConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  // The drop folder is the upstreams process's; each target keeps its own file-drop store below
  // its own data directory (one PGlite per folder per process).
  return loadConfig({ env: {}, overrides: { port: 0, dataDir, variables } });
}

/**
 * A hub with identity on: a county developer's token from the hub's own issuer, and contracts for
 * every conditional field, so it answers what bare Apollo answers with every policy on.
 */
async function startGovernedHub(id: 'A' | 'E', prefix: string, variables: Record<string, string>, options: StartOptions): Promise<Target> {
  const config = await hubConfig(prefix, variables);
  const hub = await startHub(config, options);
  try {
    const tokenFor = (request: Partial<TokenRequest>) =>
      issueLocalToken(config.identity, config.dataDir, { subject: 'bench', department: '341504.mzj', roles: ['developer'], ttlSeconds: 86_400, ...request });
    const token = await tokenFor({});
    await grantEverything(hub.graphqlUrl, tokenFor, token);
    return {
      id,
      name: TARGET_NAMES[id],
      urlFor: () => hub.graphqlUrl,
      headers: { authorization: `Bearer ${token}` },
      async close() {
        await hub.close();
        await rm(config.dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await hub.close().catch(() => undefined);
    await rm(config.dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The hub as shipped: every policy on, the audit trail in its default (strict) mode. */
export function startTongxiang(variables: Record<string, string>): Promise<Target> {
  return startGovernedHub('A', 'tongxiang-bench-a-', variables, { logger: silentLogger });
}

/** The same hub with the audit trail off, every policy on (the strict-audit baseline). */
export function startTongxiangWithoutAudit(variables: Record<string, string>): Promise<Target> {
  return startGovernedHub('E', 'tongxiang-bench-e-', variables, { logger: silentLogger, benchmarkWithoutAudit: true });
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
