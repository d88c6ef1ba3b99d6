/**
 * Verified tokens, remembered so verification is not paid on every request: keyed by the
 * SHA-256 of the token (the cache never holds tokens), bounded (least recently used goes first),
 * each entry living only until its own `exp` (plus the clock skew verification allows). Only
 * successes are cached; concurrent first requests with the same token share one verification.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock, type Principal } from '../../core/index.ts';
import type { TokenVerifier } from './verifier.ts';

export interface TokenCacheOptions {
  /** 0 disables the cache. */
  readonly maxEntries: number;
  readonly clockSkewMs?: number;
  readonly clock?: Clock;
}

export interface TokenCache {
  get(token: string): Principal | undefined;
  set(token: string, principal: Principal): void;
  readonly size: number;
}

export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const { maxEntries, clockSkewMs = 30_000, clock = systemClock } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError('maxEntries must be a non-negative integer');
  const entries = new Map<string, { readonly principal: Principal; readonly until: number }>();

  return {
    get(token) {
      const key = tokenKey(token);
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (clock.now() >= entry.until) return undefined;
      entries.set(key, entry); // most recently used goes last
      return entry.principal;
    },
    set(token, principal) {
      if (maxEntries === 0) return;
      const key = tokenKey(token);
      entries.delete(key);
      entries.set(key, { principal, until: principal.expiresAt * 1000 + clockSkewMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
  };
}

export function cachedVerifier(verifier: TokenVerifier, cache: TokenCache): TokenVerifier {
  const inFlight = new Map<string, Promise<Principal>>();
  return Object.freeze({
    async verify(token: string): Promise<Principal> {
      const hit = cache.get(token);
      if (hit) return hit;
      let pending = inFlight.get(token);
      if (!pending) {
        pending = verifier.verify(token).then((principal) => {
          cache.set(token, principal);
          return principal;
        });
        const settled = () => inFlight.delete(token);
        pending.then(settled, settled);
        inFlight.set(token, pending);
      }
      return pending;
    },
  });
}
