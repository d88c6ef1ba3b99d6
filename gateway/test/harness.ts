/**
 * One harness for gateway tests: the demo upstreams as real servers, a fault proxy in front of
 * the SOAP and REST ones, a hub on port 0 with its own temporary data directory, and a `query`
 * helper speaking GraphQL over HTTP as a county developer (341504.mzj), with a token from the
 * hub's local issuer — the same key files `tongxiang token` uses for that data directory.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../sources/testing/fault-proxy.ts';
import { loadConfig, type HubConfig } from '../config.ts';
import type { LimitOverrides } from '../limits/settings.ts';
import type { MetricsSettings, OtelSettings } from '../metrics/index.ts';
import type { ResilienceOverrides } from '../resilience-settings.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../demo.ts';
import { issueLocalToken, type TokenRequest } from '../identity/index.ts';
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

/** Who the harness is by default: a developer of 叶集区民政局, a county department. */
export const COUNTY_DEVELOPER: TokenRequest = Object.freeze({
  subject: 'test-developer',
  department: '341504.mzj',
  roles: ['developer'],
  client: 'county-eligibility-check',
});

export interface QueryOptions {
  /** The bearer token to send; null sends none. Default: the hub's county developer token. */
  readonly token?: string | null;
}

type Query = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: QueryOptions) => Promise<GraphQLResponse<T>>;

/** A hub started by the harness, with a token of its own local issuer. */
export interface TestHubInstance extends Hub {
  /** The county developer's token for this hub. */
  readonly token: string;
  readonly query: Query;
  /** Another token from this hub's local issuer. */
  tokenFor(request: Partial<TokenRequest> & { ttlSeconds?: number }): Promise<string>;
}

export interface TestHub {
  readonly hub: TestHubInstance;
  readonly upstreams: DemoUpstreams;
  readonly soapProxy: FaultProxy;
  readonly restProxy: FaultProxy;
  readonly dataDir: string;
  /** The county developer's token for `hub`. */
  readonly token: string;
  readonly query: Query;
  tokenFor(request: Partial<TokenRequest> & { ttlSeconds?: number }): Promise<string>;
  /** Another hub on the same upstreams with some settings changed (e.g. a wrong password). */
  startSibling(variables: Record<string, string>): Promise<TestHubInstance>;
  close(): Promise<void>;
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string | null } = {},
): Promise<GraphQLResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

/**
 * Gives the default test department (COUNTY_DEVELOPER's) an active contract, in clear and for all
 * rows, for every conditional field of each owner — requested and approved through the public
 * admin API — so tests about sources and links see data. Enforcement has its own tests.
 * `quotas`, when given, go into every contract (e.g. the benchmark's huge quotas, so the contract
 * quota paths run without ever refusing); without them the contracts have none.
 */
export async function grantEverything(
  url: string,
  tokenFor: (r: Partial<TokenRequest>) => Promise<string>,
  developer: string,
  quotas?: { requestsPerMinute?: number | null; recordsPerDay?: number | null },
): Promise<void> {
  const listing = await postGraphQL<{ catalogue: Array<{ coordinate: string; owners: string[]; sharing: string }> }>(
    url,
    '{ catalogue { coordinate owners sharing } }',
    {},
    { token: developer },
  );
  if (!listing.body.data) throw new Error(`catalogue: ${JSON.stringify(listing.body.errors)}`);
  const self = COUNTY_DEVELOPER.department;
  const byOwner = new Map<string, string[]>();
  for (const e of listing.body.data.catalogue) {
    if (e.sharing !== 'CONDITIONAL') continue;
    // A department sees its own rows; for co-owned fields each other owner grants its rows.
    for (const owner of e.owners) if (owner !== self) byOwner.set(owner, [...(byOwner.get(owner) ?? []), e.coordinate]);
  }
  const until = new Date(Date.now() + 300 * 86_400_000).toISOString();
  for (const [owner, coordinates] of byOwner) {
    const requested = await postGraphQL<{ requestContract: { id: string } }>(
      url,
      `mutation($provider: String!, $fields: [FieldGrantInput!]!, $until: String!, $quotas: QuotasInput) { requestContract(input: { provider: $provider, fields: $fields, purpose: "自动化测试 / test suite", legalBasis: "测试 / test", scope: { kind: ALL }, validUntil: $until, quotas: $quotas }) { id } }`,
      { provider: owner, fields: coordinates.map((coordinate) => ({ coordinate })), until, quotas },
      { token: developer },
    );
    if (!requested.body.data) throw new Error(`request ${owner}: ${JSON.stringify(requested.body.errors)}`);
    const ownerToken = await tokenFor({ subject: `owner-${owner}`, department: owner, roles: ['data_owner'] });
    const approved = await postGraphQL(url, 'mutation($id: ID!) { approveContract(id: $id) { state } }', { id: requested.body.data.requestContract.id }, { token: ownerToken });
    if (approved.body.errors) throw new Error(`approve ${owner}: ${JSON.stringify(approved.body.errors)}`);
  }
}

async function withToken(hub: Hub): Promise<TestHubInstance> {
  const tokenFor = (request: Partial<TokenRequest> & { ttlSeconds?: number }) =>
    issueLocalToken(hub.config.identity, hub.config.dataDir, { ...COUNTY_DEVELOPER, ttlSeconds: 3600, ...request });
  const token = await tokenFor({});
  await grantEverything(hub.graphqlUrl, tokenFor, token);
  const query: Query = (q, variables, options = {}) =>
    postGraphQL(hub.graphqlUrl, q, variables, { token: options.token === undefined ? token : options.token });
  return Object.freeze({ ...hub, token, query, tokenFor });
}

export async function startTestHub(options: { upstreamTimeoutMs?: number; limits?: LimitOverrides; resilience?: ResilienceOverrides; metrics?: Partial<MetricsSettings>; otel?: Partial<OtelSettings> } = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-test-'));
  const upstreams = await startDemoUpstreams({ dataDir });
  const soapProxy = await startFaultProxy(upstreams.registryEndpoint);
  const restProxy = await startFaultProxy(upstreams.insuranceUrl);
  const siblings: Hub[] = [];

  // Each hub gets its own copy of the demo drop folder: a hub ingests the files it finds and moves
  // them to archive/. Tests drop files for a sibling into upstreams.dropDir before starting it.
  const ownDropDir = async (dir: string): Promise<string> => {
    const copy = join(dir, 'hub-drop');
    await cp(upstreams.dropDir, copy, { recursive: true });
    return copy;
  };
  const configFor = (dir: string, dropDir: string, extra: Record<string, string> = {}): HubConfig =>
    loadConfig({
      env: {},
      overrides: {
        port: 0,
        dataDir: dir,
        upstreamTimeoutMs: options.upstreamTimeoutMs ?? 1500,
        shutdownGraceMs: 5000,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.resilience ? { resilience: options.resilience } : {}),
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.otel ? { otel: options.otel } : {}),
        variables: {
          ...upstreams.variables,
          TONGXIANG_SAMR_URL: soapProxy.through(upstreams.registryEndpoint),
          TONGXIANG_RSJ_URL: restProxy.through(upstreams.insuranceUrl),
          TONGXIANG_DROP_DIR: dropDir,
          ...extra,
        },
      },
    });

  let hub: TestHubInstance;
  try {
    hub = await withToken(await startHub(configFor(dataDir, await ownDropDir(dataDir)), { logger: silentLogger }));
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
    token: hub.token,
    query: hub.query,
    tokenFor: hub.tokenFor,
    async startSibling(variables) {
      const dir = await mkdtemp(join(tmpdir(), 'tongxiang-sibling-'));
      const sibling = await startHub(configFor(dir, await ownDropDir(dir), variables), { logger: silentLogger });
      siblings.push(sibling);
      return withToken(sibling);
    },
    async close() {
      await Promise.allSettled(siblings.map((s) => s.close()));
      await hub.close();
      await Promise.allSettled([soapProxy.close(), restProxy.close(), upstreams.close()]);
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}
