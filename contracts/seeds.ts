/**
 * Demo seed (演示数据): contracts described in YAML (`seeds/demo-contracts.yml`), each with a story
 * replayed through the service at the times it gives, so the demo's contracts have real histories.
 * Idempotent: an entry whose consumer already has a contract with the same provider and purpose
 * (any state) is left alone.
 */
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseDepartment, TongxiangError, type Principal, type Role } from '../core/index.ts';
import type { Contract, FieldGrant, GrantMode, Quotas, RowScope } from './model.ts';
import type { ContractService } from './service.ts';

export const DEMO_CONTRACTS_PATH = fileURLToPath(new URL('./seeds/demo-contracts.yml', import.meta.url));

const STEPS = ['request', 'approve', 'reject', 'suspend', 'resume', 'revoke', 'withdraw', 'expire'] as const;
type StepName = (typeof STEPS)[number];

interface SeedStep {
  readonly at: number;
  readonly do: StepName;
  readonly reason: string | undefined;
  readonly narrow: readonly FieldGrant[] | undefined;
}

interface SeedContract {
  readonly consumer: string;
  readonly provider: string;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly scope: RowScope;
  readonly validFrom: number | undefined;
  readonly validUntil: number;
  readonly quotas: Partial<Quotas> | undefined;
  readonly fields: readonly FieldGrant[];
  readonly story: readonly SeedStep[];
}

export interface SeedResult {
  /** Contracts this call created, in file order. */
  readonly created: readonly Contract[];
  /** Entries already present, as found. */
  readonly present: readonly Contract[];
}

const UNITS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** `-30d`, `+2h`, `0` relative to `now`, or an ISO 8601 instant; NaN when neither. */
function parseTime(value: unknown, now: number): number {
  if (value === 0 || value === '0' || value === 'now') return now;
  if (typeof value !== 'string') return Number.NaN;
  const m = /^([+-])(\d+)([dhm])$/.exec(value);
  if (m) return now + (m[1] === '-' ? -1 : 1) * Number(m[2]) * UNITS[m[3]!]!;
  return /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
}

function parseFields(value: unknown, where: string, problems: string[]): FieldGrant[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where}: a mapping of coordinate → clear | masked`);
    return [];
  }
  return Object.entries(value as Record<string, unknown>).map(([coordinate, mode]) => {
    if (mode !== 'clear' && mode !== 'masked') problems.push(`${where}.${coordinate}: clear or masked`);
    return { coordinate, mode: mode as GrantMode };
  });
}

function parseScope(value: unknown, where: string, problems: string[]): RowScope {
  if (value === undefined || value === 'jurisdiction') return { kind: 'jurisdiction' };
  if (value === 'all') return { kind: 'all' };
  const regions = (value as { regions?: unknown } | null)?.regions;
  if (Array.isArray(regions)) return { kind: 'regions', regionCodes: regions.map(String) };
  problems.push(`${where}: jurisdiction, all, or { regions: [...] }`);
  return { kind: 'jurisdiction' };
}

function text(value: unknown, where: string, problems: string[]): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  problems.push(`${where}: text required`);
  return '';
}

/** Parses the seed file; every problem is listed (CONFIG_INVALID). */
export function parseSeedContracts(source: string, now: number): SeedContract[] {
  let doc: unknown;
  try {
    doc = parse(source);
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `seed contracts: not valid YAML (${(error as Error).name})` });
  }
  const list = (doc as { contracts?: unknown } | null)?.contracts;
  if (!Array.isArray(list)) throw new TongxiangError('CONFIG_INVALID', { reason: 'seed contracts: a top-level `contracts:` list is required' });
  const problems: string[] = [];
  const seeds = list.map((raw: Record<string, unknown>, i): SeedContract => {
    const where = `contracts[${i}]`;
    const dept = (key: 'consumer' | 'provider'): string => {
      const code = raw?.[key];
      if (typeof code !== 'string' || parseDepartment(code) === null) problems.push(`${where}.${key}: a department code`);
      return String(code);
    };
    const time = (key: string, value: unknown): number => {
      const t = parseTime(value, now);
      if (Number.isNaN(t)) problems.push(`${where}.${key}: -30d, +1h, 0 or an ISO 8601 instant`);
      return t;
    };
    const story = Array.isArray(raw?.story) ? (raw.story as Record<string, unknown>[]) : [];
    if (story.length === 0 || story[0]?.do !== 'request') problems.push(`${where}.story: a list starting with a request`);
    return {
      consumer: dept('consumer'),
      provider: dept('provider'),
      purpose: text(raw?.purpose, `${where}.purpose`, problems),
      legalBasis: text(raw?.legalBasis, `${where}.legalBasis`, problems),
      scope: parseScope(raw?.scope, `${where}.scope`, problems),
      validFrom: raw?.validFrom === undefined ? undefined : time('validFrom', raw.validFrom),
      validUntil: time('validUntil', raw?.validUntil),
      quotas: raw?.quotas as Partial<Quotas> | undefined,
      fields: parseFields(raw?.fields, `${where}.fields`, problems),
      story: story.map((s, j) => {
        if (!STEPS.includes(s?.do as StepName)) problems.push(`${where}.story[${j}].do: one of ${STEPS.join(', ')}`);
        return {
          at: time(`story[${j}].at`, s?.at),
          do: s?.do as StepName,
          reason: typeof s?.reason === 'string' ? s.reason : undefined,
          narrow: s?.narrow === undefined ? undefined : parseFields(s.narrow, `${where}.story[${j}].narrow`, problems),
        };
      }),
    };
  });
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `seed contracts: ${problems.join('; ')}` });
  return seeds;
}

function demoPerson(department: string, role: Role, now: number): Principal {
  return Object.freeze({
    subject: `demo:${department}:${role}`,
    department: parseDepartment(department)!,
    roles: Object.freeze([role]),
    client: 'tongxiang-seed',
    expiresAt: Math.floor(now / 1000) + 3600,
  });
}

/**
 * Creates the contracts `source` (YAML) describes that are not there yet, replaying each story at
 * its times relative to `now`. Errors from the service (an entry the catalogue refuses, say) are
 * thrown as they come.
 */
export async function loadSeedContracts(service: ContractService, source: string, now: number): Promise<SeedResult> {
  const seeds = parseSeedContracts(source, now);
  const created: Contract[] = [];
  const present: Contract[] = [];
  for (const seed of seeds) {
    const consumer = demoPerson(seed.consumer, 'developer', now);
    const owner = demoPerson(seed.provider, 'data_owner', now);
    const mine = await service.myContracts(consumer);
    const found = mine.find((c) => c.consumer === seed.consumer && c.provider === seed.provider && c.purpose === seed.purpose.trim());
    if (found) {
      present.push(found);
      continue;
    }
    let contract: Contract | undefined;
    for (const step of seed.story) {
      const at = service.withClock({ now: () => step.at });
      if (step.do === 'request') {
        contract = await at.request(consumer, {
          provider: seed.provider,
          fields: seed.fields,
          purpose: seed.purpose,
          legalBasis: seed.legalBasis,
          scope: seed.scope,
          validFrom: seed.validFrom === undefined ? undefined : new Date(seed.validFrom).toISOString(),
          validUntil: new Date(seed.validUntil).toISOString(),
          quotas: seed.quotas,
        });
        continue;
      }
      const id = contract!.id;
      switch (step.do) {
        case 'approve':
          contract = await at.approve(owner, id, { narrow: step.narrow, reason: step.reason });
          break;
        case 'reject':
          contract = await at.reject(owner, id, step.reason ?? '');
          break;
        case 'suspend':
          contract = await at.suspend(owner, id, step.reason);
          break;
        case 'resume':
          contract = await at.resume(owner, id, step.reason);
          break;
        case 'revoke':
          contract = await at.revoke(owner, id, step.reason ?? '');
          break;
        case 'withdraw':
          contract = await at.withdraw(consumer, id, step.reason);
          break;
        case 'expire':
          await at.expireDue(step.at);
          contract = await at.get(consumer, id);
          break;
      }
    }
    created.push(contract!);
  }
  return { created, present };
}
