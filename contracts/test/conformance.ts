/**
 * The behaviour every contract store passes, with the service on top: `defineContractStoreSuite`
 * runs once per implementation (PGlite, PostgreSQL), like Apollo's `defineIntegrationTestSuite`.
 * One store per file (PGlite takes seconds to create); each test uses its own departments or
 * contracts so tests do not see each other's data.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../core/index.ts';
import type { SqlSession } from '../db.ts';
import { createDraft, renewDraft, transition } from '../lifecycle.ts';
import type { Contract } from '../model.ts';
import { DEMO_CONTRACTS_PATH, loadSeedContracts } from '../seeds.ts';
import { createContractService, type ContractService } from '../service.ts';
import type { ContractStore } from '../store.ts';
import { validateContractRequest } from '../validate.ts';
import { DAY, demoCatalogue, insuranceRequest, LIXIN_MZJ, manualClock, person, RSJ, SCJGJ, T0, YEJI_MZJ } from './fixtures.ts';
import { codeOf } from '../../core/testing.ts';

export interface StoreHarness {
  /** Opens the store over the harness's database (again, after `raw`). */
  open(): Promise<ContractStore>;
  /** SQL straight to the database, behind the store's back; the suite closes the store first. */
  raw<T>(fn: (sql: SqlSession) => Promise<T>): Promise<T>;
  /** Removes the database (directory or schema). */
  dispose(): Promise<void>;
}


async function sqlError(promise: Promise<unknown>): Promise<{ code?: string; message: string } | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

export function defineContractStoreSuite(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`contracts on ${name}`, () => suite(makeHarness));
}

function suite(makeHarness: () => Promise<StoreHarness>): void {
  let harness: StoreHarness;
  let store: ContractStore;
  const clock = manualClock();
  const catalogue = demoCatalogue();
  // The service reaches the store through this indirection so the suite can reopen it.
  const proxy: ContractStore = {
    create: (c, r) => store.create(c, r),
    get: (id) => store.get(id),
    list: (f) => store.list(f),
    applyTransition: (c, r) => store.applyTransition(c, r),
    history: (id) => store.history(id),
    close: () => store.close(),
  };
  const service: ContractService = createContractService({ store: proxy, catalogue: catalogue.lookup, clock });

  beforeAll(async () => {
    harness = await makeHarness();
    store = await harness.open();
  });
  afterAll(async () => {
    await store?.close();
    await harness?.dispose();
  });

  /** A department of its own per test, so lists and grants are the test's alone. */
  let n = 0;
  const COUNTIES = ['341502', '341503', '341522', '341523', '341524', '341525', '341602', '341621', '341622'];
  function freshConsumer(): { dev: Principal; owner: Principal; dept: string } {
    const dept = `${COUNTIES[n % COUNTIES.length]}.t${n++}`;
    return { dept, dev: person(dept, ['developer']), owner: person(dept, ['data_owner']) };
  }
  const rsjOwner = person(RSJ, ['data_owner'], 'li.owner');
  const rsjOwner2 = person(RSJ, ['data_owner'], 'wang.owner');

  async function pendingContract(): Promise<{ c: Contract; dev: Principal; dept: string }> {
    clock.set(T0);
    const { dev, dept } = freshConsumer();
    const c = await service.request(dev, insuranceRequest(T0));
    return { c, dev, dept };
  }

  async function activeContract(): Promise<{ c: Contract; dev: Principal; dept: string }> {
    const p = await pendingContract();
    return { ...p, c: await service.approve(rsjOwner, p.c.id) };
  }

  describe('store', () => {
    it('numbers contracts GX-<year in China time>-<6 digits>, never twice', async () => {
      const { dev, dept } = freshConsumer();
      const lookup = catalogue.lookup;
      const newYearsEve = Date.parse('2026-12-31T20:00:00Z'); // already 2027 in Beijing
      const valid = validateContractRequest(dept, insuranceRequest(newYearsEve), { lookup, now: newYearsEve });
      if (!valid.ok) throw valid.error;
      const draft = createDraft(valid.value, dev, newYearsEve);
      if (!draft.ok) throw draft.error;
      const a = await store.create(draft.contract, draft.record);
      const b = await store.create(draft.contract, draft.record);
      expect(a.id).toMatch(/^GX-2027-\d{6}$/);
      expect(b.id).toMatch(/^GX-2027-\d{6}$/);
      expect(a.id).not.toBe(b.id);
    });

    it('keeps every term, in ISO instants, and the opening step', async () => {
      clock.set(T0);
      const { dev } = freshConsumer();
      const c = await service.request(
        dev,
        insuranceRequest(T0, { scope: { kind: 'regions', regionCodes: ['341502', '341503'] }, quotas: { recordsPerDay: 10 } }),
        { submit: false },
      );
      const stored = await store.get(c.id);
      expect(stored).toEqual(c);
      expect(stored).toMatchObject({
        state: 'draft',
        version: 1,
        scope: { kind: 'regions', regionCodes: ['341502', '341503'] },
        quotas: { requestsPerMinute: null, recordsPerDay: 10 },
        validFrom: new Date(T0).toISOString(),
        createdAt: new Date(T0).toISOString(),
        fields: insuranceRequest().fields,
      });
      expect(await store.history(c.id)).toEqual([
        {
          contractId: c.id, seq: 1, action: 'create', from: null, to: 'draft', actor: dev.subject,
          actorDepartment: dev.department.code, at: new Date(T0).toISOString(), reason: null, fields: insuranceRequest().fields,
        },
      ]);
    });

    it('returns null for an unknown contract and an empty history', async () => {
      expect(await store.get('GX-2026-999999')).toBeNull();
      expect(await store.history('GX-2026-999999')).toEqual([]);
    });

    it('lists by consumer, provider, state, predecessor and end of window', async () => {
      const { c, dept } = await activeContract();
      const other = await service.request(person(dept, ['developer']), insuranceRequest(T0), { submit: false });
      expect((await store.list({ consumer: dept })).map((x) => x.id)).toEqual([c.id, other.id]);
      expect((await store.list({ consumer: dept, states: ['draft'] })).map((x) => x.id)).toEqual([other.id]);
      expect((await store.list({ consumer: dept, states: ['draft', 'active'] })).length).toBe(2);
      expect((await store.list({ consumer: dept, provider: SCJGJ })).length).toBe(0);
      expect((await store.list({ consumer: dept, validUntilBy: c.validUntil })).length).toBe(2);
      expect((await store.list({ consumer: dept, validUntilBy: new Date(T0).toISOString() })).length).toBe(0);
      expect(await store.list({ predecessorId: c.id })).toEqual([]);
    });

    it('applies a transition and appends it, in order', async () => {
      const { c } = await pendingContract();
      const step = transition(c, 'approve', rsjOwner, T0 + 1000);
      if (!step.ok) throw step.error;
      const result = await store.applyTransition(step.contract, step.record);
      expect(result).toEqual({ applied: true, contract: step.contract });
      expect((await store.history(c.id)).map((t) => [t.seq, t.action, t.from, t.to])).toEqual([
        [1, 'create', null, 'draft'],
        [2, 'submit', 'draft', 'pending'],
        [3, 'approve', 'pending', 'active'],
      ]);
    });

    it('applies exactly one of two transitions computed from the same version', async () => {
      const { c } = await pendingContract();
      const approve = transition(c, 'approve', rsjOwner, T0);
      const reject = transition(c, 'reject', rsjOwner2, T0, '材料不全');
      if (!approve.ok || !reject.ok) throw new Error('setup');
      const results = await Promise.all([
        store.applyTransition(approve.contract, approve.record),
        store.applyTransition(reject.contract, reject.record),
      ]);
      expect(results.filter((r) => r.applied)).toHaveLength(1);
      const loser = results.find((r) => !r.applied);
      const winner = results.find((r) => r.applied);
      expect(loser && !loser.applied && loser.current?.version).toBe(3);
      expect(winner && winner.applied && loser && !loser.applied && loser.current).toEqual(winner && winner.applied && winner.contract);
      expect(await store.history(c.id)).toHaveLength(3);
    });

    it('refuses a second live successor of one contract in the database', async () => {
      const { c, dev } = await activeContract();
      const successor = renewDraft(c, dev, T0);
      if (!successor.ok) throw successor.error;
      await store.create(successor.contract, successor.record);
      expect(await codeOf(store.create(successor.contract, successor.record))).toBe('CONTRACT_INVALID');
    });
  });

  describe('service', () => {
    it('requests and submits a contract from the principal’s department', async () => {
      const { c, dev, dept } = await pendingContract();
      expect(c).toMatchObject({ consumer: dept, provider: RSJ, state: 'pending', version: 2 });
      const history = await service.history(dev, c.id);
      expect(history.map((t) => t.action)).toEqual(['create', 'submit']);
    });

    it('keeps a request as a draft when asked, submitted later', async () => {
      clock.set(T0);
      const { dev } = freshConsumer();
      const draft = await service.request(dev, insuranceRequest(T0), { submit: false });
      expect(draft.state).toBe('draft');
      expect((await service.submit(dev, draft.id)).state).toBe('pending');
    });

    it('refuses an invalid request and stores nothing', async () => {
      clock.set(T0);
      const { dev, dept } = freshConsumer();
      const bad = insuranceRequest(T0, { purpose: ' ', fields: [{ coordinate: 'Enterprise.address', mode: 'clear' }] });
      expect(await codeOf(service.request(dev, bad))).toBe('CONTRACT_INVALID');
      expect(await store.list({ consumer: dept })).toEqual([]);
    });

    it('refuses a request by an auditor', async () => {
      const { dept } = freshConsumer();
      expect(await codeOf(service.request(person(dept, ['auditor']), insuranceRequest(T0)))).toBe('FORBIDDEN_ACTION');
    });

    it('lets only the provider’s data_owner approve', async () => {
      const { c } = await pendingContract();
      expect(await codeOf(service.approve(person(RSJ, ['developer']), c.id))).toBe('FORBIDDEN_ACTION');
      expect(await codeOf(service.approve(person(SCJGJ, ['data_owner']), c.id))).toBe('FORBIDDEN_ACTION');
      expect(await codeOf(service.approve(person(c.consumer, ['data_owner']), c.id))).toBe('FORBIDDEN_ACTION');
      expect((await service.approve(rsjOwner, c.id)).state).toBe('active');
    });

    it('answers CONTRACT_NOT_FOUND for an unknown id', async () => {
      expect(await codeOf(service.approve(rsjOwner, 'GX-2026-999998'))).toBe('CONTRACT_NOT_FOUND');
    });

    it('reads a department\'s active contracts once, and again after any change, through any service on the store', async () => {
      const { c, dept } = await activeContract();
      let reads = 0;
      const counting: ContractStore = { ...proxy, list: (f) => (reads++, proxy.list(f)) };
      const counted = createContractService({ store: counting, catalogue: catalogue.lookup, clock });
      const first = await counted.grants(dept);
      expect(first.length).toBeGreaterThan(0);
      await counted.grants(dept);
      await counted.grants(dept);
      expect(reads).toBe(1);
      // A change through another service on the same store (here: one on another clock) is seen at once.
      await counted.withClock(clock).suspend(rsjOwner, c.id, '核查暂停');
      expect(await counted.grants(dept)).toEqual([]);
      expect(reads).toBe(2);
    });

    it('tells onTransition of every stored step, in order, and not of a refused one', async () => {
      const events: string[] = [];
      const told = createContractService({
        store: proxy,
        catalogue: catalogue.lookup,
        clock,
        onTransition: ({ contract, transition }) => {
          events.push(`${contract.id}:${transition.action}:${transition.to}`);
        },
      });
      clock.set(T0);
      const { dev } = freshConsumer();
      const c = await told.request(dev, insuranceRequest(T0));
      await told.approve(rsjOwner, c.id);
      expect(await codeOf(told.approve(rsjOwner, c.id))).toBe('CONTRACT_TRANSITION_INVALID');
      expect(events).toEqual([`${c.id}:create:draft`, `${c.id}:submit:pending`, `${c.id}:approve:active`]);
    });

    it('hands out the same grant list while nothing changes, and none once the window has closed, without any write', async () => {
      const { c, dept } = await activeContract();
      const now = Date.parse(c.validFrom) + DAY;
      const first = await service.grants(dept, now);
      expect(first.length).toBeGreaterThan(0);
      expect(await service.grants(dept, now + DAY)).toBe(first);
      expect(await service.grants(dept, Date.parse(c.validUntil) - 1)).toBe(first);
      expect(await service.grants(dept, Date.parse(c.validUntil))).toEqual([]);
      // Asked again for an earlier instant (another request's clock), the answer is right for it.
      expect(await service.grants(dept, now)).toEqual(first);
    });

    it('grants once approved, narrowed as approved, and nothing after revocation', async () => {
      const { c, dept } = await pendingContract();
      expect(await service.grants(dept)).toEqual([]);
      const narrow = [
        { coordinate: 'Person.insurance', mode: 'clear' as const },
        { coordinate: 'InsuranceRecord.status', mode: 'masked' as const },
      ];
      const active = await service.approve(rsjOwner, c.id, { narrow, reason: '按最小必要原则收窄' });
      expect(active.fields).toEqual(narrow);
      expect((await service.grants(dept)).map((g) => [g.coordinate, g.mode])).toEqual([
        ['Person.insurance', 'clear'],
        ['InsuranceRecord.status', 'masked'],
      ]);
      await service.revoke(rsjOwner, c.id, '用途已完成');
      expect(await service.grants(dept)).toEqual([]);
      const history = await service.history(rsjOwner, c.id);
      expect(history.at(-2)).toMatchObject({ action: 'approve', fields: narrow, reason: '按最小必要原则收窄' });
      expect(history.at(-1)).toMatchObject({ action: 'revoke', to: 'revoked', actor: 'li.owner', reason: '用途已完成' });
    });

    it('refuses an approval that widens', async () => {
      const { c } = await pendingContract();
      const widened = c.fields.map((f) => ({ ...f, mode: 'clear' as const }));
      expect(await codeOf(service.approve(rsjOwner, c.id, { narrow: widened }))).toBe('CONTRACT_INVALID');
      expect((await store.get(c.id))?.state).toBe('pending');
    });

    it('re-checks the catalogue on approval: a field no longer shared cannot be granted', async () => {
      const { c } = await pendingContract();
      catalogue.set('InsuranceRecord.status', { owner: RSJ, sharing: 'not-shared' });
      try {
        expect(await codeOf(service.approve(rsjOwner, c.id))).toBe('CONTRACT_INVALID');
      } finally {
        catalogue.set('InsuranceRecord.status', { owner: RSJ, sharing: 'conditional' });
      }
    });

    it('requires a reason to reject, then rejects', async () => {
      const { c } = await pendingContract();
      expect(await codeOf(service.reject(rsjOwner, c.id, ''))).toBe('BAD_USER_INPUT');
      expect((await service.reject(rsjOwner, c.id, '用途与依据不符')).state).toBe('rejected');
    });

    it('suspends and resumes; a suspended contract grants nothing', async () => {
      const { c, dept } = await activeContract();
      await service.suspend(rsjOwner, c.id);
      expect(await service.grants(dept)).toEqual([]);
      await service.resume(rsjOwner, c.id);
      expect(await service.grants(dept)).not.toEqual([]);
    });

    it('lets the consumer withdraw a pending request, not the provider', async () => {
      const { c, dev } = await pendingContract();
      expect(await codeOf(service.withdraw(rsjOwner, c.id))).toBe('FORBIDDEN_ACTION');
      expect((await service.withdraw(dev, c.id, '不再需要')).state).toBe('withdrawn');
      expect(await codeOf(service.approve(rsjOwner, c.id))).toBe('CONTRACT_TRANSITION_INVALID');
    });

    it('expires due contracts by time, as the system', async () => {
      const { c, dept } = await activeContract();
      const end = Date.parse(c.validUntil);
      expect(await service.grants(dept, end)).toEqual([]); // time decides before the job runs
      expect((await service.expireDue(end - 1)).map((x) => x.id)).not.toContain(c.id);
      const expired = await service.expireDue(end);
      expect(expired.find((x) => x.id === c.id)?.state).toBe('expired');
      const last = (await store.history(c.id)).at(-1);
      expect(last).toMatchObject({ action: 'expire', actor: 'system', actorDepartment: null, at: c.validUntil });
      expect((await service.expireDue(end)).map((x) => x.id)).not.toContain(c.id);
    });

    it('renews into a pending successor; the predecessor stays active until it expires', async () => {
      const { c, dev } = await activeContract();
      clock.set(T0 + 300 * DAY);
      const successor = await service.renew(dev, c.id);
      expect(successor).toMatchObject({ state: 'pending', predecessorId: c.id, validFrom: c.validUntil, fields: c.fields });
      expect(await store.get(c.id)).toEqual(c);
      expect((await service.history(dev, successor.id)).map((t) => t.action)).toEqual(['renew', 'submit']);
      expect(await codeOf(service.renew(dev, c.id))).toBe('CONTRACT_INVALID');
    });

    it('lets only one of two racing renewals through', async () => {
      const { c, dev } = await activeContract();
      const outcomes = await Promise.all([codeOf(service.renew(dev, c.id)), codeOf(service.renew(dev, c.id))]);
      expect(outcomes.sort()).toEqual(['CONTRACT_INVALID', 'resolved']);
      expect(await store.list({ predecessorId: c.id })).toHaveLength(1);
    });

    it('lets exactly one of two racing approvals win; the other learns the contract moved', async () => {
      for (let round = 0; round < 5; round++) {
        const { c } = await pendingContract();
        const outcomes = await Promise.all([codeOf(service.approve(rsjOwner, c.id)), codeOf(service.approve(rsjOwner2, c.id))]);
        expect(outcomes.sort()).toEqual(['CONTRACT_TRANSITION_INVALID', 'resolved']);
        const approvals = (await store.history(c.id)).filter((t) => t.action === 'approve');
        expect(approvals).toHaveLength(1);
        expect((await store.get(c.id))?.version).toBe(3);
      }
    });

    it('lets exactly one of a racing suspension and revocation win', async () => {
      const { c } = await activeContract();
      const outcomes = await Promise.all([
        codeOf(service.suspend(rsjOwner, c.id, '核查')),
        codeOf(service.revoke(rsjOwner2, c.id, '违规使用')),
      ]);
      // Suspend first: the revocation is recomputed from suspended and succeeds. Revoke first: the
      // suspension is recomputed from revoked and refused. Either way the contract ends revoked.
      expect(outcomes[1]).toBe('resolved');
      expect(['resolved', 'CONTRACT_TRANSITION_INVALID']).toContain(outcomes[0]);
      const final = await store.get(c.id);
      expect(final?.state).toBe('revoked');
      expect((await store.history(c.id)).length).toBe(final!.version);
    });

    it('shows pending approvals to the provider’s data_owner only', async () => {
      const { c } = await pendingContract();
      expect((await service.pendingApprovals(rsjOwner)).map((x) => x.id)).toContain(c.id);
      expect((await service.pendingApprovals(person(SCJGJ, ['data_owner']))).map((x) => x.id)).not.toContain(c.id);
      expect(await codeOf(service.pendingApprovals(person(RSJ, ['developer'])))).toBe('FORBIDDEN_ACTION');
    });

    it('lists a department’s contracts as consumer and as provider', async () => {
      const { c, dev } = await pendingContract();
      expect((await service.myContracts(dev)).map((x) => x.id)).toEqual([c.id]);
      expect((await service.myContracts(rsjOwner)).map((x) => x.id)).toContain(c.id);
    });

    it('shows every department’s contracts to auditors and operators only, oldest first', async () => {
      const { c: pending } = await pendingContract();
      const { c: active } = await activeContract();
      for (const role of ['auditor', 'operator'] as const) {
        const all = await service.overview(person(LIXIN_MZJ, [role]));
        const ids = all.map((x) => x.id);
        expect(ids).toEqual(expect.arrayContaining([pending.id, active.id]));
        expect(ids.indexOf(pending.id)).toBeLessThan(ids.indexOf(active.id));
        expect(all.find((x) => x.id === active.id)?.state).toBe('active');
      }
      for (const roles of [['developer'], ['data_owner']] as const) {
        expect(await codeOf(service.overview(person(RSJ, [...roles])))).toBe('FORBIDDEN_ACTION');
      }
    });

    it('shows a contract and its history to its parties, auditors and operators only', async () => {
      const { c } = await pendingContract();
      const stranger = person(LIXIN_MZJ, ['developer']);
      expect(await codeOf(service.history(stranger, c.id))).toBe('FORBIDDEN_ACTION');
      expect(await codeOf(service.get(stranger, c.id))).toBe('FORBIDDEN_ACTION');
      expect((await service.history(person(LIXIN_MZJ, ['auditor']), c.id)).length).toBe(2);
    });
  });

  describe('database', () => {
    it('refuses UPDATE, DELETE and TRUNCATE of a transition, and a state change without one; migrations run once', async () => {
      const { c } = await activeContract();
      await store.close();
      try {
        await harness.raw(async (sql) => {
          const update = await sqlError(sql.query("UPDATE contract_transitions SET reason = 'rewritten' WHERE contract_id = $1", [c.id]));
          expect(update?.message).toMatch(/append-only/);
          const del = await sqlError(sql.query('DELETE FROM contract_transitions WHERE contract_id = $1', [c.id]));
          expect(del?.message).toMatch(/append-only/);
          const truncate = await sqlError(sql.exec('TRUNCATE contract_transitions CASCADE'));
          expect(truncate?.message).toMatch(/append-only/);
          const silent = await sqlError(sql.query("UPDATE contracts SET state = 'suspended' WHERE id = $1", [c.id]));
          expect(silent?.message).toMatch(/no transition on record/);
          const gone = await sqlError(sql.query('DELETE FROM contracts WHERE id = $1', [c.id]));
          expect(gone).not.toBeNull();
          const applied = await sql.query<{ name: string }>('SELECT name FROM tongxiang_migrations');
          expect(applied.rows.map((r) => r.name)).toEqual(['contracts/001_contracts.sql']);
        });
      } finally {
        store = await harness.open();
      }
      expect(await store.history(c.id)).toHaveLength(3);
      expect((await store.get(c.id))?.state).toBe('active');
      await store.close();
      try {
        await harness.raw(async (sql) => {
          expect((await sql.query('SELECT name FROM tongxiang_migrations')).rowCount).toBe(1);
        });
      } finally {
        store = await harness.open();
      }
    });

    it('refuses to start when an applied migration was changed', async () => {
      await store.close();
      let original = '';
      try {
        await harness.raw(async (sql) => {
          const row = await sql.query<{ checksum: string }>('SELECT checksum FROM tongxiang_migrations');
          original = row.rows[0]!.checksum;
          await sql.query("UPDATE tongxiang_migrations SET checksum = 'edited'");
        });
        expect(await codeOf(harness.open())).toBe('CONFIG_INVALID');
      } finally {
        await harness.raw((sql) => sql.query('UPDATE tongxiang_migrations SET checksum = $1', [original]));
        store = await harness.open();
      }
    });
  });

  describe('demo seed', () => {
    const SEED_NOW = Date.parse('2026-11-20T09:00:00+08:00');

    it('creates every demo case with a real history, and nothing more when loaded again', async () => {
      const yaml = await readFile(DEMO_CONTRACTS_PATH, 'utf8');
      const first = await loadSeedContracts(service, yaml, SEED_NOW);
      expect(first.present).toEqual([]);
      expect(first.created.map((c) => c.state)).toEqual(['active', 'active', 'active', 'expired', 'pending', 'suspended']);

      const [clear, masked, outOfScope, expired, pending, suspended] = first.created as Contract[];
      // The 人社 contract: insurance records in clear, the person's name masked.
      expect(clear!.fields.filter((f) => f.coordinate !== 'Person.name').every((f) => f.mode === 'clear')).toBe(true);
      expect(clear!.fields).toContainEqual({ coordinate: 'Person.name', mode: 'masked' });
      expect(masked!.fields).toContainEqual({ coordinate: 'Enterprise.legalRepresentativeIdNumber', mode: 'masked' });
      expect(outOfScope).toMatchObject({ consumer: LIXIN_MZJ, scope: { kind: 'regions', regionCodes: ['341502', '341503'] } });
      expect(pending).toMatchObject({ consumer: LIXIN_MZJ, provider: RSJ });
      expect(suspended).toMatchObject({ consumer: YEJI_MZJ, provider: RSJ });

      const yejiGrants = await service.grants(YEJI_MZJ, SEED_NOW);
      expect(new Set(yejiGrants.map((g) => g.contractId))).toEqual(new Set([clear!.id, masked!.id]));
      const lixinGrants = await service.grants(LIXIN_MZJ, SEED_NOW);
      expect(new Set(lixinGrants.map((g) => g.contractId))).toEqual(new Set([outOfScope!.id]));

      const auditor = person(YEJI_MZJ, ['auditor']);
      expect((await service.history(auditor, masked!.id)).at(-1)).toMatchObject({ action: 'approve', fields: masked!.fields });
      expect((await service.history(person(LIXIN_MZJ, ['auditor']), expired!.id)).map((t) => [t.action, t.actor])).toEqual([
        ['create', `demo:${LIXIN_MZJ}:developer`],
        ['submit', `demo:${LIXIN_MZJ}:developer`],
        ['approve', `demo:${SCJGJ}:data_owner`],
        ['expire', 'system'],
      ]);
      expect((await service.pendingApprovals(person(RSJ, ['data_owner']))).map((c) => c.id)).toContain(pending!.id);

      const count = async () => (await store.list({ consumer: YEJI_MZJ })).length + (await store.list({ consumer: LIXIN_MZJ })).length;
      const before = await count();
      const again = await loadSeedContracts(service, yaml, SEED_NOW + DAY);
      expect(again.created).toEqual([]);
      expect(again.present.map((c) => c.id)).toEqual(first.created.map((c) => c.id));
      expect(await count()).toBe(before);
    });
  });
}
