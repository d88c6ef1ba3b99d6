import { describe, expect, it } from 'vitest';
import { DIBAO_DATASET_PATH, loadDatasetDefinition, type DatasetDefinition, type UpdateCycle } from '../dataset.ts';
import { cycleWindow, freshness } from '../freshness.ts';
import type { DatasetVersion, DropReport } from '../model.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH); // monthly, due by the 5th
const withCycle = (updateCycle: UpdateCycle | undefined): DatasetDefinition => ({ ...dibao, updateCycle });

const utc = (iso: string) => new Date(iso);
const window = (cycle: UpdateCycle, now: string) => {
  const w = cycleWindow(cycle, utc(now));
  return { start: w.start.toISOString(), dueAt: w.dueAt.toISOString() };
};

describe('cycleWindow (China Standard Time, UTC+8)', () => {
  const monthly5: UpdateCycle = { every: 'monthly', dueDay: 5 };

  it('starts a monthly cycle at CST midnight of the 1st, due at the end of dueDay', () => {
    expect(window(monthly5, '2026-11-12T04:00:00.000Z')).toEqual({
      start: '2026-10-31T16:00:00.000Z', // 2026-11-01 00:00 CST
      dueAt: '2026-11-05T16:00:00.000Z', // 2026-11-05 24:00 CST
    });
  });

  it('puts the exact CST midnight in the new cycle and the millisecond before it in the old one', () => {
    expect(window(monthly5, '2026-10-31T16:00:00.000Z').start).toBe('2026-10-31T16:00:00.000Z');
    expect(window(monthly5, '2026-10-31T15:59:59.999Z').start).toBe('2026-09-30T16:00:00.000Z');
  });

  it('reads the CST date, not the UTC one: 2026-10-31T16:30Z is already November 1st', () => {
    expect(window(monthly5, '2026-10-31T16:30:00.000Z')).toEqual({ start: '2026-10-31T16:00:00.000Z', dueAt: '2026-11-05T16:00:00.000Z' });
    expect(window({ every: 'daily', dueDay: 1 }, '2026-10-31T16:30:00.000Z')).toEqual({
      start: '2026-10-31T16:00:00.000Z',
      dueAt: '2026-11-01T16:00:00.000Z',
    });
  });

  it('crosses month ends of every length (Jan 31 → Feb, Apr 30 → May)', () => {
    expect(window(monthly5, '2026-01-31T15:59:59.999Z').start).toBe('2025-12-31T16:00:00.000Z'); // Jan 31 23:59:59.999 CST
    expect(window(monthly5, '2026-01-31T16:00:00.000Z')).toEqual({ start: '2026-01-31T16:00:00.000Z', dueAt: '2026-02-05T16:00:00.000Z' });
    expect(window(monthly5, '2026-04-30T16:00:00.000Z').start).toBe('2026-04-30T16:00:00.000Z'); // May 1 CST
  });

  it('knows February 29th in leap years and its absence otherwise', () => {
    expect(window(monthly5, '2028-02-29T15:59:59.999Z').start).toBe('2028-01-31T16:00:00.000Z'); // Feb 29 CST, still February
    expect(window(monthly5, '2028-02-29T16:00:00.000Z').start).toBe('2028-02-29T16:00:00.000Z'); // Mar 1 CST
    expect(window(monthly5, '2027-02-28T16:00:00.000Z').start).toBe('2027-02-28T16:00:00.000Z'); // 2027 has no Feb 29: Mar 1 CST
    expect(window({ every: 'daily', dueDay: 1 }, '2028-02-29T03:00:00.000Z')).toEqual({
      start: '2028-02-28T16:00:00.000Z',
      dueAt: '2028-02-29T16:00:00.000Z',
    });
  });

  it('starts quarters on Jan, Apr, Jul and Oct 1st', () => {
    const q: UpdateCycle = { every: 'quarterly', dueDay: 10 };
    expect(window(q, '2026-03-31T15:59:59.999Z')).toEqual({ start: '2025-12-31T16:00:00.000Z', dueAt: '2026-01-10T16:00:00.000Z' });
    expect(window(q, '2026-03-31T16:00:00.000Z')).toEqual({ start: '2026-03-31T16:00:00.000Z', dueAt: '2026-04-10T16:00:00.000Z' });
    expect(window(q, '2026-08-15T00:00:00.000Z').start).toBe('2026-06-30T16:00:00.000Z');
    expect(window(q, '2026-12-31T15:00:00.000Z').start).toBe('2026-09-30T16:00:00.000Z');
    expect(window(q, '2026-12-31T16:00:00.000Z').start).toBe('2026-12-31T16:00:00.000Z'); // 2027 Q1
  });

  it('starts a year at CST midnight of Jan 1st', () => {
    const y: UpdateCycle = { every: 'yearly', dueDay: 15 };
    expect(window(y, '2026-12-31T16:00:00.000Z')).toEqual({ start: '2026-12-31T16:00:00.000Z', dueAt: '2027-01-15T16:00:00.000Z' });
    expect(window(y, '2026-12-31T15:59:59.999Z').start).toBe('2025-12-31T16:00:00.000Z');
  });

  it('starts a week on Monday: a Sunday belongs to the week before, until CST midnight', () => {
    const w: UpdateCycle = { every: 'weekly', dueDay: 3 }; // by the end of Wednesday
    // 2026-11-29 is a Sunday; its last CST millisecond is in the week of Monday 2026-11-23
    expect(window(w, '2026-11-29T15:59:59.999Z')).toEqual({ start: '2026-11-22T16:00:00.000Z', dueAt: '2026-11-25T16:00:00.000Z' });
    // Sunday evening in UTC is Monday morning in CST: a new week
    expect(window(w, '2026-11-29T16:00:00.000Z')).toEqual({ start: '2026-11-29T16:00:00.000Z', dueAt: '2026-12-02T16:00:00.000Z' });
    // Monday 00:30 CST, which is still Sunday in UTC
    expect(window(w, '2026-11-22T16:30:00.000Z').start).toBe('2026-11-22T16:00:00.000Z');
    // dueDay 7: due by the end of Sunday, i.e. the next Monday's CST midnight
    expect(window({ every: 'weekly', dueDay: 7 }, '2026-11-25T00:00:00.000Z').dueAt).toBe('2026-11-29T16:00:00.000Z');
  });

  it('ignores dueDay for daily cycles (due by the end of each day)', () => {
    expect(window({ every: 'daily', dueDay: 1 }, '2026-11-23T12:00:00.000Z')).toEqual(
      window({ every: 'daily', dueDay: 7 }, '2026-11-23T12:00:00.000Z'),
    );
  });
});

function version(publishedAt: string, overrides: Partial<DatasetVersion> = {}): DatasetVersion {
  return {
    dataset: 'dibao', department: '341504.mzj', version: 7, kind: 'file', fileName: '叶集区低保名册-2026-11.csv',
    contentHash: 'ab'.repeat(32), archivedAs: '341504.mzj/dibao/archive/x.csv', restoredFrom: null, rows: 1234,
    added: 3, changed: 2, removed: 1, publishedAt: utc(publishedAt), actor: null, ...overrides,
  };
}

function drop(finishedAt: string, overrides: Partial<DropReport> = {}): DropReport {
  return {
    id: '20261123T031502Z-abababab', dataset: 'dibao', department: '341504.mzj', fileName: '叶集区低保名册-2026-11.xlsx',
    outcome: 'rejected', version: null, format: 'xlsx', encoding: null, contentHash: 'ab'.repeat(32), bytes: 100,
    rowsTotal: 0, rowsAccepted: 0, rowsRejected: 0, issues: [], reason: '文件缺少必填列', movedTo: null, reportFiles: [],
    receivedAt: utc(finishedAt), finishedAt: utc(finishedAt), actor: null, ...overrides,
  };
}

describe('freshness (dibao: monthly, due by the end of the 5th, CST)', () => {
  const NOV_START = '2026-10-31T16:00:00.000Z';
  const NOV_DUE = '2026-11-05T16:00:00.000Z';

  it('fills every field of a fresh status', () => {
    const head = version('2026-11-03T02:00:00.000Z');
    const last = drop('2026-11-04T01:00:00.000Z');
    expect(freshness(dibao, '341504.mzj', head, last, utc('2026-11-23T03:00:00.000Z'))).toEqual({
      dataset: 'dibao',
      department: '341504.mzj',
      title: '最低生活保障家庭名册',
      currentVersion: 7,
      rows: 1234,
      lastPublishedAt: utc('2026-11-03T02:00:00.000Z'),
      cycle: 'monthly',
      dueDay: 5,
      cycleStart: utc(NOV_START),
      dueAt: utc(NOV_DUE),
      state: 'fresh',
      overdue: false,
      lastDrop: { outcome: 'rejected', at: utc('2026-11-04T01:00:00.000Z'), fileName: '叶集区低保名册-2026-11.xlsx' },
    });
  });

  it('counts a version published at the exact cycle start as fresh, one a millisecond earlier as not', () => {
    const now = utc('2026-11-02T00:00:00.000Z');
    expect(freshness(dibao, '341504.mzj', version(NOV_START), null, now).state).toBe('fresh');
    expect(freshness(dibao, '341504.mzj', version('2026-10-31T15:59:59.999Z'), null, now).state).toBe('due');
  });

  it('is due until 23:59:59.999 CST of the due day and overdue from CST midnight after it', () => {
    const old = version('2026-10-04T00:00:00.000Z');
    const before = freshness(dibao, '341504.mzj', old, null, utc('2026-11-05T15:59:59.999Z'));
    expect([before.state, before.overdue]).toEqual(['due', false]);
    const after = freshness(dibao, '341504.mzj', old, null, utc(NOV_DUE));
    expect([after.state, after.overdue]).toEqual(['overdue', true]);
  });

  it('turns an overdue dataset fresh when the new version lands, then due again next cycle', () => {
    const late = version('2026-11-10T01:00:00.000Z');
    expect(freshness(dibao, '341504.mzj', late, null, utc('2026-11-10T01:00:00.001Z')).state).toBe('fresh');
    const december = freshness(dibao, '341504.mzj', late, null, utc('2026-11-30T16:00:00.000Z')); // Dec 1 CST
    expect([december.state, december.overdue, december.cycleStart]).toEqual(['due', false, utc('2026-11-30T16:00:00.000Z')]);
  });

  it('counts an unchanged drop this cycle as reported on time (fresh), a rejected one or last cycle’s not', () => {
    const old = version('2026-10-04T00:00:00.000Z');
    const now = utc('2026-11-20T00:00:00.000Z');
    expect(freshness(dibao, '341504.mzj', old, drop('2026-11-03T00:00:00.000Z', { outcome: 'unchanged', version: 7 }), now).state).toBe('fresh');
    expect(freshness(dibao, '341504.mzj', old, drop('2026-11-03T00:00:00.000Z', { outcome: 'rejected' }), now).state).toBe('overdue');
    expect(freshness(dibao, '341504.mzj', old, drop('2026-10-30T00:00:00.000Z', { outcome: 'unchanged', version: 7 }), now).state).toBe('overdue');
  });

  it('says never when nothing was published, overdue only from the due time', () => {
    const early = freshness(dibao, '341623.mzj', null, null, utc('2026-11-02T00:00:00.000Z'));
    expect(early).toMatchObject({ state: 'never', overdue: false, currentVersion: null, rows: 0, lastPublishedAt: null, lastDrop: null });
    const late = freshness(dibao, '341623.mzj', null, drop('2026-11-01T00:00:00.000Z'), utc(NOV_DUE));
    expect(late).toMatchObject({ state: 'never', overdue: true, department: '341623.mzj' });
    expect(late.lastDrop?.outcome).toBe('rejected');
  });

  it('says no-cycle, never overdue, when the dataset declares no cycle', () => {
    const status = freshness(withCycle(undefined), '341504.mzj', null, null, utc('2030-01-01T00:00:00.000Z'));
    expect(status).toMatchObject({ state: 'no-cycle', overdue: false, cycle: null, dueDay: null, cycleStart: null, dueAt: null });
  });

  it('reports no dueDay for a daily cycle and judges by the CST day', () => {
    const daily = withCycle({ every: 'daily', dueDay: 1 });
    const yesterday = version('2026-11-22T15:00:00.000Z'); // Nov 22 23:00 CST
    const status = freshness(daily, '341504.mzj', yesterday, null, utc('2026-11-22T16:30:00.000Z')); // Nov 23 00:30 CST
    expect(status).toMatchObject({ cycle: 'daily', dueDay: null, state: 'due', dueAt: utc('2026-11-23T16:00:00.000Z') });
  });

  it('counts a rollback published this cycle as the current version (fresh)', () => {
    const rollback = version('2026-11-06T00:00:00.000Z', { kind: 'rollback', restoredFrom: 5, fileName: null });
    expect(freshness(dibao, '341504.mzj', rollback, null, utc('2026-11-07T00:00:00.000Z')).state).toBe('fresh');
  });
});
