/**
 * Why a request is not authenticated: the `reason` of an UNAUTHENTICATED error. Short English
 * words, stable (clients may branch on them), documented in docs/identity.md. Never jose's own
 * message, never any part of the token.
 */
import { TongxiangError } from '../../core/index.ts';

export const UNAUTHENTICATED_REASONS = [
  'missing',
  'malformed',
  'too large',
  'expired',
  'not yet valid',
  'bad signature',
  'wrong issuer',
  'wrong audience',
  'algorithm not allowed',
  'unknown key',
  'bad department',
  'missing subject',
  'missing expiry',
  'keys unavailable',
] as const;

export type UnauthenticatedReason = (typeof UNAUTHENTICATED_REASONS)[number];

export function unauthenticated(reason: UnauthenticatedReason): TongxiangError {
  return new TongxiangError('UNAUTHENTICATED', { reason });
}
