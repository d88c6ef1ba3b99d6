/**
 * Field-level authorization (字段级授权) for the hub, as one schema and one plugin:
 *
 *   const enforcement = createEnforcement({ schema, catalogue, mode, grantsFor, clock });
 *   new ApolloServer({ schema: enforcement.schema, plugins: [enforcement.plugin, ...] });
 *
 * The plugin decides, in one `didResolveOperation`, every coordinate the operation can touch
 * (policies' collectCoordinates and decideFieldAccess, the caller's active grants loaded once);
 * the schema's wrapped resolvers apply the decisions field by field and row by row.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { BREAK, GraphQLError, Kind, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { ActiveGrant, Quotas } from '../../contracts/index.ts';
import { graphQLError, TongxiangError, type Clock, type Principal } from '../../core/index.ts';
import {
  catalogueInvalid,
  checkCatalogueAgainstSchema,
  collectCoordinates,
  decideFieldAccess,
  describeDenial,
  publicSchema,
  type Catalogue,
  type CollectedCoordinates,
  type Decision,
  type DecisionGrant,
  type InactiveGrant,
} from '../../policies/index.ts';
import { wrapResolvers } from './resolvers.ts';
import { reservedAliasesIn } from './selection.ts';
import { coordinateRecord, setState, stateOf, useContract, type CoordinateRecord, type EnforcementMode, type RequestState, type RowQuota } from './state.ts';

export const ENFORCEMENT_MODES: readonly EnforcementMode[] = Object.freeze(['null-field', 'reject-operation']);

/** What the plugin needs of the request context: the principal the `context` function authenticated. */
export interface EnforcementContext extends BaseContext {
  readonly principal?: Principal | null | undefined;
}

export interface EnforcementOptions {
  /** The built graph (Mesh's schema), not-shared fields included: the public schema is made from it. */
  readonly schema: GraphQLSchema;
  readonly catalogue: Catalogue;
  /** `null-field` (default): denied fields are null with FORBIDDEN_FIELD; `reject-operation`: any denial refuses the operation (403). */
  readonly mode?: EnforcementMode;
  /** The caller department's active grants at `now` (ms); called once per operation. */
  readonly grantsFor: (principal: Principal, now: number) => Promise<readonly (ActiveGrant | DecisionGrant)[]>;
  readonly clock: Clock;
  /**
   * Optional: the caller department's contracts in other states (pending, suspended, revoked,
   * expired...) naming coordinates, only so a denial can say which contract and why.
   */
  readonly inactiveFor?: (principal: Principal, now: number) => Promise<readonly InactiveGrant[]>;
  /**
   * Coordinates the catalogue does not govern (the hub's own admin API merged into the graph):
   * neither decided nor wrapped. Default: none — everything is governed, deny by default.
   */
  readonly ungoverned?: (coordinate: string) => boolean;
  /** Check the catalogue against `schema` and throw CATALOGUE_INVALID on a mismatch (default true). */
  readonly checkCatalogue?: boolean;
  /** Limits run in the same pipeline: before the decisions, after them, and on the rows returned. */
  readonly admission?: Admission<EnforcementContext> | undefined;
}

/**
 * The limits' part of the request pipeline (gateway/limits). Apollo runs plugins' hooks
 * concurrently, so limits and authorization share one `didResolveOperation`, in this order:
 * `beforeDecisions` (operation limits, the caller's own ceilings), the field decisions,
 * `afterDecisions` (limits of the contracts the operation uses). Either may throw a GraphQLError
 * with an HTTP status to refuse the operation before anything runs.
 */
export interface Admission<Ctx extends BaseContext> {
  beforeDecisions?(principal: Principal, requestContext: GraphQLRequestContextDidResolveOperation<Ctx>): Promise<void> | void;
  /**
   * `quotas`: the quotas of every contract among the caller's grants (the same grants the
   * decisions read). Resolves to the records-per-day quotas the rows are taken from (null: none
   * applies); its `settle` is called once the response is complete.
   */
  afterDecisions?(
    principal: Principal,
    contractIds: readonly string[],
    quotas: ReadonlyMap<string, Quotas>,
    requestContext: GraphQLRequestContextDidResolveOperation<Ctx>,
  ): Promise<RowQuota | null> | RowQuota | null;
}

const NO_QUOTAS: ReadonlyMap<string, Quotas> = new Map();
/** Quotas by contract, kept with the grant list they come from (contracts/ hands out the same list object between window edges). */
const quotasByGrants = new WeakMap<readonly object[], ReadonlyMap<string, Quotas>>();

function quotasOf(grants: readonly (ActiveGrant | DecisionGrant)[]): ReadonlyMap<string, Quotas> {
  if (grants.length === 0) return NO_QUOTAS;
  let known = quotasByGrants.get(grants);
  if (!known) {
    const map = new Map<string, Quotas>();
    for (const g of grants) if (g.quotas) map.set(g.contractId, g.quotas);
    quotasByGrants.set(grants, (known = map));
  }
  return known;
}

export interface Enforcement<Ctx extends EnforcementContext> {
  /** The public schema: not-shared fields removed, every governed field's resolver wrapped. */
  readonly schema: GraphQLSchema;
  readonly plugin: ApolloServerPlugin<Ctx>;
  readonly mode: EnforcementMode;
}

function withStatus(error: GraphQLError, status: number, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, ...extra, http: { status } },
    originalError: error.originalError ?? undefined,
  });
}

interface Collected {
  readonly collected: CollectedCoordinates;
  /** The governed ones, in the order met. */
  readonly coordinates: readonly string[];
  /** The introspection coordinates, sorted (as the decision record lists them). */
  readonly introspection: readonly string[];
}

const variableConditions = new WeakMap<DocumentNode, boolean>();

/** True when some `@skip`/`@include` of the document takes its condition from a variable. */
function hasVariableConditions(document: DocumentNode): boolean {
  let known = variableConditions.get(document);
  if (known === undefined) {
    known = false;
    visit(document, {
      Directive(node) {
        if ((node.name.value === 'skip' || node.name.value === 'include') && node.arguments?.some((a) => a.value.kind === Kind.VARIABLE)) {
          known = true;
          return BREAK;
        }
        return undefined;
      },
    });
    variableConditions.set(document, known);
  }
  return known;
}

/** Operations whose decisions are kept per grant list (cleared when full). */
const DECISIONS_PER_GRANT_LIST = 256;

interface Decided {
  readonly decisions: ReadonlyMap<string, Decision>;
  readonly byType: ReadonlyMap<string, ReadonlyMap<string, Decision>>;
  /** Denied decisions by coordinate. */
  readonly denied: readonly Extract<Decision, { kind: 'deny' }>[];
  readonly records: readonly CoordinateRecord[];
}

function byType(decisions: ReadonlyMap<string, Decision>): Map<string, Map<string, Decision>> {
  const out = new Map<string, Map<string, Decision>>();
  for (const [coordinate, decision] of decisions) {
    const type = coordinate.slice(0, coordinate.indexOf('.'));
    let map = out.get(type);
    if (!map) out.set(type, (map = new Map()));
    map.set(coordinate, decision);
  }
  return out;
}

export function createEnforcement<Ctx extends EnforcementContext = EnforcementContext>(options: EnforcementOptions): Enforcement<Ctx> {
  const { catalogue, grantsFor, clock } = options;
  const mode = options.mode ?? 'null-field';
  if (!ENFORCEMENT_MODES.includes(mode)) throw new TongxiangError('CONFIG_INVALID', { reason: `enforcement mode must be one of ${ENFORCEMENT_MODES.join(', ')}` });
  if (typeof grantsFor !== 'function' || typeof clock?.now !== 'function') throw new TongxiangError('CONFIG_INVALID', { reason: 'enforcement needs grantsFor and clock' });
  const isUngoverned = options.ungoverned ?? (() => false);
  // Coordinates come from the schema (the operation is validated first): a bounded set.
  const ungovernedMemo = new Map<string, boolean>();
  const ungoverned = (coordinate: string): boolean => {
    let known = ungovernedMemo.get(coordinate);
    if (known === undefined) ungovernedMemo.set(coordinate, (known = isUngoverned(coordinate)));
    return known;
  };
  if (options.checkCatalogue !== false) {
    const problems = checkCatalogueAgainstSchema(catalogue, options.schema).filter((p) => !ungoverned(p.slice(0, p.indexOf(':'))));
    if (problems.length > 0) throw catalogueInvalid(problems);
  }
  const schema = wrapResolvers(publicSchema(options.schema, catalogue), { catalogue, ungoverned });

  /**
   * Decisions depend on the caller's department, its grants, its inactive contracts, the
   * coordinates and — through grant windows — the time. A grant list handed out again as the same
   * object (contracts/ does so between window edges) with no windows of its own and no inactive
   * contracts gives the same decisions for the same coordinates: those are kept with the list
   * (a bounded number of operations per list) and dropped with it.
   */
  const decided = new WeakMap<object, Map<string, Decided>>();
  /** Per grant list: whether its decisions may be kept (no windows), and the purpose of each contract. */
  const listFacts = new WeakMap<object, { readonly windowless: boolean; readonly purposeOf: ReadonlyMap<string, string> }>();
  const factsOfList = (grants: readonly DecisionGrant[]) => {
    let facts = listFacts.get(grants);
    if (!facts) {
      facts = {
        windowless: grants.every((g) => g.validFrom === undefined && g.validUntil === undefined),
        purposeOf: new Map(grants.map((g) => [g.contractId, g.purpose])),
      };
      listFacts.set(grants, facts);
    }
    return facts;
  };
  /** The key of a coordinate list in `decided`, made once per collected operation. */
  const coordinateKeys = new WeakMap<readonly string[], string>();
  const keyOf = (coordinates: readonly string[]): string => {
    let key = coordinateKeys.get(coordinates);
    if (key === undefined) coordinateKeys.set(coordinates, (key = coordinates.join('\u0000')));
    return key;
  };
  const decide = (principal: Principal, grants: readonly DecisionGrant[], inactive: readonly InactiveGrant[], coordinates: readonly string[], now: number): Decided => {
    const reusable = inactive.length === 0 && factsOfList(grants).windowless;
    const key = reusable ? `${principal.department.code}\u0000${keyOf(coordinates)}` : '';
    let perList = reusable ? decided.get(grants) : undefined;
    const known = perList?.get(key);
    if (known) return known;
    const decisions = decideFieldAccess({ principal, grants, inactive, catalogue, coordinates, now });
    const fresh: Decided = Object.freeze({
      decisions,
      byType: byType(decisions),
      denied: [...decisions.values()]
        .filter((d): d is Extract<Decision, { kind: 'deny' }> => d.kind === 'deny')
        .sort((a, b) => (a.coordinate < b.coordinate ? -1 : 1)),
      records: Object.freeze([...decisions.values()].map(coordinateRecord).sort((a, b) => (a.coordinate < b.coordinate ? -1 : 1))),
    });
    if (reusable) {
      if (!perList) decided.set(grants, (perList = new Map()));
      if (perList.size >= DECISIONS_PER_GRANT_LIST) perList.clear();
      perList.set(key, fresh);
    }
    return fresh;
  };

  /**
   * The coordinates an operation can touch depend on the variables only through `@skip`/`@include`
   * conditions; for a document without variable conditions they are kept with the parsed document
   * (Apollo reuses it for the same query text).
   */
  const collectedByDocument = new WeakMap<DocumentNode, Map<string | null, Collected>>();
  const coordinatesOf = (document: DocumentNode, operationName: string | null, variables: Readonly<Record<string, unknown>>): Collected => {
    const reusable = !hasVariableConditions(document);
    let perDocument = reusable ? collectedByDocument.get(document) : undefined;
    const known = perDocument?.get(operationName);
    if (known) return known;
    const collected = collectCoordinates(schema, document, operationName, variables);
    const fresh: Collected = Object.freeze({
      collected,
      coordinates: Object.freeze([...collected.coordinates].filter((c) => !ungoverned(c))),
      introspection: Object.freeze([...collected.introspection].sort()),
    });
    if (reusable) {
      if (!perDocument) collectedByDocument.set(document, (perDocument = new Map()));
      perDocument.set(operationName, fresh);
    }
    return fresh;
  };

  const plugin: ApolloServerPlugin<Ctx> = {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const contextValue = requestContext.contextValue;
          const principal = contextValue.principal;
          if (!principal) throw withStatus(graphQLError('UNAUTHENTICATED', { reason: 'no principal' }), 401);
          const reserved = reservedAliasesIn(requestContext.document);
          if (reserved.length > 0) {
            throw withStatus(graphQLError('BAD_USER_INPUT', { reason: `aliases beginning with tongxiang__ are reserved: ${reserved.join(', ')}` }), 400);
          }
          const admission = options.admission as Admission<Ctx> | undefined;
          await admission?.beforeDecisions?.(principal, requestContext);
          const operationName = requestContext.operation?.name?.value ?? requestContext.request.operationName ?? null;
          const { coordinates, introspection } = coordinatesOf(requestContext.document, operationName, requestContext.request.variables ?? {});
          const now = clock.now();
          const [grants, inactive] =
            coordinates.length > 0 ? await Promise.all([grantsFor(principal, now), options.inactiveFor?.(principal, now) ?? []]) : [[], []];
          const { decisions, byType: decisionsByType, denied, records } = decide(principal, grants, inactive, coordinates, now);
          const rejected = mode === 'reject-operation' && denied.length > 0;

          const state: RequestState = {
            principal,
            decisions,
            byType: decisionsByType,
            rows: new WeakMap(),
            fragments: null,
            fragmentsSource: null,
            contractIds: new Set(),
            purposes: new Set(),
            purposeOf: factsOfList(grants).purposeOf,
            rowsWithheld: 0,
            rowsShown: 0,
            subjects: new Set(),
            rowQuota: null,
            quotaCut: new Map(),
            base: Object.freeze({
              department: principal.department.code,
              subject: principal.subject,
              client: principal.client,
              operationName,
              decidedAt: now,
              mode,
              rejected,
              introspection,
              coordinates: records,
            }),
          };
          for (const d of decisions.values()) if (d.kind !== 'deny') useContract(state, d.contractId);
          setState(contextValue, state);

          if (rejected) {
            const list = denied.map((d) => d.coordinate);
            throw withStatus(graphQLError('FORBIDDEN_FIELD', { coordinate: list.join(', '), reason: 'reject-operation' }), 403, {
              coordinates: list,
              denials: denied.map((d) => ({ coordinate: d.coordinate, reason: d.reason, owners: d.owners, ...describeDenial(d) })),
            });
          }
          if (admission) {
            const quotas = quotasOf(grants);
            state.rowQuota = (await admission.afterDecisions?.(principal, [...state.contractIds].sort(), quotas, requestContext)) ?? null;
          }
        },
        async willSendResponse({ contextValue, response }) {
          // Rows a records quota could not cover were left out of their lists: say so once per contract.
          const state = stateOf(contextValue);
          state?.rowQuota?.settle();
          if (!state || state.quotaCut.size === 0 || !state.rowQuota || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const said = new Set((result.errors ?? []).filter((e) => e.extensions?.code === 'RATE_LIMITED').map((e) => e.extensions?.contractId));
          const added = [...state.quotaCut]
            .filter(([contractId]) => !said.has(contractId))
            .map(([contractId, cut]) => {
              const error = state.rowQuota!.exhausted(contractId, cut);
              return error instanceof GraphQLError ? error.toJSON() : { message: error.message };
            });
          if (added.length > 0) result.errors = [...(result.errors ?? []), ...added];
        },
      };
    },
  };
  return Object.freeze({ schema, plugin, mode });
}
