/**
 * Scale-out: three hub replicas as separate processes (limits-replica-child.ts) sharing one
 * PostgreSQL database — contracts, exchange and audit; a private database per run, dropped
 * afterwards — and the machine's Redis (a key prefix of their own), behind one address: a small
 * round-robin HTTP proxy on 127.0.0.1 started here (one upstream request per incoming request, so
 * consecutive requests land on consecutive replicas whatever the client's keep-alive does).
 *
 * (1) A contract applied for and approved on replica 1 lets the consumer read the field on
 *     replicas 2 and 3 within the stated bound (docs/scaling.md: 1 s; LISTEN/NOTIFY), though
 *     both had cached "no contract" just before; a suspension on replica 2 denies on 1 and 3.
 * (2) A contract quota of N requests per minute admits exactly N of many concurrent requests
 *     through the proxy.
 * (3) Every replica's audit chain in PostgreSQL verifies (`tongxiang audit verify` with
 *     DATABASE_URL), and the access records are exactly the requests this test made.
 * Unreachable PostgreSQL fails the run when CI=true and skips it, saying so, elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgAuditStore } from '../../audit/pg-store.ts';
import type { AccessRecord } from '../../audit/types.ts';
import { runAuditCli } from '../audit/cli.ts';
import { loadConfig } from '../config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../demo.ts';
import { issueLocalToken, type TokenRequest } from '../identity/index.ts';
import type { GraphQLResponse } from './harness.ts';

const PG_URL = process.env.TONGXIANG_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TONGXIANG_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHILD = fileURLToPath(new URL('./limits-replica-child.ts', import.meta.url));
const PREFIX = `tongxiang-test:scale:${process.pid}:${Date.now()}:`;
const DATABASE = `tongxiang_scale_${randomBytes(6).toString('hex')}`;
const inCI = process.env.CI === 'true';
/** docs/scaling.md: a contract change reaches every listening replica within 1 s. */
const PROPAGATION_BOUND_MS = 1000;

const RSJ = '341500.rsj';
const YEJI = '341504.mzj';
const LIXIN = '341623.mzj';
const MA_YICHANG = '341504197111070137'; // 叶集区, resident insurance
const SU_FENGFANG = '341623199403200021'; // 利辛县, employee pension insurance
const INSURANCE = 'query Insurance($id: String!) { person(idNumber: $id) { insurance { status } } }';

async function reachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return (error as Error).message || 'unreachable';
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface RoundRobin {
  readonly url: string;
  /** Requests sent to each backend. */
  readonly sent: number[];
  close(): Promise<void>;
}

/** One address for the replicas: each request goes to the next backend in turn. */
async function startRoundRobin(backends: readonly URL[]): Promise<RoundRobin> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const sent = backends.map(() => 0);
  let next = 0;
  const server: Server = createServer((req, res) => {
    const i = next++ % backends.length;
    const backend = backends[i]!;
    sent[i]!++;
    const upstream = httpRequest(
      { host: backend.hostname, port: backend.port, path: req.url, method: req.method, headers: { ...req.headers, host: backend.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-test-replica': String(i) });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const problem = await reachable();

if (problem === null) {
  let upstreams: DemoUpstreams;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const replicas: string[] = [];
  let proxy: RoundRobin;
  const databaseUrl = PG_URL.replace(/\/[^/?]*(\?|$)/, `/${DATABASE}$1`);
  /** x-request-id of every GraphQL request this test made, through any address. */
  const requestIds: string[] = [];

  const tokenFor = (request: Partial<TokenRequest>) =>
    issueLocalToken(loadConfig({ env: {}, overrides: { dataDir: dirs[1]! } }).identity, dirs[1]!, {
      subject: 'scale-test',
      department: YEJI,
      roles: ['developer'],
      client: 'scale-out-test',
      ttlSeconds: 3600,
      ...request,
    });

  async function call<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<GraphQLResponse<T>> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const id = response.headers.get('x-request-id');
    if (id) requestIds.push(id);
    return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
  }

  async function startReplica(dataDir: string, instance: string): Promise<string> {
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
          env: { DATABASE_URL: databaseUrl },
          variables: { ...upstreams.variables, TONGXIANG_DROP_DIR: dropDir },
          limits: { redisUrl: REDIS_URL, redisKeyPrefix: PREFIX, redisTimeoutMs: 10_000 },
        }),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`replica ${instance} exited early (${code})`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    });
  }

  /** The insurance fields 六安市人社局 owns, from the live catalogue. */
  async function insuranceCoordinates(token: string): Promise<string[]> {
    const listing = await call<{ catalogue: Array<{ coordinate: string; owners: string[]; sharing: string }> }>(replicas[0]!, '{ catalogue { coordinate owners sharing } }', {}, token);
    return listing.body.data!.catalogue
      .filter((e) => e.sharing === 'CONDITIONAL' && e.owners.includes(RSJ) && (e.coordinate === 'Person.insurance' || e.coordinate.startsWith('InsuranceRecord.')))
      .map((e) => e.coordinate);
  }

  /** Requested by the consumer's developer and approved by 人社局's data owner, both on `url`. */
  async function activeContract(url: string, consumer: string, quotas: { requestsPerMinute?: number } = {}): Promise<string> {
    const developer = await tokenFor({ subject: `dev-${consumer}`, department: consumer, roles: ['developer'] });
    const requested = await call<{ requestContract: { id: string } }>(
      url,
      `mutation($fields: [FieldGrantInput!]!, $until: String!, $quotas: QuotasInput) {
        requestContract(input: { provider: "${RSJ}", fields: $fields, purpose: "低保资格核查（扩展测试）", legalBasis: "《社会救助暂行办法》", scope: { kind: ALL }, validUntil: $until, quotas: $quotas }) { id }
      }`,
      { fields: (await insuranceCoordinates(developer)).map((coordinate) => ({ coordinate })), until: new Date(Date.now() + 30 * 86_400_000).toISOString(), quotas },
      developer,
    );
    if (!requested.body.data) throw new Error(`request: ${JSON.stringify(requested.body.errors)}`);
    const approved = await call(url, 'mutation($id: ID!) { approveContract(id: $id) { state } }', { id: requested.body.data.requestContract.id }, await ownerToken());
    if (approved.body.errors) throw new Error(`approve: ${JSON.stringify(approved.body.errors)}`);
    return requested.body.data.requestContract.id;
  }

  const ownerToken = () => tokenFor({ subject: 'rsj-owner', department: RSJ, roles: ['data_owner'] });

  type InsuranceAnswer = { person: { insurance: Array<{ status: string }> | null } | null };
  const readsInsurance = (r: GraphQLResponse<InsuranceAnswer>) => r.status === 200 && Array.isArray(r.body.data?.person?.insurance) && r.body.data.person.insurance.length > 0;
  const denied = (r: GraphQLResponse<InsuranceAnswer>) =>
    r.status === 200 && r.body.data?.person?.insurance === null && (r.body.errors ?? []).some((e) => e.extensions?.code === 'FORBIDDEN_FIELD');

  /**
   * Polls `url` until `check` holds. The bound says a request *sent* later than `since` + bound
   * sees the change, so a failing answer to a request sent after it fails the test (a slow round
   * trip on a loaded machine does not). Returns when the first request that saw it was sent.
   */
  async function within(url: string, token: string, check: (r: GraphQLResponse<InsuranceAnswer>) => boolean, since: number): Promise<number> {
    for (;;) {
      const sent = performance.now() - since;
      const answer = await call<InsuranceAnswer>(url, INSURANCE, { id: MA_YICHANG }, token);
      if (check(answer)) return sent;
      if (sent > PROPAGATION_BOUND_MS) throw new Error(`a request sent ${sent.toFixed(0)} ms after the change (bound ${PROPAGATION_BOUND_MS} ms) did not see it on ${url}: ${JSON.stringify(answer.body)}`);
    }
  }

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${DATABASE}`);
    const up = await mkdtemp(join(tmpdir(), 'tongxiang-scale-up-'));
    dirs.push(up);
    upstreams = await startDemoUpstreams({ dataDir: up });
    for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(join(tmpdir(), `tongxiang-scale-${i}-`)));
    // One local issuer for all three: the first replica's key, copied to the others.
    await tokenFor({});
    for (const dir of dirs.slice(2)) await cp(join(dirs[1]!, 'identity'), join(dir, 'identity'), { recursive: true });
    // The first replica migrates the shared database; the other two start together.
    replicas.push(await startReplica(dirs[1]!, 'replica-1'));
    replicas.push(...(await Promise.all([startReplica(dirs[2]!, 'replica-2'), startReplica(dirs[3]!, 'replica-3')])));
    proxy = await startRoundRobin(replicas.map((u) => new URL(u)));
  }, 300_000);

  afterAll(async () => {
    await proxy?.close();
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
    await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 60_000);

  describe('three gateway replicas on one PostgreSQL and one Redis', () => {
    it('spreads requests over the three replicas behind one address', async () => {
      const token = await tokenFor({});
      for (let i = 0; i < 6; i++) expect((await call(proxy.url, '{ __typename }', {}, token)).status).toBe(200);
      expect(proxy.sent.every((n) => n >= 2)).toBe(true);
    });

    it('lets a contract approved on replica 1 be used on replicas 2 and 3 within 1 s, and a suspension on replica 2 deny on 1 and 3 likewise', async () => {
      const [one, two, three] = replicas as [string, string, string];
      const token = await tokenFor({});
      // Replicas 2 and 3 cache "no active contract" for 叶集区民政局 first.
      expect(denied(await call<InsuranceAnswer>(two, INSURANCE, { id: MA_YICHANG }, token))).toBe(true);
      expect(denied(await call<InsuranceAnswer>(three, INSURANCE, { id: MA_YICHANG }, token))).toBe(true);

      const id = await activeContract(one, YEJI);
      const approvedAt = performance.now();
      const [onTwo, onThree] = await Promise.all([within(two, token, readsInsurance, approvedAt), within(three, token, readsInsurance, approvedAt)]);
      expect(readsInsurance(await call<InsuranceAnswer>(one, INSURANCE, { id: MA_YICHANG }, token))).toBe(true);

      const suspended = await call<{ suspendContract: { state: string } }>(two, 'mutation($id: ID!) { suspendContract(id: $id, reason: "核查 / review") { state } }', { id }, await ownerToken());
      expect(suspended.body.data?.suspendContract.state).toBe('SUSPENDED');
      const suspendedAt = performance.now();
      const [onOne, onThreeAgain] = await Promise.all([within(one, token, denied, suspendedAt), within(three, token, denied, suspendedAt)]);
      expect(denied(await call<InsuranceAnswer>(two, INSURANCE, { id: MA_YICHANG }, token))).toBe(true);
      console.info(
        `contract propagation (send time of the first request that saw it, after the mutation's answer): approval → replica 2 ${onTwo.toFixed(0)} ms, replica 3 ${onThree.toFixed(0)} ms; ` +
          `suspension → replica 1 ${onOne.toFixed(0)} ms, replica 3 ${onThreeAgain.toFixed(0)} ms`,
      );
    }, 60_000);

    it('admits exactly N of 3N+ concurrent requests through the proxy against a contract quota of N per minute', async () => {
      const N = 10;
      await activeContract(replicas[0]!, LIXIN, { requestsPerMinute: N });
      const token = await tokenFor({ subject: 'lixin-dev', department: LIXIN, roles: ['developer'] });
      const before = [...proxy.sent];
      const results = await Promise.all(Array.from({ length: 45 }, () => call<InsuranceAnswer>(proxy.url, INSURANCE, { id: SU_FENGFANG }, token)));
      const admitted = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 429);
      expect(admitted).toHaveLength(N);
      expect(refused).toHaveLength(45 - N);
      expect(admitted.every(readsInsurance)).toBe(true);
      expect(refused.every((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED' && r.body.errors[0].extensions.limit === 'contract-rpm')).toBe(true);
      expect(proxy.sent.map((n, i) => n - before[i]!)).toEqual([15, 15, 15]);
    }, 60_000);

    it('keeps one verifiable audit chain per replica in PostgreSQL, with an access record for every request made', async () => {
      // The three replicas' checkpoint keys, trusted together.
      const keys = [];
      for (const dir of dirs.slice(1)) keys.push(...(JSON.parse(await readFile(join(dir, 'audit', 'keys', 'jwks.json'), 'utf8')) as { keys: unknown[] }).keys);
      const jwks = join(dirs[0]!, 'replicas-jwks.json');
      await writeFile(jwks, JSON.stringify({ keys }));
      let out = '';
      const code = await runAuditCli(['verify', '--keys', jwks, '--json'], { env: { DATABASE_URL: databaseUrl }, stdout: (t) => (out += t), stderr: (t) => (out += t) });
      const result = JSON.parse(out) as { ok: boolean; instances?: Array<{ instance: string; firstSeq: number; lastSeq: number }> };
      expect(code, out).toBe(0);
      expect(result.ok).toBe(true);
      expect(result.instances!.map((i) => i.instance).sort()).toEqual(['replica-1', 'replica-2', 'replica-3']);
      expect(result.instances!.every((i) => i.firstSeq === 1)).toBe(true);

      const store = await openPgAuditStore({ connectionString: databaseUrl, schema: 'tongxiang_audit' });
      const access: AccessRecord[] = [];
      let bytes = 0;
      try {
        for await (const entry of store.read()) {
          if (entry.kind !== 'record' || entry.record.type !== 'access') continue;
          access.push(entry.record);
          bytes += Buffer.byteLength(JSON.stringify(entry));
        }
      } finally {
        await store.close();
      }
      console.info(`audit: ${access.length} access records, ${Math.round(bytes / access.length)} bytes per entry on average (docs/scaling.md sizes the audit table with it)`);
      expect(access.map((r) => r.requestId).sort()).toEqual([...requestIds].sort());
      expect(new Set(access.map((r) => r.instance))).toEqual(new Set(['replica-1', 'replica-2', 'replica-3']));
      expect(access.filter((r) => r.httpStatus === 429)).toHaveLength(35);
    }, 60_000);
  });
} else if (inCI) {
  describe('scale-out on PostgreSQL', () => {
    it(`reaches PostgreSQL at ${PG_URL}`, () => {
      throw new Error(`PostgreSQL is required in CI and is unreachable: ${problem}`);
    });
  });
} else {
  console.warn(`scale-out: skipped, ${PG_URL} unreachable (${problem}); CI=true makes this a failure`);
  describe.skip(`scale-out — skipped: ${PG_URL} unreachable (${problem}); CI=true makes this a failure`, () => {
    it('runs three replicas', () => undefined);
  });
}
