/**
 * Checks a WS-Security UsernameToken (OASIS UsernameToken Profile 1.0) as the `soap` package
 * parses it from the SOAP header. PasswordText and PasswordDigest
 * (Base64(SHA-1(nonce + created + password)))) are accepted; digests must be fresh (Created within
 * the window) and their nonce unseen. Secrets are compared in constant time and never returned.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { xmlText } from './xml-text.ts';

const PASSWORD_DIGEST = /#PasswordDigest$/;

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'replayed' | 'mismatch' };

export interface UsernameTokenVerifier {
  /** `security` is the parsed `wsse:Security` header (or undefined); `now` in ms since the epoch. */
  verify(security: unknown, now: number): TokenCheck;
}

function attribute(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const attributes = (node as { attributes?: Record<string, unknown> }).attributes;
  const value = attributes?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** Constant-time equality of two strings of any length (both sides hashed to 32 bytes first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

function digest(nonceBase64: string, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonceBase64, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

export function createUsernameTokenVerifier(credentials: Credentials, options: { windowMs?: number } = {}): UsernameTokenVerifier {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const seenNonces = new Map<string, number>(); // nonce -> time it may be forgotten

  function remember(nonce: string, now: number): boolean {
    if (seenNonces.size > 10_000) {
      for (const [n, until] of seenNonces) if (until < now) seenNonces.delete(n);
    }
    const until = seenNonces.get(nonce);
    if (until !== undefined && until >= now) return false;
    seenNonces.set(nonce, now + 2 * windowMs);
    return true;
  }

  return {
    verify(security, now) {
      const token = (security as { UsernameToken?: unknown } | undefined)?.UsernameToken;
      if (!token || typeof token !== 'object') return { ok: false, reason: 'missing' };
      const t = token as Record<string, unknown>;
      const username = xmlText(t.Username);
      const password = xmlText(t.Password);
      if (username === undefined || password === undefined) return { ok: false, reason: 'malformed' };
      const userOk = safeEqual(username, credentials.username);

      if (PASSWORD_DIGEST.test(attribute(t.Password, 'Type') ?? '')) {
        const nonce = xmlText(t.Nonce);
        const created = xmlText(t.Created);
        if (nonce === undefined || created === undefined) return { ok: false, reason: 'malformed' };
        const createdAt = Date.parse(created);
        if (!Number.isFinite(createdAt) || Math.abs(now - createdAt) > windowMs) return { ok: false, reason: 'stale' };
        const passOk = safeEqual(password, digest(nonce, created, credentials.password));
        if (!(userOk && passOk)) return { ok: false, reason: 'mismatch' };
        return remember(nonce, now) ? { ok: true } : { ok: false, reason: 'replayed' };
      }

      const passOk = safeEqual(password, credentials.password);
      return userOk && passOk ? { ok: true } : { ok: false, reason: 'mismatch' };
    },
  };
}
