/**
 * The token cache: a verified token is not verified again until its own expiry; the cache is
 * bounded; failures are never cached. Time is an injected clock; verifications are counted by
 * wrapping the real verifier.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cachedVerifier, createTokenCache, type TokenVerifier } from '../index.ts';
import { DEVELOPER, expectRefused, localSetup, manualClock, removeTempDirs } from './fixtures.ts';

afterAll(removeTempDirs);

function counting(verifier: TokenVerifier): TokenVerifier & { count: number } {
  const counter = {
    count: 0,
    verify(token: string) {
      counter.count += 1;
      return verifier.verify(token);
    },
  };
  return counter;
}

async function setup(maxEntries = 10_000) {
  const clock = manualClock();
  const { issuer, verifier } = await localSetup(clock);
  const inner = counting(verifier);
  const cache = createTokenCache({ maxEntries, clockSkewMs: 30_000, clock });
  return { clock, issuer, inner, cache, verifier: cachedVerifier(inner, cache) };
}

describe('token cache', () => {
  it('returns the same Principal for the same token without verifying it again', async () => {
    const { issuer, inner, verifier } = await setup();
    const token = await issuer.sign(DEVELOPER);
    const first = await verifier.verify(token);
    for (let i = 0; i < 5; i++) expect(await verifier.verify(token)).toBe(first);
    expect(inner.count).toBe(1);
  });

  it('rejects a cached token after its own exp (plus the skew), by verifying it again', async () => {
    const { clock, issuer, inner, verifier } = await setup();
    const short = await issuer.sign({ ...DEVELOPER, ttlSeconds: 60 });
    const long = await issuer.sign({ ...DEVELOPER, ttlSeconds: 3600 });
    await verifier.verify(short);
    await verifier.verify(long);
    clock.advance(60_000 + 30_000 + 1000);
    await expectRefused(verifier.verify(short), 'expired');
    await expect(verifier.verify(long)).resolves.toMatchObject({ subject: DEVELOPER.subject });
    expect(inner.count).toBe(3); // short, long, and short again; long still cached
  });

  it('shares one verification between concurrent first requests with the same token', async () => {
    const { issuer, inner, verifier } = await setup();
    const token = await issuer.sign(DEVELOPER);
    const principals = await Promise.all(Array.from({ length: 8 }, () => verifier.verify(token)));
    expect(new Set(principals).size).toBe(1);
    expect(inner.count).toBe(1);
  });

  it('never caches a refusal', async () => {
    const { issuer, inner, verifier } = await setup();
    const token = await issuer.sign(DEVELOPER);
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await expectRefused(verifier.verify(forged), 'bad signature');
    await expectRefused(verifier.verify(forged), 'bad signature');
    expect(inner.count).toBe(2);
  });

  it('stays within its bound, dropping the least recently used token first', async () => {
    const { issuer, inner, cache, verifier } = await setup(2);
    const [a, b, c] = await Promise.all([1, 2, 3].map((n) => issuer.sign({ ...DEVELOPER, subject: `user-${n}` })));
    await verifier.verify(a!);
    await verifier.verify(b!);
    await verifier.verify(a!); // a is now the most recent
    await verifier.verify(c!); // evicts b
    expect(cache.size).toBe(2);
    expect(inner.count).toBe(3);
    await verifier.verify(a!);
    expect(inner.count).toBe(3);
    await verifier.verify(b!);
    expect(inner.count).toBe(4);
  });

  it('can be turned off (size 0): every request is verified', async () => {
    const { issuer, inner, verifier } = await setup(0);
    const token = await issuer.sign(DEVELOPER);
    await verifier.verify(token);
    await verifier.verify(token);
    expect(inner.count).toBe(2);
  });
});
