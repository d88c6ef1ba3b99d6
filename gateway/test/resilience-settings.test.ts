import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TongxiangError } from '../../core/index.ts';
import { DEFAULT_RESILIENCE } from '../../mesh/index.ts';
import { loadConfig } from '../config.ts';

function refusal(run: () => unknown): TongxiangError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TongxiangError);
    return error as TongxiangError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('resilience settings', () => {
  it('uses the documented defaults for every remote source', () => {
    const config = loadConfig({ env: {} });
    expect(config.resilience.defaults).toEqual(DEFAULT_RESILIENCE);
    expect(config.resilience.defaults).toMatchObject({ retries: 2, breakerConsecutiveFailures: 5, breakerCooldownMs: 10_000, maxConcurrent: 32, maxQueued: 16 });
    expect(config.resilience.sources).toEqual({});
  });

  it('takes per-source overrides from the file over defaults from the environment over the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-resilience-'));
    await writeFile(
      join(dir, 'hub.yml'),
      'resilience:\n  retries: 1\n  maxConcurrent: 10\n  breakerFailureRatio: off\n  sources:\n    MarketRegistry:\n      maxConcurrent: 4\n      maxQueued: 0\n',
    );
    const config = loadConfig({ env: { TONGXIANG_CONFIG: 'hub.yml', TONGXIANG_UPSTREAM_RETRIES: '3', TONGXIANG_CIRCUIT_COOLDOWN_MS: '2500' }, cwd: dir });
    expect(config.resilience.defaults).toMatchObject({ retries: 3, maxConcurrent: 10, breakerCooldownMs: 2500, breakerFailureRatio: null });
    expect(config.resilience.sources.MarketRegistry).toMatchObject({ retries: 3, maxConcurrent: 4, maxQueued: 0, breakerCooldownMs: 2500 });
  });

  it('refuses invalid values with CONFIG_INVALID, naming each setting', () => {
    const error = refusal(() =>
      loadConfig({ env: { TONGXIANG_UPSTREAM_MAX_CONCURRENT: '0', TONGXIANG_CIRCUIT_FAILURE_RATIO: '1.5', TONGXIANG_UPSTREAM_RETRIES: 'many' } }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.fields.reason).toMatch(/TONGXIANG_UPSTREAM_RETRIES/);
    expect(error.fields.reason).toMatch(/TONGXIANG_CIRCUIT_FAILURE_RATIO/);
    expect(error.fields.reason).toMatch(/TONGXIANG_UPSTREAM_MAX_CONCURRENT/);
  });

  it('refuses a per-source override that is out of range', () => {
    const error = refusal(() => loadConfig({ env: {}, overrides: { resilience: { sources: { SocialInsurance: { maxQueued: -1 } } } } }));
    expect(error.fields.reason).toMatch(/resilience\.sources\.SocialInsurance\.maxQueued/);
  });
});
