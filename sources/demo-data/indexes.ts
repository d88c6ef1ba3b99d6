/**
 * Look-up tables over the demo data, built once: what each upstream server needs to answer by key
 * without scanning lists on every request.
 */
import type {
  DemoAllowanceHousehold,
  DemoData,
  DemoEmployment,
  DemoEnterprise,
  DemoInsuranceRecord,
  DemoPerson,
} from './model.ts';

export type InsuranceType = DemoInsuranceRecord['insuranceType'];

export const INSURANCE_TYPES: readonly InsuranceType[] = ['PENSION', 'MEDICAL', 'UNEMPLOYMENT', 'WORK_INJURY', 'MATERNITY'];

/** Employees of one employer with an ACTIVE 城镇职工 enrolment. */
export interface EmployerHeadcount {
  insuredCount: number;
  /** In the order of INSURANCE_TYPES; types nobody is enrolled in are left out. */
  byInsuranceType: { insuranceType: InsuranceType; count: number }[];
}

export interface DemoIndexes {
  readonly data: DemoData;
  readonly personsById: ReadonlyMap<string, DemoPerson>;
  readonly enterprisesByCreditCode: ReadonlyMap<string, DemoEnterprise>;
  readonly enterprisesByLegalRep: ReadonlyMap<string, readonly DemoEnterprise[]>;
  readonly insuranceById: ReadonlyMap<string, readonly DemoInsuranceRecord[]>;
  readonly employmentById: ReadonlyMap<string, readonly DemoEmployment[]>;
  readonly headcountByEmployer: ReadonlyMap<string, EmployerHeadcount>;
  readonly allowancesByHeadId: ReadonlyMap<string, readonly DemoAllowanceHousehold[]>;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export function indexDemoData(data: DemoData): DemoIndexes {
  const counts = new Map<string, { people: Set<string>; byType: Map<InsuranceType, number> }>();
  for (const record of data.insurance) {
    if (record.scheme !== 'EMPLOYEE' || record.status !== 'ACTIVE' || record.employerCreditCode === null) continue;
    let c = counts.get(record.employerCreditCode);
    if (!c) counts.set(record.employerCreditCode, (c = { people: new Set(), byType: new Map() }));
    c.people.add(record.idNumber);
    c.byType.set(record.insuranceType, (c.byType.get(record.insuranceType) ?? 0) + 1);
  }
  const headcountByEmployer = new Map<string, EmployerHeadcount>();
  for (const [code, c] of counts) {
    headcountByEmployer.set(code, {
      insuredCount: c.people.size,
      byInsuranceType: INSURANCE_TYPES.filter((t) => c.byType.has(t)).map((t) => ({ insuranceType: t, count: c.byType.get(t)! })),
    });
  }
  return {
    data,
    personsById: new Map(data.persons.map((p) => [p.idNumber, p])),
    enterprisesByCreditCode: new Map(data.enterprises.map((e) => [e.creditCode, e])),
    enterprisesByLegalRep: groupBy(data.enterprises, (e) => e.legalRepresentativeIdNumber),
    insuranceById: groupBy(data.insurance, (r) => r.idNumber),
    employmentById: groupBy(data.employment, (r) => r.idNumber),
    headcountByEmployer,
    allowancesByHeadId: groupBy(data.allowances, (a) => a.headIdNumber),
  };
}
