/**
 * What one request carries between the plugin (decisions, before execution) and the wrapped
 * resolvers (during execution): kept beside the request's context value, never inside it, so no
 * resolver or upstream can read or replace it. Also the structured decision record for audit.
 */
import type { FragmentDefinitionNode } from 'graphql';
import type { Principal } from '../../core/index.ts';
import type { Decision, RowRegion } from '../../policies/index.ts';

export type DecisionKind = 'allow' | 'mask' | 'deny';

export interface CoordinateRecord {
  readonly coordinate: string;
  readonly decision: DecisionKind;
  /** allow: unconditional / owner / contract; mask: the rule; deny: the reason. */
  readonly detail: string;
  readonly contractId: string | null;
}

/** One request's decisions, for the audit issue (caller, coordinates, decisions, contracts, purpose). */
export interface DecisionRecord {
  readonly department: string;
  readonly subject: string;
  readonly client: string | null;
  readonly operationName: string | null;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly decidedAt: number;
  readonly mode: EnforcementMode;
  /** True when the whole operation was refused (reject-operation mode). */
  readonly rejected: boolean;
  readonly introspection: readonly string[];
  readonly coordinates: readonly CoordinateRecord[];
  /** Contracts whose grants were used, by the field decisions or by row decisions during execution. */
  readonly contractIds: readonly string[];
  readonly purposes: readonly string[];
  /** Rows left out of lists or nulled on a direct lookup (OUT_OF_JURISDICTION) during execution. */
  readonly rowsWithheld: number;
  /** Data rows returned: objects of types the catalogue gives a region (persons, enterprises, households...). */
  readonly rowsShown: number;
  /** Rows left out because a contract's records-per-day quota ran out. */
  readonly rowsOverQuota: number;
  /**
   * Data subjects returned: values of subject-key fields (公民身份号码, 统一社会信用代码) that resolved
   * allowed or masked, in clear — the audit keeps only their keyed HMAC, never these values.
   */
  readonly subjects: readonly { readonly kind: string; readonly value: string }[];
}

export type EnforcementMode = 'null-field' | 'reject-operation';

/** A row (one object of the result) as decided during execution. */
export interface RowState {
  readonly region: RowRegion;
  /** Per-field decisions for this row (the grant that covers this row's region); null: none to decide. */
  readonly fields: ReadonlyMap<string, Decision> | null;
}

/**
 * Records-per-day quotas (the limiter's, gateway/limits): rows read under a contract that has one
 * are taken from it as lists resolve; what the quota cannot cover is left out.
 */
export interface RowQuota {
  /** Whether rows read under this contract count against a quota. */
  limited(contractId: string): boolean;
  /** Takes up to `wanted` rows of the contract's quota: how many may be returned. */
  take(contractId: string, wanted: number): Promise<number>;
  /** The error telling the caller that `cut` rows of this contract were left out (quota used up). */
  exhausted(contractId: string, cut: number): Error;
  /** The response is complete: hands back what was reserved for its rows and not returned. */
  settle(): void;
}

export interface RequestState {
  readonly principal: Principal;
  readonly decisions: ReadonlyMap<string, Decision>;
  /** The decisions by type name (`Type.` coordinates only), for row decisions. */
  readonly byType: ReadonlyMap<string, ReadonlyMap<string, Decision>>;
  readonly rows: WeakMap<object, RowState>;
  /** The rewritten fragment definitions of this execution (selection.ts), and the record they were made from. */
  fragments: Record<string, FragmentDefinitionNode> | null;
  fragmentsSource: Record<string, FragmentDefinitionNode> | null;
  readonly contractIds: Set<string>;
  readonly purposes: Set<string>;
  /** Purpose of each contract among the caller's grants. */
  readonly purposeOf: ReadonlyMap<string, string>;
  rowsWithheld: number;
  rowsShown: number;
  /** `kind:value` of subject keys returned. */
  readonly subjects: Set<string>;
  /** The contracts' records quotas, when any applies to the caller. */
  rowQuota: RowQuota | null;
  /** Rows left out because a contract's records quota ran out, by contract. */
  readonly quotaCut: Map<string, number>;
  readonly base: Omit<DecisionRecord, 'contractIds' | 'purposes' | 'rowsWithheld' | 'rowsShown' | 'subjects' | 'rowsOverQuota'>;
}

const states = new WeakMap<object, RequestState>();

export function setState(contextValue: object, state: RequestState): void {
  states.set(contextValue, state);
}

export function stateOf(contextValue: unknown): RequestState | undefined {
  return typeof contextValue === 'object' && contextValue !== null ? states.get(contextValue) : undefined;
}

/** Notes a contract as used (its purpose with it). */
export function useContract(state: RequestState, contractId: string | null): void {
  if (contractId === null || state.contractIds.has(contractId)) return;
  state.contractIds.add(contractId);
  const purpose = state.purposeOf.get(contractId);
  if (purpose !== undefined) state.purposes.add(purpose);
}

/**
 * The structured decision record of the request whose context value this is; undefined when the
 * enforcement plugin did not decide it (no operation resolved). Read it in `willSendResponse`:
 * row counts and contracts used by row decisions are complete once execution has ended.
 */
export function decisionRecordOf(contextValue: unknown): DecisionRecord | undefined {
  const state = stateOf(contextValue);
  if (!state) return undefined;
  return Object.freeze({
    ...state.base,
    contractIds: [...state.contractIds].sort(),
    purposes: [...state.purposes].sort(),
    rowsWithheld: state.rowsWithheld,
    rowsShown: state.rowsShown,
    rowsOverQuota: [...state.quotaCut.values()].reduce((a, b) => a + b, 0),
    subjects: [...state.subjects].map((s) => {
      const i = s.indexOf(':');
      return { kind: s.slice(0, i), value: s.slice(i + 1) };
    }),
  });
}

export function coordinateRecord(decision: Decision): CoordinateRecord {
  switch (decision.kind) {
    case 'allow':
      return { coordinate: decision.coordinate, decision: 'allow', detail: decision.basis, contractId: decision.contractId };
    case 'mask':
      return { coordinate: decision.coordinate, decision: 'mask', detail: decision.rule, contractId: decision.contractId };
    case 'deny':
      return { coordinate: decision.coordinate, decision: 'deny', detail: decision.reason, contractId: decision.contractId };
  }
}
