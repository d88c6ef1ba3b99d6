import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFixture, CONTRACT_FIELDS, inAYear, person, type AdminFixture } from './support.ts';

const YEJI_DEV = person('341504.mzj', ['developer'], 'zhang.san');
const YEJI_OWNER = person('341504.mzj', ['data_owner'], 'wang.wu');
const RSJ_OWNER = person('341500.rsj', ['data_owner'], 'li.si');
const LIXIN_DEV = person('341623.mzj', ['developer'], 'zhao.liu');
const LIXIN_OWNER = person('341623.mzj', ['data_owner'], 'qian.qi');

const REQUEST = /* GraphQL */ `
  mutation ($input: ContractRequestInput!) { requestContract(input: $input) { ${CONTRACT_FIELDS} } }
`;
const APPROVE = /* GraphQL */ `
  mutation ($id: ID!, $narrow: [FieldGrantInput!], $reason: String) {
    approveContract(id: $id, narrow: $narrow, reason: $reason) { ${CONTRACT_FIELDS} }
  }
`;
const CATALOGUE = /* GraphQL */ `
  query ($search: String, $owner: String) {
    catalogue(search: $search, owner: $owner) { coordinate owner sharing level masking updateCycle myAccess { mode contractId reason } }
  }
`;

function request(overrides: Record<string, unknown> = {}) {
  return {
    input: {
      provider: '341500.rsj',
      fields: [
        { coordinate: 'PersonInsurance.name', mode: 'CLEAR' },
        { coordinate: 'InsuranceRecord.contributionBase' },
        { coordinate: 'InsuranceRecord.status', mode: 'CLEAR' },
      ],
      purpose: '低保审核核对参保与缴费情况',
      legalBasis: '《社会救助暂行办法》第十一条',
      validUntil: inAYear(),
      ...overrides,
    },
  };
}

function codes(result: { errors?: readonly { extensions?: Record<string, unknown> }[] }): unknown[] {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}

let fx: AdminFixture;
beforeAll(async () => {
  fx = await adminFixture();
});
afterAll(async () => {
  await fx?.dispose();
});

describe('admin API: the lifecycle through GraphQL', () => {
  let id: string;

  it('a county developer requests fields of 341500.rsj: created and submitted', async () => {
    const result = await fx.run(YEJI_DEV, REQUEST, request());
    expect(result.errors).toBeUndefined();
    const c = (result.data as any).requestContract;
    id = c.id;
    expect(c.id).toMatch(/^GX-\d{4}-\d{6}$/);
    expect(c).toMatchObject({ consumer: '341504.mzj', provider: '341500.rsj', state: 'PENDING', scope: { kind: 'JURISDICTION', regionCodes: [] } });
    expect(c.fields).toEqual([
      { coordinate: 'PersonInsurance.name', mode: 'CLEAR' },
      { coordinate: 'InsuranceRecord.contributionBase', mode: 'CLEAR' },
      { coordinate: 'InsuranceRecord.status', mode: 'CLEAR' },
    ]);
    expect(c.history.map((t: any) => t.action)).toEqual(['CREATE', 'SUBMIT']);
  });

  it('catalogue: before approval the developer has no access to the requested fields', async () => {
    const result = await fx.run(YEJI_DEV, CATALOGUE, { search: 'PersonInsurance.' });
    expect(result.errors).toBeUndefined();
    const name = (result.data as any).catalogue.find((e: any) => e.coordinate === 'PersonInsurance.name');
    expect(name).toMatchObject({ owner: '341500.rsj', sharing: 'CONDITIONAL', level: 'L3', masking: 'name', myAccess: { mode: 'NONE', contractId: null } });
    expect(name.myAccess.reason).toBe('contract-not-active');
    const idNumber = (result.data as any).catalogue.find((e: any) => e.coordinate === 'PersonInsurance.idNumber');
    expect(idNumber.myAccess).toEqual({ mode: 'CLEAR', contractId: null, reason: null });
  });

  it('the rsj data_owner sees it in pendingApprovals; the developer may not list approvals', async () => {
    const owner = await fx.run(RSJ_OWNER, `{ pendingApprovals { id state consumer } }`);
    expect(owner.errors).toBeUndefined();
    expect((owner.data as any).pendingApprovals).toEqual([{ id, state: 'PENDING', consumer: '341504.mzj' }]);
    const dev = await fx.run(YEJI_DEV, `{ pendingApprovals { id } }`);
    expect(codes(dev)).toEqual(['FORBIDDEN_ACTION']);
  });

  it('a data_owner of another department cannot approve (FORBIDDEN_ACTION), nor a developer', async () => {
    for (const who of [LIXIN_OWNER, LIXIN_DEV, YEJI_OWNER]) {
      const result = await fx.run(who, APPROVE, { id });
      expect(result.data).toBeNull();
      expect(codes(result)).toEqual(['FORBIDDEN_ACTION']);
      expect(result.errors![0]!.path).toEqual(['approveContract']);
    }
  });

  it('the rsj data_owner approves, narrowing to masked and dropping a field', async () => {
    const result = await fx.run(RSJ_OWNER, APPROVE, {
      id,
      narrow: [
        { coordinate: 'PersonInsurance.name', mode: 'MASKED' },
        { coordinate: 'InsuranceRecord.contributionBase', mode: 'MASKED' },
      ],
      reason: '按最小必要原则脱敏 / masked: least necessary',
    });
    expect(result.errors).toBeUndefined();
    const c = (result.data as any).approveContract;
    expect(c.state).toBe('ACTIVE');
    expect(c.fields).toEqual([
      { coordinate: 'PersonInsurance.name', mode: 'MASKED' },
      { coordinate: 'InsuranceRecord.contributionBase', mode: 'MASKED' },
    ]);
  });

  it('catalogue: myAccess now shows masked, from this contract; the dropped field stays closed', async () => {
    const result = await fx.run(YEJI_DEV, CATALOGUE, { owner: '341500.rsj' });
    expect(result.errors).toBeUndefined();
    const entries = new Map((result.data as any).catalogue.map((e: any) => [e.coordinate, e]));
    expect((entries.get('PersonInsurance.name') as any).myAccess).toEqual({ mode: 'MASKED', contractId: id, reason: null });
    expect((entries.get('InsuranceRecord.contributionBase') as any).myAccess).toMatchObject({ mode: 'MASKED', contractId: id });
    expect((entries.get('InsuranceRecord.status') as any).myAccess.mode).toBe('NONE');
    expect([...entries.values()].every((e: any) => e.owner === '341500.rsj')).toBe(true);
  });

  it('an illegal transition gives CONTRACT_TRANSITION_INVALID', async () => {
    const again = await fx.run(RSJ_OWNER, APPROVE, { id });
    expect(codes(again)).toEqual(['CONTRACT_TRANSITION_INVALID']);
    expect(again.errors![0]!.extensions).toMatchObject({ contractId: id, from: 'active', action: 'approve' });
    const withdraw = await fx.run(YEJI_DEV, `mutation ($id: ID!) { withdrawContract(id: $id) { id } }`, { id });
    expect(codes(withdraw)).toEqual(['CONTRACT_TRANSITION_INVALID']);
  });

  it('suspend, resume, revoke (reason required by the schema)', async () => {
    const suspend = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { suspendContract(id: $id, reason: "核查中 / under review") { state } }`, { id });
    expect((suspend.data as any).suspendContract.state).toBe('SUSPENDED');
    const resume = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { resumeContract(id: $id) { state } }`, { id });
    expect((resume.data as any).resumeContract.state).toBe('ACTIVE');
    const noReason = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { revokeContract(id: $id) { state } }`, { id });
    expect(noReason.errors?.[0]?.message).toMatch(/reason/);
    const revoke = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { revokeContract(id: $id, reason: "用途已结束 / purpose ended") { state } }`, { id });
    expect((revoke.data as any).revokeContract.state).toBe('REVOKED');
  });

  it('history shows every step with actor, department and reason (for consumer and provider alike)', async () => {
    for (const who of [YEJI_DEV, RSJ_OWNER]) {
      const result = await fx.run(who, `query ($id: ID!) { contract(id: $id) { ${CONTRACT_FIELDS} } }`, { id });
      expect(result.errors).toBeUndefined();
      const history = (result.data as any).contract.history;
      expect(history.map((t: any) => [t.seq, t.action, t.from, t.to, t.actor, t.actorDepartment, t.reason])).toEqual([
        [1, 'CREATE', null, 'DRAFT', 'zhang.san', '341504.mzj', null],
        [2, 'SUBMIT', 'DRAFT', 'PENDING', 'zhang.san', '341504.mzj', null],
        [3, 'APPROVE', 'PENDING', 'ACTIVE', 'li.si', '341500.rsj', '按最小必要原则脱敏 / masked: least necessary'],
        [4, 'SUSPEND', 'ACTIVE', 'SUSPENDED', 'li.si', '341500.rsj', '核查中 / under review'],
        [5, 'RESUME', 'SUSPENDED', 'ACTIVE', 'li.si', '341500.rsj', null],
        [6, 'REVOKE', 'ACTIVE', 'REVOKED', 'li.si', '341500.rsj', '用途已结束 / purpose ended'],
      ]);
      expect(history[2].fields).toEqual([
        { coordinate: 'PersonInsurance.name', mode: 'MASKED' },
        { coordinate: 'InsuranceRecord.contributionBase', mode: 'MASKED' },
      ]);
    }
  });

  it('another department cannot read the contract; an unknown id is null', async () => {
    const other = await fx.run(LIXIN_DEV, `query ($id: ID!) { contract(id: $id) { id } }`, { id });
    expect(codes(other)).toEqual(['FORBIDDEN_ACTION']);
    const missing = await fx.run(YEJI_DEV, `{ contract(id: "GX-2026-999999") { id } }`);
    expect(missing).toEqual({ data: { contract: null } });
  });

  it('myContracts lists the contract for consumer and provider, not for others', async () => {
    const mine = async (p: typeof YEJI_DEV) => ((await fx.run(p, `{ myContracts { id } }`)).data as any).myContracts.map((c: any) => c.id);
    expect(await mine(YEJI_DEV)).toContain(id);
    expect(await mine(RSJ_OWNER)).toContain(id);
    expect(await mine(LIXIN_DEV)).not.toContain(id);
  });
});

describe('admin API: requests, renewals and errors', () => {
  it('an invalid request is CONTRACT_INVALID listing every problem', async () => {
    const result = await fx.run(YEJI_DEV, REQUEST, request({ fields: [{ coordinate: 'Nope.field' }], purpose: ' ' }));
    expect(codes(result)).toEqual(['CONTRACT_INVALID']);
    expect(String(result.errors![0]!.extensions!.messageEn)).toMatch(/purpose/);
    expect(String(result.errors![0]!.extensions!.messageEn)).toMatch(/Nope\.field/);
  });

  it('scope REGIONS takes region codes; withdraw and reject carry reasons', async () => {
    const made = await fx.run(YEJI_DEV, REQUEST, request({ scope: { kind: 'REGIONS', regionCodes: ['341504'] } }));
    expect(made.errors).toBeUndefined();
    const c = (made.data as any).requestContract;
    expect(c.scope).toEqual({ kind: 'REGIONS', regionCodes: ['341504'] });
    const withdrawn = await fx.run(YEJI_DEV, `mutation ($id: ID!) { withdrawContract(id: $id, reason: "重复申请") { state history { reason } } }`, { id: c.id });
    expect((withdrawn.data as any).withdrawContract.state).toBe('WITHDRAWN');
    expect((withdrawn.data as any).withdrawContract.history.at(-1).reason).toBe('重复申请');

    const other = ((await fx.run(YEJI_DEV, REQUEST, request())).data as any).requestContract;
    const rejected = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { rejectContract(id: $id, reason: "依据不足") { state } }`, { id: other.id });
    expect((rejected.data as any).rejectContract.state).toBe('REJECTED');
  });

  it('renewal makes a successor pending approval', async () => {
    const made = ((await fx.run(YEJI_DEV, REQUEST, request())).data as any).requestContract;
    await fx.run(RSJ_OWNER, APPROVE, { id: made.id });
    const until = new Date(Date.now() + 2 * 365 * 86_400_000).toISOString();
    const renewed = await fx.run(YEJI_DEV, `mutation ($id: ID!, $until: String) { renewContract(id: $id, validUntil: $until) { id state predecessorId validUntil } }`, { id: made.id, until });
    expect(renewed.errors).toBeUndefined();
    expect((renewed.data as any).renewContract).toMatchObject({ state: 'PENDING', predecessorId: made.id, validUntil: until });
  });

  it("the provider's data owner may renew too: its successor waits in its own approval queue", async () => {
    const made = ((await fx.run(YEJI_DEV, REQUEST, request())).data as any).requestContract;
    await fx.run(RSJ_OWNER, APPROVE, { id: made.id });
    const renewed = await fx.run(RSJ_OWNER, `mutation ($id: ID!) { renewContract(id: $id) { id state predecessorId history { action actorDepartment } } }`, { id: made.id });
    expect(renewed.errors).toBeUndefined();
    const successor = (renewed.data as any).renewContract;
    expect(successor).toMatchObject({ state: 'PENDING', predecessorId: made.id });
    expect(successor.history.map((h: any) => [h.action, h.actorDepartment])).toEqual([['RENEW', '341500.rsj'], ['SUBMIT', '341500.rsj']]);
    const queue = await fx.run(RSJ_OWNER, `{ pendingApprovals { id } }`);
    expect((queue.data as any).pendingApprovals.map((c: any) => c.id)).toContain(successor.id);
    // Another county's owner is neither party.
    const stranger = await fx.run(LIXIN_OWNER, `mutation ($id: ID!) { renewContract(id: $id) { id } }`, { id: made.id });
    expect(codes(stranger)).toEqual(['FORBIDDEN_ACTION']);
  });

  it('catalogue filters: level, sharing, owner, search', async () => {
    const result = await fx.run(YEJI_DEV, `{ catalogue(level: L3, sharing: CONDITIONAL, owner: "341500.rsj", search: "缴费") { coordinate level sharing owners } }`);
    expect(result.errors).toBeUndefined();
    const list = (result.data as any).catalogue;
    expect(list.length).toBeGreaterThan(0);
    expect(list.map((e: any) => e.coordinate)).toContain('InsuranceRecord.contributionBase');
    for (const e of list) expect(e).toMatchObject({ level: 'L3', sharing: 'CONDITIONAL', owners: ['341500.rsj'] });
    const notShared = await fx.run(YEJI_DEV, `{ catalogue(sharing: NOT_SHARED) { coordinate } }`);
    expect((notShared.data as any).catalogue).toEqual([]);
  });

  it('without a principal every admin field is UNAUTHENTICATED', async () => {
    expect(codes(await fx.run(null, `{ myContracts { id } }`))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await fx.run(null, `{ catalogue { coordinate } }`))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await fx.run(null, REQUEST, request()))).toEqual(['UNAUTHENTICATED']);
  });

  it('the data graph is kept: its query fields are still there, and Mutation is the mutation root', () => {
    expect(fx.schema.getQueryType()!.getFields().person).toBeDefined();
    expect(fx.schema.getMutationType()!.name).toBe('Mutation');
    expect(fx.schema.getQueryType()!.getFields().catalogue!.description).toMatch(/数据资源目录.*catalogue/);
  });
});
