/**
 * Production modes: the hub only verifies, with keys from a JWKS file or from an OIDC issuer
 * (discovery → jwks_uri), for tokens signed with ES256 and RS256 keys made here — an identity
 * provider's, not the hub's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, calculateJwkThumbprint, createRemoteJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TongxiangError } from '../../../core/index.ts';
import { createIdentity, createTokenVerifier, issueLocalToken, readIdentitySettings, type IdentityInput, type IdentitySettings } from '../index.ts';
import { DEVELOPER, T0, expectRefused, manualClock, removeTempDirs, tempDataDir } from './fixtures.ts';

interface IdpKey {
  readonly alg: 'ES256' | 'RS256';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function idpKey(alg: 'ES256' | 'RS256'): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

const now = Math.floor(T0 / 1000);

function signed(key: IdpKey, iss: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ dept: '341500.rsj', roles: ['developer'], azp: 'city-portal', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(iss)
    .setAudience(typeof claims.aud === 'string' ? claims.aud : 'tongxiang')
    .setSubject('chen.jing')
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .sign(key.privateKey);
}

function settings(input: IdentityInput): IdentitySettings {
  const problems: string[] = [];
  const result = readIdentitySettings(input, '/', problems);
  expect(problems).toEqual([]);
  return result;
}

let es: IdpKey;
let rs: IdpKey;
let stranger: IdpKey;
beforeAll(async () => {
  [es, rs, stranger] = await Promise.all([idpKey('ES256'), idpKey('RS256'), idpKey('ES256')]);
});
afterAll(removeTempDirs);

describe('JWKS file', () => {
  const ISSUER = 'https://idp.ah.gov.cn/realms/zwfw';

  async function jwksFile(keys: JWK[]): Promise<string> {
    const path = join(await tempDataDir(), 'jwks.json');
    await writeFile(path, JSON.stringify({ keys }));
    return path;
  }

  it('verifies ES256 and RS256 tokens with the public keys in the file', async () => {
    const clock = manualClock();
    const identity = await createIdentity(settings({ jwksFile: await jwksFile([es.publicJwk, rs.publicJwk]), issuer: ISSUER }), { dataDir: await tempDataDir(), clock });
    expect(identity.mode).toBe('jwks-file');
    for (const key of [es, rs]) {
      const principal = await identity.authenticate(`Bearer ${await signed(key, ISSUER)}`);
      expect(principal).toMatchObject({ subject: 'chen.jing', client: 'city-portal', department: { code: '341500.rsj', level: 'city' } });
    }
    await expectRefused(identity.authenticate(`Bearer ${await signed(stranger, ISSUER)}`), 'unknown key');
    await expectRefused(identity.authenticate(`Bearer ${await signed(es, 'https://elsewhere.example')}`), 'wrong issuer');
  });

  it('does not accept tokens of its own local key: in production the hub has none', async () => {
    const dataDir = await tempDataDir();
    const local = await issueLocalToken(settings({}), dataDir, DEVELOPER, manualClock());
    const identity = await createIdentity(settings({ jwksFile: await jwksFile([es.publicJwk]), issuer: 'tongxiang-local' }), { dataDir, clock: manualClock() });
    await expectRefused(identity.authenticate(`Bearer ${local}`), 'unknown key');
  });

  it('refuses to sign in a verify-only mode', async () => {
    const production = settings({ jwksFile: await jwksFile([es.publicJwk]), issuer: ISSUER });
    await expect(issueLocalToken(production, await tempDataDir(), DEVELOPER)).rejects.toMatchObject({ code: 'FORBIDDEN_ACTION' });
  });

  it('reads the file again for a key it did not hold, so keys can be rotated by replacing it', async () => {
    const clock = manualClock();
    const path = await jwksFile([es.publicJwk]);
    const identity = await createIdentity(settings({ jwksFile: path, issuer: ISSUER }), { dataDir: await tempDataDir(), clock });
    await writeFile(path, JSON.stringify({ keys: [es.publicJwk, rs.publicJwk] }));
    const token = await signed(rs, ISSUER);
    await expectRefused(identity.authenticate(`Bearer ${token}`), 'unknown key'); // read at start, too soon to read again
    clock.advance(31_000);
    await expect(identity.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'chen.jing' });
  });

  it('stops start-up on a key set holding a private or symmetric key, or no usable key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const cases: unknown[] = [
      { keys: [privateJwk] },
      { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      { keys: [{ ...es.publicJwk, use: 'enc' }] },
      { keys: [] },
      { not: 'a key set' },
    ];
    for (const content of cases) {
      const path = join(await tempDataDir(), 'jwks.json');
      await writeFile(path, JSON.stringify(content));
      const failure = await createIdentity(settings({ jwksFile: path, issuer: ISSUER }), { dataDir: await tempDataDir() }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(TongxiangError);
      expect((failure as TongxiangError).code).toBe('CONFIG_INVALID');
      expect((failure as TongxiangError).message).not.toContain(String(privateJwk.d));
    }
  });
});

describe('OIDC issuer', () => {
  let server: Server;
  let base: string;
  let discovery: Record<string, unknown>;
  let jwks: { keys: JWK[] };
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = req.url === '/realms/zwfw/.well-known/openid-configuration' ? discovery : req.url === '/realms/zwfw/protocol/openid-connect/certs' ? jwks : null;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function serve(issuer: string, keys: JWK[]) {
    discovery = { issuer, jwks_uri: `${base}/realms/zwfw/protocol/openid-connect/certs`, id_token_signing_alg_values_supported: ['ES256', 'RS256'] };
    jwks = { keys };
  }

  it('finds the key set through discovery and verifies ES256 and RS256 tokens of that issuer', async () => {
    const issuer = `${base}/realms/zwfw`;
    serve(issuer, [es.publicJwk, rs.publicJwk]);
    const identity = await createIdentity(settings({ oidcIssuer: issuer }), { dataDir: await tempDataDir(), clock: manualClock() });
    expect(identity).toMatchObject({ mode: 'oidc', issuer, keySource: `${base}/realms/zwfw/protocol/openid-connect/certs` });
    for (const key of [es, rs]) {
      await expect(identity.authenticate(`Bearer ${await signed(key, issuer)}`)).resolves.toMatchObject({ subject: 'chen.jing', roles: ['developer'] });
    }
    await expectRefused(identity.authenticate(`Bearer ${await signed(es, `${base}/realms/other`)}`), 'wrong issuer');
    await expectRefused(identity.authenticate(`Bearer ${await signed(es, issuer, { aud: 'account' })}`), 'wrong audience');
    expect(requests).toContain('/realms/zwfw/.well-known/openid-configuration');
  });

  it('stops start-up when the discovery document names another issuer', async () => {
    serve('https://impostor.example/realms/zwfw', [es.publicJwk]);
    await expect(createIdentity(settings({ oidcIssuer: `${base}/realms/zwfw` }), { dataDir: await tempDataDir() })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('stops start-up when the issuer has no discovery document or cannot be reached', async () => {
    await expect(createIdentity(settings({ oidcIssuer: `${base}/realms/none` }), { dataDir: await tempDataDir() })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      fields: { reason: expect.stringContaining('HTTP 404') },
    });
    await expect(createIdentity(settings({ oidcIssuer: 'http://127.0.0.1:9/realms/zwfw' }), { dataDir: await tempDataDir() })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      fields: { reason: expect.stringContaining('unreachable') },
    });
  });

  it('answers "keys unavailable" and reports the cause for the log when the key set cannot be fetched', async () => {
    const reported: unknown[] = [];
    const issuer = `${base}/realms/zwfw`;
    const verifier = createTokenVerifier({
      keys: createRemoteJWKSet(new URL('http://127.0.0.1:9/realms/zwfw/certs'), { timeoutDuration: 5000 }),
      issuer,
      audience: 'tongxiang',
      clock: manualClock(),
      onUnexpected: (e) => reported.push(e),
    });
    await expectRefused(verifier.verify(await signed(es, issuer)), 'keys unavailable');
    expect(reported).toHaveLength(1);
  });
});
