/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) — the bytes every hash of the audit
 * trail is computed over, so any implementation can recompute them. `canonicalize` is the
 * reference implementation by the RFC's author.
 */
import canonicalize from 'canonicalize';
import { TongxiangError } from '../core/index.ts';

/** The canonical JSON text of `value`; refuses what JSON cannot carry (undefined, functions, NaN). */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `not canonicalisable JSON: ${(error as Error).message}` });
  }
  if (text === undefined) throw new TongxiangError('BAD_USER_INPUT', { reason: 'not canonicalisable JSON: undefined' });
  return text;
}
