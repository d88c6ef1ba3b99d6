/**
 * Contracts and the catalogue through the running hub, with real tokens: the admin API is part
 * of the one graph, not-shared fields are gone from it, and the lifecycle works over HTTP.
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

describe('catalogue and contracts in the graph', () => {
  it('hides not-shared fields from introspection and refuses queries for them', async () => {
    const intro = await t.query<{ __type: { fields: Array<{ name: string }> } }>(`{ __type(name: "AllowanceHousehold") { fields { name } } }`);
    const names = intro.body.data!.__type.fields.map((f) => f.name);
    expect(names).toContain('headIdNumber');
    expect(names).not.toContain('householdId');
    const res = await t.query(`{ allowanceHouseholds(first: 1) { items { householdId } } }`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('lets a county developer request a field, the owner approve it masked, and both see the history', async () => {
    const developer = await t.tokenFor({ subject: 'dev-yeji', department: '341504.mzj', roles: ['developer'] });
    const owner = await t.tokenFor({ subject: 'owner-rsj', department: '341500.rsj', roles: ['data_owner'] });
    const until = new Date(Date.now() + 180 * 86_400_000).toISOString();

    const requested = await t.query<{ requestContract: { id: string; state: string; provider: string } }>(
      `mutation($until: String!) { requestContract(input: {
          fields: [{ coordinate: "InsuranceRecord.contributionBase" }],
          purpose: "低保资格核查：核对申请人缴费基数", legalBasis: "《社会救助暂行办法》第十一条", validUntil: $until }) { id state provider } }`,
      { until },
      { token: developer },
    );
    expect(requested.body.errors).toBeUndefined();
    const { id } = requested.body.data!.requestContract;
    expect(requested.body.data!.requestContract).toMatchObject({ state: 'PENDING', provider: '341500.rsj' });

    const foreign = await t.query(`mutation($id: ID!) { approveContract(id: $id) { state } }`, { id }, { token: developer });
    expect(foreign.body.errors![0]!.extensions!.code).toBe('FORBIDDEN_ACTION');

    const queue = await t.query<{ pendingApprovals: Array<{ id: string }> }>(`{ pendingApprovals { id } }`, {}, { token: owner });
    expect(queue.body.data!.pendingApprovals.map((c) => c.id)).toContain(id);

    const approved = await t.query<{ approveContract: { state: string; fields: Array<{ coordinate: string; mode: string }> } }>(
      `mutation($id: ID!) { approveContract(id: $id, narrow: [{ coordinate: "InsuranceRecord.contributionBase", mode: MASKED }]) { state fields { coordinate mode } } }`,
      { id },
      { token: owner },
    );
    expect(approved.body.errors).toBeUndefined();
    expect(approved.body.data!.approveContract).toEqual({ state: 'ACTIVE', fields: [{ coordinate: 'InsuranceRecord.contributionBase', mode: 'MASKED' }] });

    const mine = await t.query<{ contract: { history: Array<{ action: string; actor: string }> } }>(
      `query($id: ID!) { contract(id: $id) { history { action actor } } }`,
      { id },
      { token: developer },
    );
    const steps = mine.body.data!.contract.history.map((h) => `${h.action}:${h.actor}`);
    expect(steps).toContain('APPROVE:owner-rsj');
    expect(steps[0]).toMatch(/dev-yeji$/);
  });

  it('answers an approval of a contract in the wrong state with CONTRACT_TRANSITION_INVALID', async () => {
    const owner = await t.tokenFor({ subject: 'owner-rsj', department: '341500.rsj', roles: ['data_owner'] });
    const developer = await t.tokenFor({ subject: 'dev-yeji', department: '341504.mzj', roles: ['developer'] });
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const requested = await t.query<{ requestContract: { id: string } }>(
      `mutation($until: String!) { requestContract(input: { fields: [{ coordinate: "InsuranceRecord.status" }], purpose: "核查", legalBasis: "依据", validUntil: $until }) { id } }`,
      { until },
      { token: developer },
    );
    const { id } = requested.body.data!.requestContract;
    await t.query(`mutation($id: ID!) { rejectContract(id: $id, reason: "用途不明确") { state } }`, { id }, { token: owner });
    const again = await t.query(`mutation($id: ID!) { approveContract(id: $id) { state } }`, { id }, { token: owner });
    expect(again.body.errors![0]!.extensions!.code).toBe('CONTRACT_TRANSITION_INVALID');
  });
});
