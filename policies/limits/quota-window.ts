/**
 * Quotas' pure parts. The calendar window: one day in China Standard Time (UTC+8 all year, no daylight
 * saving), so a contract's daily records reset at midnight Beijing time whatever the server's
 * time zone. Pure.
 */
import { TongxiangError } from '../../core/index.ts';
import { limitKeyProblem } from './gcra.ts';
import type { QuotaRule, QuotaTake, QuotaWindow } from './types.ts';

const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;

/** The CST day containing `now` (epoch ms): `[startMs, endMs)`, id `YYYY-MM-DD`. */
export function quotaWindow(now: number): QuotaWindow {
  // Every request asks for the same day: the last window answered again while `now` is in it.
  if (lastWindow !== null && now >= lastWindow.startMs && now < lastWindow.endMs) return lastWindow;
  const localDayStart = Math.floor((now + CST_OFFSET_MS) / DAY_MS) * DAY_MS;
  const startMs = localDayStart - CST_OFFSET_MS;
  // The local midnight read as if it were UTC gives the CST date.
  const id = new Date(localDayStart).toISOString().slice(0, 10);
  lastWindow = Object.freeze({ id, startMs, endMs: startMs + DAY_MS });
  return lastWindow;
}

let lastWindow: QuotaWindow | null = null;

/** Throws CONFIG_INVALID unless the quota rule is usable: named, keyed, limit an integer ≥ 0. */
export function validateQuotaRule(rule: QuotaRule): void {
  const problem =
    typeof rule !== 'object' || rule === null
      ? 'not an object'
      : typeof rule.name !== 'string' || rule.name === ''
        ? 'name must be a non-empty string'
        : (limitKeyProblem(rule.key) ??
          (!Number.isSafeInteger(rule.limit) || rule.limit < 0 ? 'limit must be an integer ≥ 0' : null));
  if (problem !== null) throw new TongxiangError('CONFIG_INVALID', { reason: `quota rule ${JSON.stringify(rule?.key ?? null)}: ${problem}` });
}

/** Throws BAD_USER_INPUT unless `wanted` is a whole number of units ≥ 0. */
export function checkWanted(wanted: number): void {
  if (!Number.isSafeInteger(wanted) || wanted < 0) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `quota take must be an integer ≥ 0 (got ${String(wanted)})` });
  }
}

/** What a take grants: what is left of the window, at most `wanted`, never negative. */
export function quotaGrant(used: number, wanted: number, limit: number): number {
  return Math.min(wanted, Math.max(0, limit - used));
}

export function quotaTakeOf(rule: QuotaRule, window: QuotaWindow, granted: number, used: number): QuotaTake {
  return Object.freeze({ rule, window, granted, used, remaining: Math.max(0, rule.limit - used) });
}
