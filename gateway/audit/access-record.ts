/**
 * One access record per GraphQL request, made from what the hub knows when the response is ready:
 * the request's facts (id, time, caller or why there is none, HTTP status, error codes, upstream
 * calls) and the enforcement's decision record. Pure: the subject keyring is passed in, so data
 * subjects enter the record only as keyed HMACs, never in clear. Nested objects are built with
 * their keys in code-unit order, so the writer can take the record as its own canonical JSON
 * (audit/canonical.ts: the fast path).
 */
import { createHash } from 'node:crypto';
import type { AccessOutcome, AccessRecord, AuditSourceCall, AuditSubject } from '../../audit/types.ts';
import type { Principal } from '../../core/index.ts';
import type { Catalogue } from '../../policies/index.ts';
import type { DecisionRecord } from '../enforcement/index.ts';

export interface RequestFacts {
  readonly requestId: string;
  /** When the request arrived (ms since the epoch). */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly httpStatus: number;
  /** The GraphQL query text, when there was one (only its SHA-256 is kept). */
  readonly query: string | null;
  readonly operationName: string | null;
  readonly principal: Principal | null;
  /** Why the caller is not authenticated (`expired`, `bad signature`...), or a refusal's code. */
  readonly reason: string | null;
  /** Catalogue codes of the errors in the response. */
  readonly errorCodes: readonly string[];
  readonly sources: readonly AuditSourceCall[];
}

export interface SubjectHasher {
  hmac(kind: string, value: string): AuditSubject;
}

/** SHA-256 of the query text; the same texts come again and again, so the last ones are kept. */
const operationHashes = new Map<string, string>();
const OPERATION_HASHES_KEPT = 1000;

export function operationHash(query: string): string {
  let known = operationHashes.get(query);
  if (known === undefined) {
    known = createHash('sha256').update(query, 'utf8').digest('hex');
    if (operationHashes.size >= OPERATION_HASHES_KEPT) operationHashes.clear();
    operationHashes.set(query, known);
  }
  return known;
}

const byHmac = (a: AuditSubject, b: AuditSubject): number => (a.hmac < b.hmac ? -1 : a.hmac > b.hmac ? 1 : 0);

export function outcomeOf(httpStatus: number, errorCodes: readonly string[], decision: DecisionRecord | undefined): AccessOutcome {
  if (httpStatus === 401) return 'unauthenticated';
  if (httpStatus === 429) return 'rate-limited';
  if (httpStatus >= 500) return 'error';
  if (httpStatus >= 400 || decision?.rejected) return 'refused';
  if (errorCodes.length > 0 || (decision?.rowsWithheld ?? 0) > 0) return 'partial';
  return 'ok';
}

export function accessRecord(
  facts: RequestFacts,
  decision: DecisionRecord | undefined,
  subjects: SubjectHasher,
  catalogue: Catalogue,
): Omit<AccessRecord, 'instance' | 'seq'> {
  const providers = new Set<string>();
  for (const c of decision?.coordinates ?? []) for (const owner of catalogue.fields.get(c.coordinate)?.owners ?? []) providers.add(owner);
  const errorCodes = [...new Set(facts.errorCodes)].sort();
  // Keys in code-unit order, as the canonical form (RFC 8785) writes them: the writer need not sort.
  return {
    client: facts.principal?.client ?? null,
    contractIds: decision?.contractIds ?? [],
    coordinates: decision ? coordinateRecords(decision.coordinates) : [],
    department: facts.principal?.department.code ?? null,
    durationMs: Math.round(facts.durationMs * 1000) / 1000,
    errorCodes,
    httpStatus: facts.httpStatus,
    operationHash: facts.query === null ? null : operationHash(facts.query),
    operationName: decision?.operationName ?? facts.operationName,
    outcome: outcomeOf(facts.httpStatus, errorCodes, decision),
    providers: [...providers].sort(),
    purposes: decision?.purposes ?? [],
    reason: facts.reason,
    requestId: facts.requestId,
    rows: decision?.rowsShown ?? 0,
    rowsWithheld: decision?.rowsWithheld ?? 0,
    sources: facts.sources.map((c) => ({ latencyMs: c.latencyMs, source: c.source, status: c.status })),
    // Ordered by HMAC: an order by value would tell which subject's number is the smaller.
    subjects: (decision?.subjects ?? []).map((s) => subjects.hmac(s.kind, s.value)).sort(byHmac),
    time: new Date(facts.startedAt).toISOString(),
    type: 'access',
    user: facts.principal?.subject ?? null,
  };
}

/**
 * The record's coordinates (keys in canonical order), deep-frozen and made once per decision list:
 * the enforcement hands out the same frozen list for the same operation and grants.
 */
const coordinatesByList = new WeakMap<DecisionRecord['coordinates'], AccessRecord['coordinates']>();
function coordinateRecords(list: DecisionRecord['coordinates']): AccessRecord['coordinates'] {
  let out = coordinatesByList.get(list);
  if (!out) {
    out = Object.freeze(list.map((c) => Object.freeze({ contractId: c.contractId, coordinate: c.coordinate, decision: c.decision, detail: c.detail })));
    if (Object.isFrozen(list)) coordinatesByList.set(list, out);
  }
  return out;
}
