/**
 * The console's sums over audit records, with time given: China Standard Time days, medians,
 * rows served counted in full for every provider a request touched.
 */
import { describe, expect, it } from 'vitest';
import type { AccessRecord, AuditRecord } from '../../../audit/types.ts';
import { cstDay, departmentActivity, sourceCallStats, usageByDay } from '../metrics.ts';

let seq = 0;
function access(time: string, extra: Partial<AccessRecord> = {}): AccessRecord {
  return {
    type: 'access',
    instance: 'hub-test',
    seq: ++seq,
    time,
    requestId: `r-${seq}`,
    department: '341504.mzj',
    user: 'dev',
    client: null,
    operationName: null,
    operationHash: null,
    coordinates: [],
    contractIds: [],
    purposes: [],
    providers: [],
    sources: [],
    subjects: [],
    rows: 0,
    rowsWithheld: 0,
    outcome: 'ok',
    httpStatus: 200,
    errorCodes: [],
    reason: null,
    durationMs: 1,
    ...extra,
  };
}

const admin: AuditRecord = { type: 'admin', instance: 'hub-test', seq: 0, time: '2026-11-23T01:00:00.000Z', action: 'hub-start', actor: { department: null, user: 'system' }, details: {} };

describe('days', () => {
  it('are calendar days in China Standard Time', () => {
    expect(cstDay(Date.parse('2026-11-22T15:59:59.999Z'))).toBe('2026-11-22');
    expect(cstDay(Date.parse('2026-11-22T16:00:00.000Z'))).toBe('2026-11-23');
  });
});

describe('usageByDay', () => {
  const now = Date.parse('2026-11-23T03:00:00Z'); // 11:00 in Beijing
  const c = 'GX-2026-000001';
  const records: AuditRecord[] = [
    admin,
    access('2026-11-21T15:59:00Z', { contractIds: [c], rows: 100 }), // 2026-11-21 CST: outside a 2-day window
    access('2026-11-21T16:30:00Z', { contractIds: [c], rows: 2 }), // 2026-11-22 00:30 CST
    access('2026-11-22T16:30:00Z', { contractIds: [c], rows: 3 }), // 2026-11-23 00:30 CST
    access('2026-11-23T01:00:00Z', { contractIds: [c, 'GX-2026-000002'], rows: 4, outcome: 'rate-limited' }),
    access('2026-11-23T02:00:00Z', { contractIds: [c], rows: 0, outcome: 'refused' }),
    access('2026-11-23T02:30:00Z', { contractIds: ['GX-2026-000002'], rows: 50 }),
  ];

  it('gives one entry per day, oldest first, with requests, rows and refusals of the contract only', () => {
    expect(usageByDay(records, c, 2, now)).toEqual([
      { day: '2026-11-22', requests: 1, rows: 2, refused: 0 },
      { day: '2026-11-23', requests: 3, rows: 7, refused: 2 },
    ]);
  });

  it('includes days without use', () => {
    const days = usageByDay(records, c, 5, now);
    expect(days.map((d) => d.day)).toEqual(['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']);
    expect(days.map((d) => d.requests)).toEqual([0, 0, 1, 1, 3]);
  });
});

describe('sourceCallStats', () => {
  it('counts calls and failures since the given time, with the median latency', () => {
    const since = Date.parse('2026-11-23T00:00:00Z');
    const stats = sourceCallStats(
      [
        access('2026-11-22T23:00:00Z', { sources: [{ source: 'MarketRegistry', status: 'ok', latencyMs: 999 }] }),
        access('2026-11-23T01:00:00Z', { sources: [{ source: 'MarketRegistry', status: 'ok', latencyMs: 30 }, { source: 'SocialInsurance', status: 'UPSTREAM_UNAVAILABLE', latencyMs: 5000 }] }),
        access('2026-11-23T01:01:00Z', { sources: [{ source: 'MarketRegistry', status: 'UPSTREAM_INVALID', latencyMs: 10 }] }),
        access('2026-11-23T01:02:00Z', { sources: [{ source: 'MarketRegistry', status: 'ok', latencyMs: 20 }] }),
      ],
      since,
    );
    expect(stats.get('MarketRegistry')).toEqual({ calls: 3, errors: 1, p50LatencyMs: 20 });
    expect(stats.get('SocialInsurance')).toEqual({ calls: 1, errors: 1, p50LatencyMs: 5000 });
    expect(stats.has('CivilAffairsRosters')).toBe(false);
  });
});

describe('departmentActivity', () => {
  it('credits a request’s rows in full to every provider it touched, and its caller with what it got', () => {
    const activity = departmentActivity(
      [
        admin,
        access('2026-11-23T01:00:00Z', { department: '341504.mzj', providers: ['341500.rsj', '340000.scjgj', '341500.rsj'], rows: 6 }),
        access('2026-11-23T01:01:00Z', { department: '341623.mzj', providers: ['341500.rsj'], rows: 2, outcome: 'refused' }),
        access('2026-11-23T01:02:00Z', { department: null, outcome: 'unauthenticated' }),
      ],
      0,
    );
    expect(activity.get('341504.mzj')).toEqual({ calls: 1, refused: 0, rowsReceived: 6, rowsServed: 0 });
    expect(activity.get('341623.mzj')).toEqual({ calls: 1, refused: 1, rowsReceived: 2, rowsServed: 0 });
    expect(activity.get('341500.rsj')).toEqual({ calls: 0, refused: 0, rowsReceived: 0, rowsServed: 8 });
    expect(activity.get('340000.scjgj')!.rowsServed).toBe(6);
  });
});
