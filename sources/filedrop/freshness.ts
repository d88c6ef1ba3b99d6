/**
 * Freshness (数据时效): is a department's dataset up to date against the dataset's declared
 * update cycle? Pure — the clock is an argument — so sharing performance (绩效评价), the console
 * and tests all get the same answer for the same instant.
 *
 * Cycles are calendar periods in China Standard Time (UTC+8, no daylight saving): a day, a
 * week from Monday, a month, a quarter from Jan/Apr/Jul/Oct 1st, a year. Each cycle's version is
 * due by the end of its `dueDay` (CST 24:00, i.e. the next CST midnight).
 */
import type { DatasetDefinition, UpdateCycle } from './dataset.ts';
import type { DatasetStatus, DatasetVersion, DropReport, FreshnessState } from './model.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** China has kept one offset all year since 1991: a fixed offset is exact, no time-zone database needed. */
const CST_OFFSET_MS = 8 * HOUR_MS;

/** The UTC instant of CST midnight starting the CST calendar day (y, m0, d); m0 and d may overflow. */
const cstMidnight = (year: number, month0: number, day: number): Date => new Date(Date.UTC(year, month0, day) - CST_OFFSET_MS);

/**
 * The cycle `now` falls in: `start` is its first CST midnight (inclusive), `dueAt` the end of its
 * `dueDay` (exclusive: a version is late from that instant on). Daily cycles ignore `dueDay`.
 */
export function cycleWindow(cycle: UpdateCycle, now: Date): { start: Date; dueAt: Date } {
  // The CST calendar date of `now`: shift by the offset, then read the UTC fields.
  const cst = new Date(now.getTime() + CST_OFFSET_MS);
  const year = cst.getUTCFullYear();
  const month0 = cst.getUTCMonth();
  const day = cst.getUTCDate();
  let start: Date;
  switch (cycle.every) {
    case 'daily':
      start = cstMidnight(year, month0, day);
      return { start, dueAt: new Date(start.getTime() + DAY_MS) };
    case 'weekly': {
      const sinceMonday = (cst.getUTCDay() + 6) % 7; // getUTCDay: Sunday 0 … Saturday 6
      start = cstMidnight(year, month0, day - sinceMonday);
      break;
    }
    case 'monthly':
      start = cstMidnight(year, month0, 1);
      break;
    case 'quarterly':
      start = cstMidnight(year, month0 - (month0 % 3), 1);
      break;
    case 'yearly':
      start = cstMidnight(year, 0, 1);
      break;
  }
  // Every CST day is 24 h long, and dueDay ≤ 28 stays within the cycle's first month.
  return { start, dueAt: new Date(start.getTime() + cycle.dueDay * DAY_MS) };
}

/**
 * The freshness of `department`'s `def` dataset at `now`, given its current version (`head`, null
 * when none was ever published) and its most recent drop report (null when none).
 *
 * - `fresh`: the head was published at or after the current cycle's start (whatever made it: a
 *   file, or a rollback an operator published this cycle), or the department's last drop in this
 *   cycle was `unchanged` — it reported on time, its data simply did not change (报送即视为按时);
 * - `due` / `overdue`: a head from an earlier cycle, before / from `dueAt`;
 * - `never`: no version at all — `overdue` once the current cycle's `dueAt` has passed, so a
 *   department that never delivered counts as late in performance figures;
 * - `no-cycle`: the dataset declares no update cycle; never overdue.
 */
/** A drop this cycle that equalled a published version: the department reported, nothing changed. */
function reportedUnchanged(lastDrop: DropReport | null, cycleStart: Date): boolean {
  return lastDrop !== null && lastDrop.outcome === 'unchanged' && lastDrop.finishedAt.getTime() >= cycleStart.getTime();
}

export function freshness(
  def: DatasetDefinition,
  department: string,
  head: DatasetVersion | null,
  lastDrop: DropReport | null,
  now: Date,
): DatasetStatus {
  const cycle = def.updateCycle;
  const base = {
    dataset: def.name,
    department,
    title: def.title,
    currentVersion: head?.version ?? null,
    rows: head?.rows ?? 0,
    lastPublishedAt: head?.publishedAt ?? null,
    lastDrop: lastDrop ? { outcome: lastDrop.outcome, at: lastDrop.finishedAt, fileName: lastDrop.fileName } : null,
  };
  if (!cycle) {
    return { ...base, cycle: null, dueDay: null, cycleStart: null, dueAt: null, state: 'no-cycle', overdue: false };
  }
  const { start, dueAt } = cycleWindow(cycle, now);
  const late = now.getTime() >= dueAt.getTime();
  let state: FreshnessState;
  if (!head) state = 'never';
  else if (head.publishedAt.getTime() >= start.getTime() || reportedUnchanged(lastDrop, start)) state = 'fresh';
  else state = late ? 'overdue' : 'due';
  return {
    ...base,
    cycle: cycle.every,
    // daily cycles ignore dueDay (due by the end of each day): reporting one would mislead
    dueDay: cycle.every === 'daily' ? null : cycle.dueDay,
    cycleStart: start,
    dueAt,
    state,
    overdue: state === 'overdue' || (state === 'never' && late),
  };
}
