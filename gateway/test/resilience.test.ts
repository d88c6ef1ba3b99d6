/**
 * Upstreams that are down, slow or answer garbage: the affected fields come back null with a
 * coded error naming the source, the rest of the data is returned, and the gateway keeps serving.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
const TIMEOUT_MS = 1500;
beforeAll(async () => {
  t = await startTestHub({ upstreamTimeoutMs: TIMEOUT_MS });
});
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  t.soapProxy.setMode({ kind: 'pass' });
  t.restProxy.setMode({ kind: 'pass' });
});

const QUERY = `query($id: String!) { person(idNumber: $id) {
  idNumber
  allowances { month monthlyAmount }
  insurance { insuranceType status }
  enterprisesAsLegalRepresentative { creditCode name }
} }`;

type Body = { person: { allowances: unknown[] | null; insurance: unknown[] | null; enterprisesAsLegalRepresentative: unknown[] | null } };

async function ask() {
  return t.query<Body>(QUERY, { id: t.upstreams.data.named.applicantWithEnterprise });
}

function errorAt(res: Awaited<ReturnType<typeof ask>>, field: string) {
  return res.body.errors?.find((e) => e.path?.join('.') === `person.${field}`);
}

async function expectHealthyAgain() {
  const res = await ask();
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.person.insurance).not.toBeNull();
  expect(res.body.data!.person.enterprisesAsLegalRepresentative!.length).toBeGreaterThan(0);
}

const faults = [
  { name: 'down (connection reset)', mode: { kind: 'reset' } as const, code: 'UPSTREAM_UNAVAILABLE' },
  { name: 'slow (beyond the timeout)', mode: { kind: 'delay', ms: TIMEOUT_MS * 3 } as const, code: 'UPSTREAM_UNAVAILABLE', reason: 'timeout' },
  { name: 'answering 503', mode: { kind: 'garbage', status: 503, contentType: 'text/html', body: '<h1>维护中</h1>' } as const, code: 'UPSTREAM_UNAVAILABLE' },
];

describe.each([
  { source: 'SocialInsurance', field: 'insurance', proxy: () => t.restProxy, garbage: { contentType: 'application/json', body: '{"idNumber": "34' } },
  { source: 'MarketRegistry', field: 'enterprisesAsLegalRepresentative', proxy: () => t.soapProxy, garbage: { contentType: 'text/xml', body: '<html><body>502 Bad Gateway</body' } },
])('$source', ({ source, field, proxy, garbage }) => {
  for (const fault of faults) {
    it(`${fault.name}: null at person.${field} with ${fault.code}, other sources intact`, async () => {
      proxy().setMode(fault.mode);
      const started = performance.now();
      const res = await ask();
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      const error = errorAt(res, field);
      expect(error?.extensions).toMatchObject({ code: fault.code, source });
      if (fault.reason) expect(error?.extensions?.reason).toBe(fault.reason);
      const person = res.body.data!.person as Record<string, unknown>;
      expect(person[field]).toBeNull();
      expect(res.body.data!.person.allowances!.length).toBeGreaterThan(0);
      expect(elapsed).toBeLessThan(TIMEOUT_MS * 3); // bounded by the timeout, never a hang
      proxy().setMode({ kind: 'pass' });
      await expectHealthyAgain();
    });
  }

  it(`malformed answer: UPSTREAM_INVALID at person.${field}`, async () => {
    proxy().setMode({ kind: 'garbage', ...garbage });
    const res = await ask();
    expect(errorAt(res, field)?.extensions).toMatchObject({ code: 'UPSTREAM_INVALID', source });
    expect(res.body.data!.person.allowances!.length).toBeGreaterThan(0);
    proxy().setMode({ kind: 'pass' });
    await expectHealthyAgain();
  });
});

describe('errors of a shared upstream call', () => {
  it('lands at every field that needed the call, each at its own path, aliases included', async () => {
    t.restProxy.setMode({ kind: 'reset' });
    const res = await t.query<{ person: Record<string, unknown> }>(
      `query($id: String!) { person(idNumber: $id) { name insurance { status } again: insurance { scheme } employment { employerName } allowances { month } } }`,
      { id: t.upstreams.data.named.applicantWithJob },
    );
    const paths = (res.body.errors ?? []).map((e) => e.path!.join('.')).sort();
    expect(paths).toEqual(['person.again', 'person.employment', 'person.insurance', 'person.name']);
    for (const e of res.body.errors!) expect(e.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'SocialInsurance' });
    expect((res.body.data!.person.allowances as unknown[]).length).toBeGreaterThan(0);
  });

  it('treats a 2xx JSON answer of the wrong shape as UPSTREAM_INVALID, never as "no records"', async () => {
    t.restProxy.setMode({ kind: 'garbage', contentType: 'application/json', body: '{}' });
    const res = await t.query<{ person: { insurance: unknown } }>(
      `query($id: String!) { person(idNumber: $id) { insurance { status } } }`,
      { id: t.upstreams.data.named.applicantWithJob },
    );
    expect(res.body.data!.person.insurance).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toMatchObject({ path: ['person', 'insurance'], extensions: { code: 'UPSTREAM_INVALID', source: 'SocialInsurance' } });
  });

  it('treats a 404 from the REST upstream as UPSTREAM_INVALID naming the source', async () => {
    t.restProxy.setMode({ kind: 'garbage', status: 404, contentType: 'application/json', body: '{"code":"NOT_FOUND"}' });
    const res = await t.query(`query($id: String!) { person(idNumber: $id) { insurance { status } } }`, { id: t.upstreams.data.named.applicantWithJob });
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_INVALID', source: 'SocialInsurance', reason: 'HTTP 404', sourceLabel: expect.any(String) });
  });
});

describe('CivilAffairsRosters (file drop)', () => {
  it('rejects a garbage file with a report to the dropping department, keeps it byte for byte in quarantine, and keeps serving the rosters', async () => {
    // Dropped where the next hub's copy of the folder comes from.
    const file = join(t.upstreams.dropDir, '341504.mzj', 'dibao', '叶集区低保名册-2026-11.xlsx');
    const garbage = Buffer.from('PK\u0003\u0004 this is not really a workbook');
    await writeFile(file, garbage);
    try {
      // A hub starting now ingests its drop folder, garbage included.
      const sibling = await t.startSibling({});
      const reports = await sibling.query<{ dropReports: Array<{ fileName: string; outcome: string; reason: string | null; movedTo: string | null }> }>(
        `{ dropReports(department: "341504.mzj") { fileName outcome reason movedTo } }`,
      );
      expect(reports.body.errors).toBeUndefined();
      const byName = new Map(reports.body.data!.dropReports.map((f) => [f.fileName, f]));
      const bad = byName.get('叶集区低保名册-2026-11.xlsx');
      expect(bad).toMatchObject({ outcome: 'REJECTED', reason: expect.any(String), movedTo: expect.stringContaining('/quarantine/') });
      expect(byName.get('叶集区低保名册-2026-10.xlsx')?.outcome).toBe('PUBLISHED');
      const res = await sibling.query<Body>(QUERY, { id: t.upstreams.data.named.applicantWithEnterprise });
      expect(res.body.data!.person.allowances!.length).toBeGreaterThan(0);
      // The original is never modified: it lies in quarantine/ with the same bytes.
      expect(await readFile(join(sibling.config.variables.TONGXIANG_DROP_DIR!, bad!.movedTo!))).toEqual(garbage);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('reports the drop folder as not ready when it disappears, while the loaded data is still served', async () => {
    const dropDir = t.hub.config.variables.TONGXIANG_DROP_DIR!;
    const moved = `${dropDir}.moved`;
    await rename(dropDir, moved);
    try {
      const ready = await fetch(`${t.hub.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { sources: Array<{ name: string; ok: boolean }> };
      expect(body.sources.find((s) => s.name === 'CivilAffairsRosters')?.ok).toBe(false);
      expect(body.sources.find((s) => s.name === 'SocialInsurance')?.ok).toBe(true);
      const res = await ask();
      expect(res.body.data!.person.allowances!.length).toBeGreaterThan(0);
    } finally {
      await rename(moved, dropDir);
    }
  });
});
