import { graphql, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketRegistryServer, type MarketRegistryServer } from '../../../sources/soap/index.ts';
import { busiestRepresentative, demoEnterprises, unregisteredCreditCode, withWrongCheckDigit } from '../../../sources/soap/test/fixtures.ts';
import type { SoapHandlerConfig } from '../index.ts';
import {
  schemaOf,
  startFixedServer,
  startHangingServer,
  startRecordingProxy,
  startResettingServer,
  WSDL_PATH,
  type RecordedRequest,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'Hub#Secret-2026';
const CREDENTIALS = { username: 'hub', password: PASSWORD };
const enterprises = demoEnterprises();
const representative = busiestRepresentative(enterprises);

let registry: MarketRegistryServer;
let proxy: TestServer & { requests: readonly RecordedRequest[] };
let proxy12: TestServer & { requests: readonly RecordedRequest[] };
const extraServers: TestServer[] = [];

beforeAll(async () => {
  registry = await startMarketRegistryServer({ enterprises, credentials: CREDENTIALS });
  proxy = await startRecordingProxy(registry.endpoint);
  proxy12 = await startRecordingProxy(registry.endpoint12);
});
afterAll(async () => {
  await Promise.all([proxy.close(), proxy12.close(), ...extraServers.map((s) => s.close())]);
  await registry.close();
});

function config(overrides: Partial<SoapHandlerConfig> = {}): SoapHandlerConfig {
  return {
    wsdl: WSDL_PATH,
    endpoint: registry.endpoint,
    soapVersion: '1.1',
    timeoutMs: 5000,
    security: { ...CREDENTIALS, passwordType: 'PasswordText' },
    sourceLabel: '安徽省市场监督管理局法人库',
    ...overrides,
  };
}

const GET = /* GraphQL */ `
  query ($code: String!) {
    getEnterprise(creditCode: $code) { creditCode name legalRepresentativeIdNumber registeredCapital establishedDate status }
  }
`;

async function run(schema: GraphQLSchema, source: string, variableValues?: Record<string, unknown>): Promise<ExecutionResult> {
  return graphql({ schema, source, variableValues });
}

function firstError(result: ExecutionResult): Record<string, unknown> {
  expect(result.errors?.length).toBeGreaterThan(0);
  return result.errors![0]!.extensions as Record<string, unknown>;
}

describe('SOAP handler calls over real HTTP', () => {
  it('gets an enterprise over SOAP 1.1, with SOAPAction and a text/xml body on the wire', async () => {
    const schema = await schemaOf(config({ endpoint: `${proxy.url}/samr/registry` }));
    const target = enterprises[0]!;
    const before = proxy.requests.length;
    const result = await run(schema, GET, { code: target.creditCode });
    expect(result.errors).toBeUndefined();
    expect(result.data?.getEnterprise).toEqual({
      creditCode: target.creditCode,
      name: target.name,
      legalRepresentativeIdNumber: target.legalRepresentativeIdNumber,
      registeredCapital: target.registeredCapital,
      establishedDate: target.establishedDate,
      status: target.status,
    });
    const sent = proxy.requests.slice(before).find((r) => r.method === 'POST')!;
    expect(sent.headers.soapaction).toBe('"http://scjgj.ah.gov.cn/registry/v1/GetEnterprise"');
    expect(sent.headers['content-type']).toMatch(/^text\/xml/);
    expect(sent.body).toContain('http://schemas.xmlsoap.org/soap/envelope/');
    expect(sent.body).toContain('wsse:UsernameToken');
  });

  it('gets an enterprise over SOAP 1.2, with the action in an application/soap+xml Content-Type', async () => {
    const schema = await schemaOf(config({ soapVersion: '1.2', endpoint: `${proxy12.url}/samr/registry/soap12` }));
    const target = enterprises[2]!;
    const before = proxy12.requests.length;
    const result = await run(schema, GET, { code: target.creditCode });
    expect(result.errors).toBeUndefined();
    expect((result.data?.getEnterprise as { name: string }).name).toBe(target.name);
    const sent = proxy12.requests.slice(before).find((r) => r.method === 'POST')!;
    expect(sent.headers['content-type']).toMatch(/^application\/soap\+xml;.*action="http:\/\/scjgj\.ah\.gov\.cn\/registry\/v1\/GetEnterprise"/);
    expect(sent.headers.soapaction).toBeUndefined();
    expect(sent.body).toContain('http://www.w3.org/2003/05/soap-envelope');
  });

  it('returns null for an enterprise that is not registered', async () => {
    const schema = await schemaOf(config());
    const result = await run(schema, GET, { code: unregisteredCreditCode(enterprises) });
    expect(result.errors).toBeUndefined();
    expect(result.data?.getEnterprise).toBeNull();
  });

  it('searches with paging and coerces the counts to Int', async () => {
    const schema = await schemaOf(config({ security: { ...CREDENTIALS, passwordType: 'PasswordDigest' } }));
    const result = await run(schema, `{ searchEnterprises(regionCode: "341500", page: 1, pageSize: 1) { total page pageSize enterprise { regionCode } } }`);
    expect(result.errors).toBeUndefined();
    const page = result.data?.searchEnterprises as { total: number; page: number; pageSize: number; enterprise: unknown[] };
    expect(page.total).toBe(enterprises.filter((e) => e.regionCode.startsWith('3415')).length);
    expect(page.pageSize).toBe(1);
    expect(page.enterprise).toHaveLength(1);
  });

  it('returns a list for a single matching enterprise and for several', async () => {
    const schema = await schemaOf(config({ soapVersion: '1.2', endpoint: registry.endpoint12 }));
    const query = `query ($id: String!) { listEnterprisesByLegalRepresentative(idNumber: $id) { creditCode } }`;
    const several = await run(schema, query, { id: representative });
    const expected = enterprises.filter((e) => e.legalRepresentativeIdNumber === representative);
    expect(expected.length).toBeGreaterThan(1);
    expect((several.data?.listEnterprisesByLegalRepresentative as unknown[]).length).toBe(expected.length);

    const lonely = enterprises.find((e) => enterprises.filter((o) => o.legalRepresentativeIdNumber === e.legalRepresentativeIdNumber).length === 1)!;
    const single = await run(schema, query, { id: lonely.legalRepresentativeIdNumber });
    expect(single.data?.listEnterprisesByLegalRepresentative).toEqual([{ creditCode: lonely.creditCode }]);
  });

  it('turns a refused password into UPSTREAM_AUTH_FAILED without revealing it', async () => {
    for (const soapVersion of ['1.1', '1.2'] as const) {
      const wrong = 'not-the-password';
      const endpoint = soapVersion === '1.1' ? registry.endpoint : registry.endpoint12;
      const schema = await schemaOf(config({ soapVersion, endpoint, security: { username: 'hub', password: wrong } }));
      const result = await run(schema, GET, { code: enterprises[0]!.creditCode });
      const ext = firstError(result);
      expect(ext.code).toBe('UPSTREAM_AUTH_FAILED');
      expect(ext.source).toBe('MarketRegistry');
      expect(ext.sourceLabel).toBe('安徽省市场监督管理局法人库');
      expect(String(ext.reason)).toMatch(/FailedAuthentication/);
      expect(result.data?.getEnterprise).toBeNull();
      expect(JSON.stringify(result)).not.toContain(wrong);
      expect(JSON.stringify(result)).not.toContain(endpoint);
    }
  });

  it('reports another SOAP fault as UPSTREAM_INVALID by its fault code only', async () => {
    const schema = await schemaOf(config());
    const bad = withWrongCheckDigit(representative);
    const result = await run(schema, `query ($id: String!) { listEnterprisesByLegalRepresentative(idNumber: $id) { name } }`, { id: bad });
    const ext = firstError(result);
    expect(ext.code).toBe('UPSTREAM_INVALID');
    expect(ext.reason).toBe('SOAP Fault soap:Client');
    expect(JSON.stringify(result)).not.toContain(bad);
    expect(JSON.stringify(result)).not.toContain('公民身份号码无效');
  });

  it('reports an upstream that drops the connection as UPSTREAM_UNAVAILABLE (connection reset)', async () => {
    const dropping = await startResettingServer();
    extraServers.push(dropping);
    const schema = await schemaOf(config({ endpoint: `${dropping.url}/samr/registry` }));
    const ext = firstError(await run(schema, GET, { code: enterprises[0]!.creditCode }));
    expect(ext.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(ext.reason).toBe('connection reset');
  });

  it('aborts a call the upstream never answers at timeoutMs (UPSTREAM_UNAVAILABLE timeout)', async () => {
    const hanging = await startHangingServer();
    extraServers.push(hanging);
    const timeoutMs = 300;
    const schema = await schemaOf(config({ endpoint: `${hanging.url}/samr/registry`, timeoutMs }));
    const started = performance.now();
    const ext = firstError(await run(schema, GET, { code: enterprises[0]!.creditCode }));
    const elapsed = performance.now() - started;
    expect(ext.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(ext.reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(elapsed).toBeLessThan(timeoutMs * 5 + 2000); // a loaded CI machine: this only says it did not hang
  });

  it('reports an HTML error page as UPSTREAM_INVALID', async () => {
    const html = await startFixedServer(200, 'text/html; charset=utf-8', '<html><body><h1>系统维护中</h1><p>请稍后再试<br></body></html>');
    extraServers.push(html);
    const schema = await schemaOf(config({ endpoint: `${html.url}/samr/registry` }));
    const ext = firstError(await run(schema, GET, { code: enterprises[0]!.creditCode }));
    expect(ext.code).toBe('UPSTREAM_INVALID');
    expect(ext.reason).toMatch(/HTML/);
  });

  it('reports XML that is not a SOAP envelope, and an envelope of the wrong version, as UPSTREAM_INVALID', async () => {
    const plain = await startFixedServer(200, 'text/xml', '<?xml version="1.0"?><result><ok>true</ok></result>');
    const wrongVersion = await startFixedServer(
      200,
      'text/xml',
      '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetEnterpriseResponse xmlns="http://scjgj.ah.gov.cn/registry/v1"/></soap:Body></soap:Envelope>',
    );
    extraServers.push(plain, wrongVersion);
    const notEnvelope = firstError(await run(await schemaOf(config({ endpoint: `${plain.url}/x` })), GET, { code: enterprises[0]!.creditCode }));
    expect(notEnvelope.code).toBe('UPSTREAM_INVALID');
    expect(notEnvelope.reason).toBe('not a SOAP envelope');
    const mismatch = firstError(
      await run(await schemaOf(config({ soapVersion: '1.2', endpoint: `${wrongVersion.url}/x` })), GET, { code: enterprises[0]!.creditCode }),
    );
    expect(mismatch.code).toBe('UPSTREAM_INVALID');
    expect(mismatch.reason).toBe('SOAP 1.1 envelope where SOAP 1.2 was expected');
  });

  it('reports a 500 whose body is not a SOAP Fault (an HTML error page, other XML) as UPSTREAM_UNAVAILABLE', async () => {
    const broken = await startFixedServer(500, 'text/html; charset=utf-8', '<html><body><h1>500 Internal Server Error</h1></body></html>');
    const garbled = await startFixedServer(500, 'text/xml', '<?xml version="1.0"?><error>database down</error>');
    extraServers.push(broken, garbled);
    for (const server of [broken, garbled]) {
      const ext = firstError(await run(await schemaOf(config({ endpoint: `${server.url}/x` })), GET, { code: enterprises[0]!.creditCode }));
      expect(ext.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(ext.reason).toBe('HTTP 500');
    }
  });

  it('reports a 503 from a proxy in front of the upstream as UPSTREAM_UNAVAILABLE', async () => {
    const down = await startFixedServer(503, 'text/html', '<html><body>Service Unavailable</body></html>');
    extraServers.push(down);
    const ext = firstError(await run(await schemaOf(config({ endpoint: `${down.url}/x` })), GET, { code: enterprises[0]!.creditCode }));
    expect(ext.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(ext.reason).toBe('HTTP 503');
  });
});
