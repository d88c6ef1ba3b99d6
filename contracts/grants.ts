/**
 * What a consumer department may read at one instant — pure. Only an `active` contract inside its
 * window grants; every other state grants nothing, and so does an active contract whose window has
 * ended but which the expiry job has not reached yet (time decides, not the job).
 */
import type { ActiveGrant, Contract } from './model.ts';

/** True when `contract` grants at `now` (milliseconds): active and validFrom ≤ now < validUntil. */
export function isInForce(contract: Contract, now: number): boolean {
  return contract.state === 'active' && Date.parse(contract.validFrom) <= now && now < Date.parse(contract.validUntil);
}

/**
 * The grants of `consumerDept` at `now` with the span of time they hold unchanged: from the last
 * window boundary at or before `now` to the next one after it (a contract coming into force or
 * running out). The same answer may be reused for any instant in [from, until).
 */
export function activeGrantsSpan(
  contracts: readonly Contract[],
  consumerDept: string,
  now: number,
): { readonly grants: readonly ActiveGrant[]; readonly from: number; readonly until: number } {
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const c of contracts) {
    if (c.consumer !== consumerDept || c.state !== 'active') continue;
    for (const edge of [Date.parse(c.validFrom), Date.parse(c.validUntil)]) {
      if (Number.isNaN(edge)) {
        // An unreadable window is never in force; nothing to wait for, but do not reuse beyond now.
        from = Math.max(from, now);
        until = Math.min(until, now + 1);
      } else if (edge <= now) from = Math.max(from, edge);
      else until = Math.min(until, edge);
    }
  }
  return Object.freeze({ grants: Object.freeze(activeGrants(contracts, consumerDept, now)), from, until });
}

/** One grant per field of each contract of `consumerDept` in force at `now`, in contract order. */
export function activeGrants(contracts: readonly Contract[], consumerDept: string, now: number): ActiveGrant[] {
  const grants: ActiveGrant[] = [];
  for (const c of contracts) {
    if (c.consumer !== consumerDept || !isInForce(c, now)) continue;
    for (const f of c.fields) {
      grants.push(
        Object.freeze({ contractId: c.id, provider: c.provider, coordinate: f.coordinate, mode: f.mode, scope: c.scope, purpose: c.purpose, quotas: c.quotas }),
      );
    }
  }
  return grants;
}
