/**
 * Retries, circuit breaker and bulkhead per upstream source (mesh/resilience.ts), on real
 * upstreams behind fault proxies that count what reaches them. Short timeouts and cool-downs come
 * from the hub's configuration; nothing here measures speed (bench/resilience.ts does).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../../sources/testing/fault-proxy.ts';
import { startTestHub, type GraphQLResponse, type TestHub } from './harness.ts';

const COOLDOWN_MS = 1000;
const THRESHOLD = 3;
const BULKHEAD = 2;
const QUEUE = 1;

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({
    upstreamTimeoutMs: 1500,
    resilience: {
      retries: 2,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 40,
      breakerConsecutiveFailures: THRESHOLD,
      breakerFailureRatio: null,
      breakerCooldownMs: COOLDOWN_MS,
      sources: { MarketRegistry: { maxConcurrent: BULKHEAD, maxQueued: QUEUE } },
    },
  });
});
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  t.soapProxy.setMode({ kind: 'pass' });
  t.restProxy.setMode({ kind: 'pass' });
});

type Person = { person: { idNumber: string; allowances: unknown[] | null; insurance: unknown[] | null; enterprisesAsLegalRepresentative: unknown[] | null } };
const PERSON = `query($id: String!) { person(idNumber: $id) {
  idNumber
  allowances { month }
  insurance { insuranceType status }
  enterprisesAsLegalRepresentative { creditCode name }
} }`;
const INSURANCE = `query($id: String!) { person(idNumber: $id) { insurance { insuranceType status } } }`;
const ENTERPRISE = `query($code: String!) { enterprise(creditCode: $code) { creditCode name } }`;

const person = () => t.query<Person>(PERSON, { id: t.upstreams.data.named.applicantWithEnterprise });
const insurance = () => t.query<{ person: { insurance: unknown[] | null } }>(INSURANCE, { id: t.upstreams.data.named.applicantWithJob });
const enterprise = () => t.query<{ enterprise: { name: string } | null }>(ENTERPRISE, { code: t.upstreams.examples.enterprise });

/** Requests that reached the upstream through this proxy (POSTs for SOAP, API paths for REST: not the readiness probe). */
const calls = (proxy: FaultProxy) => proxy.seen.filter((r) => (proxy === t.soapProxy ? r.method === 'POST' : r.path !== '/' && !r.path.startsWith('/healthz'))).length;

const errorAt = (res: GraphQLResponse, path: string) => res.body.errors?.find((e) => e.path?.join('.') === path);

async function sourceCallsOf(res: GraphQLResponse): Promise<Array<{ source: string; status: string }>> {
  const requestId = res.headers.get('x-request-id');
  const log = await t.query<{ auditLog: { items: Array<{ requestId: string; sources: Array<{ source: string; status: string }> }> } }>(
    '{ auditLog(first: 200, filter: { type: "access" }) { items { requestId sources { source status } } } }',
  );
  const record = log.body.data?.auditLog.items.find((r) => r.requestId === requestId);
  expect(record, `audit record of ${requestId}`).toBeDefined();
  return record!.sources;
}

type Readyz = { status: string; sources: Array<{ name: string; ok: boolean; circuit: string }> };
async function readyz(): Promise<{ status: number; body: Readyz }> {
  const res = await fetch(`${t.hub.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz };
}

const circuitOf = (source: string) => t.hub.circuits().find((c) => c.source === source)?.state;

/** Waits (polling) until the cool-down has passed and the next call may probe. */
async function untilHalfOpen(source: string): Promise<void> {
  const deadline = Date.now() + COOLDOWN_MS * 3;
  while (circuitOf(source) !== 'half-open') {
    if (Date.now() > deadline) throw new Error(`${source} never became half-open (is ${circuitOf(source)})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Brings a source's circuit back to closed: upstream passing, probe after the cool-down if open. */
async function closeCircuit(source: string, ask: () => Promise<GraphQLResponse>): Promise<void> {
  if (circuitOf(source) !== 'closed') await untilHalfOpen(source);
  const res = await ask();
  expect(res.body.errors).toBeUndefined();
  expect(circuitOf(source)).toBe('closed');
}

describe('retries of idempotent reads', () => {
  it('retries a connection reset on the REST source and the field answers', async () => {
    t.restProxy.setMode({ kind: 'series', first: [{ kind: 'reset' }], then: { kind: 'pass' } });
    const before = calls(t.restProxy);
    const res = await insurance();
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.person.insurance!.length).toBeGreaterThan(0);
    expect(calls(t.restProxy) - before).toBe(2);
    // Both attempts are in the request's audit record, each with its outcome.
    expect((await sourceCallsOf(res)).filter((c) => c.source === 'SocialInsurance').map((c) => c.status)).toEqual(['UPSTREAM_UNAVAILABLE', 'ok']);
  });

  it('retries a reset SOAP call and the field answers', async () => {
    t.soapProxy.setMode({ kind: 'series', first: [{ kind: 'reset' }], then: { kind: 'pass' } });
    const before = calls(t.soapProxy);
    const res = await enterprise();
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.enterprise?.name).toEqual(expect.any(String));
    expect(calls(t.soapProxy) - before).toBe(2);
  });

  it('gives up after the bounded number of attempts when the source keeps failing with 503', async () => {
    t.restProxy.setMode({ kind: 'garbage', status: 503, contentType: 'text/html', body: '<h1>维护中</h1>' });
    const before = calls(t.restProxy);
    const res = await insurance();
    expect(errorAt(res, 'person.insurance')?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'SocialInsurance', reason: 'HTTP 503' });
    expect(calls(t.restProxy) - before).toBe(3); // 1 + 2 retries
    t.restProxy.setMode({ kind: 'pass' });
    await closeCircuit('SocialInsurance', insurance);
  });

  it.each([
    { status: 401, code: 'UPSTREAM_AUTH_FAILED' },
    { status: 403, code: 'UPSTREAM_AUTH_FAILED' },
    { status: 404, code: 'UPSTREAM_INVALID' },
    { status: 429, code: 'UPSTREAM_UNAVAILABLE' },
  ])('never retries a refusal: HTTP $status reaches the upstream exactly once ($code)', async ({ status, code }) => {
    t.restProxy.setMode({ kind: 'garbage', status, contentType: 'application/json', body: '{"code":"REFUSED"}' });
    const before = calls(t.restProxy);
    const res = await insurance();
    expect(errorAt(res, 'person.insurance')?.extensions).toMatchObject({ code, source: 'SocialInsurance' });
    expect(calls(t.restProxy) - before).toBe(1);
    t.restProxy.setMode({ kind: 'pass' });
    await closeCircuit('SocialInsurance', insurance);
  });

  it('never retries a SOAP security fault (401)', async () => {
    t.soapProxy.setMode({ kind: 'garbage', status: 401, contentType: 'text/html', body: 'Unauthorized' });
    const before = calls(t.soapProxy);
    const res = await enterprise();
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', source: 'MarketRegistry' });
    expect(calls(t.soapProxy) - before).toBe(1);
    expect(circuitOf('MarketRegistry')).toBe('closed');
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold on a dead upstream; then calls never reach it, other sources answer, /readyz says open; a probe after the cool-down closes it', async () => {
    const operator = await t.tokenFor({ subject: 'ops', department: '340000.sjzyj', roles: ['operator'] });
    t.soapProxy.setMode({ kind: 'reset' });
    for (let i = 0; i < THRESHOLD; i++) {
      const res = await enterprise();
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'MarketRegistry' });
    }
    expect(circuitOf('MarketRegistry')).toBe('open');
    // The operators' console shows it (its own probe finds the source down too).
    const sources = await t.query<{ hubSources: Array<{ name: string; ok: boolean; circuit: string }> }>('{ hubSources(hours: 1) { name ok circuit } }', {}, { token: operator });
    expect(sources.body.data!.hubSources.find((s) => s.name === 'MarketRegistry')).toEqual({ name: 'MarketRegistry', ok: false, circuit: 'open' });
    expect(sources.body.data!.hubSources.find((s) => s.name === 'SocialInsurance')?.circuit).toBe('closed');

    // Open: the field fails at once with UPSTREAM_CIRCUIT_OPEN and nothing reaches the upstream.
    const before = calls(t.soapProxy);
    const res = await person();
    expect(calls(t.soapProxy)).toBe(before);
    expect(res.status).toBe(200);
    expect(errorAt(res, 'person.enterprisesAsLegalRepresentative')?.extensions).toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
      source: 'MarketRegistry',
      sourceLabel: expect.any(String),
      retryAfterS: expect.any(Number),
      messageZh: expect.stringContaining('熔断'),
    });
    expect(res.body.data!.person.enterprisesAsLegalRepresentative).toBeNull();
    expect(res.body.data!.person.insurance!.length).toBeGreaterThan(0);
    expect(res.body.data!.person.allowances!.length).toBeGreaterThan(0);
    expect((await sourceCallsOf(res)).filter((c) => c.source === 'MarketRegistry').map((c) => c.status)).toEqual(['UPSTREAM_CIRCUIT_OPEN']);

    // The upstream is back, but within the cool-down the circuit still keeps the source out.
    t.soapProxy.setMode({ kind: 'pass' });
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    const market = notReady.body.sources.find((s) => s.name === 'MarketRegistry');
    expect(market).toMatchObject({ ok: true, circuit: 'open' });
    expect(notReady.body.sources.find((s) => s.name === 'SocialInsurance')).toMatchObject({ ok: true, circuit: 'closed' });
    expect(codeOfFirst(await enterprise())).toBe('UPSTREAM_CIRCUIT_OPEN');
    expect(calls(t.soapProxy)).toBe(before);

    // After the cool-down one probe goes through; it succeeds and the circuit closes.
    await untilHalfOpen('MarketRegistry');
    const probe = await enterprise();
    expect(probe.body.errors).toBeUndefined();
    expect(calls(t.soapProxy)).toBe(before + 1);
    expect(circuitOf('MarketRegistry')).toBe('closed');
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.sources.find((s) => s.name === 'MarketRegistry')).toMatchObject({ ok: true, circuit: 'closed' });
  });

  it('counts malformed answers (UPSTREAM_INVALID, not retried) as failures, and a failed probe opens it again', async () => {
    t.soapProxy.setMode({ kind: 'garbage', contentType: 'text/xml', body: '<html><body>502 Bad Gateway</body' });
    const before = calls(t.soapProxy);
    for (let i = 0; i < THRESHOLD; i++) {
      expect((await enterprise()).body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_INVALID', source: 'MarketRegistry' });
    }
    expect(calls(t.soapProxy) - before).toBe(THRESHOLD);
    expect(circuitOf('MarketRegistry')).toBe('open');
    expect(codeOfFirst(await enterprise())).toBe('UPSTREAM_CIRCUIT_OPEN');
    expect(calls(t.soapProxy) - before).toBe(THRESHOLD);

    await untilHalfOpen('MarketRegistry');
    expect(codeOfFirst(await enterprise())).toBe('UPSTREAM_INVALID'); // the probe, still garbage
    expect(circuitOf('MarketRegistry')).toBe('open');
    t.soapProxy.setMode({ kind: 'pass' });
    await closeCircuit('MarketRegistry', enterprise);
  });
});

function codeOfFirst(res: GraphQLResponse): unknown {
  return res.body.errors?.[0]?.extensions?.code;
}

describe('bulkhead', () => {
  it(`lets at most ${BULKHEAD} calls in flight to a slow source, refuses the excess at once with UPSTREAM_BUSY, and other sources still answer`, async () => {
    t.soapProxy.setMode({ kind: 'delay', ms: 500 });
    t.soapProxy.resetPeak();
    const before = calls(t.soapProxy);
    const total = 6;
    const settled: Array<{ busy: boolean; inFlightAtAnswer: number }> = [];
    const slow = Array.from({ length: total }, () =>
      enterprise().then((res) => {
        const busy = codeOfFirst(res) === 'UPSTREAM_BUSY';
        if (busy) expect(res.body.errors![0]!.extensions).toMatchObject({ source: 'MarketRegistry', sourceLabel: expect.any(String) });
        else expect(res.body.errors).toBeUndefined();
        settled.push({ busy, inFlightAtAnswer: t.soapProxy.inFlight });
        return res;
      }),
    );
    // Meanwhile another source answers as usual.
    const other = await insurance();
    expect(other.body.errors).toBeUndefined();
    await Promise.all(slow);

    const busy = settled.filter((s) => s.busy);
    expect(busy).toHaveLength(total - BULKHEAD - QUEUE);
    // Refused at once: each refusal came back while the admitted calls were still at the upstream.
    for (const s of busy) expect(s.inFlightAtAnswer).toBeGreaterThan(0);
    expect(t.soapProxy.peakInFlight).toBeLessThanOrEqual(BULKHEAD);
    expect(calls(t.soapProxy) - before).toBe(BULKHEAD + QUEUE);
    // A full bulkhead is the hub's own refusal, not the source failing.
    expect(circuitOf('MarketRegistry')).toBe('closed');
  });
});
