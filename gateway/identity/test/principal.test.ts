/**
 * A valid token becomes the Principal the rest of the hub works with: person, department with
 * its level from the region code, known roles, client system, expiry.
 */
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, principalFromClaims } from '../index.ts';
import { DEVELOPER, T0, localSetup, removeTempDirs } from './fixtures.ts';

afterAll(removeTempDirs);

describe('a valid token', () => {
  it('yields the Principal it names, with the department\'s level from its region code', async () => {
    const { issuer, verifier } = await localSetup();
    const principal = await verifier.verify(await issuer.sign({ ...DEVELOPER, ttlSeconds: 3600 }));
    expect(principal).toEqual({
      subject: 'zhang.wei',
      department: { code: '341504.mzj', regionCode: '341504', shortName: 'mzj', level: 'county' },
      roles: ['developer'],
      client: 'yeji-dibao-check',
      expiresAt: Math.floor(T0 / 1000) + 3600,
    });
    expect(Object.isFrozen(principal)).toBe(true);
  });

  it.each([
    ['340000.scjgj', 'province'],
    ['341500.rsj', 'city'],
    ['341623.mzj', 'county'],
  ])('gives %s the level %s', async (department, level) => {
    const { issuer, verifier } = await localSetup();
    const principal = await verifier.verify(await issuer.sign({ ...DEVELOPER, department }));
    expect(principal.department.level).toBe(level);
  });

  it('keeps known roles in order, drops unknown ones and duplicates, and treats no roles as none', async () => {
    const { issuer, verifier } = await localSetup();
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ dept: '341504.mzj', ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid: issuer.key.kid })
        .setIssuer(issuer.issuer)
        .setAudience(issuer.audience)
        .setSubject('li.na')
        .setExpirationTime(Math.floor(T0 / 1000) + 600)
        .sign(issuer.key.privateKey);
    expect((await verifier.verify(await sign({ roles: ['auditor', 'root', 'developer', 'auditor', 7] }))).roles).toEqual(['auditor', 'developer']);
    expect((await verifier.verify(await sign({}))).roles).toEqual([]);
    expect((await verifier.verify(await sign({ roles: 'developer' }))).roles).toEqual([]);
    expect((await verifier.verify(await sign({ roles: [] }))).client).toBeNull();
  });
});

describe('claims → Principal (pure)', () => {
  const base = { sub: 's', dept: '341504.mzj', exp: 2_000_000_000 };

  it('returns a reason instead of throwing', () => {
    expect(principalFromClaims({ ...base, sub: undefined })).toEqual({ reason: 'missing subject' });
    expect(principalFromClaims({ ...base, dept: '999.x' })).toEqual({ reason: 'bad department' });
    expect(principalFromClaims({ ...base, exp: undefined })).toEqual({ reason: 'missing expiry' });
    expect(principalFromClaims({ ...base, azp: '' })).toMatchObject({ principal: { client: null } });
  });
});

describe('the Authorization header', () => {
  it('yields the token of a Bearer header, whatever the case of the scheme', () => {
    expect(bearerToken('Bearer a.b.c')).toEqual({ token: 'a.b.c' });
    expect(bearerToken('bearer   a.b.c ')).toEqual({ token: 'a.b.c' });
  });

  it('calls no header missing, and any other scheme or shape malformed', () => {
    expect(bearerToken(undefined)).toEqual({ reason: 'missing' });
    expect(bearerToken('   ')).toEqual({ reason: 'missing' });
    for (const header of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer ', 'Bearer a.b.c d.e.f', 'Bearer a.b.c,Bearer d.e.f', 'a.b.c', 'Token a.b.c']) {
      expect(bearerToken(header), header).toEqual({ reason: 'malformed' });
    }
  });
});
