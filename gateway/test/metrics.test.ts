/**
 * Prometheus metrics at /metrics: a registry per hub, the access token, and counters that move by
 * exactly what happened — checked against the access records the audit wrote for the same requests.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../core/index.ts';
import { loadConfig } from '../config.ts';
import { bearerMatches, createHubMetrics } from '../metrics/index.ts';
import { COUNTY_DEVELOPER, startTestHub, type TestHub } from './harness.ts';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdef';
/** 李国 (叶集区): on the roster, and runs an enterprise — the query reaches every source. */
const ID_NUMBER = '341504198712193778';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`. */
function total(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

interface AccessEntry {
  requestId: string;
  outcome: string;
  httpStatus: number;
  department: string | null;
  coordinates: Array<{ coordinate: string; decision: string; detail: string }>;
  sources: Array<{ source: string; status: string; latencyMs: number }>;
}

async function logEntries(dataDir: string): Promise<Array<{ kind: string; seq?: number; record?: { type: string; seq?: number } }>> {
  const text = await readFile(join(dataDir, 'audit', 'log.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function accessRecord(dataDir: string, requestId: string | null): Promise<AccessEntry> {
  const found = (await logEntries(dataDir)).map((e) => e.record as unknown as AccessEntry & { type: string }).find((r) => r?.type === 'access' && r.requestId === requestId);
  if (!found) throw new Error(`no access record for ${requestId}`);
  return found;
}

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({
    limits: { anonymousPerMinute: 1, operationByDepartment: { '341503.mzj': { maxDepth: 2 } } },
    metrics: { token: METRICS_TOKEN },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const metricsUrl = () => `${t.hub.url}/metrics`;
const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
  const response = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parseMetrics(text) };
};

describe('access to /metrics', () => {
  it('refuses a scrape without the configured token, or with a wrong one, with 401 UNAUTHENTICATED', async () => {
    const none = await fetch(metricsUrl());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');

    const wrong = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const asGraphQLCaller = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${t.token}` } });
    expect(asGraphQLCaller.status).toBe(401);
    const notBearer = await fetch(metricsUrl(), { headers: { authorization: `Basic ${METRICS_TOKEN}` } });
    expect(notBearer.status).toBe(401);
  });

  it('answers the Prometheus text format with the token, including process metrics of this hub', async () => {
    const response = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE tongxiang_graphql_requests_total counter');
    expect(text).toContain('tongxiang_process_resident_memory_bytes');
    expect(text).toContain('# TYPE tongxiang_upstream_call_duration_seconds histogram');
  });

  it('keeps every metric out of the process-wide default registry (one registry per hub)', async () => {
    expect(await globalRegistry.metrics()).not.toContain('tongxiang_');
    // Two registries with the same metrics side by side: no "already registered" clash.
    const a = createHubMetrics({ processMetrics: true });
    const b = createHubMetrics({ processMetrics: true });
    expect(a.registry).not.toBe(b.registry);
    expect(await b.registry.metrics()).toContain('tongxiang_graphql_requests_total');
  });
});

describe('counters after an allowed, a denied, a too complex and a rate-limited request', () => {
  it('move by exactly what the audit recorded, and upstream latency has samples for each source called', async () => {
    const before = (await scrape()).samples;

    // 1. Allowed: the eligibility check in clear (the harness's contracts grant everything).
    const eligibility = t.hub.examples.find((e) => e.query.includes('EligibilityCheck'))!;
    const allowed = await t.query(eligibility.query, { ...eligibility.variables, idNumber: ID_NUMBER });
    expect(allowed.status).toBe(200);
    expect(allowed.body.errors).toBeUndefined();

    // 2. Denied fields: a department with no contract asks for conditional fields.
    const stranger = await t.tokenFor({ subject: 'dev-341502', department: '341502.mzj', roles: ['developer'] });
    const denied = await t.query(`{ getEnterprise(creditCode: "${t.upstreams.examples.enterprise}") { creditCode name legalRepresentativeIdNumber } }`, {}, { token: stranger });
    expect((denied.body.errors ?? []).map((e) => e.extensions?.code)).toContain('FORBIDDEN_FIELD');

    // 3. Too complex: this department's depth limit is 2.
    const shallow = await t.tokenFor({ subject: 'dev-341503', department: '341503.mzj', roles: ['developer'] });
    const complex = await t.query(`{ person(idNumber: "${ID_NUMBER}") { insurance { insuranceType } } }`, {}, { token: shallow });
    expect(complex.status).toBe(400);
    expect(complex.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'depth' });

    // 4. Without a token: 401, then the address's budget (1 a minute) is spent: 429.
    const anonymous = await t.query('{ __typename }', {}, { token: null });
    expect(anonymous.status).toBe(401);
    const limited = await t.query('{ __typename }', {}, { token: null });
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'anonymous' });

    const { samples: after, text } = await scrape();
    const delta = (name: string, match: Record<string, string> = {}) => total(after, name, match) - total(before, name, match);

    const records = await Promise.all([allowed, denied, complex, anonymous, limited].map((r) => accessRecord(t.dataDir, r.headers.get('x-request-id'))));
    expect(records.map((r) => r.outcome)).toEqual(['ok', 'partial', 'refused', 'unauthenticated', 'rate-limited']);

    // Requests: one each, by outcome and status; five in all.
    expect(delta('tongxiang_graphql_requests_total')).toBe(5);
    for (const r of records) {
      expect(delta('tongxiang_graphql_requests_total', { outcome: r.outcome, status: String(r.httpStatus) })).toBe(1);
      expect(delta('tongxiang_graphql_request_duration_seconds_count', { outcome: r.outcome })).toBe(1);
    }
    expect(delta('tongxiang_graphql_requests_total', { outcome: 'ok', department: COUNTY_DEVELOPER.department, operation_type: 'query' })).toBe(1);
    expect(delta('tongxiang_graphql_requests_total', { outcome: 'unauthenticated', department: 'none' })).toBe(1);

    // Field decisions: exactly the coordinates the audit recorded, by decision.
    const decided = records.flatMap((r) => r.coordinates);
    expect(decided.some((c) => c.decision === 'deny')).toBe(true);
    for (const decision of ['allow', 'mask', 'deny']) {
      expect(delta('tongxiang_field_decisions_total', { decision })).toBe(decided.filter((c) => c.decision === decision).length);
    }
    expect(delta('tongxiang_field_decisions_total', { decision: 'deny' })).toBeGreaterThan(0);

    // Limit refusals: the depth limit once, the anonymous budget once, nothing else.
    expect(delta('tongxiang_limit_refusals_total', { code: 'OPERATION_TOO_COMPLEX', limit: 'depth' })).toBe(1);
    expect(delta('tongxiang_limit_refusals_total', { code: 'RATE_LIMITED', limit: 'anonymous' })).toBe(1);
    expect(delta('tongxiang_limit_refusals_total')).toBe(2);

    // Upstream latency: one sample per call the audit recorded, by source and status.
    const calls = records.flatMap((r) => r.sources);
    expect(new Set(records[0]!.sources.map((c) => c.source)).size).toBeGreaterThanOrEqual(3);
    expect(delta('tongxiang_upstream_call_duration_seconds_count')).toBe(calls.length);
    for (const source of new Set(calls.map((c) => c.source))) {
      const n = calls.filter((c) => c.source === source && c.status === 'ok').length;
      expect(delta('tongxiang_upstream_call_duration_seconds_count', { source, status: 'ok' })).toBe(n);
      expect(delta('tongxiang_upstream_call_duration_seconds_sum', { source, status: 'ok' })).toBeGreaterThan(0);
    }

    // Nothing personal and no token in any label value (nor anywhere in the scrape).
    for (const secret of [t.token, stranger, shallow, METRICS_TOKEN, ID_NUMBER, COUNTY_DEVELOPER.subject, 'dev-341502']) expect(text).not.toContain(secret);
    for (const s of after) for (const v of Object.values(s.labels)) expect(v).toMatch(/^[A-Za-z0-9._:,()+-]*$/);
  });
});

describe('audit lag and dataset freshness', () => {
  it('reports the audit chain head and queue, and the age of each published drop dataset', async () => {
    await t.query('{ __typename }');
    const { samples } = await scrape();
    const entries = await logEntries(t.dataDir);
    const lastSeq = Math.max(...entries.map((e) => e.seq ?? e.record?.seq ?? 0));
    // Strict mode: every record written is durable before its response, so the head is in the file.
    expect(total(samples, 'tongxiang_audit_chain_seq')).toBe(lastSeq);
    expect(total(samples, 'tongxiang_audit_queue_depth')).toBe(0);
    expect(total(samples, 'tongxiang_audit_store_failing')).toBe(0);
    expect(samples.some((s) => s.name === 'tongxiang_audit_kafka_pending')).toBe(false);

    const ages = samples.filter((s) => s.name === 'tongxiang_dataset_age_seconds');
    expect(ages.length).toBeGreaterThan(0);
    expect(ages.map((s) => s.labels.department)).toContain('341504.mzj');
    for (const a of ages) {
      expect(a.labels.dataset).toMatch(/^[a-z0-9_-]+$/);
      expect(a.value).toBeGreaterThanOrEqual(0);
      expect(a.value).toBeLessThan(600);
    }
    expect(samples.filter((s) => s.name === 'tongxiang_dataset_overdue').length).toBeGreaterThanOrEqual(ages.length);
  });
});

describe('circuit state gauge', () => {
  it('reads the circuit provider at scrape time: 0 closed, 1 half-open, 2 open', async () => {
    let states: Array<{ source: string; state: 'closed' | 'half-open' | 'open' }> = [{ source: 'MarketRegistry', state: 'open' }];
    const metrics = createHubMetrics({ processMetrics: false, circuits: () => states });
    expect(parseMetrics(await metrics.registry.metrics()).filter((s) => s.name === 'tongxiang_upstream_circuit_state')).toEqual([
      { name: 'tongxiang_upstream_circuit_state', labels: { source: 'MarketRegistry' }, value: 2 },
    ]);
    states = [{ source: 'MarketRegistry', state: 'half-open' }, { source: 'SocialInsurance', state: 'closed' }];
    const second = parseMetrics(await metrics.registry.metrics()).filter((s) => s.name === 'tongxiang_upstream_circuit_state');
    expect(second.map((s) => [s.labels.source, s.value])).toEqual([['MarketRegistry', 1], ['SocialInsurance', 0]]);
  });

  it('is absent while no provider is given', async () => {
    const metrics = createHubMetrics({ processMetrics: false });
    expect(await metrics.registry.metrics()).not.toContain('tongxiang_upstream_circuit_state');
  });

  it('shows the hub\'s own breakers: one series per remote source, closed while it answers', async () => {
    const { text } = await scrape();
    const series = parseMetrics(text).filter((s) => s.name === 'tongxiang_upstream_circuit_state');
    expect(series.map((s) => [s.labels.source, s.value]).sort()).toEqual([['MarketRegistry', 0], ['SocialInsurance', 0]]);
  });
});

describe('metrics settings', () => {
  it('compares the bearer token whole and exact', () => {
    const expected = createHash('sha256').update(METRICS_TOKEN).digest();
    expect(bearerMatches(`Bearer ${METRICS_TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`bearer ${METRICS_TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`Bearer ${METRICS_TOKEN.slice(0, -1)}`, expected)).toBe(false);
    expect(bearerMatches(`Bearer ${METRICS_TOKEN} extra`, expected)).toBe(false);
    expect(bearerMatches(METRICS_TOKEN, expected)).toBe(false);
    expect(bearerMatches(undefined, expected)).toBe(false);
  });

  it('reads TONGXIANG_METRICS_TOKEN and TONGXIANG_OTEL_ENDPOINT, metrics on and tracing off by default', () => {
    const defaults = loadConfig({ env: {} });
    expect(defaults.metrics).toEqual({ enabled: true, token: null });
    expect(defaults.otel).toEqual({ endpoint: null, serviceName: 'tongxiang' });
    const set = loadConfig({ env: { TONGXIANG_METRICS_TOKEN: METRICS_TOKEN, TONGXIANG_OTEL_ENDPOINT: 'http://127.0.0.1:4318/v1/traces', TONGXIANG_METRICS: 'off' } });
    expect(set.metrics).toEqual({ enabled: false, token: METRICS_TOKEN });
    expect(set.otel.endpoint).toBe('http://127.0.0.1:4318/v1/traces');
  });

  it('refuses a short metrics token with CONFIG_INVALID in both languages, never quoting it', () => {
    const secret = 'short-secret';
    try {
      loadConfig({ env: { TONGXIANG_METRICS_TOKEN: secret } });
      expect.unreachable();
    } catch (error) {
      expect(isTongxiangError(error) && error.code).toBe('CONFIG_INVALID');
      expect((error as Error).message).toMatch(/[\u4e00-\u9fff]/);
      expect((error as Error).message).toContain('TONGXIANG_METRICS_TOKEN');
      expect(JSON.stringify(error) + (error as Error).message).not.toContain(secret);
    }
  });

  it('refuses an OTLP endpoint that is not http(s) or carries credentials', () => {
    for (const endpoint of ['collector:4318', 'ftp://collector/v1/traces', 'http://user:pw@collector:4318/v1/traces']) {
      expect(() => loadConfig({ env: { TONGXIANG_OTEL_ENDPOINT: endpoint } }), endpoint).toThrow(/TONGXIANG_OTEL_ENDPOINT/);
    }
  });
});

