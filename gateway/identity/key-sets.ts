/**
 * Where verification keys come from in production: a JWKS file, or an OIDC issuer's discovery
 * document (`/.well-known/openid-configuration` → `jwks_uri`, fetched and refreshed by jose's
 * createRemoteJWKSet). Both are checked at start: a key set with private or symmetric keys, or
 * without one usable EdDSA / ES256 / RS256 key, stops start-up with CONFIG_INVALID.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, errors, importJWK, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { TongxiangError, systemClock, type Clock } from '../../core/index.ts';
import { isAcceptableKeyUrl } from './settings.ts';
import type { AllowedAlgorithm } from './verifier.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason });
}

function algorithmFor(jwk: JWK): AllowedAlgorithm | null {
  if (jwk.use !== undefined && jwk.use !== 'sig') return null;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  return null;
}

/**
 * The usable public signing keys of a key set; keys for other algorithms or for encryption are
 * left out. Refuses private and symmetric keys: a verifier holding one would be a signer.
 */
export async function usableKeySet(value: unknown, where: string): Promise<JSONWebKeySet> {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw invalid(`${where} is not a JWK set (no "keys" list)`);
  const usable: JWK[] = [];
  for (const [i, raw] of keys.entries()) {
    if (typeof raw !== 'object' || raw === null) throw invalid(`${where}: key ${i} is not an object`);
    const jwk = raw as JWK;
    if (jwk.kty === 'oct' || PRIVATE_MEMBERS.some((m) => m in jwk)) {
      throw invalid(`${where}: key ${i} is a private or symmetric key; a verifying key set holds public keys only`);
    }
    const alg = algorithmFor(jwk);
    if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) continue;
    try {
      await importJWK(jwk, alg);
    } catch {
      throw invalid(`${where}: key ${i} (${String(jwk.kty)}) cannot be read as an ${alg} public key`);
    }
    if (alg === 'RS256' && Buffer.from(String(jwk.n), 'base64url').length < 256) {
      throw invalid(`${where}: key ${i} is an RSA key shorter than 2048 bits`);
    }
    usable.push(jwk);
  }
  if (usable.length === 0) throw invalid(`${where} holds no EdDSA (Ed25519), ES256 (P-256) or RS256 signing key`);
  return { keys: usable };
}

async function readKeySetFile(path: string): Promise<JSONWebKeySet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(`cannot read the JWKS file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`the JWKS file ${path} is not JSON`);
  }
  return usableKeySet(parsed, `the JWKS file ${path}`);
}

/**
 * Keys from a JWKS file, read at start. When a token names a key the file did not hold, the
 * file is read again (at most once per `rereadAfterMs`), so keys can be rotated by replacing the
 * file; a file that has become unreadable keeps the keys read before.
 */
export async function keySetFromFile(path: string, options: { clock?: Clock; rereadAfterMs?: number } = {}): Promise<JWTVerifyGetKey> {
  const { clock = systemClock, rereadAfterMs = 30_000 } = options;
  let local = createLocalJWKSet(await readKeySetFile(path));
  let readAt = clock.now();
  return async (header, token) => {
    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || clock.now() - readAt < rereadAfterMs) throw error;
      readAt = clock.now();
      try {
        local = createLocalJWKSet(await readKeySetFile(path));
      } catch {
        throw error;
      }
      return local(header, token);
    }
  };
}

async function fetchJson(url: string, what: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const why = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    throw invalid(`cannot read ${what} at ${url} (${why})`);
  }
  if (response.status !== 200) throw invalid(`${what} at ${url} answered HTTP ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw invalid(`${what} at ${url} is not JSON`);
  }
}

export interface IssuerKeys {
  readonly keys: JWTVerifyGetKey;
  readonly jwksUri: string;
}

/**
 * Keys of an OIDC issuer (OpenID Connect Discovery 1.0 §4): the discovery document must name
 * exactly this issuer; its `jwks_uri` must be https (or http to this machine). The key set is
 * fetched once at start to fail early, then cached and refreshed by jose (every 10 minutes, and
 * when a token names an unknown key, at most every 30 s).
 */
export async function keySetFromIssuer(issuer: string, options: { timeoutMs?: number } = {}): Promise<IssuerKeys> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = (await fetchJson(discoveryUrl, 'the OIDC discovery document', timeoutMs)) as Record<string, unknown> | null;
  if (typeof doc !== 'object' || doc === null) throw invalid(`the OIDC discovery document at ${discoveryUrl} is not a JSON object`);
  if (doc.issuer !== issuer) {
    throw invalid(`the OIDC discovery document at ${discoveryUrl} names issuer ${JSON.stringify(String(doc.issuer).slice(0, 200))}, not ${JSON.stringify(issuer)}`);
  }
  const jwksUri = doc.jwks_uri;
  if (typeof jwksUri !== 'string' || !isAcceptableKeyUrl(jwksUri)) {
    throw invalid(`the OIDC discovery document at ${discoveryUrl} has no https jwks_uri`);
  }
  const remote = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  try {
    await remote.reload();
  } catch {
    throw invalid(`cannot read the OIDC key set at ${jwksUri}`);
  }
  await usableKeySet(remote.jwks(), `the OIDC key set at ${jwksUri}`);
  return { keys: remote, jwksUri };
}
