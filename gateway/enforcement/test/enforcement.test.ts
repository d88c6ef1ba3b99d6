import { afterEach, describe, expect, it } from 'vitest';
import { principal } from '../../../policies/test/support.ts';
import { createFixture, E1, E2, H1, H2, INSURANCE_NAME, PERSON_NAME, type Fixture, type GrantSpec } from './fixture.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

async function hub(grants: readonly GrantSpec[] = [], mode: 'null-field' | 'reject-operation' = 'null-field', consumer?: string): Promise<Fixture> {
  fixture = await createFixture({ grants, mode, ...(consumer ? { consumer } : {}) });
  return fixture;
}

const codes = (r: { errors: readonly { extensions?: Record<string, unknown> }[] }) => r.errors.map((e) => e.extensions?.code);

describe('field decisions', () => {
  it('allows an unconditional field with no contract', async () => {
    const h = await hub();
    const r = await h.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { name creditCode regionCode } }`);
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({ getEnterprise: { name: E1.name, creditCode: E1.creditCode, regionCode: '341504' } });
  });

  it('denies a conditional field outside any contract at its path, without resolving it', async () => {
    const h = await hub();
    const r = await h.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { name legalRepresentativeIdNumber legalRepresentative { idNumber } } }`);
    expect(r.data).toEqual({ getEnterprise: { name: E1.name, legalRepresentativeIdNumber: null, legalRepresentative: null } });
    const denied = r.errors.find((e) => e.path?.join('.') === 'getEnterprise.legalRepresentativeIdNumber');
    expect(denied?.extensions).toMatchObject({ code: 'FORBIDDEN_FIELD', coordinate: 'Enterprise.legalRepresentativeIdNumber', reason: 'no-contract', owner: '340000.scjgj' });
    expect(String(denied?.extensions?.reasonZh)).toContain('340000.scjgj');
    expect(h.calls.get('Enterprise.legalRepresentativeIdNumber') ?? 0).toBe(0);
    expect(h.calls.get('Enterprise.legalRepresentative') ?? 0).toBe(0);
    expect(h.calls.get('Enterprise.name')).toBe(1);
    expect(r.json).not.toContain(E1.legalRepresentativeIdNumber);
  });

  it('returns a field granted clear', async () => {
    const h = await hub([{ coordinate: 'Enterprise.legalRepresentativeIdNumber' }]);
    const r = await h.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { legalRepresentativeIdNumber } }`);
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({ getEnterprise: { legalRepresentativeIdNumber: E1.legalRepresentativeIdNumber } });
  });

  it('masks a field granted masked through aliases, fragments, inline fragments, nesting and @include', async () => {
    const h = await hub([
      { coordinate: 'Enterprise.legalRepresentativeIdNumber', mode: 'masked' },
      { coordinate: 'Person.name', mode: 'masked', contractId: 'GX-2026-0002' },
      { coordinate: 'Person.enterprisesAsLegalRepresentative', contractId: 'GX-2026-0003' },
    ]);
    const query = `
      query Q($v: Boolean!) {
        getEnterprise(creditCode: "${E1.creditCode}") {
          legalRepresentativeIdNumber
          a: legalRepresentativeIdNumber
          b: legalRepresentativeIdNumber @include(if: $v)
          ...E
          ... on Enterprise { c: legalRepresentativeIdNumber }
        }
        person(idNumber: "341504199001011234") {
          name  n2: name
          ...P
          enterprisesAsLegalRepresentative { legalRepresentativeIdNumber ...E }
        }
      }
      fragment E on Enterprise { d: legalRepresentativeIdNumber ... { e: legalRepresentativeIdNumber } }
      fragment P on Person { n3: name ... on Person { n4: name } }`;
    const r = await h.run(query, { variables: { v: true } });
    expect(r.errors).toEqual([]);
    const ent = r.data?.getEnterprise as Record<string, unknown>;
    expect(Object.values(ent)).toEqual(Array(6).fill('341504*******' + E1.legalRepresentativeIdNumber.slice(-4)).map((s) => s.replace('*******', '********')));
    const person = r.data?.person as Record<string, unknown>;
    expect([person.name, person.n2, person.n3, person.n4]).toEqual(['上官**', '上官**', '上官**', '上官**']);
    for (const clear of [E1.legalRepresentativeIdNumber, E2.legalRepresentativeIdNumber, PERSON_NAME]) expect(r.json).not.toContain(clear);
  });

  it('returns null with an error for a masked grant on a field that cannot carry a masked string (Float)', async () => {
    const h = await hub([
      { coordinate: 'Person.insurance' },
      { coordinate: 'InsuranceRecord.contributionBase', mode: 'masked' },
      { coordinate: 'InsuranceRecord.startDate' },
    ]);
    const r = await h.run(`{ person(idNumber: "341504199001011234") { insurance { startDate contributionBase } } }`);
    // contributionBase is NonNegativeFloat!: the null reaches the record, the list keeps its place.
    expect(r.errors.map((e) => [e.extensions?.code, e.extensions?.reason])).toContainEqual(['FORBIDDEN_FIELD', 'mask-unavailable']);
    expect(h.calls.get('InsuranceRecord.contributionBase') ?? 0).toBe(0);
    expect(r.json).not.toContain('4321.09');
  });

  it('refuses the whole operation in reject-operation mode with 403 and the coordinates', async () => {
    const h = await hub([{ coordinate: 'Enterprise.address' }], 'reject-operation');
    const r = await h.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { name address legalRepresentativeIdNumber } person(idNumber: "341504199001011234") { name } }`);
    expect(r.status).toBe(403);
    expect(r.data).toBeUndefined();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.extensions).toMatchObject({ code: 'FORBIDDEN_FIELD', coordinates: ['Enterprise.legalRepresentativeIdNumber', 'Person.name'] });
    expect([...h.calls.values()].reduce((a, b) => a + b, 0)).toBe(0);
    expect(r.record?.rejected).toBe(true);
  });

  it('lets an operation with only granted fields through in reject-operation mode', async () => {
    const h = await hub([{ coordinate: 'Enterprise.address', mode: 'masked' }], 'reject-operation');
    const r = await h.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { name address } }`);
    expect(r.status).toBeUndefined();
    expect(r.data).toEqual({ getEnterprise: { name: E1.name, address: '安徽省六安市叶集区三元镇***' } });
  });

  it('grants nothing from a suspended contract (not among the active grants), and says which', async () => {
    fixture = await createFixture({ inactive: [{ contractId: 'GX-S', coordinate: 'Enterprise.address', state: 'suspended' }] });
    const r = await fixture.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { address } }`);
    expect(r.errors.map((e) => e.extensions)).toMatchObject([{ code: 'FORBIDDEN_FIELD', reason: 'contract-not-active', contractId: 'GX-S' }]);
    expect(r.json).not.toContain(E1.address);
  });

  it('grants nothing from an active contract held past its validUntil', async () => {
    // A grant list fetched before expiry and used after it: the window decides, not the state.
    const expired = { contractId: 'GX-E', provider: '340000.scjgj', coordinate: 'Enterprise.address', mode: 'clear' as const, scope: { kind: 'all' as const }, purpose: 'p', validUntil: '2026-10-31T00:00:00+08:00' };
    fixture = await createFixture({ rawGrants: [expired] });
    const r = await fixture.run(`{ getEnterprise(creditCode: "${E1.creditCode}") { address } }`);
    expect(r.errors.map((e) => e.extensions)).toMatchObject([{ code: 'FORBIDDEN_FIELD', reason: 'contract-not-active', contractId: 'GX-E' }]);
    expect(r.json).not.toContain(E1.address);
  });

  it('allows introspection to an authenticated caller, without not-shared fields', async () => {
    const h = await hub();
    const r = await h.run(`{ __type(name: "AllowanceHousehold") { fields { name } } }`);
    expect(r.errors).toEqual([]);
    const names = ((r.data?.__type as { fields: { name: string }[] }).fields).map((f) => f.name);
    expect(names).toContain('headName');
    expect(names).not.toContain('householdId');
  });

  it('refuses a request without a principal (401)', async () => {
    const h = await hub();
    const response = await h.server.executeOperation({ query: '{ enterprise(creditCode: "x") { name } }' }, { contextValue: {} });
    expect(response.http.status).toBe(401);
  });

  it('refuses the aliases the hub reserves for itself', async () => {
    const h = await hub();
    const r = await h.run(`{ enterprise(creditCode: "x") { tongxiang__regionCode: name } }`);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('jurisdiction', () => {
  const householdFields = [
    { coordinate: 'AllowanceHouseholdPage.items', provider: '341504.mzj' },
    { coordinate: 'AllowanceHousehold.headName', provider: '341504.mzj' },
  ];

  it('leaves out-of-scope rows out of a list, even when the region was not selected', async () => {
    const h = await hub(householdFields);
    const r = await h.run(`{ allowanceHouseholds { items { headName } } }`);
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({ allowanceHouseholds: { items: [{ headName: H1.headName }] } });
    expect(r.json).not.toContain(H2.headName);
    // The region travelled upstream under the hub's alias; the response does not show it.
    expect(h.upstream.at(-1)).toContain('tongxiang__regionCode: regionCode');
    expect(r.json).not.toContain('tongxiang__');
    expect(r.record?.rowsWithheld).toBe(1);
  });

  it('does not send denied fields upstream with a delegated selection', async () => {
    const h = await hub(householdFields);
    const r = await h.run(`{ allowanceHouseholds { total items { headName headIdNumber village } } }`);
    expect(codes(r).filter((c) => c === 'FORBIDDEN_FIELD').length).toBe(3);
    const sent = h.upstream.at(-1)!;
    expect(sent).toContain('headName');
    expect(sent).not.toMatch(/headIdNumber|village|total/);
    expect(r.json).not.toContain(H1.headIdNumber);
  });

  it('shows a row of another county only under that county’s contract', async () => {
    const h = await hub([
      { coordinate: 'AllowanceHouseholdPage.items', provider: '341623.mzj', scope: { kind: 'all' } },
      { coordinate: 'AllowanceHousehold.headName', provider: '341623.mzj', scope: { kind: 'all' }, mode: 'masked' },
    ]);
    const r = await h.run(`{ allowanceHouseholds { items { headName } } }`);
    expect(r.data).toEqual({ allowanceHouseholds: { items: [{ headName: '诸葛**' }] } });
  });

  it('uses, row by row, the grant whose scope covers the row (clear here, masked there)', async () => {
    const h = await hub([
      { coordinate: 'Enterprise.address', contractId: 'GX-A' },
      { coordinate: 'Enterprise.address', mode: 'masked', scope: { kind: 'all' }, contractId: 'GX-B' },
    ]);
    const r = await h.run(`{ searchEnterprises(page: 1, pageSize: 10) { enterprise { address } } }`);
    expect(r.data).toEqual({ searchEnterprises: { enterprise: [{ address: E1.address }, { address: '安徽省亳州市利辛县城关镇***' }] } });
    expect(r.record?.contractIds).toEqual(['GX-A', 'GX-B']);
  });

  it('keeps no decision from one caller for another holding the same grant list, nor past a change of grants', async () => {
    const h = await hub();
    const query = `{ allowanceHouseholds { items { headName } } }`;
    const denied = await h.run(query);
    expect(codes(denied)).toEqual(['FORBIDDEN_FIELD']);
    // The owner county (same empty list object from grantsFor) sees its own rows.
    const owner = await h.run(query, { principal: principal('341504.mzj') });
    expect(owner.data).toEqual({ allowanceHouseholds: { items: [{ headName: H1.headName }] } });
    expect(codes(await h.run(query))).toEqual(['FORBIDDEN_FIELD']);
    h.setGrants([
      { coordinate: 'AllowanceHouseholdPage.items', provider: '341504.mzj' },
      { coordinate: 'AllowanceHousehold.headName', provider: '341504.mzj', mode: 'masked' },
    ]);
    expect((await h.run(query)).data).toEqual({ allowanceHouseholds: { items: [{ headName: '欧阳**' }] } });
    h.setGrants([]);
    expect(codes(await h.run(query))).toEqual(['FORBIDDEN_FIELD']);
  });

  it('decides rows alike the same way every time they appear in one request (per-request row memo)', async () => {
    const h = await hub([
      { coordinate: 'Enterprise.address', contractId: 'GX-A' },
      { coordinate: 'Enterprise.address', mode: 'masked', scope: { kind: 'all' }, contractId: 'GX-B' },
    ]);
    const page = `searchEnterprises(page: 1, pageSize: 10) { enterprise { address } }`;
    const r = await h.run(`{ a: ${page} b: ${page} one: getEnterprise(creditCode: "${E2.creditCode}") { address } two: getEnterprise(creditCode: "${E1.creditCode}") { address } }`);
    const rows = { enterprise: [{ address: E1.address }, { address: '安徽省亳州市利辛县城关镇***' }] };
    expect(r.data).toEqual({ a: rows, b: rows, one: { address: '安徽省亳州市利辛县城关镇***' }, two: { address: E1.address } });
    expect(r.json).not.toContain(E2.address);
  });

  it('returns null with OUT_OF_JURISDICTION for a direct lookup of an out-of-scope row', async () => {
    const h = await hub([{ coordinate: 'Enterprise.address' }]);
    const r = await h.run(`{ getEnterprise(creditCode: "${E2.creditCode}") { name address } }`);
    expect(r.data).toEqual({ getEnterprise: null });
    expect(r.errors.map((e) => [e.extensions?.code, e.path?.join('.'), e.extensions?.regionCode])).toEqual([['OUT_OF_JURISDICTION', 'getEnterprise', '341623']]);
    expect(r.json).not.toContain(E2.address);
  });

  it('does not filter rows read only through unconditional fields', async () => {
    const h = await hub();
    const r = await h.run(`{ searchEnterprises(page: 1, pageSize: 10) { enterprise { name } } getEnterprise(creditCode: "${E2.creditCode}") { name } }`);
    expect(r.errors).toEqual([]);
    expect(r.data).toEqual({ searchEnterprises: { enterprise: [{ name: E1.name }, { name: E2.name }] }, getEnterprise: { name: E2.name } });
  });

  it('gives an owner its own rows in clear and nothing of another county without a contract', async () => {
    const h = await hub([], 'null-field', '341504.mzj');
    const r = await h.run(`{ allowanceHouseholds { items { headName headIdNumber } } }`);
    expect(r.data).toEqual({ allowanceHouseholds: { items: [{ headName: H1.headName, headIdNumber: H1.headIdNumber }] } });
    expect(r.json).not.toContain(H2.headName);
    // The subjects returned, for the audit (which keeps their HMAC): the withheld row's is not among them.
    expect(r.record?.subjects).toEqual([{ kind: 'idNumber', value: H1.headIdNumber }]);
    expect([r.record?.rowsShown, r.record?.rowsWithheld]).toEqual([1, 1]);
  });

  it('takes a person’s region from the ID number (inherited by its records)', async () => {
    const h = await hub([{ coordinate: 'Person.name' }, { coordinate: 'PersonInsurance.name' }]);
    const inScope = await h.run(`{ person(idNumber: "341504199001011234") { name } }`);
    expect(inScope.data).toEqual({ person: { name: PERSON_NAME } });
    const outOfScope = await h.run(`{ personInsurance(idNumber: "341504199001011234") { idNumber name } }`);
    expect(outOfScope.data).toEqual({ personInsurance: null });
    expect(codes(outOfScope)).toEqual(['OUT_OF_JURISDICTION']);
    expect(outOfScope.json).not.toContain(INSURANCE_NAME);
  });
});

describe('decision record', () => {
  it('names the caller, the operation, each coordinate’s decision, the contracts and their purposes', async () => {
    const h = await hub([{ coordinate: 'Enterprise.address', mode: 'masked', contractId: 'GX-M' }]);
    const r = await h.run(`query Check { getEnterprise(creditCode: "${E1.creditCode}") { name address legalRepresentativeIdNumber } }`, {
      principal: { ...principal('341500.jyj'), client: 'eligibility-app' },
    });
    expect(r.data?.getEnterprise).toBeTruthy();
    const record = r.record!;
    expect(record).toMatchObject({ department: '341500.jyj', subject: 'user@341500.jyj', client: 'eligibility-app', operationName: 'Check', rejected: false, contractIds: ['GX-M'], purposes: ['purpose of GX-M'] });
    expect(record.subjects).toEqual([]);
    expect(record.coordinates).toEqual([
      { coordinate: 'Enterprise.address', decision: 'mask', detail: 'address', contractId: 'GX-M' },
      { coordinate: 'Enterprise.legalRepresentativeIdNumber', decision: 'deny', detail: 'no-contract', contractId: null },
      { coordinate: 'Enterprise.name', decision: 'allow', detail: 'unconditional', contractId: null },
      { coordinate: 'Query.getEnterprise', decision: 'allow', detail: 'unconditional', contractId: null },
    ]);
  });
});
