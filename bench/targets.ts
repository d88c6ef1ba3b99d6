/**
 * The three servers the benchmark compares, all on 127.0.0.1 in the bench process:
 *   A  Tongxiang — the hub as shipped (startHub: Fastify + Apollo + Mesh + request id + error mapping)
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
import { startHub } from '../gateway/server.ts';

export type TargetId = 'A' | 'B' | 'C' | 'D';
export const TARGET_IDS: readonly TargetId[] = ['A', 'D', 'B', 'C'];

export interface Target {
  readonly id: TargetId;
  readonly name: string;
  /** The URL a query is POSTed to. */
  urlFor(queryId: string): string;
  /** Headers every request carries (A: a county developer's bearer token; the run sends them to all). */
  readonly headers?: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export const TARGET_NAMES: Record<TargetId, string> = {
  A: 'Tongxiang (startHub)',
  B: 'bare Apollo on the Mesh schema',
  C: 'raw node:http, fixed bytes',
  D: 'Tongxiang, identity and enforcement off',
};

async function hubConfig(prefix: string, variables: Record<string, string>): Promise<HubConfig> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  // The drop folder is the upstreams process's; each target keeps its own file-drop store below
  // its own data directory (one PGlite per folder per process).
  return loadConfig({ env: {}, overrides: { port: 0, dataDir, variables } });
}

export async function startTongxiang(variables: Record<string, string>): Promise<Target> {
  const config = await hubConfig('tongxiang-bench-a-', variables);
  const hub = await startHub(config, { logger: silentLogger });
  const tokenFor = (request: Partial<TokenRequest>) =>
    issueLocalToken(config.identity, config.dataDir, { subject: 'bench', department: '341504.mzj', roles: ['developer'], ttlSeconds: 86_400, ...request });
  const token = await tokenFor({});
  // Contracts for every conditional field, so A answers what bare Apollo answers, with every policy on.
  await grantEverything(hub.graphqlUrl, tokenFor, token);
  return {
    id: 'A',
    name: TARGET_NAMES.A,
    urlFor: () => hub.graphqlUrl,
    headers: { authorization: `Bearer ${token}` },
    async close() {
      await hub.close();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** The same hub with identity and field enforcement off (the policy-tax baseline). */
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
