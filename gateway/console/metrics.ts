/**
 * Pure sums over audit records for the console: a contract's use per day, each source's calls,
 * errors and median latency, each department's calls and rows. Time comes in as an argument;
 * days are calendar days in China Standard Time (UTC+8, no daylight saving), as the contracts'
 * daily quotas count them.
 */
import type { AccessRecord, AuditRecord } from '../../audit/types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const CST_OFFSET_MS = 8 * HOUR_MS;

/** `YYYY-MM-DD` of the instant in China Standard Time. */
export function cstDay(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant (ms) the CST calendar day holding `ms` began. */
export function cstDayStart(ms: number): number {
  return Math.floor((ms + CST_OFFSET_MS) / DAY_MS) * DAY_MS - CST_OFFSET_MS;
}

/** Refused before it ran, by policy or by a limit. */
export function isRefused(record: AccessRecord): boolean {
  return record.outcome === 'refused' || record.outcome === 'rate-limited';
}

export function isAccess(record: AuditRecord): record is AccessRecord {
  return record.type === 'access';
}

export interface UsageDay {
  readonly day: string;
  readonly requests: number;
  readonly rows: number;
  readonly refused: number;
}

/** The first instant counted by `usageByDay(…, days, now)`: midnight CST, `days - 1` days before today. */
export function usageWindowStart(days: number, now: number): number {
  return cstDayStart(now) - (days - 1) * DAY_MS;
}

/**
 * One entry per CST day of the last `days` days (today included), oldest first, zero days too:
 * the access records that used `contractId`, their rows, and those refused.
 */
export function usageByDay(records: Iterable<AuditRecord>, contractId: string, days: number, now: number): UsageDay[] {
  const start = usageWindowStart(days, now);
  const out = Array.from({ length: days }, (_, i) => ({ day: cstDay(start + i * DAY_MS + HOUR_MS), requests: 0, rows: 0, refused: 0 }));
  const index = new Map(out.map((d, i) => [d.day, i]));
  for (const record of records) {
    if (!isAccess(record) || !record.contractIds.includes(contractId)) continue;
    const at = Date.parse(record.time);
    if (!(at >= start) || at > now) continue;
    const slot = out[index.get(cstDay(at)) ?? -1];
    if (!slot) continue;
    slot.requests += 1;
    slot.rows += record.rows;
    if (isRefused(record)) slot.refused += 1;
  }
  return out;
}

export interface SourceCallStats {
  readonly calls: number;
  readonly errors: number;
  /** Median latency of the calls (nearest rank), null without calls. */
  readonly p50LatencyMs: number | null;
}

/** Per source name: calls noted in access records at or after `since`, those not `ok`, the median latency. */
export function sourceCallStats(records: Iterable<AuditRecord>, since: number): Map<string, SourceCallStats> {
  const latencies = new Map<string, number[]>();
  const errors = new Map<string, number>();
  for (const record of records) {
    if (!isAccess(record) || !(Date.parse(record.time) >= since)) continue;
    for (const call of record.sources) {
      let list = latencies.get(call.source);
      if (!list) latencies.set(call.source, (list = []));
      list.push(call.latencyMs);
      if (call.status !== 'ok') errors.set(call.source, (errors.get(call.source) ?? 0) + 1);
    }
  }
  const out = new Map<string, SourceCallStats>();
  for (const [source, list] of latencies) {
    list.sort((a, b) => a - b);
    out.set(source, { calls: list.length, errors: errors.get(source) ?? 0, p50LatencyMs: list[Math.ceil(list.length / 2) - 1] ?? null });
  }
  return out;
}

export interface DepartmentActivity {
  /** Requests the department made. */
  calls: number;
  /** Of those, refused (policy or limits). */
  refused: number;
  /** Rows the department's requests got. */
  rowsReceived: number;
  /** Rows of requests that touched the department's data, each request's rows counted in full for every provider it touched. */
  rowsServed: number;
}

/** Per department: its own requests at or after `since`, and the rows of requests touching its data. */
export function departmentActivity(records: Iterable<AuditRecord>, since: number): Map<string, DepartmentActivity> {
  const out = new Map<string, DepartmentActivity>();
  const of = (code: string) => {
    let a = out.get(code);
    if (!a) out.set(code, (a = { calls: 0, refused: 0, rowsReceived: 0, rowsServed: 0 }));
    return a;
  };
  for (const record of records) {
    if (!isAccess(record) || !(Date.parse(record.time) >= since)) continue;
    if (record.department !== null) {
      const a = of(record.department);
      a.calls += 1;
      if (isRefused(record)) a.refused += 1;
      a.rowsReceived += record.rows;
    }
    for (const provider of new Set(record.providers)) of(provider).rowsServed += record.rows;
  }
  return out;
}
