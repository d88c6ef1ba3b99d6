/**
 * Every field of the public schema with its resolver wrapped (only `resolve`: Mesh's stitching
 * keeps its `selectionSet`s and other field config). Before a field resolves, its decision for this
 * row is looked up: deny → FORBIDDEN_FIELD at its path and the inner resolver is never called;
 * mask → inner, then the catalogue's rule; allow → inner. A field returning objects decides each
 * returned row (jurisdiction): out-of-scope rows are left out of lists, and a single one becomes
 * null with OUT_OF_JURISDICTION. Conditional fields lose their outer non-null in the public
 * schema, so that a denial nulls the field itself, not its parent row or page.
 */
import {
  defaultFieldResolver,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isLeafType,
  isNonNullType,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import { graphQLError } from '../../core/index.ts';
import { decideRow, describeDenial, maskValue, NO_REGION, rowRegion, type Catalogue, type Decision } from '../../policies/index.ts';
import { rewriteInfo, rowFields, rowValue } from './selection.ts';
import { stateOf, useContract, type RequestState, type RowState } from './state.ts';

/** Scalars a masked value (always a string) may be returned as; any other leaf cannot be masked. */
const STRING_SCALARS: ReadonlySet<string> = new Set(['String', 'ID']);

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function then(value: unknown, fn: (v: unknown) => unknown): unknown {
  return isPromiseLike(value) ? Promise.resolve(value).then(fn) : fn(value);
}

export function forbidden(decision: Extract<Decision, { kind: 'deny' }>) {
  const words = describeDenial(decision);
  return graphQLError('FORBIDDEN_FIELD', {
    coordinate: decision.coordinate,
    reason: decision.reason,
    reasonZh: words.zh,
    reasonEn: words.en,
    owner: decision.owners.join(','),
    contractId: decision.contractId ?? undefined,
  });
}

function notDecided(coordinate: string): Extract<Decision, { kind: 'deny' }> {
  return { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate, reason: 'not-catalogued', owners: [], contractId: null, state: null };
}

/** The decision for `coordinate` on this parent row: the row's own when it was decided, else the operation's. */
function decisionFor(state: RequestState, parent: unknown, coordinate: string): Decision {
  const row = typeof parent === 'object' && parent !== null ? state.rows.get(parent) : undefined;
  return row?.fields?.get(coordinate) ?? state.decisions.get(coordinate) ?? notDecided(coordinate);
}

function concreteType(schema: GraphQLSchema, returned: GraphQLNamedType, row: Record<string, unknown>): string | null {
  if (!isAbstractType(returned)) return returned.name;
  const typename = row.__typename;
  if (typeof typename === 'string' && schema.getPossibleTypes(returned).some((t) => t.name === typename)) return typename;
  const possible = schema.getPossibleTypes(returned);
  return possible.length === 1 ? possible[0]!.name : null;
}

type Verdict =
  | {
      readonly visible: true;
      /** Contracts whose grants show this row's fields (what its records quota is taken from). */
      readonly contracts: readonly string[];
      /** Counted in `rowsShown` by this decision. */
      readonly counted: boolean;
    }
  | { readonly visible: false; readonly regionCode: string | null };

const PLAIN: Verdict = Object.freeze({ visible: true, contracts: Object.freeze([]), counted: false });

/** Decides one returned row and remembers, for its fields, the decisions that apply to it. */
function decideOne(schema: GraphQLSchema, catalogue: Catalogue, state: RequestState, returned: GraphQLNamedType, parent: unknown, row: unknown): Verdict {
  if (typeof row !== 'object' || row === null || row instanceof Error) return PLAIN;
  const values = row as Record<string, unknown>;
  const typeName = concreteType(schema, returned, values);
  if (typeName === null) {
    // An abstract type whose concrete type cannot be told: only when no possible type has anything to decide.
    const anyGoverned = isAbstractType(returned) && schema.getPossibleTypes(returned).some((t) => state.byType.has(t.name));
    return anyGoverned ? { visible: false, regionCode: null } : PLAIN;
  }
  const parentRow = typeof parent === 'object' && parent !== null ? state.rows.get(parent) : undefined;
  const parentRegion = parentRow?.region ?? NO_REGION;
  const names = rowFields(catalogue, typeName);
  // decideRow reads nothing of a row but these fields and the parent's region (see rowMemo).
  let key = `${typeName}\u0000${parentRegion.kind === 'known' ? parentRegion.code : parentRegion.kind}`;
  let cacheable = true;
  for (const f of names) {
    const v = rowValue(values, f);
    if (typeof v === 'string') key += `\u0000s${v}`;
    else if (v === null || v === undefined) key += '\u0000n';
    else {
      key += '\u0000x';
      cacheable = false;
    }
  }
  let memo = cacheable ? rowMemo.get(state.decisions) : undefined;
  if (cacheable && !memo) rowMemo.set(state.decisions, (memo = new Map()));
  let entry = memo?.get(key);
  if (!entry) {
    // The row's values are copied out only when it is decided afresh (most rows of a list hit the memo).
    const own: Record<string, unknown> = {};
    for (const f of names) own[f] = rowValue(values, f);
    entry = decideFresh(catalogue, state, typeName, own, parentRegion);
    if (memo) {
      if (memo.size >= ROWS_PER_DECISIONS) memo.clear();
      memo.set(key, entry);
    }
  }
  if (entry.kind === 'out-of-jurisdiction') return { visible: false, regionCode: entry.regionCode };
  for (const id of entry.contracts) useContract(state, id);
  // A data row: an object of a type the catalogue places somewhere (a person, an enterprise, a household...).
  const counted = !state.rows.has(row) && Boolean(catalogue.types.get(typeName)?.region);
  if (counted) state.rowsShown += 1;
  remember(state, row, entry.row);
  return entry.contracts.length === 0 && !counted ? PLAIN : { visible: true, contracts: entry.contracts, counted };
}

type RowEntry =
  | { readonly kind: 'visible'; readonly row: RowState; readonly contracts: readonly string[] }
  | { readonly kind: 'out-of-jurisdiction'; readonly regionCode: string | null };

/**
 * Row decisions by the decisions object they were made under (one department's, for one
 * operation and grant list — the enforcement reuses it while those hold), then by type, parent
 * region and the row's region and row-owner values: all that a row decision reads. Rows alike
 * (most rows of a county's list, the same enterprise asked for again) are decided once.
 */
const rowMemo = new WeakMap<object, Map<string, RowEntry>>();
const ROWS_PER_DECISIONS = 4096;

function decideFresh(catalogue: Catalogue, state: RequestState, typeName: string, own: Record<string, unknown>, parentRegion: RowState['region']): RowEntry {
  const region = rowRegion(catalogue, typeName, own, parentRegion);
  const decisions = state.byType.get(typeName);
  if (!decisions) return { kind: 'visible', row: { region, fields: null }, contracts: [] };
  const decided = decideRow({ principal: state.principal, catalogue, typeName, values: own, region, decisions });
  if (decided.kind === 'out-of-jurisdiction') return { kind: 'out-of-jurisdiction', regionCode: decided.regionCode };
  const contracts = new Set<string>();
  for (const d of decided.fields.values()) if (d.kind !== 'deny' && d.contractId !== null) contracts.add(d.contractId);
  return { kind: 'visible', row: { region, fields: decided.fields }, contracts: [...contracts] };
}

/** The same object met twice (a memoised upstream answer) keeps the stricter reading: the first. */
function remember(state: RequestState, row: object, entry: RowState): void {
  if (!state.rows.has(row)) state.rows.set(row, entry);
}

/** Rows per quota-limited contract among `verdicts`, or null when no quota applies. */
function quotaWanted(state: RequestState, verdicts: readonly Verdict[]): Map<string, number> | null {
  const quota = state.rowQuota;
  if (quota === null) return null;
  let wanted: Map<string, number> | null = null;
  for (const v of verdicts) {
    // Only data rows count (a person, a household: types the catalogue places in a region), each once.
    if (!v.visible || !v.counted) continue;
    for (const c of v.contracts) if (quota.limited(c)) (wanted ??= new Map()).set(c, (wanted.get(c) ?? 0) + 1);
  }
  return wanted;
}

/**
 * Takes the rows' records quotas (one take per contract) and keeps, in order, the rows every
 * quota still covers; the rest are left out and noted for the error `willSendResponse` adds.
 */
async function withinQuota<T>(state: RequestState, rows: readonly T[], verdicts: readonly Verdict[], wanted: Map<string, number>): Promise<T[]> {
  const quota = state.rowQuota!;
  const entries = [...wanted];
  const granted = new Map(await Promise.all(entries.map(async ([c, n]) => [c, n <= 0 ? 0 : await quota.take(c, n)] as const)));
  const out: T[] = [];
  for (let i = 0; i < rows.length; i++) {
    const v = verdicts[i]!;
    const limited = v.visible && v.counted ? v.contracts.filter((c) => granted.has(c)) : [];
    if (limited.every((c) => granted.get(c)! > 0)) {
      for (const c of limited) granted.set(c, granted.get(c)! - 1);
      out.push(rows[i]!);
      continue;
    }
    if (v.visible && v.counted) state.rowsShown -= 1;
    for (const c of limited) state.quotaCut.set(c, (state.quotaCut.get(c) ?? 0) + 1);
  }
  return out;
}

function filterRows(schema: GraphQLSchema, catalogue: Catalogue, state: RequestState, returned: GraphQLNamedType, parent: unknown, value: unknown): unknown {
  if (value === null || value === undefined || value instanceof Error) return value;
  if (Array.isArray(value) || (typeof value === 'object' && Symbol.iterator in value && typeof value !== 'string')) {
    const out: unknown[] = [];
    const verdicts: Verdict[] = [];
    for (const item of value as Iterable<unknown>) {
      if (Array.isArray(item)) {
        out.push(filterRows(schema, catalogue, state, returned, parent, item));
        verdicts.push(PLAIN);
        continue;
      }
      const verdict = decideOne(schema, catalogue, state, returned, parent, item);
      if (verdict.visible) {
        out.push(item);
        verdicts.push(verdict);
      } else state.rowsWithheld += 1;
    }
    const wanted = quotaWanted(state, verdicts);
    return wanted === null ? out : withinQuota(state, out, verdicts, wanted);
  }
  const verdict = decideOne(schema, catalogue, state, returned, parent, value);
  if (verdict.visible) {
    const wanted = quotaWanted(state, [verdict]);
    if (wanted === null) return value;
    return withinQuota(state, [value], [verdict], wanted).then((kept) => {
      if (kept.length > 0) return value;
      throw state.rowQuota!.exhausted([...wanted.keys()][0]!, 1);
    });
  }
  state.rowsWithheld += 1;
  throw graphQLError('OUT_OF_JURISDICTION', { regionCode: verdict.regionCode ?? 'unknown' });
}

export interface WrapOptions {
  readonly catalogue: Catalogue;
  /** Coordinates outside the catalogue (the hub's own admin API): resolved as they are. */
  readonly ungoverned: (coordinate: string) => boolean;
}

/** The schema with every governed field's `resolve` wrapped. */
export function wrapResolvers(schema: GraphQLSchema, options: WrapOptions): GraphQLSchema {
  const { catalogue, ungoverned } = options;
  return mapSchema(schema, {
    [MapperKind.COMPOSITE_FIELD]: (config, fieldName, typeName) => {
      const coordinate = `${typeName}.${fieldName}`;
      if (ungoverned(coordinate)) return config;
      const inner: GraphQLFieldResolver<unknown, unknown> = config.resolve ?? defaultFieldResolver;
      const named = getNamedType(config.type);
      const composite = isCompositeType(named);
      const maskable = isLeafType(named) && STRING_SCALARS.has(named.name);
      const subjectKey = catalogue.fields.get(coordinate)?.subjectKey ?? null;
      const noteSubject = (state: RequestState, v: unknown): unknown => {
        for (const s of Array.isArray(v) ? v : [v]) if (typeof s === 'string' && s !== '') state.subjects.add(`${subjectKey}:${s}`);
        return v;
      };
      const resolve: GraphQLFieldResolver<unknown, unknown> = (parent, args, context, info) => {
        const state = stateOf(context);
        if (!state) throw graphQLError('INTERNAL', { requestId: String((context as { requestId?: unknown } | null)?.requestId ?? 'unknown') });
        const decision = decisionFor(state, parent, coordinate);
        if (decision.kind === 'deny') throw forbidden(decision);
        if (decision.kind === 'mask') {
          if (!maskable) {
            // A mask yields a string; this field's type cannot carry one. Null with the reason, never fetched.
            throw graphQLError('FORBIDDEN_FIELD', {
              coordinate,
              reason: 'mask-unavailable',
              reasonZh: `以脱敏方式授予，但 ${named.name} 类型的字段无法返回脱敏值，需申请明文`,
              reasonEn: `granted masked, but a masked value cannot be returned as ${named.name}; apply for it in clear`,
              contractId: decision.contractId,
            });
          }
          return then(inner(parent, args, context, info), (v) => (v instanceof Error ? v : maskValue(decision.rule, subjectKey ? noteSubject(state, v) : v)));
        }
        if (!composite) return subjectKey ? then(inner(parent, args, context, info), (v) => noteSubject(state, v)) : inner(parent, args, context, info);
        return then(inner(parent, args, context, rewriteInfo(catalogue, state, info)), (v) => filterRows(info.schema, catalogue, state, named, parent, v));
      };
      // A field that may be denied (or masked, or out of jurisdiction) must be able to be null at
      // its own path; non-null would null its parent instead (a whole row, a whole page).
      const type = isNonNullType(config.type) && catalogue.fields.get(coordinate)?.sharing !== 'unconditional' ? config.type.ofType : config.type;
      return { ...config, type, resolve };
    },
  });
}

