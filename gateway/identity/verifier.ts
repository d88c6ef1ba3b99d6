/**
 * Token verification with jose: compact JWS only, an allow-list of asymmetric algorithms
 * (EdDSA, ES256, RS256 — never `none`, never HMAC, so a public key can never double as a shared
 * secret), expected `iss` and `aud`, `exp` required, `exp`/`nbf` with a small clock skew, time
 * from an injected clock, and a size limit checked before anything is decoded.
 */
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock, type Principal } from '../../core/index.ts';
import { principalFromClaims } from './claims.ts';
import { reasonForJoseError } from './jose-errors.ts';
import { unauthenticated } from './reasons.ts';

export const ALLOWED_ALGORITHMS = Object.freeze(['EdDSA', 'ES256', 'RS256'] as const);
export type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

export interface TokenVerifierOptions {
  /** Resolves the verification key from the token's header (a jose JWKS function). */
  readonly keys: JWTVerifyGetKey;
  readonly issuer: string;
  readonly audience: string;
  /** Tolerance for `exp` and `nbf`. Default 30 000 ms. */
  readonly clockSkewMs?: number;
  /** Longer tokens are refused as `too large` without being decoded. Default 8 KiB. */
  readonly maxTokenBytes?: number;
  readonly clock?: Clock;
  /** Called with failures on the hub's side (key set unreachable...), for the log. */
  readonly onUnexpected?: (error: unknown) => void;
}

export interface TokenVerifier {
  /** The Principal the token names; throws TongxiangError UNAUTHENTICATED with a reason. */
  verify(token: string): Promise<Principal>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { keys, issuer, audience, clockSkewMs = 30_000, maxTokenBytes = 8192, clock = systemClock, onUnexpected } = options;
  if (typeof keys !== 'function') throw new TypeError('keys must be a key-resolving function');
  if (!issuer || !audience) throw new TypeError('issuer and audience are required');
  if (!Number.isInteger(clockSkewMs) || clockSkewMs < 0 || clockSkewMs > 300_000) throw new TypeError('clockSkewMs must be 0..300000');
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 256) throw new TypeError('maxTokenBytes must be an integer ≥ 256');
  const algorithms = [...ALLOWED_ALGORITHMS];
  const clockTolerance = clockSkewMs / 1000;

  return Object.freeze({
    async verify(token: string): Promise<Principal> {
      if (token.length > maxTokenBytes) throw unauthenticated('too large');
      if (!COMPACT_JWS.test(token)) throw unauthenticated('malformed');
      let claims: Record<string, unknown>;
      try {
        const result = await jwtVerify(token, keys, {
          algorithms,
          issuer,
          audience,
          clockTolerance,
          currentDate: new Date(clock.now()),
          requiredClaims: ['exp'],
        });
        claims = result.payload;
      } catch (error) {
        const reason = reasonForJoseError(error);
        if (reason) throw unauthenticated(reason);
        onUnexpected?.(error);
        throw unauthenticated('keys unavailable');
      }
      const mapped = principalFromClaims(claims);
      if ('reason' in mapped) throw unauthenticated(mapped.reason);
      return mapped.principal;
    },
  });
}
