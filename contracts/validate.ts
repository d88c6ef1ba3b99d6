/**
 * Validation of a contract request (共享协议申请) against the data catalogue — pure: the catalogue
 * comes in as a lookup function and time as an argument. Every problem is listed, not just the
 * first, so a department fixes its request in one round.
 */
import { parseDepartment, REGIONS, TongxiangError } from '../core/index.ts';
import type { FieldGrant, GrantMode, Quotas, RowScope } from './model.ts';

/** 共享类型 of a catalogue entry, from the national rules (无条件 / 有条件 / 不予共享). */
export type SharingType = 'unconditional' | 'conditional' | 'not-shared';

export interface CatalogueEntry {
  /** Department code of the one authoritative owner (一数一源). */
  readonly owner: string;
  /**
   * Other departments owning the same field for their own rows (e.g. each county 民政局 owns the
   * roster rows of its county). A contract with any of them may name the field.
   */
  readonly coOwners?: readonly string[];
  readonly sharing: SharingType;
}

/** The catalogue as contracts/ sees it: a coordinate's owner and sharing type, or undefined. */
export type CatalogueLookup = (coordinate: string) => CatalogueEntry | undefined;

/** A request as a consumer department sends it (GraphQL input, CLI, seed file). */
export interface ContractRequest {
  /** Department code of the owner; inferred from the fields when left out. */
  readonly provider?: string | undefined;
  readonly fields: readonly FieldGrant[];
  readonly purpose: string;
  readonly legalBasis: string;
  /** Default: the consumer's jurisdiction. */
  readonly scope?: RowScope | undefined;
  /** ISO 8601 instant, or a date alone (midnight China Standard Time). Default: now. */
  readonly validFrom?: string | undefined;
  readonly validUntil: string;
  readonly quotas?: Partial<Quotas> | undefined;
}

/** A request that passed: text trimmed, instants normalised to UTC ISO strings, defaults filled. */
export interface ValidContractRequest {
  readonly consumer: string;
  readonly provider: string;
  readonly fields: readonly FieldGrant[];
  readonly purpose: string;
  readonly legalBasis: string;
  readonly scope: RowScope;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly quotas: Quotas;
}

export type ValidationResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly string[]; readonly error: TongxiangError };

export const LIMITS = Object.freeze({
  purposeLength: 500,
  legalBasisLength: 1000,
  reasonLength: 1000,
  fields: 200,
  regions: 100,
  validityYears: 3,
});

const COORDINATE = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const MODES: readonly GrantMode[] = ['clear', 'masked'];

/** Characters as people count them (code points), after trimming. */
function length(text: string): number {
  return [...text].length;
}

/** An ISO 8601 instant (or a date alone, as midnight +08:00) in milliseconds; NaN when not one. */
export function parseInstant(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  if (DATE_ONLY.test(value)) return Date.parse(`${value}T00:00:00+08:00`);
  return INSTANT.test(value) ? Date.parse(value) : Number.NaN;
}

function addYears(ms: number, years: number): number {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}

function checkText(name: string, value: unknown, max: number, problems: string[]): string {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${name}：不能为空 / ${name} is required`);
    return '';
  }
  const text = value.trim();
  if (length(text) > max) problems.push(`${name}：超过 ${max} 字 / ${name} is longer than ${max} characters`);
  return text;
}

/**
 * Problems with a set of field grants for one provider: shape, duplicates, catalogue membership,
 * sharing type, single owner. Also used when approving and renewing (the catalogue may have
 * changed since the request). When `provider` is undefined the single owner is inferred.
 */
export function checkFields(
  fields: unknown,
  provider: string | undefined,
  lookup: CatalogueLookup,
): { readonly problems: string[]; readonly provider: string | undefined } {
  const problems: string[] = [];
  if (!Array.isArray(fields) || fields.length === 0) {
    problems.push('fields：至少申请一个字段 / at least one field is required');
    return { problems, provider };
  }
  if (fields.length > LIMITS.fields) problems.push(`fields：最多 ${LIMITS.fields} 个字段 / at most ${LIMITS.fields} fields`);
  const seen = new Set<string>();
  const byOwner = new Map<string, string[]>();
  for (const [i, grant] of (fields as unknown[]).entries()) {
    const g = grant as Partial<FieldGrant> | null;
    const coordinate = typeof g?.coordinate === 'string' ? g.coordinate : undefined;
    if (coordinate === undefined || !COORDINATE.test(coordinate)) {
      problems.push(`fields[${i}]：不是模式坐标（如 Person.insurance）/ not a schema coordinate such as Person.insurance`);
      continue;
    }
    if (!MODES.includes(g!.mode as GrantMode)) {
      problems.push(`${coordinate}：方式须为 clear 或 masked / mode must be clear or masked`);
    }
    if (seen.has(coordinate)) {
      problems.push(`${coordinate}：重复申请 / listed more than once`);
      continue;
    }
    seen.add(coordinate);
    const entry = lookup(coordinate);
    if (entry === undefined) {
      problems.push(`${coordinate}：数据资源目录中没有该字段 / not in the catalogue`);
      continue;
    }
    if (entry.sharing === 'not-shared') {
      problems.push(`${coordinate}：不予共享，不能申请 / not shared (不予共享); it cannot be requested`);
      continue;
    }
    const owner = provider !== undefined && entry.coOwners?.includes(provider) ? provider : entry.owner;
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), coordinate]);
  }
  if (provider !== undefined) {
    for (const [owner, coordinates] of byOwner) {
      if (owner === provider) continue;
      problems.push(
        `${coordinates.join(', ')}：属于 ${owner}，不属于提供方 ${provider} / owned by ${owner}, not by the provider ${provider}`,
      );
    }
    return { problems, provider };
  }
  if (byOwner.size > 1) {
    const owners = [...byOwner].map(([owner, cs]) => `${owner} (${cs.join(', ')})`).join('; ');
    problems.push(`fields：字段分属多个部门，每个提供方单独申请 / fields of several owners, one contract per provider: ${owners}`);
    return { problems, provider: undefined };
  }
  return { problems, provider: [...byOwner.keys()][0] };
}

/** Problems with a row scope; region codes must be ones the hub knows (GB/T 2260). */
export function checkScope(scope: unknown): string[] {
  const s = scope as Partial<{ kind: string; regionCodes: unknown }> | null | undefined;
  if (s?.kind === 'jurisdiction' || s?.kind === 'all') return [];
  if (s?.kind !== 'regions') return ['scope：须为 jurisdiction、regions 或 all / kind must be jurisdiction, regions or all'];
  const codes = s.regionCodes;
  if (!Array.isArray(codes) || codes.length === 0) {
    return ['scope.regionCodes：至少列出一个行政区划代码 / list at least one region code'];
  }
  const problems: string[] = [];
  if (codes.length > LIMITS.regions) problems.push(`scope.regionCodes：最多 ${LIMITS.regions} 个 / at most ${LIMITS.regions} codes`);
  const seen = new Set<unknown>();
  for (const code of codes as unknown[]) {
    if (seen.has(code)) problems.push(`scope.regionCodes：${String(code)} 重复 / listed more than once`);
    seen.add(code);
    if (typeof code !== 'string' || !/^\d{6}$/.test(code)) {
      problems.push(`scope.regionCodes：${String(code)} 不是 6 位行政区划代码 / not a 6-digit region code`);
    } else if (!REGIONS.has(code)) {
      problems.push(`scope.regionCodes：${code} 不是平台已知的 GB/T 2260 代码 / not a GB/T 2260 code the hub knows`);
    }
  }
  return problems;
}

function checkQuota(name: keyof Quotas, value: unknown, problems: string[]): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    problems.push(`quotas.${name}：须为非负整数或不设限 / must be a non-negative integer or null`);
    return null;
  }
  return value;
}

/** Problems with a validity window; `until` must lie in the future and within 3 years of `from`. */
export function checkWindow(from: number, until: number, now: number, names = { from: 'validFrom', until: 'validUntil' }): string[] {
  const problems: string[] = [];
  if (Number.isNaN(from)) problems.push(`${names.from}：须为 ISO 8601 时间（如 2026-12-01T00:00:00+08:00）/ must be an ISO 8601 instant`);
  if (Number.isNaN(until)) problems.push(`${names.until}：须为 ISO 8601 时间（如 2027-11-30T23:59:59+08:00）/ must be an ISO 8601 instant`);
  if (problems.length > 0) return problems;
  if (from >= until) problems.push(`${names.until}：须晚于 ${names.from} / must be after ${names.from}`);
  else if (until > addYears(from, LIMITS.validityYears)) {
    problems.push(`${names.until}：有效期最长 ${LIMITS.validityYears} 年 / the window is at most ${LIMITS.validityYears} years`);
  }
  if (until <= now) problems.push(`${names.until}：已过去 / lies in the past`);
  return problems;
}

export function invalid(problems: readonly string[]): TongxiangError {
  return new TongxiangError('CONTRACT_INVALID', { reason: problems.join('；') });
}

/** Validates what `consumer` asks for; never throws. */
export function validateContractRequest(
  consumer: string,
  request: ContractRequest,
  options: { readonly lookup: CatalogueLookup; readonly now: number },
): ValidationResult<ValidContractRequest> {
  const problems: string[] = [];
  const r = (request ?? {}) as Partial<ContractRequest>;
  if (parseDepartment(consumer) === null) problems.push(`consumer：${consumer} 不是部门代码 / not a department code`);
  if (r.provider !== undefined && parseDepartment(r.provider) === null) {
    problems.push(`provider：${String(r.provider)} 不是部门代码（如 341500.rsj）/ not a department code such as 341500.rsj`);
  }
  const purpose = checkText('purpose', r.purpose, LIMITS.purposeLength, problems);
  const legalBasis = checkText('legalBasis', r.legalBasis, LIMITS.legalBasisLength, problems);
  const fields = checkFields(r.fields, r.provider, options.lookup);
  problems.push(...fields.problems);
  if (fields.provider !== undefined && fields.provider === consumer) {
    problems.push('provider：不能向本部门申请 / a department does not need a contract with itself');
  }
  const scope: RowScope = r.scope ?? { kind: 'jurisdiction' };
  problems.push(...checkScope(scope));
  const from = r.validFrom === undefined ? options.now : parseInstant(r.validFrom);
  const until = parseInstant(r.validUntil);
  problems.push(...checkWindow(from, until, options.now));
  const quotas: Quotas = {
    requestsPerMinute: checkQuota('requestsPerMinute', r.quotas?.requestsPerMinute, problems),
    recordsPerDay: checkQuota('recordsPerDay', r.quotas?.recordsPerDay, problems),
  };
  if (problems.length > 0 || fields.provider === undefined) {
    if (problems.length === 0) problems.push('provider：无法确定提供方 / the provider could not be determined');
    return { ok: false, problems, error: invalid(problems) };
  }
  return {
    ok: true,
    value: Object.freeze({
      consumer,
      provider: fields.provider,
      fields: Object.freeze((r.fields as FieldGrant[]).map((f) => Object.freeze({ coordinate: f.coordinate, mode: f.mode }))),
      purpose,
      legalBasis,
      scope: freezeScope(scope),
      validFrom: new Date(from).toISOString(),
      validUntil: new Date(until).toISOString(),
      quotas: Object.freeze(quotas),
    }),
  };
}

export function freezeScope(scope: RowScope): RowScope {
  return scope.kind === 'regions'
    ? Object.freeze({ kind: 'regions', regionCodes: Object.freeze([...scope.regionCodes]) })
    : Object.freeze({ kind: scope.kind });
}
