/**
 * The unified graph end to end over HTTP: each source through the gateway, and the cross-source
 * links, against the real demo upstreams (SOAP server, REST server, dropped files).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const ELIGIBILITY = /* GraphQL */ `
  query Eligibility($idNumber: String!) {
    person(idNumber: $idNumber) {
      idNumber name gender birthDate regionCode
      allowances { headIdNumber month monthlyAmount members township village regionCode }
      insurance { insuranceType scheme status contributionBase employerCreditCode }
      employment { employerCreditCode employerName startDate endDate }
      enterprisesAsLegalRepresentative { creditCode name status }
    }
  }`;

describe('SOAP source (安徽省市场监督管理局法人库)', () => {
  it('returns an enterprise by credit code with every registry field', async () => {
    const e = t.upstreams.data.enterprises[7]!;
    const res = await t.query(
      `query($c: String!) { getEnterprise(creditCode: $c) { creditCode name type legalRepresentativeName legalRepresentativeIdNumber registeredCapital establishedDate businessScope address regionCode status } }`,
      { c: e.creditCode },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.getEnterprise).toEqual({ ...e, registeredCapital: e.registeredCapital });
  });

  it('searches by name fragment and region with paging', async () => {
    const e = t.upstreams.data.enterprises.find((x) => x.regionCode === '341504')!;
    const fragment = e.name.slice(3, 6);
    const res = await t.query<{ searchEnterprises: { total: number; page: number; enterprise: Array<{ creditCode: string; regionCode: string; name: string }> } }>(
      `query($n: String, $r: String) { searchEnterprises(nameContains: $n, regionCode: $r, page: 1, pageSize: 5) { total page pageSize enterprise { creditCode name regionCode } } }`,
      { n: fragment, r: '341504' },
    );
    expect(res.body.errors).toBeUndefined();
    const page = res.body.data!.searchEnterprises;
    const expected = t.upstreams.data.enterprises.filter((x) => x.regionCode === '341504' && x.name.includes(fragment));
    expect(page.total).toBe(expected.length);
    expect(page.enterprise.length).toBe(Math.min(5, expected.length));
    for (const row of page.enterprise) {
      expect(row.regionCode).toBe('341504');
      expect(row.name).toContain(fragment);
    }
  });

  it('gives a clear UPSTREAM_AUTH_FAILED when the upstream refuses the hub\'s WS-Security password', async () => {
    const sibling = await t.startSibling({ TONGXIANG_SAMR_PASSWORD: 'wrong-password' });
    const e = t.upstreams.data.enterprises[0]!;
    const res = await fetch(sibling.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sibling.token}` },
      body: JSON.stringify({ query: `query($c: String!) { getEnterprise(creditCode: $c) { name } }`, variables: { c: e.creditCode } }),
    });
    const body = (await res.json()) as { data: unknown; errors: Array<{ path: string[]; extensions: Record<string, unknown> }> };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', source: 'MarketRegistry' });
    expect(body.errors[0]!.path).toEqual(['getEnterprise']);
    expect(JSON.stringify(body)).not.toContain('wrong-password');
  });

  it('speaks SOAP 1.2 when configured for it', async () => {
    const sibling = await t.startSibling({ TONGXIANG_SAMR_SOAP_VERSION: '1.2', TONGXIANG_SAMR_URL: t.upstreams.registryEndpoint12 });
    const e = t.upstreams.data.enterprises[3]!;
    const res = await sibling.query<{ enterprise: { name: string; legalRepresentative: { idNumber: string } } }>(
      `query($c: String!) { enterprise(creditCode: $c) { name legalRepresentative { idNumber } } }`,
      { c: e.creditCode },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.enterprise).toEqual({ name: e.name, legalRepresentative: { idNumber: e.legalRepresentativeIdNumber } });
  });
});

describe('REST source (六安市人社局社保)', () => {
  it('returns a person\'s insurance records through the OpenAPI source', async () => {
    const id = t.upstreams.data.named.applicantWithJob;
    const records = t.upstreams.data.insurance.filter((r) => r.idNumber === id);
    const res = await t.query<{ personInsurance: { idNumber: string; records: Array<{ insuranceType: string }> } }>(
      `query($id: IdNumber!) { personInsurance(idNumber: $id) { idNumber name records { insuranceType scheme status contributionBase startDate } } }`,
      { id },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.personInsurance.idNumber).toBe(id);
    expect(res.body.data!.personInsurance.records.map((r) => r.insuranceType).sort()).toEqual(records.map((r) => r.insuranceType).sort());
  });
});

describe('file-drop source (叶集区、利辛县民政局低保名册)', () => {
  const monthsOf = (id: string) => t.upstreams.data.allowances.filter((a) => a.headIdNumber === id);

  it('serves rows from every dropped format: UTF-8 CSV, XLSX (叶集区), XML and GBK CSV (利辛县)', async () => {
    for (const region of ['341504', '341623']) {
      const head = t.upstreams.data.allowances.find((a) => a.regionCode === region && monthsOf(a.headIdNumber).length === 2)!;
      const res = await t.query<{ allowanceHouseholds: { total: number; items: Array<Record<string, unknown>> } }>(
        `query($id: String) { allowanceHouseholds(headIdNumber: $id) { total items { headName headIdNumber month members monthlyAmount township village regionCode approvalDate } } }`,
        { id: head.headIdNumber },
      );
      expect(res.body.errors).toBeUndefined();
      const items = res.body.data!.allowanceHouseholds.items;
      expect(items.map((i) => i.month).sort()).toEqual(['2026-09', '2026-10']);
      for (const item of items) {
        const expected = monthsOf(head.headIdNumber).find((a) => a.month === item.month)!;
        expect(item).toMatchObject({
          headName: expected.headName, // a GBK-decoded name must come out as the same characters
          members: expected.members,
          monthlyAmount: expected.monthlyAmount,
          township: expected.township,
          regionCode: region,
        });
      }
    }
  });
});

describe('cross-source links', () => {
  it('answers the 低保资格核查 query for a recipient with employee pension insurance in one request', async () => {
    const id = t.upstreams.data.named.applicantWithJob;
    const res = await t.query<{ person: { name: string; allowances: unknown[]; insurance: Array<{ insuranceType: string; scheme: string; status: string }> } }>(ELIGIBILITY, { idNumber: id });
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data!.person;
    expect(p.name).toBe(t.upstreams.data.persons.find((x) => x.idNumber === id)!.name);
    expect(p.allowances.length).toBeGreaterThan(0);
    expect(p.insurance).toContainEqual(expect.objectContaining({ insuranceType: 'PENSION', scheme: 'EMPLOYEE', status: 'ACTIVE' }));
  });

  it('shows a recipient who runs an enterprise', async () => {
    const id = t.upstreams.data.named.applicantWithEnterprise;
    const res = await t.query<{ person: { allowances: unknown[]; enterprisesAsLegalRepresentative: Array<{ creditCode: string; status: string }> } }>(ELIGIBILITY, { idNumber: id });
    expect(res.body.errors).toBeUndefined();
    const expected = t.upstreams.data.enterprises.filter((e) => e.legalRepresentativeIdNumber === id).map((e) => e.creditCode).sort();
    expect(res.body.data!.person.enterprisesAsLegalRepresentative.map((e) => e.creditCode).sort()).toEqual(expected);
    expect(res.body.data!.person.allowances.length).toBeGreaterThan(0);
  });

  it('shows a clean applicant with allowances and neither employee insurance nor enterprises', async () => {
    const id = t.upstreams.data.named.applicantClean;
    const res = await t.query<{ person: { gender: string; birthDate: string; regionCode: string; allowances: unknown[]; insurance: Array<{ scheme: string }>; enterprisesAsLegalRepresentative: unknown[] } }>(ELIGIBILITY, { idNumber: id });
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data!.person;
    const person = t.upstreams.data.persons.find((x) => x.idNumber === id)!;
    expect(p).toMatchObject({ gender: person.gender, birthDate: person.birthDate, regionCode: person.regionCode });
    expect(p.allowances.length).toBeGreaterThan(0);
    expect(p.insurance.filter((r) => r.scheme === 'EMPLOYEE')).toEqual([]);
    expect(p.enterprisesAsLegalRepresentative).toEqual([]);
  });

  it('joins an enterprise to its legal representative and insured head-count, with aliases and fragments', async () => {
    const rep = t.upstreams.data.named.legalRepresentative;
    const enterprise = t.upstreams.data.enterprises.find((e) => e.legalRepresentativeIdNumber === rep)!;
    const insured = new Set(t.upstreams.data.insurance.filter((r) => r.employerCreditCode === enterprise.creditCode && r.status === 'ACTIVE').map((r) => r.idNumber));
    const res = await t.query<{ e: { n: string; boss: { id: string; who: string }; insuredEmployees: { insuredCount: number } } }>(
      `query($c: String!) { e: enterprise(creditCode: $c) { n: name boss: legalRepresentative { ...P } insuredEmployees { insuredCount } } }
       fragment P on Person { id: idNumber who: name }`,
      { c: enterprise.creditCode },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.e.n).toBe(enterprise.name);
    expect(res.body.data!.e.boss).toEqual({ id: rep, who: t.upstreams.data.persons.find((p) => p.idNumber === rep)!.name });
    expect(res.body.data!.e.insuredEmployees.insuredCount).toBeGreaterThanOrEqual(5);
    expect(res.body.data!.e.insuredEmployees.insuredCount).toBe(insured.size);
  });

  it('refuses an ID number with a wrong check digit with INVALID_ID_NUMBER and no upstream call', async () => {
    const id = t.upstreams.data.named.applicantClean;
    const wrong = id.slice(0, 17) + (id[17] === '0' ? '1' : '0');
    const before = t.restProxy.seen.length;
    const res = await t.query(ELIGIBILITY, { idNumber: wrong });
    expect(res.body.data?.person ?? null).toBeNull();
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ID_NUMBER', reason: 'check digit' });
    expect(t.restProxy.seen.length).toBe(before);
  });

  it('calls the REST upstream once for name and insurance of the same person', async () => {
    const id = t.upstreams.data.named.applicantWithJob;
    const before = t.restProxy.seen.filter((s) => s.path.includes('/insurance')).length;
    await t.query(`query($id: String!) { person(idNumber: $id) { name insurance { status } again: insurance { scheme } } }`, { id });
    expect(t.restProxy.seen.filter((s) => s.path.includes('/insurance')).length - before).toBe(1);
  });
});

describe('what reaches the upstreams', () => {
  it('sends the hub\'s own API key and none of the consumer\'s headers, its token included', async () => {
    const before = t.restProxy.seen.length;
    const res = await fetch(t.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'consumer-supplied', authorization: `Bearer ${t.token}`, cookie: 'session=1' },
      body: JSON.stringify({ query: `query($id: IdNumber!) { personInsurance(idNumber: $id) { idNumber } }`, variables: { id: t.upstreams.data.named.applicantClean } }),
    });
    expect(res.status).toBe(200);
    const calls = t.restProxy.seen.slice(before);
    expect(calls.length).toBe(1);
    expect(calls[0]!.headers['x-api-key']).toBe(t.upstreams.variables.TONGXIANG_RSJ_API_KEY);
    expect(calls[0]!.headers.authorization).toBeUndefined();
    expect(calls[0]!.headers.cookie).toBeUndefined();
  });
});

describe('schema', () => {
  it('names types in PascalCase and fields in camelCase, with Chinese descriptions on the joined types', async () => {
    const res = await t.query<{ __schema: { types: Array<{ name: string; kind: string; description: string | null; fields: Array<{ name: string; description: string | null }> | null }> } }>(
      `{ __schema { types { name kind description fields { name description } } } }`,
    );
    const types = res.body.data!.__schema.types.filter((ty) => !ty.name.startsWith('__'));
    for (const ty of types) {
      expect(ty.name).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      for (const f of ty.fields ?? []) expect(f.name).toMatch(/^[a-z_][A-Za-z0-9]*$/);
    }
    const chinese = /[\u4e00-\u9fff]/;
    for (const name of ['Person', 'Enterprise', 'AllowanceHousehold']) {
      const ty = types.find((x) => x.name === name)!;
      for (const f of ty.fields!) expect(f.description, `${name}.${f.name}`).toMatch(chinese);
    }
  });
});
