/**
 * One harness for gateway tests: the demo upstreams as real servers, a fault proxy in front of
 * the SOAP and REST ones, a hub on port 0 with its own temporary data directory, and a `query`
 * helper speaking GraphQL over HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../sources/testing/fault-proxy.ts';
import { loadConfig, type HubConfig } from '../config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../demo.ts';
import { silentLogger } from '../log.ts';
import { startHub, type Hub } from '../server.ts';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  };
}

export interface TestHub {
  readonly hub: Hub;
  readonly upstreams: DemoUpstreams;
  readonly soapProxy: FaultProxy;
  readonly restProxy: FaultProxy;
  readonly dataDir: string;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Another hub on the same upstreams with some settings changed (e.g. a wrong password). */
  startSibling(variables: Record<string, string>): Promise<Hub>;
  close(): Promise<void>;
}

export async function postGraphQL<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

export async function startTestHub(options: { upstreamTimeoutMs?: number } = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-test-'));
  const upstreams = await startDemoUpstreams({ dataDir });
  const soapProxy = await startFaultProxy(upstreams.registryEndpoint);
  const restProxy = await startFaultProxy(upstreams.insuranceUrl);
  const siblings: Hub[] = [];

  const configFor = (dir: string, extra: Record<string, string> = {}): HubConfig =>
    loadConfig({
      env: {},
      overrides: {
        port: 0,
        dataDir: dir,
        upstreamTimeoutMs: options.upstreamTimeoutMs ?? 1500,
        shutdownGraceMs: 5000,
        variables: {
          ...upstreams.variables,
          TONGXIANG_SAMR_URL: soapProxy.through(upstreams.registryEndpoint),
          TONGXIANG_RSJ_URL: restProxy.through(upstreams.insuranceUrl),
          TONGXIANG_DROP_DIR: upstreams.dropDir,
          ...extra,
        },
      },
    });

  let hub: Hub;
  try {
    hub = await startHub(configFor(dataDir), { logger: silentLogger });
  } catch (error) {
    await Promise.allSettled([soapProxy.close(), restProxy.close(), upstreams.close()]);
    throw error;
  }

  return {
    hub,
    upstreams,
    soapProxy,
    restProxy,
    dataDir,
    query: (query, variables) => postGraphQL(hub.graphqlUrl, query, variables),
    async startSibling(variables) {
      const dir = await mkdtemp(join(tmpdir(), 'tongxiang-sibling-'));
      const sibling = await startHub(configFor(dir, variables), { logger: silentLogger });
      siblings.push(sibling);
      return sibling;
    },
    async close() {
      await Promise.allSettled(siblings.map((s) => s.close()));
      await hub.close();
      await Promise.allSettled([soapProxy.close(), restProxy.close(), upstreams.close()]);
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}
