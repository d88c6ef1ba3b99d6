/**
 * The IETF rate-limit header fields (draft-ietf-httpapi-ratelimit-headers): every response of a
 * limited request says which policies applied and what is left of each.
 *
 *   RateLimit-Policy: "department";q=6000;w=60, "contract-rpm";q=100;w=60
 *   RateLimit: "department";r=5998;t=1, "contract-rpm";r=97;t=2
 *
 * q: quota (units per window), w: window in seconds, r: remaining units, t: seconds until the
 * quota is whole again. Refusals add `Retry-After` (seconds). Pure.
 */
import type { QuotaTake, RateDecision } from '../../policies/limits/index.ts';

export interface LimitHeaderItem {
  readonly name: string;
  readonly quota: number;
  readonly windowS: number;
  readonly remaining: number;
  readonly resetS: number;
}

export function itemOfRate(d: RateDecision): LimitHeaderItem {
  return {
    name: d.rule.name,
    quota: d.rule.limit,
    windowS: Math.max(1, Math.round(d.rule.periodMs / 1000)),
    remaining: Math.max(0, Math.floor(d.remaining)),
    resetS: Math.max(0, Math.ceil(d.resetMs / 1000)),
  };
}

export function itemOfQuota(t: QuotaTake, now: number): LimitHeaderItem {
  return {
    name: t.rule.name,
    quota: t.rule.limit,
    windowS: Math.round((t.window.endMs - t.window.startMs) / 1000),
    remaining: Math.max(0, t.remaining),
    resetS: Math.max(0, Math.ceil((t.window.endMs - now) / 1000)),
  };
}

/** Policy names are sf-strings: quotes and backslashes escaped, nothing outside printable ASCII. */
function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function rateLimitHeaders(items: readonly LimitHeaderItem[]): Record<string, string> {
  if (items.length === 0) return {};
  return {
    'ratelimit-policy': items.map((i) => `${sfString(i.name)};q=${i.quota};w=${i.windowS}`).join(', '),
    ratelimit: items.map((i) => `${sfString(i.name)};r=${i.remaining};t=${i.resetS}`).join(', '),
  };
}

/** Seconds for Retry-After: whole, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 86_400;
}
