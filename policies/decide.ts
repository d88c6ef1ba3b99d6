/**
 * Field decisions (字段级授权), pure: the caller's department, its active grants, the catalogue,
 * the coordinates an operation can touch and the time come in; a decision per coordinate comes
 * out — allow, mask (with the rule) or deny (with the reason). Deny by default: a coordinate the
 * catalogue does not know is denied.
 *
 *   not-shared      → deny, for everyone (the field is not in the public schema either)
 *   unconditional   → allow, for any authenticated department
 *   conditional     → the owner (or a co-owner) sees it in clear; anyone else only under a grant
 *                     naming it from one of its owners — clear wins over masked
 */
import type { ActiveGrant, ContractState } from '../contracts/index.ts';
import type { Principal } from '../core/index.ts';
import type { Catalogue, FieldEntry } from './catalogue.ts';

export const DENY_REASONS = ['not-shared', 'no-contract', 'contract-not-active', 'mask-unavailable', 'not-catalogued'] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/** Why a field may be read: it is unconditional, the caller owns it, or a contract grants it. */
export type Basis = 'unconditional' | 'owner' | 'contract';

/**
 * An active grant; with its validity window when the caller has it, so that a grant list held a
 * little longer than its contract lives grants nothing after `validUntil`.
 */
export type DecisionGrant = ActiveGrant & { readonly validFrom?: string | undefined; readonly validUntil?: string | undefined };

/** A contract of the caller's that names a coordinate but is not active (for the reason text). */
export interface InactiveGrant {
  readonly contractId: string;
  readonly coordinate: string;
  readonly state: ContractState;
}

export type Decision =
  | {
      readonly kind: 'allow';
      readonly coordinate: string;
      readonly basis: Basis;
      /** The contract used, when the basis is a contract. */
      readonly contractId: string | null;
      /** Every usable grant for the coordinate, clear before masked: rows choose among them. */
      readonly grants: readonly DecisionGrant[];
    }
  | {
      readonly kind: 'mask';
      readonly coordinate: string;
      readonly rule: string;
      readonly contractId: string;
      readonly grants: readonly DecisionGrant[];
    }
  | {
      readonly kind: 'deny';
      readonly code: 'FORBIDDEN_FIELD';
      readonly coordinate: string;
      readonly reason: DenyReason;
      /** Whom to apply to: the owning department(s); empty when the catalogue does not know the field. */
      readonly owners: readonly string[];
      /** For `contract-not-active`: which contract, and its state (or `not-yet-valid`). */
      readonly contractId: string | null;
      readonly state: ContractState | 'not-yet-valid' | null;
    };

export interface FieldAccessInput {
  readonly principal: Principal;
  /** The caller department's active grants (contracts/ passes only active ones). */
  readonly grants: readonly DecisionGrant[];
  /** Optional: the caller's contracts in other states, to say why a field is denied. */
  readonly inactive?: readonly InactiveGrant[] | undefined;
  readonly catalogue: Catalogue;
  readonly coordinates: Iterable<string>;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** One decision per coordinate. */
export function decideFieldAccess(input: FieldAccessInput): Map<string, Decision> {
  const byCoordinate = new Map<string, DecisionGrant[]>();
  for (const grant of input.grants) byCoordinate.set(grant.coordinate, [...(byCoordinate.get(grant.coordinate) ?? []), grant]);
  const decisions = new Map<string, Decision>();
  for (const coordinate of input.coordinates) {
    if (!decisions.has(coordinate)) decisions.set(coordinate, decideOne(input, coordinate, byCoordinate.get(coordinate) ?? []));
  }
  return decisions;
}

function deny(coordinate: string, reason: DenyReason, owners: readonly string[], contractId: string | null = null, state: ContractState | 'not-yet-valid' | null = null): Decision {
  return { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate, reason, owners, contractId, state };
}

function window(grant: DecisionGrant, now: number): 'open' | 'expired' | 'not-yet-valid' {
  const from = grant.validFrom === undefined ? Number.NaN : Date.parse(grant.validFrom);
  const until = grant.validUntil === undefined ? Number.NaN : Date.parse(grant.validUntil);
  if (grant.validUntil !== undefined && !(now < until)) return 'expired'; // unparseable counts as expired
  if (grant.validFrom !== undefined && !(now >= from)) return 'not-yet-valid';
  return 'open';
}

function byPreference(a: DecisionGrant, b: DecisionGrant): number {
  if (a.mode !== b.mode) return a.mode === 'clear' ? -1 : 1;
  return a.contractId < b.contractId ? -1 : a.contractId > b.contractId ? 1 : 0;
}

function decideOne(input: FieldAccessInput, coordinate: string, named: readonly DecisionGrant[]): Decision {
  const entry: FieldEntry | undefined = input.catalogue.fields.get(coordinate);
  if (!entry) return deny(coordinate, 'not-catalogued', []);
  if (entry.sharing === 'not-shared') return deny(coordinate, 'not-shared', entry.owners);
  if (entry.sharing === 'unconditional') return { kind: 'allow', coordinate, basis: 'unconditional', contractId: null, grants: [] };

  // Only an owner can grant its field; a grant from anyone else is ignored, whatever it says.
  const fromOwner = named.filter((g) => entry.owners.includes(g.provider));
  const open = fromOwner.filter((g) => window(g, input.now) === 'open');
  const usable = open.filter((g) => g.mode === 'clear' || entry.mask !== null).sort(byPreference);

  if (entry.owners.includes(input.principal.department.code)) {
    return { kind: 'allow', coordinate, basis: 'owner', contractId: null, grants: usable };
  }
  const best = usable[0];
  if (best?.mode === 'clear') return { kind: 'allow', coordinate, basis: 'contract', contractId: best.contractId, grants: usable };
  if (best) return { kind: 'mask', coordinate, rule: entry.mask!, contractId: best.contractId, grants: usable };

  if (open.length > 0) return deny(coordinate, 'mask-unavailable', entry.owners, open[0]!.contractId);
  const lapsed = fromOwner[0];
  if (lapsed) return deny(coordinate, 'contract-not-active', entry.owners, lapsed.contractId, window(lapsed, input.now) === 'expired' ? 'expired' : 'not-yet-valid');
  const inactive = (input.inactive ?? []).filter((g) => g.coordinate === coordinate).sort((a, b) => (a.contractId < b.contractId ? -1 : 1))[0];
  if (inactive) return deny(coordinate, 'contract-not-active', entry.owners, inactive.contractId, inactive.state);
  return deny(coordinate, 'no-contract', entry.owners);
}

const STATE_WORDS: Readonly<Record<ContractState | 'not-yet-valid', readonly [string, string]>> = {
  draft: ['草稿', 'a draft'],
  pending: ['待审批', 'pending approval'],
  active: ['生效', 'active'],
  rejected: ['已驳回', 'rejected'],
  suspended: ['已暂停', 'suspended'],
  revoked: ['已撤销', 'revoked'],
  expired: ['已到期', 'expired'],
  withdrawn: ['已撤回', 'withdrawn'],
  'not-yet-valid': ['尚未到生效时间', 'not yet valid'],
};

/** The reason of a denial in words, Chinese and English, with what to apply for. */
export function describeDenial(decision: Extract<Decision, { kind: 'deny' }>): { readonly zh: string; readonly en: string } {
  const owners = decision.owners.join('、');
  const ownersEn = decision.owners.join(', ');
  switch (decision.reason) {
    case 'not-shared':
      return { zh: '该字段不予共享', en: 'this field is not shared' };
    case 'not-catalogued':
      return { zh: '该字段未列入数据资源目录', en: 'this field is not in the catalogue' };
    case 'no-contract':
      return { zh: `有条件共享，需向 ${owners} 申请共享协议`, en: `conditionally shared; apply to ${ownersEn} for a sharing contract` };
    case 'mask-unavailable':
      return {
        zh: `共享协议 ${decision.contractId ?? ''} 以脱敏方式授予，但该字段没有脱敏规则，需申请明文`,
        en: `contract ${decision.contractId ?? ''} grants it masked, but the field has no masking rule; apply for it in clear`,
      };
    case 'contract-not-active': {
      const [zh, en] = STATE_WORDS[decision.state ?? 'expired'];
      return {
        zh: `共享协议 ${decision.contractId ?? ''} ${zh}，需向 ${owners} 续签或重新申请`,
        en: `contract ${decision.contractId ?? ''} is ${en}; renew it or apply again to ${ownersEn}`,
      };
    }
  }
}
