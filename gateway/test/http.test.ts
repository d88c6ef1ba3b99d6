/**
 * The gateway's HTTP surface: health and readiness, the offline landing page, graceful shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL, startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ upstreamTimeoutMs: 3000 });
});
afterAll(async () => {
  await t?.close();
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
  it('never returns a stack trace, even for an unexpected error', async () => {
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
      headers: { 'content-type': 'application/json', 'x-request-id': 'county-system-0001' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(mine.headers.get('x-request-id')).toBe('county-system-0001');
    const hostile = await fetch(t.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': '<script>' },
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
      const inFlight = postGraphQL<{ personInsurance: { idNumber: string } }>(
        sibling.graphqlUrl,
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
