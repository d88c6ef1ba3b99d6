/**
 * The sharing contract (共享协议) — vocabulary shared by contracts/ and policies/.
 * Lifecycle: draft → pending → active | rejected; active ↔ suspended; active → revoked;
 * active → expired (by time); renewal creates a successor. Every transition is kept forever.
 */

export const CONTRACT_STATES = ['draft', 'pending', 'active', 'rejected', 'suspended', 'revoked', 'expired', 'withdrawn'] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];

/** How a granted field is returned. */
export type GrantMode = 'clear' | 'masked';

/** Which rows a contract covers. */
export type RowScope =
  | { readonly kind: 'jurisdiction' } // the consumer department's own region and below (default)
  | { readonly kind: 'regions'; readonly regionCodes: readonly string[] }
  | { readonly kind: 'all' };

export interface FieldGrant {
  /** Schema coordinate, e.g. `Person.insurance` or `InsuranceRecord.contributionBase`. */
  readonly coordinate: string;
  readonly mode: GrantMode;
}

export interface Quotas {
  readonly requestsPerMinute: number | null;
  readonly recordsPerDay: number | null;
}

export interface Contract {
  readonly id: string;
  readonly consumer: string; // department code, e.g. 341504.mzj
  readonly provider: string; // department code of the owner of every granted field
  readonly fields: readonly FieldGrant[];
  readonly purpose: string; // 用途
  readonly legalBasis: string; // 依据
  readonly scope: RowScope;
  readonly validFrom: string; // ISO 8601 instant
  readonly validUntil: string; // ISO 8601 instant
  readonly quotas: Quotas;
  readonly state: ContractState;
  /** The contract this one renews, if any. */
  readonly predecessorId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * Optimistic-concurrency token: 1 when created, +1 on every transition; always equal to the
   * `seq` of the contract's last transition. A transition applies only to the version it read.
   */
  readonly version: number;
}

/** `create` and `renew` open a contract's history (from `null` to `draft`); the others move it. */
export const CONTRACT_ACTIONS = ['create', 'submit', 'withdraw', 'approve', 'reject', 'suspend', 'resume', 'revoke', 'expire', 'renew'] as const;
export type ContractAction = (typeof CONTRACT_ACTIONS)[number];

/** One lifecycle step, stored forever: never updated, never deleted. */
export interface ContractTransition {
  readonly contractId: string;
  readonly seq: number;
  readonly action: ContractAction;
  readonly from: ContractState | null;
  readonly to: ContractState;
  readonly actor: string; // `sub` of the person, or `system` for expiry
  readonly actorDepartment: string | null;
  readonly at: string; // ISO 8601 instant
  readonly reason: string | null;
  /**
   * The field grants this step set: what was requested (`create`, `renew`) or what the approver
   * narrowed them to (`approve`); null when the step left them as they were.
   */
  readonly fields: readonly FieldGrant[] | null;
}

/** A contract before the store has numbered it: `create`/`renew` build one, the store assigns the id. */
export type NewContract = Omit<Contract, 'id' | 'version' | 'updatedAt'>;

/** The step that opens a contract's history, before the store knows the contract's id. */
export type NewTransition = Omit<ContractTransition, 'contractId' | 'seq'>;

/**
 * What the enforcement needs of a caller's contracts at one instant: the active grants only.
 * Built by contracts/, read by policies/ decisions.
 */
export interface ActiveGrant {
  readonly contractId: string;
  readonly provider: string;
  readonly coordinate: string;
  readonly mode: GrantMode;
  readonly scope: RowScope;
  readonly purpose: string;
  /** The contract's quotas, enforced by the limiter (absent in hand-made grants: none). */
  readonly quotas?: Quotas | undefined;
}
