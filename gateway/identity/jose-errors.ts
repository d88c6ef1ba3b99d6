/**
 * jose's errors, translated at the boundary: each known failure becomes one of our reasons;
 * anything else (a key set that cannot be fetched, a key that cannot be imported) is the hub's
 * side, not the caller's, and is reported as null for the caller to log.
 */
import { errors } from 'jose';
import type { UnauthenticatedReason } from './reasons.ts';

export function reasonForJoseError(error: unknown): UnauthenticatedReason | null {
  if (!(error instanceof errors.JOSEError)) return null;
  switch (error.code) {
    case errors.JWTExpired.code:
      return 'expired';
    case errors.JWTClaimValidationFailed.code: {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === 'iss') return 'wrong issuer';
      if (claim === 'aud') return 'wrong audience';
      if (claim === 'nbf' && reason === 'check_failed') return 'not yet valid';
      if (claim === 'exp' && reason === 'missing') return 'missing expiry';
      if (claim === 'sub') return 'missing subject';
      return 'malformed';
    }
    case errors.JOSEAlgNotAllowed.code:
      return 'algorithm not allowed';
    case errors.JWSSignatureVerificationFailed.code:
      return 'bad signature';
    case errors.JWKSNoMatchingKey.code:
    case errors.JWKSMultipleMatchingKeys.code:
      return 'unknown key';
    case errors.JWSInvalid.code:
    case errors.JWTInvalid.code:
    case errors.JOSENotSupported.code:
      return 'malformed';
    default:
      return null;
  }
}
