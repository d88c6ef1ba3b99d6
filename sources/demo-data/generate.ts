/**
 * Deterministic synthetic demo data: the same seed gives byte-identical output. Real formats and
 * code lists (GB 11643, GB 32100 / GB 11714, GB/T 2260), invented people and enterprises. The four
 * named people are placed by hand so that their properties hold for every seed.
 */
import { TongxiangError, creditCodeCheckDigit, idNumberCheckDigit, orgCodeCheckDigit } from '../../core/index.ts';
import { generateEmployment, type Spell } from './employment.ts';
import type { DemoData, DemoEnterprise, DemoPerson, NamedRole } from './model.ts';
import { ageOn, birthdayDay, createRandom, fromDay, toDay, type Random } from './random.ts';
import { generateRoster } from './rosters.ts';
import {
  COMMUNITY_NAMES, COOP_KINDS, COUNTIES, ENTERPRISE_TYPES, GIVEN_FEMALE, GIVEN_MALE, INDUSTRIES,
  MOBILE_PREFIXES, ROADS, SURNAMES, SURNAME_WEIGHTS, TRADE_CHARS, VILLAGE_FIRST, VILLAGE_SECOND,
  type County, type EnterpriseType,
} from './vocabulary.ts';

export const DEMO_SEED = 20261123;
/** The day the demo data describes (社保 head-counts are "as of" this day). */
export const DEMO_AS_OF = '2026-10-31';
/** The 民政局s that drop 低保 rosters, and the months they dropped. */
export const ROSTER_REGIONS = ['341504', '341623'] as const;
export const ROSTER_MONTHS = ['2026-09', '2026-10'] as const;

export interface GenerateOptions {
  seed?: number;
  persons?: number;
  enterprises?: number;
}

const AS_OF_DAY = toDay(DEMO_AS_OF);
const COUNTY_BY_CODE = new Map(COUNTIES.map((c) => [c.code, c]));
const CREDIT_BODY_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** Where each named person lives and how old they are. */
const NAMED_PEOPLE: Record<NamedRole, { county: string; minAge: number; maxAge: number; rural: boolean }> = {
  applicantClean: { county: '341504', minAge: 52, maxAge: 68, rural: true },
  applicantWithJob: { county: '341623', minAge: 32, maxAge: 48, rural: true },
  applicantWithEnterprise: { county: '341504', minAge: 38, maxAge: 52, rural: true },
  legalRepresentative: { county: '341503', minAge: 40, maxAge: 55, rural: false },
};
const NAMED_ROLES = Object.keys(NAMED_PEOPLE) as NamedRole[];

interface EnterpriseTemplate {
  county: string;
  type: string;
  industry: string;
  established: readonly [string, string];
  rep?: DemoPerson;
}

export function generateDemoData(options: GenerateOptions = {}): DemoData {
  const seed = options.seed ?? DEMO_SEED;
  const personCount = options.persons ?? 10_000;
  const enterpriseCount = options.enterprises ?? 2_000;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'seed must be an integer in [0, 2^32)' });
  }
  if (!Number.isInteger(personCount) || personCount < 300 || personCount > 1_000_000) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'persons must be an integer in [300, 1000000]' });
  }
  if (!Number.isInteger(enterpriseCount) || enterpriseCount < 10 || enterpriseCount > 200_000) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'enterprises must be an integer in [10, 200000]' });
  }
  const root = createRandom(seed);
  const villages = makeVillages(root.fork('villages'));

  // People, with the named ones at seeded positions.
  const rp = root.fork('persons');
  const namedSlots = new Map<number, NamedRole>();
  for (const role of NAMED_ROLES) {
    let slot = rp.int(0, personCount - 1);
    while (namedSlots.has(slot)) slot = (slot + 1) % personCount;
    namedSlots.set(slot, role);
  }
  const usedIds = new Set<string>();
  const usedPhones = new Set<string>();
  const persons: DemoPerson[] = [];
  const named = {} as Record<NamedRole, string>;
  const namedPerson = {} as Record<NamedRole, DemoPerson>;
  const countyWeights = COUNTIES.map((c) => c.weight);
  for (let i = 0; i < personCount; i++) {
    const role = namedSlots.get(i);
    const spec = role ? NAMED_PEOPLE[role] : undefined;
    const county = spec ? COUNTY_BY_CODE.get(spec.county)! : rp.weighted(COUNTIES, countyWeights);
    const birthDay = spec
      ? rp.int(AS_OF_DAY - Math.floor((spec.maxAge + 1) * 365.2425) + 2, AS_OF_DAY - Math.ceil(spec.minAge * 365.2425))
      : toDay('1940-01-01') + Math.floor((toDay('2006-12-31') - toDay('1940-01-01') + 1) * rp.next() ** 0.85);
    const p = makePerson(rp, county, fromDay(birthDay), spec?.rural ?? false, villages, usedIds, usedPhones);
    persons.push(p);
    if (role) {
      named[role] = p.idNumber;
      namedPerson[role] = p;
    }
  }
  const reserved = new Set(Object.values(named));
  const personsByCounty = new Map<string, DemoPerson[]>(COUNTIES.map((c) => [c.code, []]));
  for (const p of persons) personsByCounty.get(p.regionCode)!.push(p);

  // Enterprises, with three placed by hand: the ones the named people run or work for.
  const re = root.fork('enterprises');
  const templates = new Map<number, EnterpriseTemplate & { role: string }>();
  const wanted: (EnterpriseTemplate & { role: string })[] = [
    { role: 'withEnterprise', county: '341504', type: '有限责任公司（自然人独资）', industry: '商贸', established: ['2019-03-01', '2023-12-31'], rep: namedPerson.applicantWithEnterprise },
    { role: 'legalRep', county: '341503', type: '有限责任公司（自然人投资或控股）', industry: '农业科技', established: ['2008-01-01', '2016-12-31'], rep: namedPerson.legalRepresentative },
    { role: 'jobEmployer', county: '341623', type: '有限责任公司（自然人投资或控股）', industry: '面粉', established: ['2010-01-01', '2018-12-31'] },
  ];
  for (const t of wanted) {
    let slot = re.int(0, enterpriseCount - 1);
    while (templates.has(slot)) slot = (slot + 1) % enterpriseCount;
    templates.set(slot, t);
  }
  const factory = new EnterpriseFactory(re, villages, personsByCounty, reserved, persons);
  const enterprises: DemoEnterprise[] = [];
  const byRole = new Map<string, DemoEnterprise>();
  for (let i = 0; i < enterpriseCount; i++) {
    const t = templates.get(i);
    const e = factory.make(t);
    enterprises.push(e);
    if (t) byRole.set(t.role, e);
  }

  // Jobs and insurance; the named people's spells are placed by hand.
  const legalRepEnterprise = byRole.get('legalRep')!;
  const jobEmployer = byRole.get('jobEmployer')!;
  const rj = root.fork('jobs');
  const forced: Spell[] = [
    {
      person: namedPerson.legalRepresentative,
      enterprise: legalRepEnterprise,
      start: toDay(legalRepEnterprise.establishedDate) + rj.int(0, 60),
      end: null,
      base: 9000 + rj.int(0, 300) * 10,
    },
    {
      person: namedPerson.applicantWithJob,
      enterprise: jobEmployer,
      start: Math.max(toDay(jobEmployer.establishedDate), AS_OF_DAY - rj.int(300, 1200)),
      end: null,
      base: 4000 + rj.int(0, 80) * 10,
    },
  ];
  const jobs = generateEmployment({
    random: rj,
    asOfDay: AS_OF_DAY,
    persons,
    enterprises,
    reserved,
    minimumStaff: new Map([
      [legalRepEnterprise.creditCode, 12],
      [jobEmployer.creditCode, 6],
    ]),
    forced,
    residentInsured: new Set([named.applicantClean, named.applicantWithEnterprise]),
  });

  // 低保 rosters of the two dropping counties.
  const legalRepresentatives = new Set(enterprises.map((e) => e.legalRepresentativeIdNumber));
  const mustInclude: Record<string, DemoPerson[]> = {
    '341504': [namedPerson.applicantClean, namedPerson.applicantWithEnterprise],
    '341623': [namedPerson.applicantWithJob],
  };
  const allowances = ROSTER_REGIONS.flatMap((county) =>
    generateRoster({
      random: root.fork(`roster-${county}`),
      asOfDay: AS_OF_DAY,
      county,
      months: ROSTER_MONTHS,
      people: personsByCounty.get(county)!,
      mustInclude: mustInclude[county] ?? [],
      reserved,
      employedNow: jobs.employedNow,
      legalRepresentatives,
    }),
  );

  return {
    seed,
    persons,
    enterprises,
    insurance: jobs.insurance,
    employment: jobs.employment,
    allowances,
    named,
  };
}

/** Villages (村) and, under 街道, communities (社区), a stable list per township. */
function makeVillages(r: Random): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const county of COUNTIES) {
    for (const township of county.townships) {
      const urban = township.endsWith('街道');
      const names = new Set<string>();
      const count = urban ? r.int(4, 7) : r.int(8, 14);
      while (names.size < count) {
        names.add(urban ? `${r.pick(COMMUNITY_NAMES)}社区` : `${r.pick(VILLAGE_FIRST)}${r.pick(VILLAGE_SECOND)}村`);
      }
      out.set(`${county.code}/${township}`, [...names]);
    }
  }
  return out;
}

function makePerson(
  r: Random,
  county: County,
  birthDate: string,
  rural: boolean,
  villages: Map<string, string[]>,
  usedIds: Set<string>,
  usedPhones: Set<string>,
): DemoPerson {
  const male = r.chance(0.51);
  const stem = county.code + birthDate.replaceAll('-', '');
  let first17 = '';
  do {
    first17 = stem + String(r.int(0, 499) * 2 + (male ? 1 : 0)).padStart(3, '0');
  } while (first17.endsWith('000') || usedIds.has(first17));
  usedIds.add(first17);
  const townships = rural ? county.townships.filter((t) => !t.endsWith('街道')) : county.townships;
  const township = r.pick(townships);
  const given = male ? GIVEN_MALE : GIVEN_FEMALE;
  let phone = '';
  do {
    phone = r.pick(MOBILE_PREFIXES) + String(r.int(0, 99_999_999)).padStart(8, '0');
  } while (usedPhones.has(phone));
  usedPhones.add(phone);
  return {
    idNumber: first17 + idNumberCheckDigit(first17),
    name: r.weighted(SURNAMES, SURNAME_WEIGHTS) + givenName(r, given),
    gender: male ? '男' : '女',
    birthDate,
    regionCode: county.code,
    township,
    village: r.pick(villages.get(`${county.code}/${township}`)!),
    phone,
  };
}

/** One character, or two different ones. */
function givenName(r: Random, pool: readonly string[]): string {
  const first = r.pick(pool);
  if (r.chance(0.3)) return first;
  let second = r.pick(pool);
  while (second === first) second = r.pick(pool);
  return first + second;
}

const STATUSES: readonly DemoEnterprise['status'][] = ['存续', '在业', '注销', '吊销', '迁出'];
const SOLE_PROPRIETOR_NAMES: Record<string, string> = {
  商贸: '商行', 建材: '建材经营部', 食品: '食品厂', 木业: '木材加工厂', 茶业: '茶厂', 面粉: '面粉厂', 餐饮管理: '饭店',
};

class EnterpriseFactory {
  private readonly usedCodes = new Set<string>();
  private readonly usedNames = new Set<string>();
  private readonly repCount = new Map<string, number>();
  private readonly repsByCounty = new Map<string, DemoPerson[]>();
  private readonly typeWeights = ENTERPRISE_TYPES.map((t) => t.weight);
  private readonly countyWeights = COUNTIES.map((c) => c.weight);

  constructor(
    private readonly r: Random,
    private readonly villages: Map<string, string[]>,
    private readonly personsByCounty: Map<string, DemoPerson[]>,
    private readonly reserved: ReadonlySet<string>,
    private readonly persons: readonly DemoPerson[],
  ) {}

  make(t?: EnterpriseTemplate): DemoEnterprise {
    const r = this.r;
    const county = t ? COUNTY_BY_CODE.get(t.county)! : r.weighted(COUNTIES, this.countyWeights);
    const type: EnterpriseType = t ? ENTERPRISE_TYPES.find((x) => x.type === t.type)! : r.weighted(ENTERPRISE_TYPES, this.typeWeights);
    const established = t
      ? r.int(toDay(t.established[0]), toDay(t.established[1]))
      : toDay('1998-01-01') + Math.floor((toDay('2026-09-30') - toDay('1998-01-01')) * Math.sqrt(r.next()));
    const status = t || established > toDay('2025-06-30') ? '存续' : r.weighted(STATUSES, [84, 3, 8, 4, 1]);
    const rep = t?.rep ?? this.chooseRepresentative(county, established);
    this.repCount.set(rep.idNumber, (this.repCount.get(rep.idNumber) ?? 0) + 1);
    const reps = this.repsByCounty.get(county.code) ?? [];
    if (!reps.includes(rep)) reps.push(rep);
    this.repsByCounty.set(county.code, reps);

    const { name, scope } = this.nameAndScope(county, type, t?.industry);
    const township = r.pick(county.townships);
    const rural = type.type === '农民专业合作社' && !township.endsWith('街道');
    const address = rural
      ? `安徽省${county.city}${county.name}${township}${r.pick(this.villages.get(`${county.code}/${township}`)!)}`
      : `安徽省${county.city}${county.name}${township}${r.pick(ROADS)}${r.int(1, 388)}号`;
    return {
      creditCode: this.creditCode(county.code, type.category, established),
      name,
      type: type.type,
      legalRepresentativeName: rep.name,
      legalRepresentativeIdNumber: rep.idNumber,
      registeredCapital: r.pick(type.capital),
      establishedDate: fromDay(established),
      businessScope: scope,
      address,
      regionCode: county.code,
      status,
    };
  }

  /** GB 32100: 登记管理部门 9 (工商) + 机构类别 + 登记机关行政区划码 + GB 11714 主体标识码 + 校验码. */
  private creditCode(region: string, category: string, established: number): string {
    for (;;) {
      // Codes issued since the 2015 reform carry a new body (commonly MA...); older ones kept the
      // former 组织机构代码, eight digits.
      let body = '';
      if (established >= toDay('2015-10-01')) {
        body = 'MA';
        for (let i = 0; i < 6; i++) body += this.r.pick([...CREDIT_BODY_CHARS]);
      } else {
        body = String(this.r.int(10_000_000, 79_999_999));
      }
      const first17 = `9${category}${region}${body}${orgCodeCheckDigit(body)}`;
      const code = first17 + creditCodeCheckDigit(first17);
      if (!this.usedCodes.has(code)) {
        this.usedCodes.add(code);
        return code;
      }
    }
  }

  private nameAndScope(county: County, type: EnterpriseType, industryLabel?: string): { name: string; scope: string } {
    const r = this.r;
    const prefix = county.name.endsWith('区') ? county.city + county.name : county.name;
    const industries = INDUSTRIES.filter((i) => i.region === '' || county.code.startsWith(i.region));
    for (;;) {
      const trade = r.pick(TRADE_CHARS) + r.pick(TRADE_CHARS);
      if (trade[0] === trade[1]) continue;
      let name: string;
      let scope: string;
      if (type.type === '农民专业合作社') {
        const kind = r.pick(COOP_KINDS);
        name = `${prefix}${trade}${kind.label}专业合作社`;
        scope = kind.scope;
      } else {
        const soleKinds = industries.filter((i) => SOLE_PROPRIETOR_NAMES[i.label]);
        const pool = type.type === '个人独资企业' ? soleKinds : industries;
        const industry = pool.find((i) => i.label === industryLabel) ?? r.weighted(pool, pool.map((i) => (i.region ? 2 : 1)));
        scope = industry.scope;
        if (type.type === '个人独资企业') name = `${prefix}${trade}${SOLE_PROPRIETOR_NAMES[industry.label]}`;
        else if (type.type.startsWith('股份有限公司')) name = `安徽${trade}${industry.label}股份有限公司`;
        else name = `${prefix}${trade}${industry.label}有限公司`;
      }
      if (!this.usedNames.has(name)) {
        this.usedNames.add(name);
        return { name, scope };
      }
    }
  }

  /** Mostly someone of the same county, of working age when the enterprise was set up. */
  private chooseRepresentative(county: County, established: number): DemoPerson {
    const r = this.r;
    const fits = (p: DemoPerson) => {
      const age = ageOn(p.birthDate, established);
      return age >= 22 && age <= 65 && !this.reserved.has(p.idNumber) && birthdayDay(p.birthDate, 85) > AS_OF_DAY;
    };
    if (r.chance(0.1)) {
      const again = (this.repsByCounty.get(county.code) ?? []).filter((p) => (this.repCount.get(p.idNumber) ?? 0) < 3 && fits(p));
      if (again.length > 0) return r.pick(again);
    }
    const sameCity = COUNTIES.filter((c) => c.city === county.city);
    for (let attempt = 0; attempt < 60; attempt++) {
      const from = r.chance(0.9) ? county : r.pick(sameCity);
      const people = this.personsByCounty.get(from.code)!;
      if (people.length === 0) continue;
      const p = r.pick(people);
      if (!this.repCount.has(p.idNumber) && fits(p)) return p;
    }
    const fallback = this.persons.find((p) => !this.repCount.has(p.idNumber) && fits(p)) ?? this.persons.find(fits);
    if (!fallback) throw new TongxiangError('CONFIG_INVALID', { reason: 'too few persons for the enterprises asked for' });
    return fallback;
  }
}
