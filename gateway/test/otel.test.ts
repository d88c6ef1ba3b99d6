/**
 * OpenTelemetry traces: with an OTLP/HTTP endpoint configured, one query against a test hub
 * exports a server span for the request and a client span per upstream call to a collector (here a
 * loopback server receiving the OTLP JSON), with the expected attributes and without the token or
 * the queried ID number anywhere in what was sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing } from '../metrics/index.ts';
import { COUNTY_DEVELOPER, startTestHub, type TestHub } from './harness.ts';

const ID_NUMBER = '341504198712193778';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: OtlpValue }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
}

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue;
const attrs = (list: Array<{ key: string; value: OtlpValue }>): Record<string, unknown> => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

let collector: Server;
const bodies: Array<{ path: string; contentType: string; text: string }> = [];
let t: TestHub | undefined;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      bodies.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), text });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
}, 10_000);

afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => collector.close(() => resolve()));
});

describe('traces over OTLP/HTTP', () => {
  it('loads nothing and returns no tracer while no endpoint is configured', async () => {
    expect(await startTracing({ endpoint: null, serviceName: 'tongxiang' })).toBeNull();
  });

  it('exports a span for the request and one per upstream call, without the token or the ID number', async () => {
    const port = (collector.address() as AddressInfo).port;
    t = await startTestHub({ otel: { endpoint: `http://127.0.0.1:${port}/v1/traces` } });
    const eligibility = t.hub.examples.find((e) => e.query.includes('EligibilityCheck'))!;
    const answer = await t.query(eligibility.query, { ...eligibility.variables, idNumber: ID_NUMBER });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    const token = t.token;
    // close() flushes the batch and shuts the tracer provider down.
    await t.close();
    t = undefined;

    expect(bodies.length).toBeGreaterThan(0);
    for (const b of bodies) {
      expect(b.path).toBe('/v1/traces');
      expect(b.contentType).toMatch(/^application\/json/);
    }
    const exported = bodies.map((b) => JSON.parse(b.text) as OtlpExport);
    const spans = exported.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    const resource = attrs(exported[0]!.resourceSpans[0]!.resource.attributes);
    expect(resource['service.name']).toBe('tongxiang');

    const request = spans.find((s) => attrs(s.attributes)['graphql.operation.name'] === 'EligibilityCheck');
    expect(request).toBeDefined();
    expect(request!.kind).toBe(2); // SPAN_KIND_SERVER
    expect(request!.parentSpanId ?? '').toBe('');
    expect(request!.name).toBe('query EligibilityCheck');
    expect(attrs(request!.attributes)).toMatchObject({
      'graphql.operation.type': 'query',
      'http.response.status_code': 200,
      'tongxiang.outcome': 'ok',
      'tongxiang.department': COUNTY_DEVELOPER.department,
    });

    const upstream = spans.filter((s) => s.parentSpanId === request!.spanId);
    expect(upstream.length).toBe(Number(attrs(request!.attributes)['tongxiang.upstream_calls']));
    // The eligibility check reaches the rosters (files), the city bureau (REST) and the registry (SOAP).
    const sources = new Set(upstream.map((s) => attrs(s.attributes)['tongxiang.source']));
    expect(sources.size).toBeGreaterThanOrEqual(3);
    for (const s of upstream) {
      const a = attrs(s.attributes);
      expect(s.kind).toBe(3); // SPAN_KIND_CLIENT
      expect(s.traceId).toBe(request!.traceId);
      expect(s.name).toBe(`upstream ${String(a['tongxiang.source'])}`);
      expect(a['tongxiang.status']).toBe('ok');
      expect(Number(a['tongxiang.latency_ms'])).toBeGreaterThan(0);
      // Each call lies within the request.
      expect(BigInt(s.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(request!.startTimeUnixNano));
      expect(BigInt(s.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(request!.endTimeUnixNano));
    }

    const everything = bodies.map((b) => b.text).join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2]!); // not even the signature
    expect(everything).not.toContain(ID_NUMBER);
    expect(everything).not.toContain(COUNTY_DEVELOPER.subject);
    expect(everything).not.toContain('idNumber');
  }, 90_000);
});
