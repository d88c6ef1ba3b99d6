/**
 * The limits' settings (限流配置), read by gateway/config.ts from the environment and the YAML
 * file (`limits:`), validated once. Per-department operation limits and per-source ceilings are
 * YAML only (they are maps).
 */
import type { OperationLimits } from '../../policies/limits/index.ts';
import { DEFAULT_OPERATION_LIMITS, validateOperationLimits } from '../../policies/limits/index.ts';
import { isTongxiangError } from '../../core/index.ts';

/** The limits a request can meet, by the name used in headers, errors and the audit. */
export const LIMIT_NAMES = ['contract-rpm', 'contract-records', 'department', 'source', 'anonymous'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface LimitSettings {
  /** Redis for limits shared by every replica (REDIS_URL); null: the in-process limiter. Holds a password: never log it. */
  readonly redisUrl: string | null;
  /** Prefix of every key the limits keep in Redis (TONGXIANG_LIMIT_REDIS_PREFIX): several hubs, one Redis. */
  readonly redisKeyPrefix: string;
  /** How long a Redis call may take before the limit counts as unavailable (TONGXIANG_LIMIT_REDIS_TIMEOUT_MS). */
  readonly redisTimeoutMs: number;
  /** A consumer department's requests per window across all its contracts; null: no ceiling. */
  readonly departmentLimit: number | null;
  /** The department ceiling's window in seconds (default 60: requests per minute). */
  readonly departmentWindowS: number;
  /** Requests per minute from one client address without valid credentials. */
  readonly anonymousPerMinute: number;
  /** Calls per second to each upstream source (protecting the owner's system); null: none. */
  readonly sourcePerSecond: number | null;
  /** Per-source overrides of `sourcePerSecond`, by Mesh source name. */
  readonly sources: Readonly<Record<string, number>>;
  /** When the limit store cannot answer: true lets the request through, false refuses it (503). */
  readonly failOpen: Readonly<Record<LimitName, boolean>>;
  readonly operation: OperationLimits;
  /** Operation limits per consumer department code, over `operation`. */
  readonly operationByDepartment: Readonly<Record<string, OperationLimits>>;
}

export interface LimitFileSettings {
  readonly departmentLimit?: unknown;
  readonly departmentWindowS?: unknown;
  readonly anonymousPerMinute?: unknown;
  readonly sourcePerSecond?: unknown;
  readonly sources?: unknown;
  readonly failOpen?: unknown;
  readonly operation?: unknown;
  readonly operationByDepartment?: unknown;
}

export type LimitOverrides = Partial<Omit<LimitSettings, 'operation' | 'operationByDepartment'>> & {
  readonly operation?: Partial<OperationLimits>;
  readonly operationByDepartment?: Readonly<Record<string, Partial<OperationLimits>>>;
};

/** Contract quotas fail closed (an owner's grant is exact); the protective ceilings fail open. */
export const DEFAULT_FAIL_OPEN: Readonly<Record<LimitName, boolean>> = Object.freeze({
  'contract-rpm': false,
  'contract-records': false,
  department: true,
  source: true,
  anonymous: true,
});

function limitOrOff(name: string, raw: unknown, fallback: number | null, problems: string[]): number | null {
  if (raw === undefined) return fallback;
  if (raw === null || raw === 'off' || raw === 'none' || raw === '' || raw === 0 || raw === '0') return null;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000_000) {
    problems.push(`${name} must be a positive integer or "off" (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return n;
}

/** A setting that must stay on: a positive integer. */
function positive(name: string, raw: unknown, fallback: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000_000) {
    problems.push(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return n;
}

function operationLimits(where: string, raw: unknown, base: OperationLimits, problems: string[]): OperationLimits {
  if (raw === undefined || raw === null) return base;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where} must be a mapping of maxDepth, maxAliases, maxRootFields, maxTokens, maxCost, defaultListSize`);
    return base;
  }
  try {
    return validateOperationLimits({ ...base, ...(raw as Partial<OperationLimits>) });
  } catch (error) {
    problems.push(`${where}: ${isTongxiangError(error) ? String(error.fields.reason ?? error.code) : String(error)}`);
    return base;
  }
}

export function readLimitSettings(
  env: Readonly<Record<string, string | undefined>>,
  file: LimitFileSettings | undefined,
  overrides: LimitOverrides | undefined,
  problems: string[],
): LimitSettings {
  const f = file ?? {};
  const o = overrides ?? {};
  const redisRaw = o.redisUrl ?? env.REDIS_URL ?? null;
  const redisUrl = redisRaw === null || redisRaw === '' ? null : String(redisRaw);
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  const redisKeyPrefix = String(o.redisKeyPrefix ?? env.TONGXIANG_LIMIT_REDIS_PREFIX ?? 'tongxiang:limit:');
  const redisTimeoutMs = positive('TONGXIANG_LIMIT_REDIS_TIMEOUT_MS', o.redisTimeoutMs ?? env.TONGXIANG_LIMIT_REDIS_TIMEOUT_MS, 1000, problems);
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(redisKeyPrefix)) problems.push('TONGXIANG_LIMIT_REDIS_PREFIX must be 1–64 letters, digits, colons, dots, dashes or underscores');

  const departmentLimit = limitOrOff('TONGXIANG_LIMIT_DEPARTMENT', o.departmentLimit ?? env.TONGXIANG_LIMIT_DEPARTMENT ?? f.departmentLimit, 6000, problems);
  const departmentWindowS = positive('TONGXIANG_LIMIT_DEPARTMENT_WINDOW_S', o.departmentWindowS ?? env.TONGXIANG_LIMIT_DEPARTMENT_WINDOW_S ?? f.departmentWindowS, 60, problems);
  const anonymousPerMinute = positive('TONGXIANG_LIMIT_ANONYMOUS_RPM', o.anonymousPerMinute ?? env.TONGXIANG_LIMIT_ANONYMOUS_RPM ?? f.anonymousPerMinute, 60, problems);
  const sourcePerSecond = limitOrOff('TONGXIANG_LIMIT_SOURCE_RPS', o.sourcePerSecond ?? env.TONGXIANG_LIMIT_SOURCE_RPS ?? f.sourcePerSecond, 1000, problems);

  const sources: Record<string, number> = {};
  const rawSources = o.sources ?? f.sources ?? {};
  if (typeof rawSources !== 'object' || rawSources === null || Array.isArray(rawSources)) problems.push('limits.sources must map source names to calls per second');
  else {
    for (const [name, value] of Object.entries(rawSources)) {
      const n = limitOrOff(`limits.sources.${name}`, value, null, problems);
      if (n !== null) sources[name] = n;
    }
  }

  const failOpen: Record<LimitName, boolean> = { ...DEFAULT_FAIL_OPEN };
  const rawFail = o.failOpen ?? env.TONGXIANG_LIMIT_FAIL_OPEN ?? f.failOpen;
  if (rawFail !== undefined) {
    // A list of the limits that fail open; every other one fails closed.
    const names = typeof rawFail === 'string' ? rawFail.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(rawFail) ? rawFail.map(String) : null;
    if (typeof rawFail === 'object' && !Array.isArray(rawFail) && rawFail !== null) {
      for (const [name, value] of Object.entries(rawFail)) {
        if (!(LIMIT_NAMES as readonly string[]).includes(name)) problems.push(`limits.failOpen: unknown limit ${name} (known: ${LIMIT_NAMES.join(', ')})`);
        else failOpen[name as LimitName] = value === true;
      }
    } else if (names === null) {
      problems.push('TONGXIANG_LIMIT_FAIL_OPEN must list limits that fail open, comma-separated');
    } else {
      for (const n of LIMIT_NAMES) failOpen[n] = false;
      for (const name of names) {
        if (name === 'none') continue;
        if (!(LIMIT_NAMES as readonly string[]).includes(name)) problems.push(`TONGXIANG_LIMIT_FAIL_OPEN: unknown limit ${name} (known: ${LIMIT_NAMES.join(', ')}, none)`);
        else failOpen[name as LimitName] = true;
      }
    }
  }

  const operation = operationLimits('limits.operation', { ...(f.operation as object | undefined), ...o.operation }, DEFAULT_OPERATION_LIMITS, problems);
  const byDepartment: Record<string, OperationLimits> = {};
  const rawBy = { ...(f.operationByDepartment as Record<string, unknown> | undefined), ...o.operationByDepartment };
  for (const [code, raw] of Object.entries(rawBy)) byDepartment[code] = operationLimits(`limits.operationByDepartment.${code}`, raw, operation, problems);

  return Object.freeze({
    redisUrl,
    redisKeyPrefix,
    redisTimeoutMs,
    departmentLimit,
    departmentWindowS,
    anonymousPerMinute,
    sourcePerSecond,
    sources: Object.freeze(sources),
    failOpen: Object.freeze(failOpen),
    operation,
    operationByDepartment: Object.freeze(byDepartment),
  });
}
