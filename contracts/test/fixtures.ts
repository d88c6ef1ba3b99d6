/**
 * Shared test fixtures: people of the demo departments, a catalogue that follows the demo's
 * ownership (一数一源), a clock the test moves, and requests and contracts to start from.
 */
import { parseDepartment, type Clock, type Principal, type Role } from '../../core/index.ts';
import type { Contract, ContractState, FieldGrant } from '../model.ts';
import type { CatalogueEntry, CatalogueLookup, ContractRequest } from '../validate.ts';

export const DAY = 86_400_000;
/** 2026-11-01 00:00 China Standard Time. */
export const T0 = Date.parse('2026-11-01T00:00:00+08:00');

export function person(department: string, roles: readonly Role[], subject = `${roles.join('+') || 'nobody'}@${department}`): Principal {
  const dept = parseDepartment(department);
  if (!dept) throw new Error(`not a department: ${department}`);
  return { subject, department: dept, roles, client: 'test-client', expiresAt: Math.floor(T0 / 1000) + 3600 };
}

export const SCJGJ = '340000.scjgj'; // 安徽省市场监督管理局
export const RSJ = '341500.rsj'; // 六安市人社局
export const YEJI_MZJ = '341504.mzj'; // 叶集区民政局
export const LIXIN_MZJ = '341623.mzj'; // 利辛县民政局

/**
 * The demo ownership, plus test-only classifications: some Enterprise fields unconditional, one
 * not-shared (Enterprise.address), and AllowanceHousehold.* owned by 叶集区民政局.
 */
const OVERRIDES = new Map<string, CatalogueEntry>([
  ['Enterprise.creditCode', { owner: SCJGJ, sharing: 'unconditional' }],
  ['Enterprise.name', { owner: SCJGJ, sharing: 'unconditional' }],
  ['Enterprise.status', { owner: SCJGJ, sharing: 'unconditional' }],
  ['Enterprise.address', { owner: SCJGJ, sharing: 'not-shared' }],
]);

const TYPES: Readonly<Record<string, readonly string[]>> = {
  Enterprise: ['creditCode', 'name', 'type', 'legalRepresentativeName', 'legalRepresentativeIdNumber', 'registeredCapital', 'establishedDate', 'businessScope', 'address', 'regionCode', 'status', 'legalRepresentative', 'insuredEmployees'],
  InsuranceRecord: ['insuranceType', 'scheme', 'status', 'contributionBase', 'employerCreditCode', 'employerName', 'startDate', 'endDate'],
  EmploymentRecord: ['employerCreditCode', 'employerName', 'startDate', 'endDate'],
  EmployerHeadcount: ['creditCode', 'insuredCount', 'asOf', 'byInsuranceType'],
  AllowanceHousehold: ['householdId', 'headName', 'headIdNumber', 'members', 'monthlyAmount', 'township', 'village', 'approvalDate', 'regionCode', 'month'],
};
const OWNER_OF_TYPE: Readonly<Record<string, string>> = {
  Enterprise: SCJGJ,
  InsuranceRecord: RSJ,
  EmploymentRecord: RSJ,
  EmployerHeadcount: RSJ,
  AllowanceHousehold: YEJI_MZJ,
};

/** A catalogue the test can change (`catalogue.set(...)`) to see requests re-checked. */
export function demoCatalogue(): { lookup: CatalogueLookup; set(coordinate: string, entry: CatalogueEntry | undefined): void } {
  const entries = new Map<string, CatalogueEntry>();
  for (const [type, fields] of Object.entries(TYPES)) {
    for (const f of fields) entries.set(`${type}.${f}`, { owner: OWNER_OF_TYPE[type]!, sharing: 'conditional' });
  }
  entries.set('Person.insurance', { owner: RSJ, sharing: 'conditional' });
  entries.set('Person.employment', { owner: RSJ, sharing: 'conditional' });
  entries.set('Person.name', { owner: RSJ, sharing: 'conditional' });
  entries.set('Person.enterprisesAsLegalRepresentative', { owner: SCJGJ, sharing: 'conditional' });
  entries.set('Person.idNumber', { owner: RSJ, sharing: 'unconditional' });
  for (const [k, v] of OVERRIDES) entries.set(k, v);
  return {
    lookup: (coordinate) => entries.get(coordinate),
    set(coordinate, entry) {
      if (entry === undefined) entries.delete(coordinate);
      else entries.set(coordinate, entry);
    },
  };
}

export function manualClock(start = T0): Clock & { set(t: number): void; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    set(next) {
      t = next;
    },
    advance(ms) {
      t += ms;
    },
  };
}

export const INSURANCE_FIELDS: readonly FieldGrant[] = [
  { coordinate: 'Person.insurance', mode: 'clear' },
  { coordinate: 'InsuranceRecord.insuranceType', mode: 'clear' },
  { coordinate: 'InsuranceRecord.status', mode: 'clear' },
  { coordinate: 'InsuranceRecord.contributionBase', mode: 'masked' },
];

/** A valid request to 六安市人社局 for insurance records, a year from `now`. */
export function insuranceRequest(now = T0, overrides: Partial<ContractRequest> = {}): ContractRequest {
  return {
    provider: RSJ,
    fields: INSURANCE_FIELDS,
    purpose: '最低生活保障资格核查',
    legalBasis: '《社会救助暂行办法》第十一条',
    validFrom: new Date(now).toISOString(),
    validUntil: new Date(now + 365 * DAY).toISOString(),
    quotas: { requestsPerMinute: 60, recordsPerDay: 5000 },
    ...overrides,
  };
}

/** A stored-looking contract for the pure tests. */
export function contract(overrides: Partial<Contract> = {}): Contract {
  return {
    id: 'GX-2026-000001',
    consumer: YEJI_MZJ,
    provider: RSJ,
    fields: INSURANCE_FIELDS,
    purpose: '最低生活保障资格核查',
    legalBasis: '《社会救助暂行办法》第十一条',
    scope: { kind: 'jurisdiction' },
    validFrom: new Date(T0).toISOString(),
    validUntil: new Date(T0 + 365 * DAY).toISOString(),
    quotas: { requestsPerMinute: 60, recordsPerDay: 5000 },
    state: 'pending' as ContractState,
    predecessorId: null,
    createdAt: new Date(T0 - DAY).toISOString(),
    updatedAt: new Date(T0 - DAY).toISOString(),
    version: 2,
    ...overrides,
  };
}
