import soap from 'soap';
import type { Client } from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketRegistryServer, type MarketRegistryServer } from '../server.ts';
import { busiestRepresentative, demoEnterprises, unregisteredCreditCode, withWrongCheckDigit } from './fixtures.ts';

const CREDENTIALS = { username: 'hub', password: 'pa55-word&<x>' };
const enterprises = demoEnterprises();
const representative = busiestRepresentative(enterprises);

let server: MarketRegistryServer;

beforeAll(async () => {
  server = await startMarketRegistryServer({ enterprises, credentials: CREDENTIALS, port: 0 });
});
afterAll(async () => {
  await server.close();
});

type Call = (args: unknown) => Promise<[unknown, string]>;

async function client(
  version: '1.1' | '1.2',
  security: { username: string; password: string; passwordType?: 'PasswordText' | 'PasswordDigest' } | null = CREDENTIALS,
): Promise<Client & Record<string, Call>> {
  const c = await soap.createClientAsync(server.wsdlUrl, {
    disableCache: true,
    forceSoap12Headers: version === '1.2',
    endpoint: version === '1.2' ? server.endpoint12 : server.endpoint,
  });
  if (security) {
    c.setSecurity(new soap.WSSecurity(security.username, security.password, { passwordType: security.passwordType ?? 'PasswordText', hasTimeStamp: false }));
  }
  return c as Client & Record<string, Call>;
}

async function fault(promise: Promise<unknown>): Promise<{ status: number; body: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { response?: { status: number }; body?: string };
    return { status: e.response?.status ?? 0, body: String(e.body ?? '') };
  }
  throw new Error('expected a SOAP Fault');
}

describe('法人库 SOAP server', () => {
  it('serves a WSDL whose port addresses point at the running server', async () => {
    const wsdl = await (await fetch(server.wsdlUrl)).text();
    expect(wsdl).toContain(`<soap:address location="${server.endpoint}"/>`);
    expect(wsdl).toContain(`<soap12:address location="${server.endpoint12}"/>`);
    expect(new URL(server.endpoint).port).not.toBe('4101');
  });

  it('returns an enterprise by credit code over SOAP 1.1 with a PasswordText token', async () => {
    const c = await client('1.1');
    const target = enterprises[0]!;
    const [result] = await c.GetEnterpriseAsync!({ creditCode: target.creditCode });
    const found = (result as { enterprise: Record<string, unknown> }).enterprise;
    expect(found.creditCode).toBe(target.creditCode);
    expect(found.name).toBe(target.name);
    expect(found.legalRepresentativeIdNumber).toBe(target.legalRepresentativeIdNumber);
    expect(Number(found.registeredCapital)).toBe(target.registeredCapital);
    expect(found.status).toBe(target.status);
  });

  it('answers an empty response for a valid credit code that is not registered', async () => {
    const c = await client('1.1');
    const [result, raw] = await c.GetEnterpriseAsync!({ creditCode: unregisteredCreditCode(enterprises) });
    expect(result ?? null).toBeNull();
    expect(raw).toMatch(/<GetEnterpriseResponse[^>]*>\s*<\/GetEnterpriseResponse>|<GetEnterpriseResponse[^>]*\/>/);
  });

  it('searches by name and region, a city code covering its counties, with paging', async () => {
    const c = await client('1.1');
    const [byRegion] = await c.SearchEnterprisesAsync!({ regionCode: '341500', page: 1, pageSize: 1 });
    const page1 = byRegion as { total: number; page: number; pageSize: number; enterprise: unknown };
    const inLuAn = enterprises.filter((e) => e.regionCode.startsWith('3415'));
    expect(page1.total).toBe(inLuAn.length);
    expect(page1.pageSize).toBe(1);
    expect([page1.enterprise].flat()).toHaveLength(1);

    const needle = enterprises[0]!.name.slice(3, 7);
    const [byName] = await c.SearchEnterprisesAsync!({ nameContains: needle, page: 1, pageSize: 100 });
    const codes = [(byName as { enterprise: unknown }).enterprise].flat().map((e) => (e as { creditCode: string }).creditCode);
    const expected = enterprises.filter((e) => e.name.includes(needle)).map((e) => e.creditCode);
    expect(expected.length).toBeGreaterThan(0);
    expect(codes.sort()).toEqual(expected.sort());
  });

  it('caps the page size at 100 and says so in the response', async () => {
    const c = await client('1.1');
    const [result] = await c.SearchEnterprisesAsync!({ page: 1, pageSize: 5000 });
    expect((result as { pageSize: number }).pageSize).toBe(100);
    expect((result as { total: number }).total).toBe(enterprises.length);
  });

  it('lists every enterprise of a legal representative', async () => {
    const c = await client('1.1');
    const [result] = await c.ListEnterprisesByLegalRepresentativeAsync!({ idNumber: representative });
    const codes = [(result as { enterprise: unknown }).enterprise].flat().map((e) => (e as { creditCode: string }).creditCode);
    const expected = enterprises.filter((e) => e.legalRepresentativeIdNumber === representative).map((e) => e.creditCode);
    expect(expected.length).toBeGreaterThan(1);
    expect(codes.sort()).toEqual(expected.sort());
  });

  it('rejects an invalid credit code with a soap:Client fault in Chinese that does not echo the input', async () => {
    const c = await client('1.1');
    const bad = withWrongCheckDigit(enterprises[0]!.creditCode);
    const f = await fault(c.GetEnterpriseAsync!({ creditCode: bad }));
    expect(f.status).toBe(500);
    expect(f.body).toContain('<faultcode>soap:Client</faultcode>');
    expect(f.body).toContain('统一社会信用代码无效');
    expect(f.body).not.toContain(bad);
  });

  it('rejects an invalid ID number without echoing it', async () => {
    const c = await client('1.1');
    const bad = withWrongCheckDigit(representative);
    const f = await fault(c.ListEnterprisesByLegalRepresentativeAsync!({ idNumber: bad }));
    expect(f.body).toContain('公民身份号码无效');
    expect(f.body).not.toContain(bad);
  });

  it('answers a wrong password with wsse:FailedAuthentication and HTTP 500 (SOAP 1.1)', async () => {
    const c = await client('1.1', { username: 'hub', password: 'wrong' });
    const f = await fault(c.GetEnterpriseAsync!({ creditCode: enterprises[0]!.creditCode }));
    expect(f.status).toBe(500);
    expect(f.body).toContain('<faultcode>wsse:FailedAuthentication</faultcode>');
    expect(f.body).not.toContain('wrong');
  });

  it('answers a missing UsernameToken with wsse:FailedAuthentication', async () => {
    const c = await client('1.1', null);
    const f = await fault(c.GetEnterpriseAsync!({ creditCode: enterprises[0]!.creditCode }));
    expect(f.body).toContain('wsse:FailedAuthentication');
  });

  it('accepts a PasswordDigest token', async () => {
    const c = await client('1.1', { ...CREDENTIALS, passwordType: 'PasswordDigest' });
    const [result] = await c.GetEnterpriseAsync!({ creditCode: enterprises[1]!.creditCode });
    expect((result as { enterprise: { name: string } }).enterprise.name).toBe(enterprises[1]!.name);
  });

  it('serves the same operations on the SOAP 1.2 port with a 1.2 envelope', async () => {
    const c = await client('1.2');
    let contentType = '';
    c.on('response', (_body: unknown, response: { headers?: Record<string, string> }) => {
      contentType = response?.headers?.['content-type'] ?? '';
    });
    const [result, raw] = await c.GetEnterpriseAsync!({ creditCode: enterprises[2]!.creditCode });
    expect((result as { enterprise: { name: string } }).enterprise.name).toBe(enterprises[2]!.name);
    expect(raw).toContain('http://www.w3.org/2003/05/soap-envelope');
    expect(contentType).toMatch(/^application\/soap\+xml/);
  });

  it('answers a wrong password on the SOAP 1.2 port with a Sender fault subcoded wsse:FailedAuthentication', async () => {
    const c = await client('1.2', { username: 'hub', password: 'wrong' });
    const f = await fault(c.GetEnterpriseAsync!({ creditCode: enterprises[0]!.creditCode }));
    expect(f.status).toBe(400); // SOAP 1.2 part 2 §7.5.2.2: env:Sender → 400
    expect(f.body).toContain('<soap:Value>soap:Sender</soap:Value>');
    expect(f.body).toContain('<soap:Subcode><soap:Value>wsse:FailedAuthentication</soap:Value></soap:Subcode>');
  });

  it('answers 404 for paths that are not one of its ports', async () => {
    const response = await fetch(new URL('/elsewhere', server.endpoint));
    expect(response.status).toBe(404);
  });
});
