/**
 * The limits as the hub runs them (限流与配额): one `LimitStore` (in-process, or Redis shared by
 * every replica), and the checks at each point of the request:
 *
 * - `anonymous(address)` — in the `context` function, when a caller has no valid credentials:
 *   a small bucket per client address (hashed), 429 instead of 401 once it is spent;
 * - `admission.beforeDecisions` — operation limits (tokens, depth, root fields, aliases, cost),
 *   400 OPERATION_TOO_COMPLEX before anything runs;
 * - `admission.afterDecisions` — one atomic hit of the department's ceiling and the requests per
 *   minute of every contract the operation uses (all or nothing), and a contract whose records
 *   quota for today is spent refuses the request before any upstream is called. In the same round
 *   trip each contract's records quota reserves the rows the operation returned last time;
 * - the `RowQuota` it returns — records per day, taken as rows are returned, from the reservation
 *   first (the enforcement cuts a list at the quota and says so); what the reservation did not
 *   cover is taken then, what it covered and was not used is handed back when the response is
 *   complete (`settle`), without the response waiting for it;
 * - `sourceGuard` — calls per second to each upstream, before the call.
 *
 * The store failing: each limit fails open or closed by configuration (contract quotas closed).
 * Headers (`RateLimit-Policy`, `RateLimit`, and `Retry-After` on 429) go on every limited response.
 */
import { createHash } from 'node:crypto';
import type { GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionNode } from 'graphql';
import type { Quotas } from '../../contracts/index.ts';
import { graphQLError, isTongxiangError, type Clock, type Principal } from '../../core/index.ts';
import {
  checkOperation,
  countTokens,
  createMemoryLimitStore,
  measureOperation,
  openRedisLimitStore,
  quotaWindow,
  type LimitStore,
  type OperationLimits,
  type OperationMeasures,
  type QuotaRule,
  type QuotaTake,
  type RateDecision,
  type RateRule,
} from '../../policies/limits/index.ts';
import type { Admission, RowQuota } from '../enforcement/index.ts';
import type { Logger } from '../log.ts';
import { itemOfQuota, itemOfRate, rateLimitHeaders, retryAfterSeconds, type LimitHeaderItem } from './headers.ts';
import type { LimitName, LimitSettings } from './settings.ts';

const MINUTE = 60_000;

export interface HubLimits {
  readonly store: LimitStore;
  readonly settings: LimitSettings;
  readonly admission: Admission<LimitContext>;
  /** Charges a request without valid credentials to its address; throws 429 once the bucket is spent. */
  anonymous(address: string): Promise<void>;
  /** The guard the transports call before each upstream call (mesh/source-calls.ts). */
  sourceGuard(source: string): Promise<void>;
  /** The caller's standing against its limits, without charging anything (`myUsage`). */
  usage(principal: Principal, contracts: readonly UsageContract[]): Promise<Usage>;
  close(): Promise<void>;
}

export interface LimitContext {
  readonly principal?: Principal | null | undefined;
}

export interface UsageContract {
  readonly id: string;
  readonly consumer: string;
  readonly provider: string;
  readonly quotas: Quotas;
}

export interface LimitStanding {
  readonly limit: number;
  readonly remaining: number;
  readonly resetSeconds: number;
}

export interface ContractUsage {
  readonly contractId: string;
  readonly consumer: string;
  readonly provider: string;
  readonly requestsPerMinute: LimitStanding | null;
  readonly recordsPerDay: (LimitStanding & { readonly used: number; readonly day: string }) | null;
}

export interface Usage {
  readonly department: string;
  readonly departmentCeiling: LimitStanding | null;
  readonly contracts: readonly ContractUsage[];
}

export interface HubLimitsOptions {
  readonly settings: LimitSettings;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The schema operations are measured against (the public one). */
  readonly schema: () => import('graphql').GraphQLSchema;
  /** A store to use instead of the configured one (tests). */
  readonly store?: LimitStore;
}

const rpmRule = (contractId: string, limit: number): RateRule => ({ name: 'contract-rpm', key: `contract:${contractId}:rpm`, limit, periodMs: MINUTE });
const recordsRule = (contractId: string, limit: number): QuotaRule => ({ name: 'contract-records', key: `contract:${contractId}:records`, limit });


function scopeOf(rule: { name: string; key: string }): string {
  // The key without the name's prefix and suffix: a contract id, a department code, a source name.
  const parts = rule.key.split(':');
  return parts[1] ?? rule.key;
}

function refusal(decision: RateDecision, extra: Record<string, string | number> = {}): GraphQLError {
  const retryAfterS = retryAfterSeconds(decision.retryAfterMs);
  const rule = decision.rule;
  const error = graphQLError('RATE_LIMITED', {
    limit: rule.name,
    scope: scopeOf(rule),
    quota: `${rule.limit}/${Math.round(rule.periodMs / 1000)}s`,
    retryAfterS,
    ...extra,
  });
  return withHttp(error, 429, { 'retry-after': String(retryAfterS) });
}

/** A contract's records for today are used up: RATE_LIMITED until the next day (CST) begins. */
function recordsExhausted(contractId: string, limit: number, now: number, cut?: number): GraphQLError {
  const retryAfterS = retryAfterSeconds(quotaWindow(now).endMs - now);
  return graphQLError('RATE_LIMITED', { limit: 'contract-records', scope: contractId, quota: `${limit}/day`, retryAfterS, contractId, ...(cut === undefined ? {} : { cut }) });
}

function withHttp(error: GraphQLError, status: number, headers: Record<string, string>): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, http: { status, headers: new Map(Object.entries(headers)) } },
    originalError: error.originalError ?? undefined,
  });
}

/** Measures kept for one operation: under these values of the variables the walk read. */
interface MeasuredUnder {
  readonly read: readonly string[];
  readonly values: string;
  readonly measures: OperationMeasures;
}

/** Distinct variable values an operation's measures are kept for (dropped together when full). */
const MEASURES_PER_OPERATION = 32;
/** Contracts an operation's expected rows are kept for (dropped together when full). */
const EXPECTED_CONTRACTS_PER_OPERATION = 64;

/** The values of `names` in `variables`, as one string (an absent variable differs from null). */
function valuesOf(variables: Readonly<Record<string, unknown>>, names: readonly string[]): string {
  if (names.length === 0) return '';
  return JSON.stringify(names.map((n) => (Object.hasOwn(variables, n) ? [variables[n]] : 0)));
}

export async function startHubLimits(options: HubLimitsOptions): Promise<HubLimits> {
  const { settings, logger, clock } = options;
  const store: LimitStore =
    options.store ??
    (settings.redisUrl
      ? await openRedisLimitStore({
          url: settings.redisUrl,
          keyPrefix: settings.redisKeyPrefix,
          commandTimeoutMs: settings.redisTimeoutMs,
          onError: throttledWarn(logger, 'limit store (Redis) unavailable; limits fail open or closed as configured'),
        })
      : createMemoryLimitStore());

  const departmentRule = (code: string, limit: number): RateRule => ({ name: 'department', key: `department:${code}`, limit, periodMs: settings.departmentWindowS * 1000 });
  const failOpen = (names: readonly LimitName[]): boolean => names.every((n) => settings.failOpen[n]);

  /** Runs a store call; on failure either lets the request through (null) or refuses it with 503. */
  async function guarded<T>(names: readonly LimitName[], call: () => Promise<T>): Promise<T | null> {
    try {
      return await call();
    } catch (error) {
      const reason = isTongxiangError(error) ? String(error.fields.reason ?? error.code) : 'limit store error';
      if (failOpen(names)) return null;
      throw withHttp(graphQLError('RATE_LIMIT_UNAVAILABLE', { reason, limit: names.join(',') }), 503, { 'retry-after': '1' });
    }
  }

  const limitsFor = (department: string): OperationLimits => settings.operationByDepartment[department] ?? settings.operation;

  /**
   * An operation's measures depend on the document, the operation, the department's list size and
   * depth stop, and the values of the variables the measuring walk read (list sizes,
   * @skip/@include): they are kept with the parsed document, which Apollo reuses for the same
   * query text, under the values of exactly those variables. A lookup `{ id: $id }` then measures
   * once whatever `$id` is; `first: $n` once per `$n`.
   */
  const measured = new WeakMap<DocumentNode, Map<string, MeasuredUnder[]>>();
  const measuresOf = (requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>, limits: OperationLimits): OperationMeasures => {
    const { document, source } = requestContext;
    const variables = requestContext.request.variables ?? {};
    const operationName = requestContext.operation?.name?.value ?? requestContext.request.operationName ?? null;
    const key = `${operationName ?? ''}\u0000${limits.defaultListSize}\u0000${limits.maxDepth}\u0000${limits.maxTokens}`;
    let perDocument = measured.get(document);
    const kept = perDocument?.get(key);
    if (kept) {
      for (const m of kept) if (m.values === valuesOf(variables, m.read)) return m.measures;
    }
    const tokens = countTokens(source, limits.maxTokens);
    const read = new Set<string>();
    // Introspection alone (Sandbox, codegen) reads only the schema: no upstream, no rows. Its
    // standard query is deep and wide, so only the token limit applies to it.
    const fresh: OperationMeasures = isIntrospectionOnly(requestContext)
      ? { tokens, depth: 0, aliases: 0, rootFields: 0, cost: 0 }
      : {
          ...measureOperation(options.schema(), document, operationName, variables, { defaultListSize: limits.defaultListSize, stopAfter: limits, variablesRead: read }),
          tokens,
        };
    if (!perDocument) measured.set(document, (perDocument = new Map()));
    const list = perDocument.get(key) ?? [];
    if (list.length >= MEASURES_PER_OPERATION) list.length = 0;
    const names = [...read].sort();
    list.push({ read: names, values: valuesOf(variables, names), measures: fresh });
    perDocument.set(key, list);
    return fresh;
  };

  const setHeaders = (requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>, items: readonly LimitHeaderItem[]): void => {
    for (const [name, value] of Object.entries(rateLimitHeaders(items))) requestContext.response.http.headers.set(name, value);
  };

  const admission: Admission<LimitContext> = {
    beforeDecisions(principal, requestContext) {
      const limits = limitsFor(principal.department.code);
      const verdict = checkOperation(measuresOf(requestContext, limits), limits);
      if (!verdict.ok) {
        throw withHttp(graphQLError('OPERATION_TOO_COMPLEX', { measure: verdict.measure, actual: verdict.actual, max: verdict.max }), 400, {});
      }
    },

    async afterDecisions(principal, contractIds, quotasOfGrants, requestContext) {
      const now = clock.now();
      const rules: RateRule[] = [];
      const names: LimitName[] = [];
      if (settings.departmentLimit !== null) {
        rules.push(departmentRule(principal.department.code, settings.departmentLimit));
        names.push('department');
      }
      const records: QuotaRule[] = [];
      const recordContracts: string[] = [];
      for (const id of contractIds) {
        const q = quotasOfGrants.get(id);
        if (!q) continue;
        if (q.requestsPerMinute !== null) rules.push(rpmRule(id, q.requestsPerMinute));
        if (q.recordsPerDay !== null) {
          records.push(recordsRule(id, q.recordsPerDay));
          recordContracts.push(id);
        }
      }
      if (rules.some((r) => r.name === 'contract-rpm')) names.push('contract-rpm');
      const items: LimitHeaderItem[] = [];
      // The records quotas are taken while the rates are decided: one round trip to Redis, not two
      // (node-redis writes the commands of one tick together). Each contract's take reserves the
      // rows this operation returned under it last time (0 the first time: a read of today's
      // standing), so a request whose rows match its reservation asks Redis nothing more.
      const learned = expectedOf(requestContext);
      const reserving = records.length > 0 ? guarded(['contract-records'], () => Promise.all(records.map((r, i) => store.take(r, learned?.get(recordContracts[i]!) ?? 0, now)))) : Promise.resolve(null);
      reserving.catch(() => undefined); // awaited below, unless a rate refuses first
      /** A refusal after the reservation: what it reserved goes back at once. */
      const release = (): void => {
        reserving.then((takes) => {
          for (const t of takes ?? []) if (t.granted > 0) refundLater(t, t.granted);
        }, () => undefined);
      };
      if (rules.length > 0) {
        const decisions = await guarded(names, () => store.hit(rules, now)).catch((error: unknown) => {
          release();
          throw error;
        });
        if (decisions) {
          items.push(...decisions.map(itemOfRate));
          const refused = decisions.find((d) => !d.allowed);
          if (refused) {
            release();
            setHeaders(requestContext, items);
            throw refusal(refused, refused.rule.name === 'contract-rpm' ? { contractId: scopeOf(refused.rule) } : {});
          }
        }
      }
      if (records.length === 0) {
        setHeaders(requestContext, items);
        // Rows may still come under a limited contract the decisions did not name (a row decided
        // under another of the caller's grants): they are taken as they come.
        return [...quotasOfGrants.values()].some((q) => q.recordsPerDay !== null) ? rowQuotaOf(quotasOfGrants, null, requestContext) : null;
      }
      // A records quota already spent (nothing granted, nothing left): refused before any upstream
      // is asked (the request would return at least one row, which the quota cannot cover).
      const takes = await reserving;
      for (const t of takes ?? []) {
        items.push(itemOfQuota(t, now));
        if (t.granted === 0 && t.remaining <= 0) {
          release();
          setHeaders(requestContext, items);
          const error = recordsExhausted(scopeOf(t.rule), t.rule.limit, now);
          throw withHttp(error, 429, { 'retry-after': String(error.extensions.retryAfterS) });
        }
      }
      setHeaders(requestContext, items);
      return rowQuotaOf(quotasOfGrants, takes, requestContext);
    },
  };

  /**
   * Rows per contract each operation (document and operation name) wanted the last time it ran,
   * kept with the parsed document (Apollo reuses it for the same query text): what its next run
   * reserves. Any number is safe: rows beyond the reservation are taken when they come, and what
   * is not used goes back when the response is complete.
   */
  const expected = new WeakMap<DocumentNode, Map<string, Map<string, number>>>();
  const operationKey = (requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>): string =>
    requestContext.operation?.name?.value ?? requestContext.request.operationName ?? '';
  const expectedOf = (requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>): ReadonlyMap<string, number> | undefined =>
    expected.get(requestContext.document)?.get(operationKey(requestContext));
  const learn = (requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>, wanted: ReadonlyMap<string, number>): void => {
    let perDocument = expected.get(requestContext.document);
    if (!perDocument) expected.set(requestContext.document, (perDocument = new Map()));
    const key = operationKey(requestContext);
    const rows = perDocument.get(key) ?? new Map<string, number>();
    if (rows.size >= EXPECTED_CONTRACTS_PER_OPERATION) rows.clear();
    for (const [contractId, n] of wanted) rows.set(contractId, n);
    perDocument.set(key, rows);
  };

  /** Hands back units in the background: the response does not wait; a failure leaves them charged (never over-admits). */
  const refundLater = (take: QuotaTake, units: number): void => {
    guarded(['contract-records'], () => store.refund(take.rule, take.window, units)).catch(() => undefined);
  };

  const rowQuotaOf = (
    quotas: ReadonlyMap<string, Quotas>,
    takes: readonly QuotaTake[] | null,
    requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>,
  ): RowQuota => {
    /** Reserved rows not yet handed out, by contract. */
    const prepaid = new Map<string, { readonly take: QuotaTake; left: number }>();
    for (const t of takes ?? []) prepaid.set(scopeOf(t.rule), { take: t, left: t.granted });
    /** Rows the response wanted, by contract (granted or cut). */
    const wanted = new Map<string, number>();
    let settled = false;
    return {
      limited: (contractId) => (quotas.get(contractId)?.recordsPerDay ?? null) !== null,
      async take(contractId, n) {
        const limit = quotas.get(contractId)?.recordsPerDay;
        if (limit === null || limit === undefined) return n;
        wanted.set(contractId, (wanted.get(contractId) ?? 0) + n);
        const reserved = prepaid.get(contractId);
        const fromReserve = reserved && !settled ? Math.min(reserved.left, n) : 0;
        if (reserved) reserved.left -= fromReserve;
        if (fromReserve === n) return n;
        const taken = await guarded(['contract-records'], () => store.take(recordsRule(contractId, limit), n - fromReserve, clock.now()));
        return fromReserve + (taken === null ? n - fromReserve : taken.granted);
      },
      exhausted: (contractId, cut) => recordsExhausted(contractId, quotas.get(contractId)?.recordsPerDay ?? 0, clock.now(), cut),
      settle() {
        if (settled) return;
        settled = true;
        for (const { take, left } of prepaid.values()) if (left > 0) refundLater(take, left);
        for (const id of prepaid.keys()) if (!wanted.has(id)) wanted.set(id, 0);
        learn(requestContext, wanted);
      },
    };
  };

  const addressKey = (address: string) => createHash('sha256').update(address).digest('hex').slice(0, 24);
  const leases = sourceLeases(store, clock, (names, call) => guarded(names, call));

  const hubLimits: HubLimits = {
    store,
    settings,
    admission,
    async anonymous(address) {
      const rule: RateRule = { name: 'anonymous', key: `anonymous:${addressKey(address)}`, limit: settings.anonymousPerMinute, periodMs: MINUTE };
      const decisions = await guarded(['anonymous'], () => store.hit([rule], clock.now()));
      const decision = decisions?.[0];
      if (decision && !decision.allowed) {
        const error = refusal(decision, { scope: 'client address' });
        const headers = rateLimitHeaders([itemOfRate(decision)]);
        const http = error.extensions.http as { headers: Map<string, string> };
        for (const [k, v] of Object.entries(headers)) http.headers.set(k, v);
        throw error;
      }
    },
    async sourceGuard(source) {
      const perSecond = settings.sources[source] ?? settings.sourcePerSecond;
      if (perSecond === null) return;
      const rule: RateRule = { name: 'source', key: `source:${source}`, limit: perSecond, periodMs: 1000 };
      if (store.kind === 'redis' && leaseSize(perSecond) > 1 && (await leases.take(source, rule))) return;
      const decisions = await guarded(['source'], () => store.hit([rule], clock.now()));
      const decision = decisions?.[0];
      if (decision && !decision.allowed) throw refusal(decision, { source });
    },
    async usage(principal, contracts) {
      const now = clock.now();
      const standing = (d: RateDecision): LimitStanding => ({ limit: d.rule.limit, remaining: Math.max(0, Math.floor(d.remaining)), resetSeconds: Math.ceil(d.resetMs / 1000) });
      const dept = settings.departmentLimit === null ? null : (await store.peek([departmentRule(principal.department.code, settings.departmentLimit)], now))[0]!;
      const rows = await Promise.all(
        contracts.map(async (c): Promise<ContractUsage> => {
          const rpm = c.quotas.requestsPerMinute === null ? null : (await store.peek([rpmRule(c.id, c.quotas.requestsPerMinute)], now))[0]!;
          const day = c.quotas.recordsPerDay === null ? null : await store.usage(recordsRule(c.id, c.quotas.recordsPerDay), now);
          return {
            contractId: c.id,
            consumer: c.consumer,
            provider: c.provider,
            requestsPerMinute: rpm ? standing(rpm) : null,
            recordsPerDay: day
              ? { limit: day.rule.limit, remaining: day.remaining, used: day.used, day: day.window.id, resetSeconds: Math.ceil((day.window.endMs - now) / 1000) }
              : null,
          };
        }),
      );
      return { department: principal.department.code, departmentCeiling: dept ? standing(dept) : null, contracts: rows };
    },
    close: () => store.close(),
  };
  return Object.freeze(hubLimits);
}

/**
 * Calls to an upstream against its ceiling in Redis, one round trip per call, would double the
 * round trips of a single lookup (the department's hit, then the source's). So a replica takes
 * calls from Redis in small batches — a lease of 1 % of the per-second ceiling, charged atomically
 * to the same GCRA bucket the other replicas use — and spends them locally for at most
 * LEASE_MS; what it has not spent by then lapses (counted, never used). The next lease is fetched
 * in the background once the current one is half spent or half way through its time, so a call
 * does not wait for Redis while leases flow. The ceiling is never exceeded (every call spent was
 * charged in Redis first); at most two leases per replica and source are charged but unused, i.e.
 * under 2 % of the ceiling, and a call may happen up to LEASE_MS after its charge. Ceilings under
 * 200 a second are not leased: each call is one hit, as before. When a whole lease is refused near
 * the ceiling, the call asks for itself alone.
 */
const LEASE_MS = 100;
const leaseSize = (perSecond: number): number => Math.floor(perSecond / 100);

interface SourceLeases {
  /** True: the call was granted from (or with) a lease; false: ask the store for this call alone. */
  take(source: string, rule: RateRule): Promise<boolean>;
}

interface Lease {
  left: number;
  readonly size: number;
  readonly until: number;
}

function sourceLeases(
  store: LimitStore,
  clock: Clock,
  guarded: (names: readonly LimitName[], call: () => Promise<RateDecision[]>) => Promise<RateDecision[] | null>,
): SourceLeases {
  /** Per source, the leases in the order they are spent: the current one, then the one fetched ahead. */
  const held = new Map<string, Lease[]>();
  const asking = new Map<string, Promise<boolean>>();
  const spend = (source: string, now: number): boolean => {
    const leases = held.get(source);
    if (!leases) return false;
    while (leases.length > 0 && (leases[0]!.left <= 0 || now >= leases[0]!.until)) leases.shift();
    const lease = leases[0];
    if (!lease) return false;
    lease.left -= 1;
    return true;
  };
  /** Time to fetch the next lease: only the current one is held, and it is half spent or half way through its time. */
  const due = (source: string, now: number): boolean => {
    const leases = held.get(source);
    if (!leases || leases.length !== 1) return false;
    const lease = leases[0]!;
    return lease.left <= lease.size / 2 || lease.until - now <= LEASE_MS / 2;
  };
  /** One lease request per source at a time: the calls arriving meanwhile wait for it. */
  const fetch = (source: string, rule: RateRule): Promise<boolean> => {
    let pending = asking.get(source);
    if (pending) return pending;
    const size = leaseSize(rule.limit);
    pending = (async () => {
      const now = clock.now();
      const decisions = await guarded(['source'], () => store.hit([rule], now, size));
      if (decisions === null) return false; // store down, failing open: the caller decides as before
      if (!decisions[0]?.allowed) return false;
      let leases = held.get(source);
      if (!leases) held.set(source, (leases = []));
      leases.push({ left: size, size, until: now + LEASE_MS });
      return true;
    })().finally(() => asking.delete(source));
    asking.set(source, pending);
    return pending;
  };
  return {
    async take(source, rule) {
      for (;;) {
        const now = clock.now();
        if (spend(source, now)) {
          // Ahead of need, in the background: a refusal or a failure here only means the next
          // call asks in the foreground, as it would have anyway.
          if (due(source, now) && !asking.has(source)) fetch(source, rule).catch(() => undefined);
          return true;
        }
        if (!(await fetch(source, rule))) return false;
      }
    },
  };
}

/** Every root field of the operation is `__schema`, `__type` or `__typename` (fragments at root included). */
function isIntrospectionOnly(requestContext: GraphQLRequestContextDidResolveOperation<LimitContext>): boolean {
  const operation = requestContext.operation;
  if (!operation) return false;
  const fragments = new Map(requestContext.document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const seen = new Set<string>();
  const only = (selections: readonly SelectionNode[]): boolean =>
    selections.every((s) => {
      if (s.kind === Kind.FIELD) return s.name.value.startsWith('__');
      if (s.kind === Kind.INLINE_FRAGMENT) return only(s.selectionSet.selections);
      const f = fragments.get(s.name.value);
      if (!f || seen.has(f.name.value)) return f !== undefined;
      seen.add(f.name.value);
      return only(f.selectionSet.selections);
    });
  return only(operation.selectionSet.selections);
}

/** A warning at most every 10 s: a Redis outage must not flood the log. */
function throttledWarn(logger: Logger, message: string): (error: unknown) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    logger.warn(message, { error: isTongxiangError(error) ? error.code : error instanceof Error ? error.name : 'error' });
  };
}
