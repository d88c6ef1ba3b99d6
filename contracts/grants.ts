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

/** One grant per field of each contract of `consumerDept` in force at `now`, in contract order. */
export function activeGrants(contracts: readonly Contract[], consumerDept: string, now: number): ActiveGrant[] {
  const grants: ActiveGrant[] = [];
  for (const c of contracts) {
    if (c.consumer !== consumerDept || !isInForce(c, now)) continue;
    for (const f of c.fields) {
      grants.push(
        Object.freeze({ contractId: c.id, provider: c.provider, coordinate: f.coordinate, mode: f.mode, scope: c.scope, purpose: c.purpose }),
      );
    }
  }
  return grants;
}
