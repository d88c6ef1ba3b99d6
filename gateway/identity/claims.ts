/**
 * Verified claims → Principal. Pure: takes the claims set jose has already checked (signature,
 * issuer, audience, time) and reads what the hub uses: `sub` (required), `dept` (a department
 * code, required), `roles` (known roles kept, unknown ones ignored), `azp` (optional), `exp`.
 */
import { isRole, parseDepartment, type Principal, type Role } from '../../core/index.ts';
import type { UnauthenticatedReason } from './reasons.ts';

export type ClaimsResult = { readonly principal: Principal } | { readonly reason: UnauthenticatedReason };

const MAX_NAME = 256;

function shortString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
}

export function principalFromClaims(claims: Readonly<Record<string, unknown>>): ClaimsResult {
  const { sub, dept, roles, azp, exp } = claims;
  if (!shortString(sub)) return { reason: 'missing subject' };
  const department = typeof dept === 'string' ? parseDepartment(dept) : null;
  if (!department) return { reason: 'bad department' };
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return { reason: 'missing expiry' };
  const known: Role[] = [];
  if (Array.isArray(roles)) for (const r of roles) if (isRole(r) && !known.includes(r)) known.push(r);
  return {
    principal: Object.freeze({
      subject: sub,
      department,
      roles: Object.freeze(known),
      client: shortString(azp) ? azp : null,
      expiresAt: exp,
    }),
  };
}
