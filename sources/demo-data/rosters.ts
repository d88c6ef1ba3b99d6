/**
 * 最低生活保障 rosters of the dropping 民政局s, one line per household per month. Heads are drawn
 * from the county's adults, weighted the way eligibility works out in life: older, rural, no job
 * with employee insurance, no enterprise; a few who should be flagged slip in anyway.
 */
import type { DemoAllowanceHousehold, DemoPerson } from './model.ts';
import { ageOn, fromDay, toDay, type Random } from './random.ts';

export interface RosterPlan {
  random: Random;
  asOfDay: number;
  county: string;
  months: readonly string[]; // YYYY-MM, ascending
  people: readonly DemoPerson[]; // the county's residents
  /** Heads who must be on every month's roster (the named applicants). */
  mustInclude: readonly DemoPerson[];
  /** Placed by hand elsewhere: never drawn at random. */
  reserved: ReadonlySet<string>;
  employedNow: ReadonlySet<string>;
  legalRepresentatives: ReadonlySet<string>;
}

interface Household {
  head: DemoPerson;
  members: number;
  amount: number;
  approval: number;
  firstMonth: number; // index into months
  lastMonth: number;
  householdId: string;
}

const round10 = (n: number) => Math.round(n / 10) * 10;

function amountFor(r: Random, members: number): number {
  return Math.min(2400, Math.max(600, round10(members * r.int(380, 620))));
}

export function generateRoster(plan: RosterPlan): DemoAllowanceHousehold[] {
  const r = plan.random;
  const firstMonthDay = toDay(`${plan.months[0]}-01`);

  // Efraimidis-Spirakis weighted sampling without replacement: highest log(u)/w first.
  const ranked = plan.people
    .filter((p) => !plan.reserved.has(p.idNumber) && ageOn(p.birthDate, plan.asOfDay) >= 20)
    .map((p) => {
      const flagged = plan.employedNow.has(p.idNumber) || plan.legalRepresentatives.has(p.idNumber);
      let weight = flagged ? 0.015 : 1;
      if (ageOn(p.birthDate, plan.asOfDay) >= 60) weight *= 2.2;
      if (!p.township.endsWith('街道')) weight *= 1.5;
      return { p, key: Math.log(r.next() || Number.MIN_VALUE) / weight };
    })
    .sort((a, b) => b.key - a.key)
    .map((x) => x.p);

  const size = Math.max(1, Math.min(r.int(150, 300), Math.floor(ranked.length * 0.16)));
  const joiners = Math.min(r.int(3, 10), Math.max(0, ranked.length - size));
  const households: Household[] = [];
  const add = (head: DemoPerson, firstMonth: number, approval: number, mayLeave: boolean) => {
    const members = r.weighted([1, 2, 3, 4, 5, 6], [30, 30, 18, 12, 6, 4]);
    const leaves = mayLeave && r.chance(0.04);
    households.push({
      head,
      members,
      amount: amountFor(r, members),
      approval,
      firstMonth,
      lastMonth: leaves ? firstMonth : plan.months.length - 1,
      householdId: '',
    });
  };
  const approvedBefore = (day: number) => day - 1 - Math.floor((day - 1 - toDay('2014-01-01')) * r.next() ** 1.6);
  for (const head of plan.mustInclude) add(head, 0, approvedBefore(firstMonthDay - 60), false);
  for (const head of ranked.slice(0, size)) add(head, 0, approvedBefore(firstMonthDay), plan.months.length > 1);
  for (const head of ranked.slice(size, size + joiners)) {
    const month = r.int(1, Math.max(1, plan.months.length - 1));
    if (month >= plan.months.length) break;
    const monthStart = toDay(`${plan.months[month]}-01`);
    add(head, month, monthStart - r.int(1, 30), false);
  }

  // 户编号: county, year of approval, running number within that year.
  households.sort((a, b) => a.approval - b.approval || a.head.idNumber.localeCompare(b.head.idNumber));
  const perYear = new Map<string, number>();
  for (const h of households) {
    const year = fromDay(h.approval).slice(0, 4);
    const n = (perYear.get(year) ?? 0) + 1;
    perYear.set(year, n);
    h.householdId = `${plan.county}-${year}-${String(n).padStart(6, '0')}`;
  }

  const lines: DemoAllowanceHousehold[] = [];
  plan.months.forEach((month, m) => {
    for (const h of households) {
      if (m < h.firstMonth || m > h.lastMonth) continue;
      // 动态调整: now and then a household's amount is reviewed.
      if (m > h.firstMonth && r.chance(0.05)) h.amount = Math.min(2400, Math.max(600, h.amount + r.pick([-150, -100, -50, 50, 100, 150])));
      lines.push({
        householdId: h.householdId,
        headName: h.head.name,
        headIdNumber: h.head.idNumber,
        members: h.members,
        monthlyAmount: h.amount,
        township: h.head.township,
        village: h.head.village,
        approvalDate: fromDay(h.approval),
        regionCode: plan.county,
        month,
      });
    }
  });
  return lines.sort((a, b) => a.month.localeCompare(b.month) || a.householdId.localeCompare(b.householdId));
}
