/**
 * Identity settings from the environment and the config file, validated once with the rest of
 * the configuration: contradictions and unsafe key locations stop start-up with CONFIG_INVALID.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TongxiangError } from '../../../core/index.ts';
import { loadConfig } from '../../config.ts';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ env, cwd: '/srv/hub' });
  } catch (error) {
    expect((error as TongxiangError).code).toBe('CONFIG_INVALID');
    return String((error as TongxiangError).fields.reason);
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('identity settings', () => {
  it('default to the local issuer with the documented values', () => {
    expect(loadConfig({ env: {}, cwd: '/srv/hub' }).identity).toEqual({
      mode: 'local',
      jwksFile: null,
      oidcIssuer: null,
      issuer: 'tongxiang-local',
      audience: 'tongxiang',
      clockSkewMs: 30_000,
      maxTokenBytes: 8192,
      cacheSize: 10_000,
    });
  });

  it('choose the OIDC mode with the issuer URL as the expected iss', () => {
    const { identity } = loadConfig({ env: { TONGXIANG_OIDC_ISSUER: 'https://idp.ah.gov.cn/realms/zwfw', TONGXIANG_TOKEN_AUDIENCE: 'tongxiang-luan' } });
    expect(identity).toMatchObject({ mode: 'oidc', issuer: 'https://idp.ah.gov.cn/realms/zwfw', audience: 'tongxiang-luan' });
  });

  it('choose the JWKS-file mode with the path resolved against the working directory', () => {
    const { identity } = loadConfig({ env: { TONGXIANG_JWKS_FILE: 'keys/jwks.json', TONGXIANG_TOKEN_ISSUER: 'https://idp.example' }, cwd: '/srv/hub' });
    expect(identity).toMatchObject({ mode: 'jwks-file', jwksFile: '/srv/hub/keys/jwks.json', issuer: 'https://idp.example' });
  });

  it('refuse a JWKS file and an OIDC issuer together', () => {
    expect(refusal({ TONGXIANG_JWKS_FILE: 'jwks.json', TONGXIANG_OIDC_ISSUER: 'https://idp.example', TONGXIANG_TOKEN_ISSUER: 'x' })).toMatch(/not both/);
  });

  it('refuse a JWKS file without the issuer its tokens carry', () => {
    expect(refusal({ TONGXIANG_JWKS_FILE: 'jwks.json' })).toMatch(/TONGXIANG_TOKEN_ISSUER/);
  });

  it('refuse an OIDC issuer over plain http to another machine', () => {
    expect(refusal({ TONGXIANG_OIDC_ISSUER: 'http://idp.example/realms/zwfw' })).toMatch(/TONGXIANG_OIDC_ISSUER/);
    expect(loadConfig({ env: { TONGXIANG_OIDC_ISSUER: 'http://127.0.0.1:8080/realms/zwfw' } }).identity.mode).toBe('oidc');
  });

  it('refuse out-of-range numbers, naming each', () => {
    const reason = refusal({ TONGXIANG_TOKEN_CLOCK_SKEW_MS: '-5', TONGXIANG_TOKEN_MAX_BYTES: 'big', TONGXIANG_TOKEN_CACHE_SIZE: '1.5' });
    expect(reason).toMatch(/TONGXIANG_TOKEN_CLOCK_SKEW_MS.*TONGXIANG_TOKEN_MAX_BYTES.*TONGXIANG_TOKEN_CACHE_SIZE/);
  });

  it('come from the config file\'s identity mapping, the environment winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-identity-config-'));
    await writeFile(join(dir, 'hub.yml'), 'identity:\n  oidcIssuer: https://idp.ah.gov.cn/realms/zwfw\n  audience: from-file\n  clockSkewMs: 10000\n');
    const { identity } = loadConfig({ env: { TONGXIANG_CONFIG: 'hub.yml', TONGXIANG_TOKEN_AUDIENCE: 'from-env' }, cwd: dir });
    expect(identity).toMatchObject({ mode: 'oidc', audience: 'from-env', clockSkewMs: 10_000 });
  });
});
