import { describe, expect, it } from 'vitest';
import { CONTRACT_STATES, type ContractState, type FieldGrant } from '../model.ts';
import { createDraft, narrowFields, renewDraft, transition, type Actor, type LifecycleAction } from '../lifecycle.ts';
import { validateContractRequest } from '../validate.ts';
import { contract, DAY, demoCatalogue, insuranceRequest, LIXIN_MZJ, person, RSJ, T0, YEJI_MZJ } from './fixtures.ts';

const consumerDev = person(YEJI_MZJ, ['developer']);
const owner = person(RSJ, ['data_owner']);
const AFTER_END = T0 + 366 * DAY;

/** The right actor and a reason for each action, so only the state decides. */
const RIGHT: Record<LifecycleAction, { actor: Actor; now: number }> = {
  submit: { actor: consumerDev, now: T0 },
  withdraw: { actor: consumerDev, now: T0 },
  approve: { actor: owner, now: T0 },
  reject: { actor: owner, now: T0 },
  suspend: { actor: owner, now: T0 },
  resume: { actor: owner, now: T0 },
  revoke: { actor: owner, now: T0 },
  expire: { actor: 'system', now: AFTER_END },
};

const LEGAL: Record<LifecycleAction, Partial<Record<ContractState, ContractState>>> = {
  submit: { draft: 'pending' },
  withdraw: { draft: 'withdrawn', pending: 'withdrawn' },
  approve: { pending: 'active' },
  reject: { pending: 'rejected' },
  suspend: { active: 'suspended' },
  resume: { suspended: 'active' },
  revoke: { active: 'revoked', suspended: 'revoked' },
  expire: { active: 'expired', suspended: 'expired' },
};

const cases = (Object.keys(LEGAL) as LifecycleAction[]).flatMap((action) =>
  CONTRACT_STATES.map((from) => ({ action, from, to: LEGAL[action][from] })),
);

describe('lifecycle: which state allows which action', () => {
  it.each(cases)('$action from $from → $to', ({ action, from, to }) => {
    const { actor, now } = RIGHT[action];
    const result = transition(contract({ state: from }), action, actor, now, 'reason given');
    if (to === undefined) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('CONTRACT_TRANSITION_INVALID');
        expect(result.error.fields).toMatchObject({ contractId: 'GX-2026-000001', from, action });
      }
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.contract.state).toBe(to);
    expect(result.contract.version).toBe(3);
    expect(result.contract.updatedAt).toBe(new Date(now).toISOString());
    expect(result.record).toMatchObject({ contractId: 'GX-2026-000001', seq: 3, action, from, to, reason: 'reason given' });
  });
});

describe('lifecycle: who may act', () => {
  const people: Record<string, Actor> = {
    'consumer developer': consumerDev,
    'consumer data_owner': person(YEJI_MZJ, ['data_owner']),
    'consumer auditor': person(YEJI_MZJ, ['auditor']),
    'provider developer': person(RSJ, ['developer']),
    'provider data_owner': owner,
    'another department data_owner': person(LIXIN_MZJ, ['data_owner']),
    system: 'system',
  };
  const allowed: Record<LifecycleAction, string[]> = {
    submit: ['consumer developer', 'consumer data_owner'],
    withdraw: ['consumer developer', 'consumer data_owner'],
    approve: ['provider data_owner'],
    reject: ['provider data_owner'],
    suspend: ['provider data_owner'],
    resume: ['provider data_owner'],
    revoke: ['provider data_owner'],
    expire: ['system'],
  };
  const from: Record<LifecycleAction, ContractState> = {
    submit: 'draft', withdraw: 'pending', approve: 'pending', reject: 'pending',
    suspend: 'active', resume: 'suspended', revoke: 'active', expire: 'active',
  };
  const table = (Object.keys(allowed) as LifecycleAction[]).flatMap((action) =>
    Object.keys(people).map((who) => ({ action, who, ok: allowed[action].includes(who) })),
  );
  it.each(table)('$action by $who: allowed=$ok', ({ action, who, ok }) => {
    const result = transition(contract({ state: from[action] }), action, people[who]!, RIGHT[action].now, 'reason given');
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.error.code).toBe('FORBIDDEN_ACTION');
  });

  it('checks the actor before the state, so a stranger learns nothing about it', () => {
    const result = transition(contract({ state: 'revoked' }), 'approve', person(LIXIN_MZJ, ['data_owner']), T0);
    expect(!result.ok && result.error.code).toBe('FORBIDDEN_ACTION');
  });

  it('says in words who may act', () => {
    const result = transition(contract(), 'approve', person(RSJ, ['developer']), T0);
    expect(!result.ok && String(result.error.fields.reason)).toContain('data_owner');
  });
});

describe('lifecycle: reasons and time', () => {
  it.each(['reject', 'revoke'] as const)('refuses to %s without a reason', (action) => {
    const state = action === 'reject' ? 'pending' : 'active';
    for (const reason of [undefined, '', '   ']) {
      const result = transition(contract({ state }), action, owner, T0, reason);
      expect(!result.ok && result.error.code).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps an optional reason trimmed, and null when blank', () => {
    const r1 = transition(contract({ state: 'active' }), 'suspend', owner, T0, '  调用异常  ');
    const r2 = transition(contract({ state: 'active' }), 'suspend', owner, T0, ' ');
    expect(r1.ok && r1.record.reason).toBe('调用异常');
    expect(r2.ok && r2.record.reason).toBeNull();
  });

  it('refuses a reason longer than 1000 characters', () => {
    const result = transition(contract(), 'reject', owner, T0, '理'.repeat(1001));
    expect(!result.ok && result.error.code).toBe('BAD_USER_INPUT');
  });

  it('expires only once the window has ended', () => {
    const c = contract({ state: 'active' });
    const before = transition(c, 'expire', 'system', Date.parse(c.validUntil) - 1);
    const at = transition(c, 'expire', 'system', Date.parse(c.validUntil));
    expect(!before.ok && before.error.code).toBe('CONTRACT_TRANSITION_INVALID');
    expect(at.ok && at.record).toMatchObject({ actor: 'system', actorDepartment: null, to: 'expired' });
  });

  it.each([
    ['approve', 'pending'],
    ['resume', 'suspended'],
    ['submit', 'draft'],
  ] as const)('refuses to %s a contract whose window has ended', (action, state) => {
    const actor = action === 'submit' ? consumerDev : owner;
    const result = transition(contract({ state }), action, actor, AFTER_END);
    expect(!result.ok && result.error.code).toBe('CONTRACT_INVALID');
  });

  it('records the acting person and department', () => {
    const result = transition(contract(), 'approve', person(RSJ, ['data_owner'], 'zhang.wei'), T0);
    expect(result.ok && result.record).toMatchObject({ actor: 'zhang.wei', actorDepartment: RSJ, fields: null });
  });
});

describe('lifecycle: approval narrows, never widens', () => {
  const approve = (narrow: FieldGrant[]) => transition(contract(), 'approve', owner, T0, undefined, { narrow });

  it('keeps a subset of the fields and switches clear to masked', () => {
    const narrow: FieldGrant[] = [
      { coordinate: 'Person.insurance', mode: 'clear' },
      { coordinate: 'InsuranceRecord.status', mode: 'masked' },
    ];
    const result = approve(narrow);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.contract.fields).toEqual(narrow);
    expect(result.record.fields).toEqual(narrow);
  });

  it('refuses adding a field', () => {
    const result = approve([...contract().fields, { coordinate: 'InsuranceRecord.employerName', mode: 'clear' }]);
    expect(!result.ok && result.error.code).toBe('CONTRACT_INVALID');
    expect(!result.ok && String(result.error.fields.reason)).toContain('InsuranceRecord.employerName');
  });

  it('refuses turning masked into clear', () => {
    const result = approve(contract().fields.map((f) => ({ ...f, mode: 'clear' as const })));
    expect(!result.ok && String(result.error.fields.reason)).toContain('InsuranceRecord.contributionBase');
  });

  it('refuses narrowing to nothing (that is a rejection) and duplicates', () => {
    expect(narrowFields(contract().fields, []).ok).toBe(false);
    const dup = narrowFields(contract().fields, [
      { coordinate: 'Person.insurance', mode: 'clear' },
      { coordinate: 'Person.insurance', mode: 'masked' },
    ]);
    expect(dup.ok).toBe(false);
  });

  it('refuses narrowing outside an approval', () => {
    const result = transition(contract({ state: 'active' }), 'suspend', owner, T0, undefined, { narrow: [] });
    expect(!result.ok && result.error.code).toBe('BAD_USER_INPUT');
  });
});

describe('lifecycle: creation and renewal', () => {
  const valid = validateContractRequest(YEJI_MZJ, insuranceRequest(), { lookup: demoCatalogue().lookup, now: T0 });
  if (!valid.ok) throw valid.error;

  it('creates a draft whose opening step records the requested fields', () => {
    const result = createDraft(valid.value, consumerDev, T0);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.contract).toMatchObject({ state: 'draft', predecessorId: null, consumer: YEJI_MZJ, provider: RSJ });
    expect(result.record).toMatchObject({ action: 'create', from: null, to: 'draft', fields: valid.value.fields });
  });

  it('refuses a request by a department other than the consumer', () => {
    const result = createDraft(valid.value, person(LIXIN_MZJ, ['developer']), T0);
    expect(!result.ok && result.error.code).toBe('FORBIDDEN_ACTION');
  });

  it('renews an active contract into a draft starting when the predecessor ends, same length', () => {
    const c = contract({ state: 'active' });
    const result = renewDraft(c, consumerDev, T0 + 300 * DAY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.contract).toMatchObject({ state: 'draft', predecessorId: c.id, fields: c.fields, validFrom: c.validUntil });
    expect(Date.parse(result.contract.validUntil) - Date.parse(result.contract.validFrom)).toBe(365 * DAY);
    expect(result.record).toMatchObject({ action: 'renew', from: null, to: 'draft' });
  });

  it('renews an expired contract from now', () => {
    const result = renewDraft(contract({ state: 'expired' }), consumerDev, AFTER_END);
    expect(result.ok && result.contract.validFrom).toBe(new Date(AFTER_END).toISOString());
  });

  it.each(['draft', 'pending', 'suspended', 'revoked', 'rejected', 'withdrawn'] as const)('refuses to renew a %s contract', (state) => {
    const result = renewDraft(contract({ state }), consumerDev, T0);
    expect(!result.ok && result.error.code).toBe('CONTRACT_TRANSITION_INVALID');
  });

  it("lets the provider's data owner renew (offer a successor), but not a provider developer nor a third department", () => {
    const c = contract({ state: 'active' });
    const offered = renewDraft(c, owner, T0 + 300 * DAY);
    expect(offered.ok && offered.contract).toMatchObject({ state: 'draft', predecessorId: c.id, consumer: c.consumer, provider: c.provider });
    expect(offered.ok && offered.record).toMatchObject({ action: 'renew', actorDepartment: RSJ });
    const providerDev = renewDraft(c, person(RSJ, ['developer']), T0);
    expect(!providerDev.ok && providerDev.error.code).toBe('FORBIDDEN_ACTION');
    const stranger = renewDraft(c, person(LIXIN_MZJ, ['data_owner']), T0);
    expect(!stranger.ok && stranger.error.code).toBe('FORBIDDEN_ACTION');
  });

  it("lets the provider's data owner submit a renewal draft, but not a first request's draft", () => {
    const renewal = contract({ state: 'draft', predecessorId: 'GX-2026-000001' });
    const submitted = transition(renewal, 'submit', owner, T0);
    expect(submitted.ok && submitted.contract.state).toBe('pending');
    const first = transition(contract({ state: 'draft' }), 'submit', owner, T0);
    expect(!first.ok && first.error.code).toBe('FORBIDDEN_ACTION');
  });

  it('refuses a renewal window longer than three years', () => {
    const result = renewDraft(contract({ state: 'active' }), consumerDev, T0, {
      validUntil: new Date(T0 + 365 * DAY * 5).toISOString(),
    });
    expect(!result.ok && result.error.code).toBe('CONTRACT_INVALID');
  });
});
