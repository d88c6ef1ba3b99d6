/**
 * JWT attacks against the verifier, each refused with its own reason (RFC 8725 — JWT Best
 * Current Practices — lists most of them): algorithm confusion, forged and tampered tokens,
 * time, issuer, audience, size, and claims the hub depends on.
 */
import { createHmac } from 'node:crypto';
import { SignJWT, UnsecuredJWT, base64url, exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalIssuer } from '../index.ts';
import { DEVELOPER, T0, expectRefused, localSetup, manualClock, removeTempDirs, tempDataDir } from './fixtures.ts';

afterAll(removeTempDirs);

const now = Math.floor(T0 / 1000);
const CLAIMS = { iss: 'tongxiang-local', aud: 'tongxiang', sub: 'zhang.wei', dept: '341504.mzj', roles: ['developer'], iat: now, exp: now + 3600 };

async function signWith(key: CryptoKey, kid: string, claims: Record<string, unknown>, alg = 'EdDSA'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
}

/** An HMAC-signed JWT, made by hand as an attacker would (HS256/384/512). */
function hmacToken(alg: 'HS256' | 'HS384' | 'HS512', secret: Uint8Array | string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${base64url.encode(JSON.stringify({ ...header, alg }))}.${base64url.encode(JSON.stringify(claims))}`;
  return `${input}.${createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url')}`;
}

describe('algorithm confusion', () => {
  it('refuses an unsigned token (alg: none)', async () => {
    const { verifier } = await localSetup();
    const token = new UnsecuredJWT(CLAIMS).encode();
    expect(token.endsWith('.')).toBe(true);
    await expectRefused(verifier.verify(token), 'algorithm not allowed', token);
  });

  it('refuses alg none spelled in other cases, with and without a signature', async () => {
    const { verifier } = await localSetup();
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const unsigned = `${base64url.encode(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url.encode(JSON.stringify(CLAIMS))}.`;
      await expectRefused(verifier.verify(unsigned), 'algorithm not allowed');
      await expectRefused(verifier.verify(unsigned + 'c2lnbmF0dXJl'), 'algorithm not allowed');
    }
  });

  it('refuses HS256 signed with the hub\'s public key as the HMAC secret (PEM, JWK and raw bytes)', async () => {
    const { issuer, verifier } = await localSetup();
    const publicKey = (await importJWK(issuer.key.publicJwk, 'EdDSA')) as CryptoKey;
    const secrets = [
      await exportSPKI(publicKey),
      JSON.stringify(issuer.key.publicJwk),
      base64url.decode(String(issuer.key.publicJwk.x)),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        const token = hmacToken(alg, secret, { kid: issuer.key.kid, typ: 'JWT' }, CLAIMS);
        await expectRefused(verifier.verify(token), 'algorithm not allowed', token);
      }
    }
  });

  it('refuses an algorithm outside the allow-list even with a matching key (ES384, PS256)', async () => {
    const { verifier } = await localSetup();
    for (const alg of ['ES384', 'PS256']) {
      const { privateKey } = await generateKeyPair(alg);
      const token = await signWith(privateKey, 'whatever', CLAIMS, alg);
      await expectRefused(verifier.verify(token), 'algorithm not allowed', token);
    }
  });
});

describe('forged and altered tokens', () => {
  it('refuses a tampered payload: the signature no longer matches', async () => {
    const { issuer, verifier } = await localSetup();
    const token = await issuer.sign(DEVELOPER);
    const [header, , signature] = token.split('.');
    const promoted = { ...CLAIMS, dept: '340000.sjzx', roles: ['operator', 'data_owner'] };
    const tampered = `${header}.${base64url.encode(JSON.stringify(promoted))}.${signature}`;
    await expectRefused(verifier.verify(tampered), 'bad signature', tampered);
  });

  it('refuses a token whose signature was altered by one character', async () => {
    const { issuer, verifier } = await localSetup();
    const token = await issuer.sign(DEVELOPER);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    await expectRefused(verifier.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`), 'bad signature');
  });

  it('refuses a token naming a key the hub does not hold (unknown kid)', async () => {
    const { issuer, verifier } = await localSetup();
    const token = await signWith(issuer.key.privateKey, 'not-a-key-of-this-hub', CLAIMS);
    await expectRefused(verifier.verify(token), 'unknown key', token);
  });

  it('refuses a token from another local issuer (another data directory\'s key)', async () => {
    const { verifier } = await localSetup();
    const other = await openLocalIssuer({ dataDir: await tempDataDir(), clock: manualClock() });
    const token = await other.sign(DEVELOPER);
    await expectRefused(verifier.verify(token), 'unknown key', token);
  });

  it('refuses another key\'s signature presented under this hub\'s kid', async () => {
    const { issuer, verifier } = await localSetup();
    const other = await openLocalIssuer({ dataDir: await tempDataDir(), clock: manualClock() });
    const token = await signWith(other.key.privateKey, issuer.key.kid, CLAIMS);
    await expectRefused(verifier.verify(token), 'bad signature', token);
  });

  it('refuses what is not a compact JWS at all', async () => {
    const { verifier } = await localSetup();
    for (const garbage of ['garbage', 'a.b', 'a.b.c.d', 'eyJ.eyJ.sig with spaces', '....', `${base64url.encode('{"alg":')}.e30.c2ln`]) {
      await expectRefused(verifier.verify(garbage), 'malformed');
    }
  });

  it('refuses an encrypted token (JWE compact form has five parts)', async () => {
    const { verifier } = await localSetup();
    await expectRefused(verifier.verify('eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn'), 'malformed');
  });

  it('refuses an oversized token before decoding it', async () => {
    const { issuer, verifier } = await localSetup();
    const token = await signWith(issuer.key.privateKey, issuer.key.kid, { ...CLAIMS, padding: 'x'.repeat(9 * 1024) });
    expect(token.length).toBeGreaterThan(8192);
    await expectRefused(verifier.verify(token), 'too large', token);
    await expectRefused(verifier.verify('A'.repeat(1_000_000)), 'too large');
  });
});

describe('time', () => {
  it('refuses an expired token once the clock skew has passed, and accepts it within the skew', async () => {
    const clock = manualClock();
    const { issuer, verifier } = await localSetup(clock);
    const token = await issuer.sign({ ...DEVELOPER, ttlSeconds: 600 });
    clock.advance(600_000 + 20_000); // expired 20 s ago: within the 30 s skew
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: DEVELOPER.subject });
    clock.advance(20_000); // expired 40 s ago
    await expectRefused(verifier.verify(token), 'expired', token);
  });

  it('refuses a token that is not yet valid (nbf beyond the skew)', async () => {
    const { issuer, verifier } = await localSetup();
    const early = await signWith(issuer.key.privateKey, issuer.key.kid, { ...CLAIMS, nbf: now + 120 });
    await expectRefused(verifier.verify(early), 'not yet valid', early);
    const almost = await signWith(issuer.key.privateKey, issuer.key.kid, { ...CLAIMS, nbf: now + 10 });
    await expect(verifier.verify(almost)).resolves.toMatchObject({ subject: 'zhang.wei' });
  });

  it('refuses a token without an expiry, or with one that is not a number', async () => {
    const { issuer, verifier } = await localSetup();
    const { exp: _exp, ...forever } = CLAIMS;
    await expectRefused(verifier.verify(await signWith(issuer.key.privateKey, issuer.key.kid, forever)), 'missing expiry');
    await expectRefused(verifier.verify(await signWith(issuer.key.privateKey, issuer.key.kid, { ...CLAIMS, exp: 'tomorrow' })), 'malformed');
  });
});

describe('issuer and audience', () => {
  it('refuses a token of the right key but the wrong issuer', async () => {
    const { dataDir, verifier } = await localSetup();
    const impostor = await openLocalIssuer({ dataDir, issuer: 'some-other-hub', clock: manualClock() });
    await expectRefused(verifier.verify(await impostor.sign(DEVELOPER)), 'wrong issuer');
    const { iss: _iss, ...noIssuer } = CLAIMS;
    await expectRefused(verifier.verify(await signWith(impostor.key.privateKey, impostor.key.kid, noIssuer)), 'wrong issuer');
  });

  it('refuses a token meant for another audience, and one with no audience', async () => {
    const { dataDir, verifier, issuer } = await localSetup();
    const elsewhere = await openLocalIssuer({ dataDir, audience: 'city-portal', clock: manualClock() });
    await expectRefused(verifier.verify(await elsewhere.sign(DEVELOPER)), 'wrong audience');
    const { aud: _aud, ...noAudience } = CLAIMS;
    await expectRefused(verifier.verify(await signWith(issuer.key.privateKey, issuer.key.kid, noAudience)), 'wrong audience');
  });

  it('accepts a token whose audience list includes the hub', async () => {
    const { issuer, verifier } = await localSetup();
    const token = await signWith(issuer.key.privateKey, issuer.key.kid, { ...CLAIMS, aud: ['city-portal', 'tongxiang'] });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'zhang.wei' });
  });
});

describe('claims the hub relies on', () => {
  it('refuses a token without a subject, or with an empty or non-string one', async () => {
    const { issuer, verifier } = await localSetup();
    const { sub: _sub, ...anonymous } = CLAIMS;
    for (const claims of [anonymous, { ...CLAIMS, sub: '' }, { ...CLAIMS, sub: 42 }, { ...CLAIMS, sub: 'x'.repeat(300) }]) {
      await expectRefused(verifier.verify(await signWith(issuer.key.privateKey, issuer.key.kid, claims)), 'missing subject');
    }
  });

  it('refuses a token whose department is missing or not a department code', async () => {
    const { issuer, verifier } = await localSetup();
    const { dept: _dept, ...none } = CLAIMS;
    const bad = [none, ...['mzj', '34150.mzj', '341504', '341504.MZJ', '341504.mzj.extra', '341504.'].map((dept) => ({ ...CLAIMS, dept })), { ...CLAIMS, dept: 341504 }, { ...CLAIMS, dept: ['341504.mzj'] }];
    for (const claims of bad) {
      await expectRefused(verifier.verify(await signWith(issuer.key.privateKey, issuer.key.kid, claims)), 'bad department');
    }
  });
});
