/**
 * The gateway's HTTP surface: authentication, health and readiness, the offline landing page,
 * graceful shutdown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalIssuer } from '../identity/index.ts';
import { COUNTY_DEVELOPER, postGraphQL, startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ upstreamTimeoutMs: 3000 });
});
afterAll(async () => {
  await t?.close();
});

describe('authentication', () => {
  const NO_STACK = /stacktrace|\.ts:\d+|at [A-Za-z.]+ \(|jose|JWS|JWT[A-Z]/;

  async function refused(token: string | null, query = '{ __typename }') {
    const res = await postGraphQL(t.hub.graphqlUrl, query, {}, { token });
    expect(res.status).toBe(401);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    const error = res.body.errors![0]!;
    expect(Object.keys(error.extensions!).sort()).toEqual(['code', 'messageEn', 'messageZh', 'reason']);
    expect(error.extensions!.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(res.body)).not.toMatch(NO_STACK);
    if (token && token.length > 20) expect(JSON.stringify(res.body)).not.toContain(token.slice(0, 20));
    return { res, reason: error.extensions!.reason };
  }

  it('answers a request without a token with 401, UNAUTHENTICATED and the reason "missing"', async () => {
    const { res, reason } = await refused(null);
    expect(reason).toBe('missing');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tongxiang"');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a garbage token with 401 and an invalid_token challenge', async () => {
    const { res, reason } = await refused('this-is-not-a-token');
    expect(reason).toBe('malformed');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tongxiang", error="invalid_token", error_description="malformed"');
  });

  it('answers a token of another hub\'s key with 401 "unknown key"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tongxiang-other-hub-'));
    try {
      const other = await openLocalIssuer({ dataDir: dir });
      expect((await refused(await other.sign(COUNTY_DEVELOPER))).reason).toBe('unknown key');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers an expired token of this hub with 401 "expired"', async () => {
    const twoHoursAgo = { now: () => Date.now() - 2 * 3600_000 };
    const issuer = await openLocalIssuer({ dataDir: t.dataDir, clock: twoHoursAgo });
    expect((await refused(await issuer.sign({ ...COUNTY_DEVELOPER, ttlSeconds: 600 }))).reason).toBe('expired');
  });

  it('answers a valid token with 200 and the data', async () => {
    const res = await t.query<{ __typename: string }>('{ __typename }');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('marks every answer as not to be stored by caches (answers depend on the caller and carry personal data)', async () => {
    const ok = await t.query('{ __typename }');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const bad = await t.query('{ __typename(x: 1) }');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('cache-control')).toBe('no-store');
  });

  it('accepts a token without roles: authenticated, with no role', async () => {
    const res = await t.query('{ __typename }', {}, { token: await t.tokenFor({ roles: [] }) });
    expect(res.status).toBe(200);
  });

  it('requires a token for introspection too', async () => {
    expect((await refused(null, '{ __schema { queryType { name } } }')).reason).toBe('missing');
  });

  it('runs nothing and calls no upstream for a refused request', async () => {
    const before = t.restProxy.seen.length;
    await refused('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `query($id: IdNumber!) { personInsurance(idNumber: $id) { idNumber } }`);
    expect(t.restProxy.seen.length).toBe(before);
  });

  it('keeps /healthz, /readyz and the landing page open without a token', async () => {
    expect((await fetch(`${t.hub.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.hub.url}/readyz`)).status).toBe(200);
    const page = await fetch(t.hub.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('令牌 / Token');
  });
});

describe('health and readiness', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await fetch(`${t.hub.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz lists every source as reachable with its latency', async () => {
    const res = await fetch(`${t.hub.url}/readyz`);
    const body = (await res.json()) as { status: string; sources: Array<{ name: string; ok: boolean; latencyMs: number }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.sources.map((s) => s.name).sort()).toEqual(['CivilAffairsRosters', 'MarketRegistry', 'SocialInsurance']);
    for (const s of body.sources) expect(s.ok).toBe(true);
  });

  it('/readyz answers 503 naming the source that is down', async () => {
    t.soapProxy.setMode({ kind: 'reset' });
    try {
      const res = await fetch(`${t.hub.url}/readyz`);
      const body = (await res.json()) as { status: string; sources: Array<{ name: string; ok: boolean }> };
      expect(res.status).toBe(503);
      expect(body.status).toBe('degraded');
      expect(body.sources.filter((s) => !s.ok).map((s) => s.name)).toEqual(['MarketRegistry']);
    } finally {
      t.soapProxy.setMode({ kind: 'pass' });
    }
  });
});

describe('landing page', () => {
  it('serves a page that loads nothing from another host', async () => {
    const res = await fetch(t.hub.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('通享');
    expect(html).toContain('query EligibilityCheck');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/cdn|unpkg|jsdelivr|googleapis|apollographql\.com/i);
  });
});

describe('errors', () => {
  it('answers a bad argument with its catalogue code and no stack trace (INTERNAL is covered in mesh/test/public-errors)', async () => {
    const res = await t.query(`{ person(idNumber: "not-a-number") { idNumber } }`);
    const text = JSON.stringify(res.body);
    expect(res.body.errors![0]!.extensions!.code).toBe('INVALID_ID_NUMBER');
    expect(text).not.toMatch(/stacktrace|\.ts:\d+|at [A-Za-z]+ \(/);
  });

  it('answers a syntax error with GRAPHQL_PARSE_FAILED and HTTP 400', async () => {
    const res = await t.query(`{ person(idNumber: `);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('echoes a sane x-request-id and makes one up otherwise', async () => {
    const mine = await fetch(t.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'county-system-0001', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(mine.headers.get('x-request-id')).toBe('county-system-0001');
    const hostile = await fetch(t.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': '<script>', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const sibling = await t.startSibling({});
    t.restProxy.setMode({ kind: 'delay', ms: 600 });
    try {
      const before = t.restProxy.seen.length;
      const inFlight = sibling.query<{ personInsurance: { idNumber: string } }>(
        `query($id: IdNumber!) { personInsurance(idNumber: $id) { idNumber } }`,
        { id: t.upstreams.data.named.applicantWithJob },
      );
      // Wait until the request is held at the slow upstream, then shut down.
      while (t.restProxy.seen.length === before) await new Promise((r) => setTimeout(r, 10));
      const closed = sibling.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.body.data!.personInsurance.idNumber).toBe(t.upstreams.data.named.applicantWithJob);
      await closed;
      await expect(fetch(`${sibling.url}/healthz`)).rejects.toThrow();
    } finally {
      t.restProxy.setMode({ kind: 'pass' });
    }
  });
});
