/**
 * The local issuer of the embedded default: signs tokens with the data directory's key (EdDSA),
 * with `iss` (tongxiang-local unless configured), `aud`, `sub`, `dept`, `roles`, `azp`, `iat`,
 * `exp` and a `jti`. Used by `tongxiang token` and the test harness; the hub itself only
 * verifies. Time comes from the clock given.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ROLES, TongxiangError, isRole, parseDepartment, systemClock, type Clock } from '../../core/index.ts';
import { loadOrCreateLocalKey, localKeyDir, type LocalKey } from './local-key.ts';
import { DEFAULT_AUDIENCE, LOCAL_ISSUER } from './settings.ts';

export interface TokenRequest {
  readonly subject: string;
  /** A department code, e.g. 341504.mzj. */
  readonly department: string;
  readonly roles: readonly string[];
  /** `azp`: the client system. */
  readonly client?: string | null;
  /** Lifetime; default 8 hours, at most 30 days. */
  readonly ttlSeconds?: number;
}

export interface LocalIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly key: LocalKey;
  sign(request: TokenRequest): Promise<string>;
}

export const DEFAULT_TTL_SECONDS = 8 * 3600;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `8h`, `7d` → seconds; null when it is not such a duration. */
export function parseTtl(text: string): number | null {
  const m = /^(\d{1,7})([smhd])$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : null;
}

function badInput(reason: string): TongxiangError {
  return new TongxiangError('BAD_USER_INPUT', { reason });
}

export async function openLocalIssuer(options: { dataDir: string; issuer?: string; audience?: string; clock?: Clock }): Promise<LocalIssuer> {
  const { dataDir, issuer = LOCAL_ISSUER, audience = DEFAULT_AUDIENCE, clock = systemClock } = options;
  const key = await loadOrCreateLocalKey(localKeyDir(dataDir));
  return Object.freeze({
    issuer,
    audience,
    key,
    async sign(request: TokenRequest): Promise<string> {
      const { subject, department, roles, client = null, ttlSeconds = DEFAULT_TTL_SECONDS } = request;
      if (!subject || subject.length > 256) throw badInput('the subject (--sub) must be 1 to 256 characters');
      if (!parseDepartment(department)) throw badInput(`"${department}" is not a department code such as 341504.mzj`);
      for (const role of roles) if (!isRole(role)) throw badInput(`unknown role "${role}" (one of ${ROLES.join(', ')})`);
      if (client !== null && (client.length === 0 || client.length > 256)) throw badInput('the client (--client) must be 1 to 256 characters');
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) throw badInput('the lifetime (--ttl) must be between 1s and 30d');
      const now = Math.floor(clock.now() / 1000);
      const claims: Record<string, unknown> = { dept: department, roles: [...new Set(roles)] };
      if (client !== null) claims.azp = client;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(subject)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .setJti(randomUUID())
        .sign(key.privateKey);
    },
  });
}
