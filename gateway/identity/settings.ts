/**
 * Identity settings, validated once. Three modes, chosen by what is configured:
 *   local     — nothing configured: the hub's own Ed25519 key in <dataDir>/identity signs
 *               (`tongxiang token`) and verifies; `iss` is `tongxiang-local` unless set.
 *   jwks-file — TONGXIANG_JWKS_FILE: verify only, with the public keys in that file; the issuer
 *               (TONGXIANG_TOKEN_ISSUER) is required, since a key set does not name one.
 *   oidc      — TONGXIANG_OIDC_ISSUER: verify only, keys from the issuer's discovery document
 *               (`jwks_uri`); `iss` is the issuer unless TONGXIANG_TOKEN_ISSUER says otherwise.
 */
import { resolve } from 'node:path';

export type IdentityMode = 'local' | 'jwks-file' | 'oidc';

export interface IdentitySettings {
  readonly mode: IdentityMode;
  /** Absolute path of a JWKS file (jwks-file mode). */
  readonly jwksFile: string | null;
  /** The OIDC issuer URL (oidc mode). */
  readonly oidcIssuer: string | null;
  /** Expected `iss`. */
  readonly issuer: string;
  /** Expected `aud` (one of the token's audiences). */
  readonly audience: string;
  readonly clockSkewMs: number;
  readonly maxTokenBytes: number;
  /** Verified tokens remembered; 0 turns the cache off. */
  readonly cacheSize: number;
}

/** The raw values, each from the first of: overrides, environment, config file. */
export interface IdentityInput {
  readonly jwksFile?: unknown;
  readonly oidcIssuer?: unknown;
  readonly issuer?: unknown;
  readonly audience?: unknown;
  readonly clockSkewMs?: unknown;
  readonly maxTokenBytes?: unknown;
  readonly cacheSize?: unknown;
}

export const LOCAL_ISSUER = 'tongxiang-local';
export const DEFAULT_AUDIENCE = 'tongxiang';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http to this machine (tests, a local identity provider). */
export function isAcceptableKeyUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  } catch {
    return false;
  }
}

function text(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  const s = String(raw).trim();
  return s === '' ? null : s;
}

function integer(name: string, raw: unknown, fallback: number, min: number, max: number, problems: string[]): number {
  if (text(raw) === null) return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return value;
}

/** Validates; problems are appended for the caller to report together with its own. */
export function readIdentitySettings(input: IdentityInput, cwd: string, problems: string[]): IdentitySettings {
  const jwksPath = text(input.jwksFile);
  const oidcIssuer = text(input.oidcIssuer);
  const issuerSetting = text(input.issuer);
  const audience = text(input.audience) ?? DEFAULT_AUDIENCE;

  if (jwksPath && oidcIssuer) problems.push('set TONGXIANG_JWKS_FILE or TONGXIANG_OIDC_ISSUER, not both');
  if (oidcIssuer && !isAcceptableKeyUrl(oidcIssuer)) {
    problems.push(`TONGXIANG_OIDC_ISSUER must be an https URL (http only to 127.0.0.1 or localhost) (got ${JSON.stringify(oidcIssuer)})`);
  }
  if (jwksPath && !oidcIssuer && !issuerSetting) {
    problems.push('TONGXIANG_JWKS_FILE needs TONGXIANG_TOKEN_ISSUER: the `iss` the tokens verified with those keys carry');
  }
  if (audience.length > 256) problems.push('TONGXIANG_TOKEN_AUDIENCE is longer than 256 characters');

  const mode: IdentityMode = oidcIssuer ? 'oidc' : jwksPath ? 'jwks-file' : 'local';
  return Object.freeze({
    mode,
    jwksFile: jwksPath ? resolve(cwd, jwksPath) : null,
    oidcIssuer,
    issuer: issuerSetting ?? (mode === 'oidc' ? oidcIssuer! : LOCAL_ISSUER),
    audience,
    clockSkewMs: integer('TONGXIANG_TOKEN_CLOCK_SKEW_MS', input.clockSkewMs, 30_000, 0, 300_000, problems),
    maxTokenBytes: integer('TONGXIANG_TOKEN_MAX_BYTES', input.maxTokenBytes, 8192, 1024, 65_536, problems),
    cacheSize: integer('TONGXIANG_TOKEN_CACHE_SIZE', input.cacheSize, 10_000, 0, 1_000_000, problems),
  });
}
