/**
 * Row decisions (行级/辖区控制), pure. A row — one object of a type whose catalogue entry names a
 * region field — is visible when every field the operation reads on it is allowed for that row:
 * unconditional fields always; the owner's own fields always (for a co-owned type, only on the
 * rows that owner owns); fields under contracts only when a grant's row scope covers the row's
 * region (and, for a co-owned type, the grant comes from the row's owner). Otherwise the row is
 * out of jurisdiction: left out of a list, `null` with OUT_OF_JURISDICTION on a direct lookup.
 *
 * Scope: `jurisdiction` is the consumer department's region and everything beneath it (a province
 * covers its cities and counties, a county only itself); `regions` the listed codes and beneath;
 * `all` every row, including rows whose region cannot be read.
 */
import type { RowScope } from '../contracts/index.ts';
import { isWithinRegion, parseDepartment, regionLevel, type Principal } from '../core/index.ts';
import type { Catalogue, RegionSource, TypeEntry } from './catalogue.ts';
import type { Decision } from './decide.ts';

/** True when a row of `rowRegion` lies within `scope` for a consumer in `consumerRegion`. */
export function rowInScope(scope: RowScope, consumerRegion: string, rowRegion: string | null): boolean {
  if (scope.kind === 'all') return true;
  if (rowRegion === null) return false;
  if (scope.kind === 'jurisdiction') return isWithinRegion(rowRegion, consumerRegion);
  return scope.regionCodes.some((code) => isWithinRegion(rowRegion, code));
}

/**
 * A row's region: `none` when its type has no region of its own and no ancestor row had one (the
 * row is not about a place: a page, a count); `unknown` when it should have one but the value
 * cannot be read (only `all` scopes cover it).
 */
export type RowRegion = { readonly kind: 'none' } | { readonly kind: 'known'; readonly code: string } | { readonly kind: 'unknown' };

export const NO_REGION: RowRegion = Object.freeze({ kind: 'none' });

/** A GB/T 2260 code from a field value, by the catalogue's `from`; null when it cannot be read. */
export function regionFromValue(from: RegionSource, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  let code: string | undefined;
  switch (from) {
    case 'regionCode':
      code = v;
      break;
    case 'idNumber':
      code = v.length === 18 || v.length === 15 ? v.slice(0, 6) : undefined;
      break;
    case 'creditCode':
      code = v.length === 18 ? v.slice(2, 8) : undefined;
      break;
    case 'department':
      code = parseDepartment(v)?.regionCode;
      break;
  }
  return code !== undefined && /^\d{6}$/.test(code) ? code : null;
}

/**
 * The region of a row of `typeName`, from its field values (keyed by field name, not alias); a
 * type without a region of its own inherits its parent row's.
 */
export function rowRegion(catalogue: Catalogue, typeName: string, values: Readonly<Record<string, unknown>>, parent: RowRegion = NO_REGION): RowRegion {
  const spec = catalogue.types.get(typeName)?.region;
  if (!spec) return parent;
  const code = regionFromValue(spec.from, values[spec.field]);
  return code === null ? { kind: 'unknown' } : { kind: 'known', code };
}

const SPECIFICITY = { county: 3, city: 2, province: 1 } as const;

/** Which of a co-owned type's owners owns this row; null when no owner or it cannot be told. */
export function rowOwner(type: TypeEntry, owners: readonly string[], values: Readonly<Record<string, unknown>>, region: RowRegion): string | null {
  const spec = type.rowOwner;
  if (spec === null) return null;
  if (spec.kind === 'field') {
    const value = values[spec.field];
    return typeof value === 'string' && owners.includes(value) ? value : null;
  }
  if (region.kind !== 'known') return null;
  const covering = owners
    .map((code) => ({ code, region: parseDepartment(code)?.regionCode }))
    .filter((o): o is { code: string; region: string } => o.region !== undefined && isWithinRegion(region.code, o.region))
    .sort((a, b) => SPECIFICITY[regionLevel(b.region)] - SPECIFICITY[regionLevel(a.region)]);
  return covering[0]?.code ?? null;
}

export type RowDecision =
  | {
      readonly kind: 'visible';
      /** For each field read on this row: the decision for this row (the contract it used). */
      readonly fields: ReadonlyMap<string, Decision>;
    }
  | {
      readonly kind: 'out-of-jurisdiction';
      readonly code: 'OUT_OF_JURISDICTION';
      readonly regionCode: string | null;
      /** The fields no grant covers on this row. */
      readonly coordinates: readonly string[];
    };

export interface RowInput {
  readonly principal: Principal;
  readonly catalogue: Catalogue;
  readonly typeName: string;
  /** The row's values by field name (region and row-owner fields included). */
  readonly values: Readonly<Record<string, unknown>>;
  /** The row's region, usually `rowRegion(...)` with the parent row's region. */
  readonly region: RowRegion;
  /** From `decideFieldAccess`: the coordinates of this type among them are the fields read. */
  readonly decisions: ReadonlyMap<string, Decision>;
}

/** Whether one row may be shown, and under which grant each of its fields is. */
export function decideRow(input: RowInput): RowDecision {
  const { principal, catalogue, typeName, values, region, decisions } = input;
  const type = catalogue.types.get(typeName);
  const me = principal.department.code;
  const regionCode = region.kind === 'known' ? region.code : null;
  const fields = new Map<string, Decision>();
  const uncovered: string[] = [];
  for (const [coordinate, decision] of decisions) {
    if (!coordinate.startsWith(`${typeName}.`)) continue;
    if (decision.kind === 'deny' || (decision.kind === 'allow' && decision.basis === 'unconditional')) {
      fields.set(coordinate, decision);
      continue;
    }
    const owners = catalogue.fields.get(coordinate)?.owners ?? [];
    const owner = type?.rowOwner ? rowOwner(type, owners, values, region) : null;
    if (decision.kind === 'allow' && decision.basis === 'owner' && (!type?.rowOwner || owner === me)) {
      fields.set(coordinate, decision);
      continue;
    }
    const rule = catalogue.fields.get(coordinate)?.mask ?? null;
    const grant = decision.grants.find(
      (g) =>
        (g.mode === 'clear' || rule !== null) &&
        (region.kind === 'none' || rowInScope(g.scope, principal.department.regionCode, regionCode)) &&
        (!type?.rowOwner || g.provider === owner),
    );
    if (!grant) {
      uncovered.push(coordinate);
      continue;
    }
    fields.set(
      coordinate,
      grant.mode === 'clear'
        ? { kind: 'allow', coordinate, basis: 'contract', contractId: grant.contractId, grants: decision.grants }
        : { kind: 'mask', coordinate, rule: rule!, contractId: grant.contractId, grants: decision.grants },
    );
  }
  if (uncovered.length > 0) return { kind: 'out-of-jurisdiction', code: 'OUT_OF_JURISDICTION', regionCode, coordinates: uncovered.sort() };
  return { kind: 'visible', fields };
}
