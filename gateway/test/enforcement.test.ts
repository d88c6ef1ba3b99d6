/**
 * Field-level authorization through the running hub, with real tokens and real contracts: a
 * county developer is denied a field, requests it, the owner approves it masked, the same query
 * returns it masked (never clear, however asked), the owner revokes, denied again.
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

type Body = { getEnterprise: { name: string; legalRepresentativeIdNumber: string | null; again?: string | null } | null };

describe('the contract lifecycle decides what a department sees', () => {
  it('denies, then masks after approval (through aliases and fragments), then denies after revocation', async () => {
    const developer = await t.tokenFor({ subject: 'dev-lixin', department: '341623.mzj', roles: ['developer'] });
    const owner = await t.tokenFor({ subject: 'owner-scjgj', department: '340000.scjgj', roles: ['data_owner'] });
    const e = t.upstreams.data.enterprises.find((x) => x.regionCode === '341623')!;
    const query = `query($c: String!) { getEnterprise(creditCode: $c) { name legalRepresentativeIdNumber ...F } }
      fragment F on Enterprise { again: legalRepresentativeIdNumber }`;

    const denied = await t.query<Body>(query, { c: e.creditCode }, { token: developer });
    expect(denied.body.data!.getEnterprise!.name).toBe(e.name); // unconditional
    expect(denied.body.data!.getEnterprise!.legalRepresentativeIdNumber).toBeNull();
    expect(denied.body.errors!.map((x) => x.extensions!.code)).toContain('FORBIDDEN_FIELD');
    expect(denied.body.errors!.find((x) => x.path?.join('.') === 'getEnterprise.legalRepresentativeIdNumber')?.extensions).toMatchObject({
      code: 'FORBIDDEN_FIELD',
      coordinate: 'Enterprise.legalRepresentativeIdNumber',
    });
    expect(JSON.stringify(denied.body)).not.toContain(e.legalRepresentativeIdNumber);

    const until = new Date(Date.now() + 90 * 86_400_000).toISOString();
    const requested = await t.query<{ requestContract: { id: string } }>(
      `mutation($until: String!) { requestContract(input: { fields: [{ coordinate: "Enterprise.legalRepresentativeIdNumber" }],
        purpose: "低保资格核查：核对申请人是否担任企业法定代表人", legalBasis: "《社会救助暂行办法》", validUntil: $until }) { id } }`,
      { until },
      { token: developer },
    );
    const { id } = requested.body.data!.requestContract;
    const approved = await t.query(
      `mutation($id: ID!) { approveContract(id: $id, narrow: [{ coordinate: "Enterprise.legalRepresentativeIdNumber", mode: MASKED }]) { state } }`,
      { id },
      { token: owner },
    );
    expect(approved.body.errors).toBeUndefined();

    const masked = await t.query<Body>(query, { c: e.creditCode }, { token: developer });
    expect(masked.body.errors).toBeUndefined();
    const value = masked.body.data!.getEnterprise!.legalRepresentativeIdNumber!;
    expect(value).toBe(`${e.legalRepresentativeIdNumber.slice(0, 6)}********${e.legalRepresentativeIdNumber.slice(14)}`);
    expect(masked.body.data!.getEnterprise!.again).toBe(value);
    expect(JSON.stringify(masked.body)).not.toContain(e.legalRepresentativeIdNumber);

    // The contract's default scope is the consumer's jurisdiction: 利辛县 only.
    const elsewhere = t.upstreams.data.enterprises.find((x) => x.regionCode === '341504')!;
    const outside = await t.query<Body>(query, { c: elsewhere.creditCode }, { token: developer });
    expect(outside.body.data!.getEnterprise).toBeNull();
    expect(outside.body.errors![0]!.extensions!.code).toBe('OUT_OF_JURISDICTION');
    expect(JSON.stringify(outside.body)).not.toContain(elsewhere.legalRepresentativeIdNumber);

    const revoked = await t.query(`mutation($id: ID!) { revokeContract(id: $id, reason: "核查结束") { state } }`, { id }, { token: owner });
    expect(revoked.body.errors).toBeUndefined();
    const again = await t.query<Body>(query, { c: e.creditCode }, { token: developer });
    expect(again.body.data!.getEnterprise!.legalRepresentativeIdNumber).toBeNull();
    expect(again.body.errors!.map((x) => x.extensions!.code)).toContain('FORBIDDEN_FIELD');
  });

  it('never returns a conditional field to a department without a contract, in a batch of aliased person lookups', async () => {
    const stranger = await t.tokenFor({ subject: 'dev-hq', department: '341600.mzj', roles: ['developer'] });
    const ids = [t.upstreams.data.named.applicantWithJob, t.upstreams.data.named.applicantClean];
    const res = await t.query<Record<string, { insurance: unknown } | null>>(
      `query($a: String!, $b: String!) { a: person(idNumber: $a) { idNumber insurance { contributionBase } } b: person(idNumber: $b) { x: insurance { status } } }`,
      { a: ids[0], b: ids[1] },
      { token: stranger },
    );
    const codes = new Set(res.body.errors!.map((x) => x.extensions!.code));
    expect(codes.has('FORBIDDEN_FIELD')).toBe(true);
    expect(JSON.stringify(res.body.data)).not.toMatch(/contributionBase":\d|ACTIVE|SUSPENDED|TERMINATED/);
  });
});
