/**
 * The contract lifecycle (协议生命周期) as pure functions: a contract, an action, who acts and when
 * go in; the next contract and the transition to store come out, or a coded error — a value,
 * never a throw (like jose's `validateClaimsSet`).
 *
 *   (none) ─create/renew→ draft ─submit→ pending ─approve→ active ─suspend→ suspended ─resume→ active
 *   draft|pending ─withdraw→ withdrawn          pending ─reject→ rejected
 *   active|suspended ─revoke→ revoked            active|suspended ─expire (system, by time)→ expired
 *
 * The consumer department (developer or data_owner) creates, submits, withdraws and renews; a
 * data_owner of the provider department approves, rejects, suspends, resumes, revokes and renews
 * too (offering the successor, which still goes through approval); only the system expires, and
 * only once the window has ended.
 */
import { TongxiangError, type Principal } from '../core/index.ts';
import type {
  Contract,
  ContractAction,
  ContractState,
  ContractTransition,
  FieldGrant,
  NewContract,
  NewTransition,
} from './model.ts';
import { checkWindow, invalid, LIMITS, parseInstant, type ValidContractRequest } from './validate.ts';

export type Actor = Principal | 'system';

/** The actions that move an existing contract (`create` and `renew` open a new one). */
export type LifecycleAction = Exclude<ContractAction, 'create' | 'renew'>;

export type TransitionResult =
  | { readonly ok: true; readonly contract: Contract; readonly record: ContractTransition }
  | { readonly ok: false; readonly error: TongxiangError };

export type DraftResult =
  | { readonly ok: true; readonly contract: NewContract; readonly record: NewTransition }
  | { readonly ok: false; readonly error: TongxiangError };

type Who = 'consumer' | 'owner' | 'system';

interface Move {
  readonly from: readonly ContractState[];
  readonly to: ContractState;
  readonly who: Who;
  readonly reasonRequired: boolean;
}

const MOVES: Readonly<Record<LifecycleAction, Move>> = {
  submit: { from: ['draft'], to: 'pending', who: 'consumer', reasonRequired: false },
  withdraw: { from: ['draft', 'pending'], to: 'withdrawn', who: 'consumer', reasonRequired: false },
  approve: { from: ['pending'], to: 'active', who: 'owner', reasonRequired: false },
  reject: { from: ['pending'], to: 'rejected', who: 'owner', reasonRequired: true },
  suspend: { from: ['active'], to: 'suspended', who: 'owner', reasonRequired: false },
  resume: { from: ['suspended'], to: 'active', who: 'owner', reasonRequired: false },
  revoke: { from: ['active', 'suspended'], to: 'revoked', who: 'owner', reasonRequired: true },
  // A suspended contract expires too: resuming it after its window would make an active contract
  // that grants nothing.
  expire: { from: ['active', 'suspended'], to: 'expired', who: 'system', reasonRequired: false },
};

/** Which states each action leaves from, for documentation and the CLI's help. */
export const TRANSITIONS: Readonly<Record<LifecycleAction, { readonly from: readonly ContractState[]; readonly to: ContractState }>> = MOVES;

const VERBS: Readonly<Record<ContractAction, readonly [zh: string, en: string]>> = {
  create: ['申请', 'request'],
  submit: ['提交', 'submit'],
  withdraw: ['撤回', 'withdraw'],
  approve: ['批准', 'approve'],
  reject: ['驳回', 'reject'],
  suspend: ['暂停', 'suspend'],
  resume: ['恢复', 'resume'],
  revoke: ['撤销', 'revoke'],
  expire: ['置为到期', 'expire'],
  renew: ['续签', 'renew'],
};

function forbidden(reason: string): TongxiangError {
  return new TongxiangError('FORBIDDEN_ACTION', { reason });
}

/** Why `actor` may not take `action` on a contract between `consumer` and `provider`; null when they may. */
export function refusal(action: ContractAction, who: Who, actor: Actor, consumer: string, provider: string): TongxiangError | null {
  const [zh, en] = VERBS[action];
  if (who === 'system') {
    return actor === 'system' ? null : forbidden(`协议只能由系统按有效期${zh} / only the system may ${en} a contract, when its window ends`);
  }
  if (actor === 'system') return forbidden(`系统不能${zh}协议 / the system may not ${en} a contract`);
  const dept = actor.department.code;
  if (who === 'consumer') {
    if (dept !== consumer) {
      return forbidden(`只有用数部门 ${consumer} 可以${zh}该协议（你属于 ${dept}）/ only the consumer department ${consumer} may ${en} this contract (you are of ${dept})`);
    }
    if (!actor.roles.includes('developer') && !actor.roles.includes('data_owner')) {
      return forbidden(`${zh}协议需要 developer 或 data_owner 角色 / to ${en} a contract needs the developer or data_owner role`);
    }
    return null;
  }
  if (dept !== provider) {
    return forbidden(`只有提供方 ${provider} 的数据所有者可以${zh}该协议（你属于 ${dept}）/ only a data_owner of the provider ${provider} may ${en} this contract (you are of ${dept})`);
  }
  if (!actor.roles.includes('data_owner')) {
    return forbidden(`${zh}协议需要提供方的 data_owner 角色 / to ${en} a contract needs the provider's data_owner role`);
  }
  return null;
}

function transitionInvalid(contractId: string, from: ContractState, action: ContractAction): TongxiangError {
  return new TongxiangError('CONTRACT_TRANSITION_INVALID', { contractId, from, action });
}

/** Trimmed reason, null when empty; an error when required and missing, or too long. */
function normaliseReason(action: ContractAction, reason: string | null | undefined, required: boolean): string | null | TongxiangError {
  const text = typeof reason === 'string' ? reason.trim() : '';
  const [zh, en] = VERBS[action];
  if (text === '') {
    return required ? new TongxiangError('BAD_USER_INPUT', { reason: `${zh}协议须说明理由 / a reason is required to ${en} a contract` }) : null;
  }
  if ([...text].length > LIMITS.reasonLength) {
    return new TongxiangError('BAD_USER_INPUT', { reason: `理由超过 ${LIMITS.reasonLength} 字 / the reason is longer than ${LIMITS.reasonLength} characters` });
  }
  return text;
}

/**
 * The grants an approver keeps: a subset of what was requested, each as requested or switched
 * from clear to masked. Adding a field, or turning masked into clear, is widening and refused.
 */
export function narrowFields(
  granted: readonly FieldGrant[],
  narrow: readonly FieldGrant[],
): { readonly ok: true; readonly fields: readonly FieldGrant[] } | { readonly ok: false; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const requested = new Map(granted.map((g) => [g.coordinate, g.mode]));
  const seen = new Set<string>();
  if (narrow.length === 0) problems.push('narrow：至少保留一个字段，全部不批请驳回 / keep at least one field; to grant none, reject');
  for (const g of narrow) {
    const was = requested.get(g.coordinate);
    if (seen.has(g.coordinate)) problems.push(`${g.coordinate}：重复 / listed more than once`);
    seen.add(g.coordinate);
    if (g.mode !== 'clear' && g.mode !== 'masked') problems.push(`${g.coordinate}：方式须为 clear 或 masked / mode must be clear or masked`);
    else if (was === undefined) problems.push(`${g.coordinate}：未申请，审批不能增加字段 / not requested; approval cannot add a field`);
    else if (was === 'masked' && g.mode === 'clear') problems.push(`${g.coordinate}：申请为脱敏，审批不能改为明文 / requested masked; approval cannot make it clear`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, fields: Object.freeze(narrow.map((g) => Object.freeze({ coordinate: g.coordinate, mode: g.mode }))) };
}

function actorOf(actor: Actor): { actor: string; actorDepartment: string | null } {
  return actor === 'system' ? { actor: 'system', actorDepartment: null } : { actor: actor.subject, actorDepartment: actor.department.code };
}

/**
 * Moves `contract` by `action`. Checks, in order: who acts, whether the state allows the action,
 * the reason, then the action's own rules (an approval narrows only; expiry needs the window over).
 */
export function transition(
  contract: Contract,
  action: LifecycleAction,
  actor: Actor,
  now: number,
  reason?: string | null,
  options: { readonly narrow?: readonly FieldGrant[] | undefined } = {},
): TransitionResult {
  const move = MOVES[action] as Move | undefined;
  if (move === undefined) return { ok: false, error: transitionInvalid(contract.id, contract.state, action) };
  let denied = refusal(action, move.who, actor, contract.consumer, contract.provider);
  // A renewal the provider's data owner offered is submitted by that owner too.
  if (denied && action === 'submit' && contract.predecessorId !== null && refusal(action, 'owner', actor, contract.consumer, contract.provider) === null) denied = null;
  if (denied) return { ok: false, error: denied };
  if (!move.from.includes(contract.state)) return { ok: false, error: transitionInvalid(contract.id, contract.state, action) };
  const why = normaliseReason(action, reason, move.reasonRequired);
  if (why instanceof TongxiangError) return { ok: false, error: why };

  const until = parseInstant(contract.validUntil);
  if (action === 'expire' && now < until) return { ok: false, error: transitionInvalid(contract.id, contract.state, action) };
  if ((action === 'submit' || action === 'approve' || action === 'resume') && now >= until) {
    return { ok: false, error: invalid([`validUntil：有效期已于 ${contract.validUntil} 结束，请续签 / the window ended at ${contract.validUntil}; renew instead`]) };
  }
  let fields = contract.fields;
  let changed: readonly FieldGrant[] | null = null;
  if (options.narrow !== undefined) {
    if (action !== 'approve') {
      return { ok: false, error: new TongxiangError('BAD_USER_INPUT', { reason: '只有批准时可以收窄字段 / fields can be narrowed only when approving' }) };
    }
    const narrowed = narrowFields(contract.fields, options.narrow);
    if (!narrowed.ok) return { ok: false, error: invalid(narrowed.problems) };
    fields = narrowed.fields;
    changed = narrowed.fields;
  }
  const at = new Date(now).toISOString();
  const seq = contract.version + 1;
  const record: ContractTransition = Object.freeze({
    contractId: contract.id,
    seq,
    action,
    from: contract.state,
    to: move.to,
    ...actorOf(actor),
    at,
    reason: why,
    fields: changed,
  });
  const next: Contract = Object.freeze({ ...contract, fields, state: move.to, updatedAt: at, version: seq });
  return { ok: true, contract: next, record };
}

/** A new draft for a validated request; `actor` must belong to the consumer department. */
export function createDraft(request: ValidContractRequest, actor: Principal, now: number): DraftResult {
  const denied = refusal('create', 'consumer', actor, request.consumer, request.provider);
  if (denied) return { ok: false, error: denied };
  const at = new Date(now).toISOString();
  const contract: NewContract = Object.freeze({ ...request, state: 'draft', predecessorId: null, createdAt: at });
  const record: NewTransition = Object.freeze({ action: 'create', from: null, to: 'draft', ...actorOf(actor), at, reason: null, fields: request.fields });
  return { ok: true, contract, record };
}

/**
 * The successor draft of an active or expired contract; the predecessor is left as it is (it
 * keeps granting until it expires). The window defaults to the predecessor's length, starting
 * when the predecessor ends (or now, if it already has). The caller re-checks the fields against
 * the current catalogue.
 */
export function renewDraft(
  predecessor: Contract,
  actor: Actor,
  now: number,
  window: { readonly validFrom?: string | undefined; readonly validUntil?: string | undefined } = {},
): DraftResult {
  // Either party may renew: the consumer asks to go on, or the provider's data owner offers it.
  // Both ways the successor is submitted to the provider's approval queue like any request.
  const asConsumer = refusal('renew', 'consumer', actor, predecessor.consumer, predecessor.provider);
  const asProvider = asConsumer && refusal('renew', 'owner', actor, predecessor.consumer, predecessor.provider);
  if (asConsumer && asProvider) {
    const dept = actor === 'system' ? 'system' : actor.department.code;
    const error =
      actor !== 'system' && (dept === predecessor.consumer || dept === predecessor.provider)
        ? (dept === predecessor.consumer ? asConsumer : asProvider)
        : forbidden(
            `只有用数部门 ${predecessor.consumer} 或提供方 ${predecessor.provider} 的数据所有者可以续签该协议（你属于 ${dept}）/ only the consumer department ${predecessor.consumer} or a data_owner of the provider ${predecessor.provider} may renew this contract (you are of ${dept})`,
          );
    return { ok: false, error };
  }
  if (predecessor.state !== 'active' && predecessor.state !== 'expired') {
    return { ok: false, error: transitionInvalid(predecessor.id, predecessor.state, 'renew') };
  }
  const oldFrom = parseInstant(predecessor.validFrom);
  const oldUntil = parseInstant(predecessor.validUntil);
  const from = window.validFrom === undefined ? Math.max(now, oldUntil) : parseInstant(window.validFrom);
  const until = window.validUntil === undefined ? from + (oldUntil - oldFrom) : parseInstant(window.validUntil);
  const problems = checkWindow(from, until, now);
  if (problems.length > 0) return { ok: false, error: invalid(problems) };
  const at = new Date(now).toISOString();
  const p = predecessor;
  const contract: NewContract = Object.freeze({
    consumer: p.consumer,
    provider: p.provider,
    fields: p.fields,
    purpose: p.purpose,
    legalBasis: p.legalBasis,
    scope: p.scope,
    quotas: p.quotas,
    validFrom: new Date(from).toISOString(),
    validUntil: new Date(until).toISOString(),
    state: 'draft',
    predecessorId: p.id,
    createdAt: at,
  });
  const record: NewTransition = Object.freeze({
    action: 'renew',
    from: null,
    to: 'draft',
    ...actorOf(actor),
    at,
    reason: null,
    fields: predecessor.fields,
  });
  return { ok: true, contract, record };
}
