/**
 * Contract service (协议服务): what the GraphQL admin API and the CLI call. It reads the clock,
 * asks the pure functions (validate, lifecycle, grants) and persists through a `ContractStore`.
 * Errors are thrown as `TongxiangError`s with catalogue codes.
 *
 * Optimistic concurrency: a transition is computed from the version read and stored only if that
 * version is still current; when another writer got there first the step is recomputed from the
 * new state (up to `attempts` times), which usually turns into CONTRACT_TRANSITION_INVALID — two
 * owners approving at once: one approves, the other learns the contract is already active.
 */
import { systemClock, TongxiangError, type Clock, type Principal } from '../core/index.ts';
import { activeGrantsSpan } from './grants.ts';
import { createDraft, refusal, renewDraft, transition, type Actor, type LifecycleAction } from './lifecycle.ts';
import type { ActiveGrant, Contract, ContractTransition, FieldGrant, NewContract, NewTransition } from './model.ts';
import { alreadyRenewed, type ContractStore } from './store.ts';
import { checkFields, invalid, validateContractRequest, type CatalogueLookup, type ContractRequest } from './validate.ts';

export interface ContractServiceOptions {
  readonly store: ContractStore;
  readonly catalogue: CatalogueLookup;
  /** Default: the system clock. Tests and seeds inject one. */
  readonly clock?: Clock | undefined;
  /** How many times a step is computed when other writers keep moving the contract. Default 3. */
  readonly attempts?: number | undefined;
  /**
   * Told of every step once it is stored (the opening `create` included), and awaited: the audit
   * trail records contract transitions as admin events through it. A failure here is the caller's
   * to report; the step stays stored.
   */
  readonly onTransition?: ((event: { readonly contract: Contract; readonly transition: NewTransition }) => Promise<void> | void) | undefined;
}

export interface RenewOptions {
  readonly validFrom?: string | undefined;
  readonly validUntil?: string | undefined;
  /** Submit the successor for approval at once (default) or leave it a draft. */
  readonly submit?: boolean | undefined;
}

export interface ContractService {
  /** A new contract from the principal's department; submitted for approval unless `submit: false`. */
  request(principal: Principal, request: ContractRequest, options?: { readonly submit?: boolean }): Promise<Contract>;
  submit(principal: Principal, id: string): Promise<Contract>;
  withdraw(principal: Principal, id: string, reason?: string): Promise<Contract>;
  /** `narrow`: the grants kept — a subset, each as requested or clear → masked. */
  approve(principal: Principal, id: string, options?: { readonly narrow?: readonly FieldGrant[]; readonly reason?: string }): Promise<Contract>;
  reject(principal: Principal, id: string, reason: string): Promise<Contract>;
  suspend(principal: Principal, id: string, reason?: string): Promise<Contract>;
  resume(principal: Principal, id: string, reason?: string): Promise<Contract>;
  revoke(principal: Principal, id: string, reason: string): Promise<Contract>;
  /** A successor of an active or expired contract (the predecessor stays as it is). */
  renew(principal: Principal, id: string, options?: RenewOptions): Promise<Contract>;
  /** Marks every active or suspended contract whose window has ended as expired; returns them. */
  expireDue(now?: number): Promise<Contract[]>;
  /** One contract, for its consumer or provider department, an auditor or an operator. */
  get(principal: Principal, id: string): Promise<Contract>;
  /** Contracts of the principal's department, as consumer or as provider. */
  myContracts(principal: Principal): Promise<Contract[]>;
  /** Pending contracts on the principal's department's data; data_owner only. */
  pendingApprovals(principal: Principal): Promise<Contract[]>;
  /**
   * Every contract of every department, oldest first, read-only: for the platform's auditors and
   * operators (sharing performance across departments); FORBIDDEN_ACTION for anyone else.
   */
  overview(principal: Principal): Promise<Contract[]>;
  history(principal: Principal, id: string): Promise<ContractTransition[]>;
  /** What `department` may read now (or at `now`), for the enforcement. */
  grants(department: string, now?: number): Promise<readonly ActiveGrant[]>;
  /**
   * Forgets the cached active contracts of `department`, or of every department when omitted:
   * another process (replica, CLI) changed them. Shared by every service on the same store.
   */
  invalidate(department?: string): void;
  /**
   * Whether the cache may be used (default true). While false — the change feed from other
   * replicas is down (listen.ts) — `grants` reads the store on every call. Either way the cache is
   * emptied: what it held may have missed changes.
   */
  trustCache(trusted: boolean): void;
  /** The same service reading another clock (seeds replay a contract's past; tests move time). */
  withClock(clock: Clock): ContractService;
}

const forbidden = (reason: string) => new TongxiangError('FORBIDDEN_ACTION', { reason });

function byCreation(a: Contract, b: Contract): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Active contracts per consumer department, read once and kept until a contract on the same store
 * changes through a service (every service on one store shares it), with the grants they make and
 * the span of time those hold unchanged: a request inside the span gets the very same (frozen)
 * grant list, one outside it has the list computed anew at its `now`, so validity windows need no
 * invalidation. Changes made by another process (another replica, the CLI) reach the cache through
 * `invalidate` — the hub calls it on PostgreSQL's notifications (listen.ts) — and while that feed
 * is down `trustCache(false)` makes every call read the store.
 */
interface ActiveEntry {
  readonly contracts: Promise<Contract[]>;
  span?: ReturnType<typeof activeGrantsSpan>;
}

interface ActiveCache {
  readonly entries: Map<string, ActiveEntry>;
  trusted: boolean;
}

const activeByStore = new WeakMap<ContractStore, ActiveCache>();

function cacheOf(store: ContractStore): ActiveCache {
  let cache = activeByStore.get(store);
  if (!cache) activeByStore.set(store, (cache = { entries: new Map(), trusted: true }));
  return cache;
}

function activeCache(store: ContractStore): Map<string, ActiveEntry> {
  return cacheOf(store).entries;
}

export function createContractService(options: ContractServiceOptions): ContractService {
  const { store, catalogue } = options;
  const clock = options.clock ?? systemClock;
  const attempts = options.attempts ?? 3;
  if (typeof store?.applyTransition !== 'function' || typeof catalogue !== 'function' || typeof clock?.now !== 'function') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'contract service: store, catalogue and clock are required' });
  }
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'contract service: attempts must be a positive integer' });
  }
  const frozen = Object.freeze({ ...options, clock, attempts });

  async function load(id: string): Promise<Contract> {
    const contract = await store.get(id);
    if (!contract) throw new TongxiangError('CONTRACT_NOT_FOUND', { contractId: id });
    return contract;
  }

  /** Rechecks grants against the catalogue as it is now (a field may have become not-shared). */
  function recheck(fields: readonly FieldGrant[], provider: string): void {
    const { problems } = checkFields(fields, provider, catalogue);
    if (problems.length > 0) throw invalid(problems);
  }

  async function step(
    id: string,
    action: LifecycleAction,
    actor: Actor,
    details: { reason?: string | undefined; narrow?: readonly FieldGrant[] | undefined; now?: number } = {},
  ): Promise<Contract> {
    for (let attempt = 1; ; attempt++) {
      const current = await load(id);
      const result = transition(current, action, actor, details.now ?? clock.now(), details.reason, { narrow: details.narrow });
      if (!result.ok) throw result.error;
      if (action === 'submit' || action === 'approve') recheck(result.contract.fields, current.provider);
      activeCache(store).clear();
      const stored = await store.applyTransition(result.contract, result.record);
      activeCache(store).clear();
      if (stored.applied) {
        await options.onTransition?.({ contract: stored.contract, transition: result.record });
        return stored.contract;
      }
      if (stored.current === null) throw new TongxiangError('CONTRACT_NOT_FOUND', { contractId: id });
      if (attempt >= attempts) {
        throw new TongxiangError('CONTRACT_TRANSITION_INVALID', { contractId: id, from: stored.current.state, action });
      }
    }
  }

  async function open(principal: Principal, contract: NewContract, record: NewTransition, submit: boolean): Promise<Contract> {
    activeCache(store).clear();
    const created = await store.create(contract, record);
    activeCache(store).clear();
    await options.onTransition?.({ contract: created, transition: record });
    return submit ? step(created.id, 'submit', principal) : created;
  }

  function mayRead(principal: Principal, contract: Contract): void {
    const dept = principal.department.code;
    if (dept === contract.consumer || dept === contract.provider) return;
    if (principal.roles.includes('auditor') || principal.roles.includes('operator')) return;
    throw forbidden(`协议 ${contract.id} 只对用数部门、提供方、审计和运维人员可见 / contract ${contract.id} is visible to its consumer and provider departments, auditors and operators only`);
  }

  const service: ContractService = {
    async request(principal, request, { submit = true } = {}) {
      const consumer = principal.department.code;
      const denied = refusal('create', 'consumer', principal, consumer, request?.provider ?? '');
      if (denied) throw denied;
      const now = clock.now();
      const valid = validateContractRequest(consumer, request, { lookup: catalogue, now });
      if (!valid.ok) throw valid.error;
      const draft = createDraft(valid.value, principal, now);
      if (!draft.ok) throw draft.error;
      return open(principal, draft.contract, draft.record, submit);
    },

    submit: (principal, id) => step(id, 'submit', principal),
    withdraw: (principal, id, reason) => step(id, 'withdraw', principal, { reason }),
    approve: (principal, id, { narrow, reason } = {}) => step(id, 'approve', principal, { narrow, reason }),
    reject: (principal, id, reason) => step(id, 'reject', principal, { reason }),
    suspend: (principal, id, reason) => step(id, 'suspend', principal, { reason }),
    resume: (principal, id, reason) => step(id, 'resume', principal, { reason }),
    revoke: (principal, id, reason) => step(id, 'revoke', principal, { reason }),

    async renew(principal, id, { validFrom, validUntil, submit = true } = {}) {
      const predecessor = await load(id);
      const draft = renewDraft(predecessor, principal, clock.now(), { validFrom, validUntil });
      if (!draft.ok) throw draft.error;
      const live = await store.list({ predecessorId: id, states: ['draft', 'pending', 'active', 'suspended'] });
      if (live.length > 0) throw alreadyRenewed(id, live[0]!.id);
      recheck(draft.contract.fields, draft.contract.provider);
      return open(principal, draft.contract, draft.record, submit);
    },

    async expireDue(now = clock.now()) {
      const due = await store.list({ states: ['active', 'suspended'], validUntilBy: new Date(now).toISOString() });
      const expired: Contract[] = [];
      for (const contract of due) {
        try {
          expired.push(await step(contract.id, 'expire', 'system', { now }));
        } catch (error) {
          // Moved by someone else meanwhile (revoked, say): nothing left to expire.
          if (!(error instanceof TongxiangError && error.code === 'CONTRACT_TRANSITION_INVALID')) throw error;
        }
      }
      return expired;
    },

    async get(principal, id) {
      const contract = await load(id);
      mayRead(principal, contract);
      return contract;
    },

    async myContracts(principal) {
      const dept = principal.department.code;
      const [asConsumer, asProvider] = await Promise.all([store.list({ consumer: dept }), store.list({ provider: dept })]);
      return [...asConsumer, ...asProvider].sort(byCreation);
    },

    async pendingApprovals(principal) {
      if (!principal.roles.includes('data_owner')) {
        throw forbidden('待审批协议只对提供方的数据所有者可见 / pending approvals are for the provider\'s data_owner only');
      }
      return store.list({ provider: principal.department.code, states: ['pending'] });
    },

    async overview(principal) {
      if (!principal.roles.includes('auditor') && !principal.roles.includes('operator')) {
        throw forbidden('全部协议的概览只对审计和运维人员可见 / the overview of all contracts is for auditors and operators only');
      }
      return (await store.list()).sort(byCreation);
    },

    async history(principal, id) {
      await service.get(principal, id);
      return store.history(id);
    },

    async grants(department, now = clock.now()) {
      if (!cacheOf(store).trusted) return activeGrantsSpan(await store.list({ consumer: department, states: ['active'] }), department, now).grants;
      const cache = activeCache(store);
      let entry = cache.get(department);
      if (!entry) {
        const contracts = store.list({ consumer: department, states: ['active'] });
        const created: ActiveEntry = { contracts };
        entry = created;
        cache.set(department, created);
        contracts.catch(() => {
          if (cache.get(department) === created) cache.delete(department);
        });
      }
      const contracts = await entry.contracts;
      const span = entry.span;
      if (span && span.from <= now && now < span.until) return span.grants;
      const fresh = activeGrantsSpan(contracts, department, now);
      if (cache.get(department) === entry) entry.span = fresh;
      return fresh.grants;
    },

    invalidate(department) {
      if (department === undefined) activeCache(store).clear();
      else activeCache(store).delete(department);
    },

    trustCache(trusted) {
      const cache = cacheOf(store);
      cache.trusted = trusted;
      cache.entries.clear();
    },

    withClock(other) {
      return createContractService({ ...frozen, clock: other });
    },
  };
  return Object.freeze(service);
}
