import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TongxiangError } from '../../core/index.ts';
import { loadConfig } from '../config.ts';
import { interpolate, loadMeshConfig } from '../mesh-loader.ts';

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/hub' });
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', dataDir: '/srv/hub/data', upstreamTimeoutMs: 5000, demo: false });
    expect(config.variables.TONGXIANG_DROP_DIR).toBe('/srv/hub/data/drop');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets the environment override the file, and the file the defaults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-config-'));
    await writeFile(join(dir, 'hub.yml'), 'port: 4100\nhost: 0.0.0.0\nvariables:\n  TONGXIANG_RSJ_URL: http://file\n');
    const config = loadConfig({ env: { TONGXIANG_CONFIG: 'hub.yml', PORT: '4200', TONGXIANG_DATA_DIR: 'x' }, cwd: dir });
    expect(config.port).toBe(4200);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe(join(dir, 'x'));
    expect(config.variables.TONGXIANG_RSJ_URL).toBe('http://file');
  });

  it('refuses an invalid port and timeout, naming both', () => {
    try {
      loadConfig({ env: { PORT: 'eighty', TONGXIANG_UPSTREAM_TIMEOUT_MS: '-1' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TongxiangError);
      expect((error as TongxiangError).code).toBe('CONFIG_INVALID');
      expect((error as TongxiangError).fields.reason).toMatch(/PORT.*TONGXIANG_UPSTREAM_TIMEOUT_MS/);
    }
  });

  it('reports a broken config file without quoting it, since it may hold a password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-config-'));
    await writeFile(join(dir, 'hub.yml'), 'variables:\n  TONGXIANG_SAMR_PASSWORD: "s3cr3t-pw\n  other: [\n');
    try {
      loadConfig({ env: { TONGXIANG_CONFIG: 'hub.yml' }, cwd: dir });
      expect.unreachable();
    } catch (error) {
      expect((error as TongxiangError).code).toBe('CONFIG_INVALID');
      expect((error as TongxiangError).fields.reason).toMatch(/line \d+/);
      expect(JSON.stringify(error) + (error as Error).message).not.toContain('s3cr3t');
    }
  });

  it('gives two hubs with two data directories disjoint paths', () => {
    const a = loadConfig({ env: { TONGXIANG_DATA_DIR: '/tmp/a' } });
    const b = loadConfig({ env: { TONGXIANG_DATA_DIR: '/tmp/b' } });
    expect(a.variables.TONGXIANG_DROP_DIR).not.toBe(b.variables.TONGXIANG_DROP_DIR);
  });
});

describe('.meshrc.yml placeholders', () => {
  it('fills ${NAME} and ${NAME:default} inside nested strings and lists', () => {
    const missing = new Set<string>();
    const out = interpolate({ a: '${X}/p', b: ['${Y:dflt}'], c: 3 }, { X: 'http://h' }, missing);
    expect(out).toEqual({ a: 'http://h/p', b: ['dflt'], c: 3 });
    expect(missing.size).toBe(0);
  });

  it('inserts values verbatim, so a password with YAML syntax cannot change the config', () => {
    const out = interpolate({ password: '${P}' }, { P: 'a: b\n- c #d' }, new Set());
    expect(out).toEqual({ password: 'a: b\n- c #d' });
  });

  it('stops start-up listing every setting the mesh config needs but did not get', async () => {
    const config = loadConfig({ env: {} });
    await expect(loadMeshConfig(config)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      fields: { reason: expect.stringMatching(/TONGXIANG_RSJ_API_KEY.*TONGXIANG_RSJ_URL.*TONGXIANG_SAMR_PASSWORD.*TONGXIANG_SAMR_URL.*TONGXIANG_SAMR_USERNAME/) },
    });
  });
});
