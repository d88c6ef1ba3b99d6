/**
 * The embedded default's key: made once per data directory, private part readable only by the
 * hub's user, public key set beside it, the same key for every process using that directory.
 */
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_FILE, PUBLIC_KEYS_FILE, loadOrCreateLocalKey, localKeyDir, openLocalIssuer, parseTtl } from '../index.ts';
import { removeTempDirs, tempDataDir } from './fixtures.ts';

afterAll(removeTempDirs);

const posix = process.platform !== 'win32';

describe('local signing key', () => {
  it('is made on first use: private JWK with mode 0600, public key set beside it, kid = RFC 7638 thumbprint', async () => {
    const dir = localKeyDir(await tempDataDir());
    const key = await loadOrCreateLocalKey(dir);
    const privateFile = join(dir, PRIVATE_KEY_FILE);
    if (posix) {
      expect((await stat(privateFile)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o077).toBe(0);
    }
    const jwks = JSON.parse(await readFile(join(dir, PUBLIC_KEYS_FILE), 'utf8')) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: key.kid, alg: 'EdDSA', use: 'sig' });
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: String(jwks.keys[0]!.x) }));
    expect(await readdir(dir)).toEqual([PUBLIC_KEYS_FILE, PRIVATE_KEY_FILE].sort()); // no temporary files left behind
  });

  it('is the same key on every later start', async () => {
    const dir = localKeyDir(await tempDataDir());
    const first = await loadOrCreateLocalKey(dir);
    const again = await loadOrCreateLocalKey(dir);
    expect(again.kid).toBe(first.kid);
  });

  it('is one key even when several processes make it at the same moment', async () => {
    const dir = localKeyDir(await tempDataDir());
    const keys = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateLocalKey(dir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.runIf(posix)('is refused when other users can read it', async () => {
    const dir = localKeyDir(await tempDataDir());
    await loadOrCreateLocalKey(dir);
    await chmod(join(dir, PRIVATE_KEY_FILE), 0o644);
    await expect(loadOrCreateLocalKey(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID', fields: { reason: expect.stringContaining('644') } });
  });

  it('is refused when the file is not an Ed25519 private key, without quoting the file', async () => {
    const dir = localKeyDir(await tempDataDir());
    await loadOrCreateLocalKey(dir);
    const secretish = '{"kty":"RSA","n":"private-looking-bytes-zq8","e":"AQAB","d":"zq8-secret"}';
    await writeFile(join(dir, PRIVATE_KEY_FILE), secretish, { mode: 0o600 });
    const failure = (await loadOrCreateLocalKey(dir).catch((e: unknown) => e)) as Error & { code: string };
    expect(failure.code).toBe('CONFIG_INVALID');
    expect(failure.message).not.toContain('zq8');
  });
});

describe('token lifetimes', () => {
  it('reads 90s, 30m, 8h and 7d, and nothing else', () => {
    expect([parseTtl('90s'), parseTtl('30m'), parseTtl('8h'), parseTtl('7d')]).toEqual([90, 1800, 28_800, 604_800]);
    for (const bad of ['8', 'h', '8 h', '-1h', '1.5h', '8w', '']) expect(parseTtl(bad), bad).toBeNull();
  });

  it('are bounded: the local issuer refuses more than 30 days', async () => {
    const issuer = await openLocalIssuer({ dataDir: await tempDataDir() });
    await expect(issuer.sign({ subject: 's', department: '341504.mzj', roles: ['developer'], ttlSeconds: 31 * 86_400 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
