/**
 * The hub's identity: from the settings, a verifier (local key, JWKS file or OIDC issuer) with
 * the token cache in front, answering "who is this Authorization header?".
 */
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import { TongxiangError, systemClock, type Clock, type Principal } from '../../core/index.ts';
import { bearerToken } from './bearer.ts';
import { cachedVerifier, createTokenCache } from './cache.ts';
import { keySetFromFile, keySetFromIssuer } from './key-sets.ts';
import { openLocalIssuer, type TokenRequest } from './local-issuer.ts';
import { loadOrCreateLocalKey, localKeyDir } from './local-key.ts';
import { unauthenticated } from './reasons.ts';
import type { IdentityMode, IdentitySettings } from './settings.ts';
import { createTokenVerifier, type TokenVerifier } from './verifier.ts';

export interface Identity {
  readonly mode: IdentityMode;
  readonly issuer: string;
  readonly audience: string;
  /** Where the verification keys come from: the local key folder, the JWKS file or the jwks_uri. */
  readonly keySource: string;
  /** The caller named by an Authorization header; throws UNAUTHENTICATED with a reason. */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

export interface IdentityOptions {
  /** The hub's data directory: the local key lives in <dataDir>/identity. */
  readonly dataDir: string;
  readonly clock?: Clock;
  /** Failures on the hub's side (e.g. the issuer's key set unreachable), for the log. */
  readonly onUnexpected?: (error: unknown) => void;
}

async function keysFor(settings: IdentitySettings, options: IdentityOptions): Promise<{ keys: JWTVerifyGetKey; keySource: string }> {
  switch (settings.mode) {
    case 'local': {
      const key = await loadOrCreateLocalKey(localKeyDir(options.dataDir));
      return { keys: createLocalJWKSet(key.jwks), keySource: key.dir };
    }
    case 'jwks-file':
      return { keys: await keySetFromFile(settings.jwksFile!, { clock: options.clock }), keySource: settings.jwksFile! };
    case 'oidc': {
      const { keys, jwksUri } = await keySetFromIssuer(settings.oidcIssuer!);
      return { keys, keySource: jwksUri };
    }
  }
}

export async function createIdentity(settings: IdentitySettings, options: IdentityOptions): Promise<Identity> {
  const clock = options.clock ?? systemClock;
  const { keys, keySource } = await keysFor(settings, options);
  const verifier: TokenVerifier = cachedVerifier(
    createTokenVerifier({
      keys,
      issuer: settings.issuer,
      audience: settings.audience,
      clockSkewMs: settings.clockSkewMs,
      maxTokenBytes: settings.maxTokenBytes,
      clock,
      onUnexpected: options.onUnexpected,
    }),
    createTokenCache({ maxEntries: settings.cacheSize, clockSkewMs: settings.clockSkewMs, clock }),
  );
  return Object.freeze({
    mode: settings.mode,
    issuer: settings.issuer,
    audience: settings.audience,
    keySource,
    async authenticate(authorization: string | undefined): Promise<Principal> {
      const bearer = bearerToken(authorization);
      if ('reason' in bearer) throw unauthenticated(bearer.reason);
      return verifier.verify(bearer.token);
    },
  });
}

/**
 * A token from the local issuer of this data directory (what `tongxiang token` prints). Refused
 * when the hub is set up for an external issuer: then it verifies, and never signs.
 */
export async function issueLocalToken(
  settings: IdentitySettings,
  dataDir: string,
  request: TokenRequest,
  clock: Clock = systemClock,
): Promise<string> {
  if (settings.mode !== 'local') {
    const from = settings.mode === 'oidc' ? settings.oidcIssuer! : settings.issuer;
    throw new TongxiangError('FORBIDDEN_ACTION', {
      reason: `this hub verifies tokens issued by ${from} and signs none; get a token from that issuer`,
    });
  }
  const issuer = await openLocalIssuer({ dataDir, issuer: settings.issuer, audience: settings.audience, clock });
  return issuer.sign(request);
}
