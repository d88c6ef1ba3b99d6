/**
 * The admin API as the developer and owner pages use it: GraphQL documents and the shapes they
 * return (gateway/admin/schema.ts, gateway/limits/schema.ts, the file-drop source's
 * datasetStatus, and contractUsageHistory). Only the public GraphQL API — no other way in.
 */
import { consoleConfig, graphql, query } from '../../api.ts';

export type ContractState = 'DRAFT' | 'PENDING' | 'ACTIVE' | 'REJECTED' | 'SUSPENDED' | 'REVOKED' | 'EXPIRED' | 'WITHDRAWN';
export type GrantMode = 'CLEAR' | 'MASKED';
export type ScopeKind = 'JURISDICTION' | 'REGIONS' | 'ALL';

export interface FieldGrant {
  readonly coordinate: string;
  readonly mode: GrantMode;
}

export interface Transition {
  readonly seq: number;
  readonly action: string;
  readonly from: ContractState | null;
  readonly to: ContractState;
  readonly actor: string;
  readonly actorDepartment: string | null;
  readonly at: string;
  readonly reason: string | null;
  readonly fields: readonly FieldGrant[] | null;
}

export interface Contract {
  readonly id: string;
  readonly consumer: string;
  readonly provider: string;
  readonly fields: readonly FieldGrant[];
  readonly purpose: string;
  readonly legalBasis: string;
  readonly scope: { readonly kind: ScopeKind; readonly regionCodes: readonly string[] };
  readonly validFrom: string;
  readonly validUntil: string;
  readonly quotas: { readonly requestsPerMinute: number | null; readonly recordsPerDay: number | null };
  readonly state: ContractState;
  readonly predecessorId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

export interface CatalogueEntry {
  readonly coordinate: string;
  readonly typeDescription: string;
  readonly owner: string;
  readonly owners: readonly string[];
  readonly sharing: 'UNCONDITIONAL' | 'CONDITIONAL' | 'NOT_SHARED';
  readonly level: 'L1' | 'L2' | 'L3' | 'L4';
  readonly masking: string | null;
  readonly description: string;
  readonly updateCycle: string;
  readonly myAccess: { readonly mode: 'CLEAR' | 'MASKED' | 'NONE'; readonly contractId: string | null; readonly reason: string | null };
}

export interface LimitStanding {
  readonly limit: number;
  readonly remaining: number;
  readonly resetSeconds: number;
}
export interface DailyStanding {
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  readonly day: string;
  readonly resetSeconds: number;
}
export interface ContractUsage {
  readonly contractId: string;
  readonly consumer: string;
  readonly provider: string;
  readonly requestsPerMinute: LimitStanding | null;
  readonly recordsPerDay: DailyStanding | null;
}
export interface Usage {
  readonly department: string;
  readonly departmentCeiling: LimitStanding | null;
  readonly contracts: readonly ContractUsage[];
  readonly ownedContracts: readonly ContractUsage[];
}

export interface DatasetStatus {
  readonly dataset: string;
  readonly title: string;
  readonly department: string;
  readonly currentVersion: number | null;
  readonly rows: number;
  readonly lastPublishedAt: string | null;
  readonly cycle: string | null;
  readonly dueAt: string | null;
  readonly state: 'FRESH' | 'DUE' | 'OVERDUE' | 'NEVER' | 'NO_CYCLE';
  readonly overdue: boolean;
}

export interface UsageDay {
  readonly day: string;
  readonly requests: number;
  readonly rows: number;
  readonly refused: number;
}

const CONTRACT_FIELDS = /* GraphQL */ `
  id consumer provider purpose legalBasis state validFrom validUntil predecessorId createdAt updatedAt version
  fields { coordinate mode }
  scope { kind regionCodes }
  quotas { requestsPerMinute recordsPerDay }
`;

const TRANSITION_FIELDS = /* GraphQL */ `seq action from to actor actorDepartment at reason fields { coordinate mode }`;

export async function loadMyContracts(): Promise<Contract[]> {
  const data = await query<{ myContracts: Contract[] }>(`query MyContracts { myContracts { ${CONTRACT_FIELDS} } }`);
  return data.myContracts;
}

export async function loadPendingApprovals(): Promise<Contract[]> {
  const data = await query<{ pendingApprovals: Contract[] }>(`query PendingApprovals { pendingApprovals { ${CONTRACT_FIELDS} } }`);
  return data.pendingApprovals;
}

export async function loadHistory(id: string): Promise<Transition[]> {
  const data = await query<{ contract: { history: Transition[] } | null }>(
    `query ContractHistory($id: ID!) { contract(id: $id) { id history { ${TRANSITION_FIELDS} } } }`,
    { id },
  );
  return data.contract?.history ?? [];
}

export async function loadCatalogue(): Promise<CatalogueEntry[]> {
  const data = await query<{ catalogue: CatalogueEntry[] }>(
    `query Catalogue { catalogue { coordinate typeDescription owner owners sharing level masking description updateCycle myAccess { mode contractId reason } } }`,
  );
  return data.catalogue;
}

/** Freshness of the file-drop datasets; an empty list when the source cannot answer (the catalogue still shows). */
export async function loadDatasetStatus(): Promise<DatasetStatus[]> {
  try {
    const result = await graphql<{ datasetStatus: DatasetStatus[] | null }>(
      `query DatasetStatus { datasetStatus { dataset title department currentVersion rows lastPublishedAt cycle dueAt state overdue } }`,
    );
    return result.data?.datasetStatus ?? [];
  } catch {
    return [];
  }
}

const STANDING = `limit remaining resetSeconds`;
const CONTRACT_USAGE = `contractId consumer provider requestsPerMinute { ${STANDING} } recordsPerDay { limit used remaining day resetSeconds }`;

export async function loadUsage(): Promise<Usage> {
  const data = await query<{ myUsage: Usage }>(
    `query MyUsage { myUsage { department departmentCeiling { ${STANDING} } contracts { ${CONTRACT_USAGE} } ownedContracts { ${CONTRACT_USAGE} } } }`,
  );
  return data.myUsage;
}

export async function loadUsageHistory(id: string, days = 14): Promise<UsageDay[]> {
  const data = await query<{ contractUsageHistory: UsageDay[] }>(
    `query ContractUsageHistory($id: ID!, $days: Int) { contractUsageHistory(id: $id, days: $days) { day requests rows refused } }`,
    { id, days },
  );
  return data.contractUsageHistory;
}

export interface ContractRequestInput {
  readonly fields: readonly FieldGrant[];
  readonly purpose: string;
  readonly legalBasis: string;
  readonly scope: { readonly kind: ScopeKind; readonly regionCodes?: readonly string[] };
  readonly validFrom?: string;
  readonly validUntil: string;
  readonly quotas?: { readonly requestsPerMinute?: number | null; readonly recordsPerDay?: number | null };
  readonly provider?: string;
}

export async function requestContract(input: ContractRequestInput): Promise<Contract> {
  const data = await query<{ requestContract: Contract }>(
    `mutation RequestContract($input: ContractRequestInput!) { requestContract(input: $input) { ${CONTRACT_FIELDS} } }`,
    { input },
  );
  return data.requestContract;
}

export type LifecycleStep = 'withdrawContract' | 'suspendContract' | 'resumeContract' | 'revokeContract' | 'rejectContract';

/** withdraw / suspend / resume / revoke / reject, with the reason (required by the hub for revoke and reject). */
export async function stepContract(step: LifecycleStep, id: string, reason: string | null): Promise<Contract> {
  const reasonType = step === 'revokeContract' || step === 'rejectContract' ? 'String!' : 'String';
  const data = await query<Record<string, Contract>>(
    `mutation Step($id: ID!, $reason: ${reasonType}) { ${step}(id: $id, reason: $reason) { ${CONTRACT_FIELDS} } }`,
    { id, reason: reason ?? (reasonType === 'String!' ? '' : null) },
  );
  return data[step]!;
}

export async function approveContract(id: string, narrow: readonly FieldGrant[] | null, reason: string | null): Promise<Contract> {
  const data = await query<{ approveContract: Contract }>(
    `mutation Approve($id: ID!, $narrow: [FieldGrantInput!], $reason: String) { approveContract(id: $id, narrow: $narrow, reason: $reason) { ${CONTRACT_FIELDS} } }`,
    { id, narrow, reason },
  );
  return data.approveContract;
}

export async function renewContract(id: string, validUntil: string): Promise<Contract> {
  const data = await query<{ renewContract: Contract }>(
    `mutation Renew($id: ID!, $validUntil: String) { renewContract(id: $id, validUntil: $validUntil) { ${CONTRACT_FIELDS} } }`,
    { id, validUntil },
  );
  return data.renewContract;
}

let departmentNames: Promise<Map<string, string>> | null = null;

/**
 * Department names by code: the hub's directory (`departments`), else the demo sign-in list of
 * the console configuration; an empty map when neither answers (codes are shown alone).
 */
export function loadDepartmentNames(): Promise<Map<string, string>> {
  departmentNames ??= query<{ departments: { code: string; name: string }[] }>(`query Departments { departments { code name } }`)
    .then((d) => d.departments)
    .catch(() => consoleConfig().then((c) => c.demoSignIn?.departments ?? []))
    .then(
      (list) => new Map(list.map((d) => [d.code, d.name])),
      () => new Map(),
    );
  return departmentNames;
}

/** YYYY-MM-DD of an ISO instant in China Standard Time (how the hub reads a date alone). */
export function dayOf(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t + 8 * 3600_000).toISOString().slice(0, 10);
}

/** YYYY-MM-DD HH:mm of an ISO instant in China Standard Time. */
export function minuteOf(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/** Today + `years` as YYYY-MM-DD (CST). */
export function dayPlus(years: number, from = Date.now()): string {
  const d = new Date(from + 8 * 3600_000);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
}
