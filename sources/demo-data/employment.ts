/**
 * Jobs and social insurance for the demo population. Every EMPLOYEE-scheme enrolment comes from an
 * employment spell at a real enterprise (same employer, same start date); everybody else gets the
 * 城乡居民 (RESIDENT) schemes with base 0 and no employer, or nothing at all.
 */
import type { DemoEmployment, DemoEnterprise, DemoInsuranceRecord, DemoPerson } from './model.ts';
import { ageOn, birthdayDay, fromDay, toDay, type Random } from './random.ts';

type InsuranceType = DemoInsuranceRecord['insuranceType'];

export interface Spell {
  person: DemoPerson;
  enterprise: DemoEnterprise;
  start: number;
  end: number | null;
  base: number;
}

export interface EmploymentPlan {
  random: Random;
  asOfDay: number;
  persons: readonly DemoPerson[];
  enterprises: readonly DemoEnterprise[];
  /** People the generator places by hand; never drawn at random. */
  reserved: ReadonlySet<string>;
  /** Employers that must end up with at least this many insured employees. */
  minimumStaff: ReadonlyMap<string, number>;
  /** Spells placed by hand (the named people). */
  forced: readonly Spell[];
  /** Reserved people who must have the resident schemes (the clean 低保 applicant, say). */
  residentInsured: ReadonlySet<string>;
}

export interface EmploymentResult {
  employment: DemoEmployment[];
  insurance: DemoInsuranceRecord[];
  /** idNumbers with a spell that has not ended. */
  employedNow: ReadonlySet<string>;
}

const EMPLOYEE_TYPES: readonly InsuranceType[] = ['PENSION', 'MEDICAL', 'UNEMPLOYMENT', 'WORK_INJURY'];
/** Of the labour pool, the share the enterprises may employ; the rest farm, migrate or study. */
const EMPLOYABLE_SHARE = 0.42;

export function isTrading(e: DemoEnterprise): boolean {
  return e.status === '存续' || e.status === '在业';
}

function retirementAge(p: DemoPerson): number {
  return p.gender === '男' ? 60 : 55;
}

/** How many insured staff an enterprise of this type would like, before scaling to the population. */
function desiredStaff(r: Random, e: DemoEnterprise): number {
  switch (e.type) {
    case '农民专业合作社':
      return r.chance(0.8) ? 0 : r.int(1, 2);
    case '个人独资企业':
      return r.int(0, 2);
    case '有限责任公司（自然人独资）':
      return r.weighted([0, r.int(1, 3), r.int(4, 8)], [40, 45, 15]);
    case '股份有限公司（非上市、自然人投资或控股）':
      return r.int(10, 40);
    default:
      return r.weighted([0, r.int(1, 2), r.int(3, 6), r.int(8, 25)], [35, 35, 22, 8]);
  }
}

function contributionBase(r: Random): number {
  return 3500 + Math.round((11500 * r.next() ** 2.5) / 10) * 10;
}

export function generateEmployment(plan: EmploymentPlan): EmploymentResult {
  const r = plan.random;
  const { asOfDay } = plan;
  const repIds = new Set(plan.enterprises.map((e) => e.legalRepresentativeIdNumber));

  // Labour pools per county: working age, not a legal representative, not placed by hand.
  const pools = new Map<string, DemoPerson[]>();
  for (const p of plan.persons) {
    const age = ageOn(p.birthDate, asOfDay);
    if (age < 20 || age >= retirementAge(p) || repIds.has(p.idNumber) || plan.reserved.has(p.idNumber)) continue;
    let pool = pools.get(p.regionCode);
    if (!pool) pools.set(p.regionCode, (pool = []));
    pool.push(p);
  }
  let supply = 0;
  for (const pool of pools.values()) {
    r.shuffle(pool);
    supply += pool.length;
  }
  const counties = [...pools.keys()];

  const spells: Spell[] = [...plan.forced];
  const trading = plan.enterprises.filter(isTrading);
  const desired = trading.map((e) => desiredStaff(r, e));
  const total = desired.reduce((a, b) => a + b, 0);
  const scale = Math.min(1, (supply * EMPLOYABLE_SHARE) / Math.max(1, total));
  const forcedCount = new Map<string, number>();
  for (const s of plan.forced) forcedCount.set(s.enterprise.creditCode, (forcedCount.get(s.enterprise.creditCode) ?? 0) + 1);

  const drawWorker = (e: DemoEnterprise): DemoPerson | undefined => {
    const own = pools.get(e.regionCode);
    if (own?.length && r.chance(0.88)) return own.pop();
    const sameCity = counties.filter((c) => c.slice(0, 4) === e.regionCode.slice(0, 4) && pools.get(c)!.length > 0);
    const from = sameCity.length > 0 ? r.pick(sameCity) : counties.find((c) => pools.get(c)!.length > 0);
    return from === undefined ? undefined : pools.get(from)!.pop();
  };

  trading.forEach((e, i) => {
    const scaled = Math.floor(desired[i]! * scale + r.next());
    const target = Math.max(scaled, plan.minimumStaff.get(e.creditCode) ?? 0) - (forcedCount.get(e.creditCode) ?? 0);
    const established = toDay(e.establishedDate);
    for (let k = 0; k < target; k++) {
      const p = drawWorker(e);
      if (!p) return;
      const lo = Math.max(established, birthdayDay(p.birthDate, 18));
      const hi = asOfDay - 20;
      if (lo > hi) continue;
      spells.push({ person: p, enterprise: e, start: hi - Math.floor((hi - lo) * r.next() ** 2), end: null, base: contributionBase(r) });
    }
  });

  // Some legal representatives insure themselves at their own enterprise.
  const insuredReps = new Set(spells.map((s) => s.person.idNumber));
  for (const e of trading) {
    const id = e.legalRepresentativeIdNumber;
    if (insuredReps.has(id) || plan.reserved.has(id) || !r.chance(0.45)) continue;
    const p = personById(plan.persons, id);
    if (!p || ageOn(p.birthDate, asOfDay) >= retirementAge(p)) continue;
    const lo = Math.max(toDay(e.establishedDate), birthdayDay(p.birthDate, 20));
    const hi = asOfDay - 20;
    if (lo > hi) continue;
    insuredReps.add(id);
    spells.push({ person: p, enterprise: e, start: lo + Math.floor((hi - lo) * r.next() ** 3), end: null, base: contributionBase(r) });
  }

  // Earlier jobs: some of today's employees changed employer, some of today's jobless were laid off.
  const byCity = new Map<string, DemoEnterprise[]>();
  for (const e of plan.enterprises) {
    const city = e.regionCode.slice(0, 4);
    const list = byCity.get(city);
    if (list) list.push(e);
    else byCity.set(city, [e]);
  }
  const pastSpell = (p: DemoPerson, before: number, not: DemoEnterprise | null): Spell | undefined => {
    const candidates = byCity.get(p.regionCode.slice(0, 4)) ?? plan.enterprises;
    for (let attempt = 0; attempt < 12; attempt++) {
      const e = r.pick(candidates);
      if (e === not) continue;
      const lo = Math.max(toDay(e.establishedDate), birthdayDay(p.birthDate, 20));
      const hi = before - 150;
      if (hi - lo < 120) continue;
      const start = lo + r.int(0, hi - lo - 120);
      const end = start + 90 + r.int(0, hi - start - 90);
      return { person: p, enterprise: e, start, end, base: contributionBase(r) };
    }
    return undefined;
  };
  for (const s of [...spells]) {
    if (plan.reserved.has(s.person.idNumber) || !r.chance(0.3)) continue;
    const earlier = pastSpell(s.person, s.start, s.enterprise);
    if (earlier) spells.push(earlier);
  }
  for (const pool of pools.values()) {
    for (const p of pool) {
      if (!r.chance(0.12)) continue;
      const earlier = pastSpell(p, asOfDay - 60, null);
      if (earlier) spells.push(earlier);
    }
  }

  const employedNow = new Set(spells.filter((s) => s.end === null).map((s) => s.person.idNumber));
  return { ...writeRecords(plan, spells), employedNow };
}

function personById(persons: readonly DemoPerson[], id: string): DemoPerson | undefined {
  let index = personIndex.get(persons);
  if (!index) personIndex.set(persons, (index = new Map(persons.map((p) => [p.idNumber, p]))));
  return index.get(id);
}
const personIndex = new WeakMap<readonly DemoPerson[], Map<string, DemoPerson>>();

function writeRecords(plan: EmploymentPlan, spells: Spell[]): Omit<EmploymentResult, 'employedNow'> {
  const r = plan.random.fork('insurance');
  const { asOfDay } = plan;
  const byPerson = new Map<string, Spell[]>();
  for (const s of spells) {
    const list = byPerson.get(s.person.idNumber);
    if (list) list.push(s);
    else byPerson.set(s.person.idNumber, [s]);
  }
  const maternity = new Set(plan.enterprises.filter(() => r.chance(0.4)).map((e) => e.creditCode));

  const employment: DemoEmployment[] = [];
  const insurance: DemoInsuranceRecord[] = [];
  for (const p of plan.persons) {
    const own = (byPerson.get(p.idNumber) ?? []).sort((a, b) => a.start - b.start);
    const current = own.find((s) => s.end === null);
    const last = own[own.length - 1];
    for (const s of own) {
      const employer = s.enterprise.creditCode;
      employment.push({
        idNumber: p.idNumber,
        employerCreditCode: employer,
        employerName: s.enterprise.name,
        startDate: fromDay(s.start),
        endDate: s.end === null ? null : fromDay(s.end),
      });
      const types = maternity.has(employer) ? [...EMPLOYEE_TYPES, 'MATERNITY' as const] : EMPLOYEE_TYPES;
      for (const insuranceType of types) {
        // 中断缴费: the pension stays with the last employer, suspended, until the next job.
        const suspended = !current && s === last && insuranceType === 'PENSION';
        insurance.push({
          idNumber: p.idNumber,
          insuranceType,
          scheme: 'EMPLOYEE',
          status: s.end === null ? 'ACTIVE' : suspended ? 'SUSPENDED' : 'TERMINATED',
          contributionBase: s.base,
          employerCreditCode: employer,
          startDate: fromDay(s.start),
          endDate: s.end === null || suspended ? null : fromDay(s.end),
        });
      }
    }
    if (current) continue;

    const resident = (insuranceType: InsuranceType, start: number) =>
      insurance.push({
        idNumber: p.idNumber,
        insuranceType,
        scheme: 'RESIDENT',
        status: 'ACTIVE',
        contributionBase: 0,
        employerCreditCode: null,
        startDate: fromDay(Math.min(start, asOfDay - 10)),
        endDate: null,
      });
    if (last && last.end !== null) {
      const start = last.end + r.int(20, 200);
      if (start < asOfDay) resident('MEDICAL', start);
      continue;
    }
    const roll = plan.residentInsured.has(p.idNumber) ? 0 : r.next();
    const adult = birthdayDay(p.birthDate, 16);
    if (roll < 0.86) resident('PENSION', Math.max(toDay('2010-01-01') + r.int(0, 1800), adult + r.int(0, 700)));
    if (roll < 0.94) resident('MEDICAL', Math.max(toDay('2007-01-01') + r.int(0, 2500), adult + r.int(0, 400)));
  }
  return { employment, insurance };
}
