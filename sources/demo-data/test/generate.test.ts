import { beforeAll, describe, expect, it } from 'vitest';
import { REGIONS, orgCodeCheckDigit, validateCreditCode, validateIdNumber } from '../../../core/index.ts';
import {
  DEMO_SEED,
  ROSTER_MONTHS,
  ROSTER_REGIONS,
  generateDemoData,
  indexDemoData,
  type DemoData,
  type DemoIndexes,
} from '../index.ts';

// Townships of 叶集区 as they exist (GB/T 2260 county 341504).
const YEJI_TOWNSHIPS = ['史河街道', '平岗街道', '三元镇', '孙岗镇', '姚李镇', '洪集镇'];
const DEMO_CITIES = ['341500', '341600'];

let data: DemoData;
let ix: DemoIndexes;

beforeAll(() => {
  data = generateDemoData();
  ix = indexDemoData(data);
});

/** Distinct people with an ACTIVE 城镇职工 enrolment at the employer, counted from the raw records. */
function insuredAt(d: DemoData, creditCode: string): number {
  return new Set(
    d.insurance
      .filter((r) => r.employerCreditCode === creditCode && r.scheme === 'EMPLOYEE' && r.status === 'ACTIVE')
      .map((r) => r.idNumber),
  ).size;
}

function checkNamedPeople(d: DemoData): void {
  const employee = (id: string) => d.insurance.filter((r) => r.idNumber === id && r.scheme === 'EMPLOYEE');
  const runs = (id: string) => d.enterprises.filter((e) => e.legalRepresentativeIdNumber === id);
  const rosterMonths = (id: string, region?: string) =>
    d.allowances.filter((a) => a.headIdNumber === id && (region === undefined || a.regionCode === region)).map((a) => a.month);

  const { applicantClean, applicantWithJob, applicantWithEnterprise, legalRepresentative } = d.named;
  expect(new Set(Object.values(d.named)).size).toBe(4);

  expect(rosterMonths(applicantClean, '341504')).toEqual([...ROSTER_MONTHS]);
  expect(employee(applicantClean)).toEqual([]);
  expect(runs(applicantClean)).toEqual([]);

  expect(rosterMonths(applicantWithJob)).toEqual([...ROSTER_MONTHS]);
  expect(employee(applicantWithJob).some((r) => r.insuranceType === 'PENSION' && r.status === 'ACTIVE')).toBe(true);

  expect(rosterMonths(applicantWithEnterprise)).toEqual([...ROSTER_MONTHS]);
  expect(runs(applicantWithEnterprise).some((e) => e.status === '存续')).toBe(true);

  expect(runs(legalRepresentative).some((e) => insuredAt(d, e.creditCode) >= 5)).toBe(true);
}

describe('demo persons', () => {
  it('carry a GB 11643 公民身份号码 that agrees with region, birth date and gender', () => {
    const ids = new Set<string>();
    for (const p of data.persons) {
      expect(validateIdNumber(p.idNumber), p.idNumber).toEqual({ ok: true });
      expect(p.idNumber.slice(0, 6)).toBe(p.regionCode);
      expect(p.idNumber.slice(6, 14)).toBe(p.birthDate.replaceAll('-', ''));
      expect(Number(p.idNumber.slice(14, 17)) % 2 === 1 ? '男' : '女').toBe(p.gender);
      const region = REGIONS.get(p.regionCode);
      expect(region?.level).toBe('county');
      expect(DEMO_CITIES).toContain(region?.parent);
      const year = Number(p.birthDate.slice(0, 4));
      expect(year).toBeGreaterThanOrEqual(1940);
      expect(year).toBeLessThanOrEqual(2006);
      expect(new Date(`${p.birthDate}T00:00:00Z`).toISOString().slice(0, 10)).toBe(p.birthDate);
      ids.add(p.idNumber);
    }
    expect(ids.size).toBe(data.persons.length);
  });

  it('have Chinese names, mobile numbers and a township and village of their county', () => {
    for (const p of data.persons) {
      expect(p.name).toMatch(/^[\u4e00-\u9fa5]{2,3}$/);
      expect(p.phone).toMatch(/^1[3589]\d{9}$/);
      expect(p.township).toMatch(/(镇|乡|街道)$/);
      expect(p.village).toMatch(/(村|社区)$/);
      if (p.regionCode === '341504') expect(YEJI_TOWNSHIPS).toContain(p.township);
    }
  });

  it('cover every county of 六安 and 亳州, most of them in 叶集区 and 利辛县', () => {
    const counties = [...REGIONS.values()].filter((r) => r.level === 'county' && DEMO_CITIES.includes(r.parent!));
    const count = (code: string) => data.persons.filter((p) => p.regionCode === code).length;
    for (const c of counties) expect(count(c.code), c.name).toBeGreaterThan(0);
    const average = data.persons.length / counties.length;
    expect(count('341504')).toBeGreaterThan(1.5 * average);
    expect(count('341623')).toBeGreaterThan(1.5 * average);
  });
});

describe('demo enterprises', () => {
  it('carry a GB 32100 统一社会信用代码 with their region and a valid GB 11714 organisation code', () => {
    const codes = new Set<string>();
    for (const e of data.enterprises) {
      expect(validateCreditCode(e.creditCode), e.creditCode).toEqual({ ok: true });
      expect(e.creditCode[0]).toBe('9');
      expect(e.creditCode[1]).toBe(e.type === '农民专业合作社' ? '3' : '1');
      expect(e.creditCode.slice(2, 8)).toBe(e.regionCode);
      expect(orgCodeCheckDigit(e.creditCode.slice(8, 16))).toBe(e.creditCode[16]);
      codes.add(e.creditCode);
    }
    expect(codes.size).toBe(data.enterprises.length);
  });

  it('look like registry entries: name of their county, capital, scope, address, status', () => {
    const names = new Set<string>();
    for (const e of data.enterprises) {
      const county = REGIONS.get(e.regionCode)!;
      if (!e.type.startsWith('股份有限公司')) expect(e.name).toContain(county.name);
      expect(e.address.startsWith(`安徽省${REGIONS.get(county.parent!)!.name}${county.name}`)).toBe(true);
      expect(e.registeredCapital).toBeGreaterThan(0);
      expect(e.businessScope.length).toBeGreaterThan(10);
      expect(e.establishedDate < '2026-11-01').toBe(true);
      expect(e.type).not.toBe('个体工商户');
      names.add(e.name);
    }
    expect(names.size).toBe(data.enterprises.length);
    const trading = data.enterprises.filter((e) => e.status === '存续' || e.status === '在业').length;
    expect(trading / data.enterprises.length).toBeGreaterThan(0.8);
    expect(data.enterprises.some((e) => e.status === '注销')).toBe(true);
    expect(data.enterprises.some((e) => e.status === '吊销')).toBe(true);
  });

  it('have a legal representative who exists, was an adult when it was set up, and sometimes runs two or three', () => {
    const perRep = new Map<string, number>();
    for (const e of data.enterprises) {
      const rep = ix.personsById.get(e.legalRepresentativeIdNumber);
      expect(rep, e.creditCode).toBeDefined();
      expect(rep!.name).toBe(e.legalRepresentativeName);
      expect(Number(e.establishedDate.slice(0, 4)) - Number(rep!.birthDate.slice(0, 4))).toBeGreaterThanOrEqual(18);
      perRep.set(rep!.idNumber, (perRep.get(rep!.idNumber) ?? 0) + 1);
    }
    const counts = [...perRep.values()];
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    expect(counts.filter((n) => n > 1).length).toBeGreaterThan(10);
    const sameCounty = data.enterprises.filter((e) => e.legalRepresentativeIdNumber.slice(0, 6) === e.regionCode).length;
    expect(sameCounty / data.enterprises.length).toBeGreaterThan(0.8);
  });
});

describe('demo insurance and employment', () => {
  it('link employee enrolments and jobs to enterprises that exist, under their registered names', () => {
    for (const j of data.employment) {
      expect(ix.personsById.has(j.idNumber)).toBe(true);
      expect(ix.enterprisesByCreditCode.get(j.employerCreditCode)?.name).toBe(j.employerName);
      if (j.endDate !== null) expect(j.endDate > j.startDate).toBe(true);
    }
    for (const r of data.insurance) {
      expect(ix.personsById.has(r.idNumber)).toBe(true);
      if (r.scheme === 'EMPLOYEE') {
        expect(ix.enterprisesByCreditCode.has(r.employerCreditCode!)).toBe(true);
        expect(r.contributionBase).toBeGreaterThanOrEqual(3500);
        expect(r.contributionBase).toBeLessThanOrEqual(15000);
      } else {
        expect(r.employerCreditCode).toBeNull();
        expect(r.contributionBase).toBe(0);
        expect(['PENSION', 'MEDICAL']).toContain(r.insuranceType);
      }
    }
  });

  it('give every active employee enrolment an open job at a trading employer, and vice versa', () => {
    const openJobs = new Set(data.employment.filter((j) => j.endDate === null).map((j) => `${j.idNumber}/${j.employerCreditCode}/${j.startDate}`));
    const activeEnrolments = new Set<string>();
    for (const r of data.insurance) {
      if (r.scheme !== 'EMPLOYEE' || r.status !== 'ACTIVE') continue;
      const key = `${r.idNumber}/${r.employerCreditCode}/${r.startDate}`;
      expect(openJobs.has(key), key).toBe(true);
      expect(['存续', '在业']).toContain(ix.enterprisesByCreditCode.get(r.employerCreditCode!)!.status);
      activeEnrolments.add(key);
    }
    expect(activeEnrolments).toEqual(openJobs);
    const holders = new Map<string, number>();
    for (const j of data.employment) if (j.endDate === null) holders.set(j.idNumber, (holders.get(j.idNumber) ?? 0) + 1);
    expect(Math.max(...holders.values())).toBe(1);
  });

  it('cover most working-age people', () => {
    const working = data.persons.filter((p) => p.birthDate >= '1967-01-01' && p.birthDate <= '2004-12-31');
    const insured = working.filter((p) => ix.insuranceById.has(p.idNumber)).length;
    expect(insured / working.length).toBeGreaterThan(0.85);
    const employees = working.filter((p) => ix.insuranceById.get(p.idNumber)?.some((r) => r.scheme === 'EMPLOYEE')).length;
    expect(employees / working.length).toBeGreaterThan(0.2);
  });

  it('index head-counts equal to a count of the raw records', () => {
    const people = new Map<string, Set<string>>();
    const pensions = new Map<string, number>();
    for (const r of data.insurance) {
      if (r.scheme !== 'EMPLOYEE' || r.status !== 'ACTIVE') continue;
      const code = r.employerCreditCode!;
      people.set(code, (people.get(code) ?? new Set()).add(r.idNumber));
      if (r.insuranceType === 'PENSION') pensions.set(code, (pensions.get(code) ?? 0) + 1);
    }
    for (const e of data.enterprises) {
      const h = ix.headcountByEmployer.get(e.creditCode);
      expect(h?.insuredCount ?? 0, e.creditCode).toBe(people.get(e.creditCode)?.size ?? 0);
      expect(h?.byInsuranceType.find((t) => t.insuranceType === 'PENSION')?.count ?? 0).toBe(pensions.get(e.creditCode) ?? 0);
    }
    expect([...ix.headcountByEmployer.keys()].every((code) => ix.enterprisesByCreditCode.has(code))).toBe(true);
  });
});

describe('demo 低保 rosters', () => {
  it('come only from 叶集区 and 利辛县 for 2026-09 and 2026-10, 150 to 300 households each', () => {
    for (const region of ROSTER_REGIONS) {
      for (const month of ROSTER_MONTHS) {
        const lines = data.allowances.filter((a) => a.regionCode === region && a.month === month);
        expect(lines.length, `${region} ${month}`).toBeGreaterThanOrEqual(150);
        expect(lines.length, `${region} ${month}`).toBeLessThanOrEqual(300);
        expect(new Set(lines.map((a) => a.headIdNumber)).size).toBe(lines.length);
      }
    }
    expect(data.allowances.every((a) => (ROSTER_REGIONS as readonly string[]).includes(a.regionCode))).toBe(true);
    expect(data.allowances.every((a) => (ROSTER_MONTHS as readonly string[]).includes(a.month))).toBe(true);
  });

  it('list heads of the county with plausible households, approved before the month', () => {
    for (const a of data.allowances) {
      const head = ix.personsById.get(a.headIdNumber)!;
      expect(head.regionCode).toBe(a.regionCode);
      expect(head.name).toBe(a.headName);
      expect([head.township, head.village]).toEqual([a.township, a.village]);
      expect(a.householdId).toMatch(new RegExp(`^${a.regionCode}-20\\d\\d-\\d{6}$`));
      expect(a.householdId.slice(7, 11)).toBe(a.approvalDate.slice(0, 4));
      expect(a.members).toBeGreaterThanOrEqual(1);
      expect(a.members).toBeLessThanOrEqual(6);
      expect(a.monthlyAmount).toBeGreaterThanOrEqual(600);
      expect(a.monthlyAmount).toBeLessThanOrEqual(2400);
      expect(a.approvalDate < `${a.month}-01`).toBe(true);
    }
  });

  it('keep household ids stable across months', () => {
    const headOf = new Map<string, string>();
    const idOf = new Map<string, string>();
    for (const a of data.allowances) {
      expect(headOf.get(a.householdId) ?? a.headIdNumber).toBe(a.headIdNumber);
      expect(idOf.get(a.headIdNumber) ?? a.householdId).toBe(a.householdId);
      headOf.set(a.householdId, a.headIdNumber);
      idOf.set(a.headIdNumber, a.householdId);
    }
    const months = (m: string) => new Set(data.allowances.filter((a) => a.month === m).map((a) => a.householdId));
    const [september, october] = ROSTER_MONTHS.map(months);
    const continuing = [...september!].filter((id) => october!.has(id)).length;
    expect(continuing / september!.size).toBeGreaterThan(0.9);
  });

  it('are mostly people without an employee enrolment or an enterprise', () => {
    const heads = [...new Set(data.allowances.map((a) => a.headIdNumber))];
    const flagged = heads.filter(
      (id) => ix.enterprisesByLegalRep.has(id) || ix.insuranceById.get(id)?.some((r) => r.scheme === 'EMPLOYEE' && r.status === 'ACTIVE'),
    );
    expect(flagged.length).toBeGreaterThanOrEqual(2);
    expect(flagged.length / heads.length).toBeLessThan(0.1);
  });
});

describe('demo named people', () => {
  it('have the properties their roles promise', () => {
    checkNamedPeople(data);
  });

  it('have them for other seeds and sizes too, by construction', () => {
    for (const seed of [1, 7, 424242]) checkNamedPeople(generateDemoData({ seed, persons: 1200, enterprises: 240 }));
  });
});

describe('demo generation', () => {
  it('gives byte-identical data for the same seed and different data for another', () => {
    const again = generateDemoData({ seed: DEMO_SEED });
    expect(data.seed).toBe(DEMO_SEED);
    expect(JSON.stringify(again)).toBe(JSON.stringify(data));
    const other = generateDemoData({ seed: DEMO_SEED + 1 });
    expect(other.seed).toBe(DEMO_SEED + 1);
    expect(other.persons[0]!.idNumber).not.toBe(data.persons[0]!.idNumber);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(data));
  });

  it('makes about as many persons and enterprises as asked', () => {
    const small = generateDemoData({ persons: 500, enterprises: 60 });
    expect(small.persons).toHaveLength(500);
    expect(small.enterprises).toHaveLength(60);
    expect(data.persons).toHaveLength(10_000);
    expect(data.enterprises).toHaveLength(2_000);
  });

  it('rejects options it cannot honour with CONFIG_INVALID', () => {
    expect(() => generateDemoData({ persons: 10 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => generateDemoData({ seed: -1 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => generateDemoData({ enterprises: 1.5 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
