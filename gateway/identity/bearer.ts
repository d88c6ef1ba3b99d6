/**
 * The token out of an `Authorization: Bearer <token>` header (RFC 6750 §2.1). No header is
 * `missing`; any other scheme, or more than one token, is `malformed`.
 */
import type { UnauthenticatedReason } from './reasons.ts';

export type BearerResult = { readonly token: string } | { readonly reason: UnauthenticatedReason };

const BEARER = /^Bearer +([^\s,]+) *$/i;

export function bearerToken(header: string | undefined): BearerResult {
  if (header === undefined || header.trim() === '') return { reason: 'missing' };
  const m = BEARER.exec(header);
  return m ? { token: m[1]! } : { reason: 'malformed' };
}
