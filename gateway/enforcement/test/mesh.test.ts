/**
 * The enforcement on the real Mesh schema (stitched SOAP, REST and file-drop sources with the
 * hub's links) and the demo upstreams: stitching resolvers keep working when wrapped, rows of
 * delegated root fields (SOAP, file drop) are decided by their region even when the query did not
 * select it, and masked values come back masked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import type { MeshInstance } from '@graphql-mesh/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/index.ts';
import { principal, shippedCatalogue } from '../../../policies/test/support.ts';
import { loadConfig } from '../../config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../demo.ts';
import { loadMesh } from '../../mesh-loader.ts';
import { settleFileDropStores } from '../../../mesh/index.ts';
import { createEnforcement, decisionRecordOf, type DecisionRecord } from '../index.ts';
import { T0, type GrantSpec, grant } from './fixture.ts';

let dir: string;
let demo: DemoUpstreams;
let mesh: MeshInstance;
let server: ApolloServer<{ principal: Principal }>;
let grants: GrantSpec[] = [];
let record: DecisionRecord | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tx-enforcement-'));
  demo = await startDemoUpstreams({ dataDir: dir });
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, demo: true, variables: { ...demo.variables } } });
  mesh = (await loadMesh(config)).mesh;
  const catalogue = await shippedCatalogue();
  const owners = (c: string) => catalogue.fields.get(c)?.owners ?? [];
  const enforcement = createEnforcement({ schema: mesh.schema, catalogue, grantsFor: async () => grants.map((g) => grant(g, owners)), clock: { now: () => T0 } });
  const audit = { async requestDidStart() { return { async willSendResponse(rc: { contextValue: object }) { record = decisionRecordOf(rc.contextValue); } }; } };
  server = new ApolloServer<{ principal: Principal }>({ schema: enforcement.schema, plugins: [enforcement.plugin, audit] });
  await server.start();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  mesh?.destroy();
  await settleFileDropStores();
  await demo?.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(query: string, caller = '341500.jyj') {
  const { contextFactory } = mesh.getEnveloped({});
  const contextValue = (await contextFactory({ requestId: 'test-request', principal: principal(caller) })) as { principal: Principal };
  const response = await server.executeOperation({ query }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('incremental');
  return { ...response.body.singleResult, json: JSON.stringify(response.body.singleResult) };
}

describe('on the Mesh graph', () => {
  it('serves unconditional fields of delegated and linked types, and denies a conditional one', async () => {
    grants = [];
    const e = demo.data.enterprises[0]!;
    const r = await run(`{ enterprise(creditCode: "${e.creditCode}") { name creditCode legalRepresentativeIdNumber insuredEmployees { insuredCount } } }`);
    const ent = (r.data as { enterprise: Record<string, unknown> }).enterprise;
    expect(ent.name).toBe(e.name);
    expect(ent.legalRepresentativeIdNumber).toBeNull();
    expect(r.errors?.map((x) => x.extensions?.code)).toEqual(['FORBIDDEN_FIELD']);
    expect(r.json).not.toContain(e.legalRepresentativeIdNumber);
  });

  it('keeps a stitched link with a selectionSet working while its key field is denied', async () => {
    grants = [{ coordinate: 'Enterprise.legalRepresentative', provider: '340000.scjgj', scope: { kind: 'all' } }];
    const e = demo.data.enterprises.find((x) => x.regionCode.startsWith('3415') && x.legalRepresentativeIdNumber)!;
    // `enterprise` is the hub's own link (whole object); `getEnterprise` is delegated to SOAP, where
    // stitching adds the link's selectionSet although the field itself was dropped as denied.
    for (const root of ['enterprise', 'getEnterprise']) {
      const r = await run(`{ ${root}(creditCode: "${e.creditCode}") { legalRepresentativeIdNumber legalRepresentative { idNumber gender } } }`);
      const ent = (r.data as Record<string, { legalRepresentativeIdNumber: unknown; legalRepresentative: { idNumber: string } }>)[root]!;
      expect(ent.legalRepresentativeIdNumber).toBeNull();
      // Granting the link grants the Person it returns, ID number included (why the catalogue makes it L3).
      expect(ent.legalRepresentative?.idNumber).toBe(e.legalRepresentativeIdNumber);
      expect(r.errors?.map((x) => [x.extensions?.code, x.path?.join('.')])).toEqual([['FORBIDDEN_FIELD', `${root}.legalRepresentativeIdNumber`]]);
    }
  });

  it('leaves out-of-scope rows of a delegated list out without the region selected, and masks', async () => {
    grants = [
      { coordinate: 'AllowanceHouseholdPage.items', provider: '341504.mzj' },
      { coordinate: 'AllowanceHousehold.headIdNumber', provider: '341504.mzj', mode: 'masked' },
    ];
    const all = demo.data.allowances;
    const yeji = all.filter((h) => h.regionCode === '341504');
    const lixin = all.filter((h) => h.regionCode === '341623');
    expect(yeji.length).toBeGreaterThan(0);
    expect(lixin.length).toBeGreaterThan(0);
    const r = await run(`{ allowanceHouseholds(first: 500) { items { headIdNumber members } } }`);
    const items = (r.data as { allowanceHouseholds: { items: { headIdNumber: string }[] } }).allowanceHouseholds.items;
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item.headIdNumber).toMatch(/^341504\*{8}[0-9X]{4}$/);
    for (const h of all) expect(r.json).not.toContain(h.headIdNumber);
    expect(record?.rowsWithheld).toBeGreaterThan(0);
    expect(r.json).not.toContain('tongxiang__');
  });

  it('decides each enterprise of a delegated SOAP search by its region, which the query did not select', async () => {
    grants = [{ coordinate: 'Enterprise.address', provider: '340000.scjgj' }];
    const r = await run(`{ searchEnterprises(page: 1, pageSize: 100) { enterprise { name a: address } } }`);
    const rows = (r.data as { searchEnterprises: { enterprise: { name: string; a: string }[] } }).searchEnterprises.enterprise;
    expect(rows.length).toBeGreaterThan(0);
    const byName = new Map(demo.data.enterprises.map((e) => [e.name, e]));
    for (const row of rows) {
      expect(byName.get(row.name)?.regionCode.startsWith('3415')).toBe(true);
      expect(row.a).toBe(byName.get(row.name)?.address);
    }
    // 亳州 (341600) is outside a 六安 city department's jurisdiction: its rows are left out when the
    // address is read, and shown when only unconditional fields are.
    const outside = await run(`{ searchEnterprises(regionCode: "341600", page: 1, pageSize: 100) { total enterprise { name address } } }`);
    expect((outside.data as { searchEnterprises: { enterprise: unknown[] } }).searchEnterprises.enterprise).toEqual([]);
    expect(record?.rowsWithheld).toBeGreaterThan(0);
    for (const e of demo.data.enterprises) if (!e.regionCode.startsWith('3415')) expect(outside.json).not.toContain(e.address);
    const names = await run(`{ searchEnterprises(regionCode: "341600", page: 1, pageSize: 100) { enterprise { name } } }`);
    expect((names.data as { searchEnterprises: { enterprise: unknown[] } }).searchEnterprises.enterprise.length).toBeGreaterThan(0);
  });

  it('returns null with OUT_OF_JURISDICTION for a person outside the grant’s scope, and the record names the contract', async () => {
    grants = [{ coordinate: 'Person.name', provider: '341500.rsj', contractId: 'GX-NAME' }];
    const outside = demo.data.persons.find((p) => !p.idNumber.startsWith('3415'))!;
    const inside = demo.data.persons.find((p) => p.idNumber.startsWith('3415'))!;
    const r = await run(`{ person(idNumber: "${inside.idNumber}") { idNumber name } }`);
    expect(r.errors ?? []).toEqual([]);
    expect(record?.contractIds).toEqual(['GX-NAME']);
    const o = await run(`{ person(idNumber: "${outside.idNumber}") { idNumber name } }`);
    expect(o.data).toEqual({ person: null });
    expect(o.errors?.map((x) => x.extensions?.code)).toEqual(['OUT_OF_JURISDICTION']);
  });
});
