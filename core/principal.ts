/**
 * Who is calling: a person (`sub`) of a department (`dept`), with roles, through a client system
 * (`azp`). A department code is `<GB/T 2260 region code>.<short name>`, e.g. `341504.mzj`; its
 * level and jurisdiction follow from the region code.
 */
import { regionLevel, type RegionLevel } from './regions.ts';

export const ROLES = ['developer', 'data_owner', 'auditor', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface Department {
  readonly code: string;
  readonly regionCode: string;
  readonly shortName: string;
  readonly level: RegionLevel;
}

export interface Principal {
  /** `sub`: the person, as the identity provider names them. */
  readonly subject: string;
  readonly department: Department;
  readonly roles: readonly Role[];
  /** `azp`: the client system, when the token names one. */
  readonly client: string | null;
  /** Token expiry, seconds since the epoch. */
  readonly expiresAt: number;
}

const DEPARTMENT = /^(\d{6})\.([a-z][a-z0-9_-]{0,31})$/;

/** Parses `341504.mzj`; null when it is not a department code. */
export function parseDepartment(code: string): Department | null {
  const m = DEPARTMENT.exec(code);
  if (!m) return null;
  const regionCode = m[1]!;
  return Object.freeze({ code, regionCode, shortName: m[2]!, level: regionLevel(regionCode) });
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Time as an argument, never read from the system inside a decision. Milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
