/**
 * The chain hash: `H(prev || canonical(record))`, hex. H is SHA-256 (default) or SM3 (GB/T 32905,
 * 国密), both from Node's OpenSSL (`crypto.createHash('sm3')`).
 */
import { createHash, getHashes } from 'node:crypto';
import { TongxiangError } from '../core/index.ts';
import { canonicalJson } from './canonical.ts';
import { HASH_ALGORITHMS, type AuditRecord, type HashAlgorithm } from './types.ts';

export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(value);
}

/** Throws CONFIG_INVALID when this Node's OpenSSL lacks the algorithm (SM3 needs OpenSSL ≥ 1.1.1). */
export function assertHashAvailable(alg: HashAlgorithm): void {
  if (!getHashes().includes(alg)) throw new TongxiangError('CONFIG_INVALID', { reason: `hash algorithm ${alg} is not available in this Node.js build` });
}

/** Hex digest of UTF-8 `text`. */
export function digest(alg: HashAlgorithm, text: string): string {
  return createHash(alg).update(text, 'utf8').digest('hex');
}

/** The hash of `record` chained after `prev`. */
export function chainHash(alg: HashAlgorithm, prev: string, record: AuditRecord): string {
  return createHash(alg).update(prev, 'utf8').update(canonicalJson(record), 'utf8').digest('hex');
}

/** The same hash from the record's canonical text, when the caller has it already. */
export function chainHashOfCanonical(alg: HashAlgorithm, prev: string, canonical: string): string {
  return createHash(alg).update(prev, 'utf8').update(canonical, 'utf8').digest('hex');
}
