import { describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../core/index.ts';
import { loadConfig } from '../config.ts';
import { rateLimitHeaders, retryAfterSeconds } from '../limits/headers.ts';
import { DEFAULT_FAIL_OPEN } from '../limits/settings.ts';

const problemOf = (env: Record<string, string>): string => {
  try {
    loadConfig({ env, overrides: { dataDir: '/tmp/x' } });
    return 'none';
  } catch (error) {
    return isTongxiangError(error) ? String(error.fields.reason) : String(error);
  }
};

describe('limit settings', () => {
  it('defaults to the in-process limiter, contract quotas failing closed and the ceilings open', () => {
    const { limits } = loadConfig({ env: {}, overrides: { dataDir: '/tmp/x' } });
    expect(limits.redisUrl).toBeNull();
    expect(limits.failOpen).toEqual(DEFAULT_FAIL_OPEN);
    expect(limits.failOpen['contract-rpm']).toBe(false);
    expect(limits.failOpen['contract-records']).toBe(false);
    expect([limits.departmentLimit, limits.departmentWindowS, limits.anonymousPerMinute]).toEqual([6000, 60, 60]);
  });

  it('reads REDIS_URL and the fail-open list from the environment; "none" closes every limit; "off" removes a ceiling', () => {
    const { limits } = loadConfig({
      env: { REDIS_URL: 'redis://:pw@10.0.0.5:6379/2', TONGXIANG_LIMIT_FAIL_OPEN: 'none', TONGXIANG_LIMIT_DEPARTMENT: 'off', TONGXIANG_LIMIT_SOURCE_RPS: '50' },
      overrides: { dataDir: '/tmp/x' },
    });
    expect(limits.redisUrl).toBe('redis://:pw@10.0.0.5:6379/2');
    expect(Object.values(limits.failOpen).every((open) => !open)).toBe(true);
    expect(limits.departmentLimit).toBeNull();
    expect(limits.sourcePerSecond).toBe(50);
    const open = loadConfig({ env: { TONGXIANG_LIMIT_FAIL_OPEN: 'contract-rpm,source' }, overrides: { dataDir: '/tmp/x' } }).limits.failOpen;
    expect(open).toMatchObject({ 'contract-rpm': true, source: true, department: false, 'contract-records': false, anonymous: false });
  });

  it.each([
    [{ REDIS_URL: 'http://10.0.0.5:6379' }, 'REDIS_URL'],
    [{ TONGXIANG_LIMIT_FAIL_OPEN: 'contracts' }, 'unknown limit contracts'],
    [{ TONGXIANG_LIMIT_DEPARTMENT: '-3' }, 'TONGXIANG_LIMIT_DEPARTMENT'],
    [{ TONGXIANG_LIMIT_ANONYMOUS_RPM: '2.5' }, 'TONGXIANG_LIMIT_ANONYMOUS_RPM'],
    [{ TONGXIANG_LIMIT_REDIS_PREFIX: 'has space' }, 'TONGXIANG_LIMIT_REDIS_PREFIX'],
    // The budget of callers without credentials cannot be switched off, only set.
    [{ TONGXIANG_LIMIT_ANONYMOUS_RPM: 'off' }, 'TONGXIANG_LIMIT_ANONYMOUS_RPM'],
    [{ TONGXIANG_LIMIT_REDIS_TIMEOUT_MS: '0' }, 'TONGXIANG_LIMIT_REDIS_TIMEOUT_MS'],
  ])('refuses %j at start with CONFIG_INVALID naming it', (env, named) => {
    expect(problemOf(env)).toContain(named);
  });

  it('takes operation limits per department from the file settings over the defaults, and refuses unknown keys', () => {
    const { limits } = loadConfig({ env: {}, overrides: { dataDir: '/tmp/x', limits: { operation: { maxCost: 20_000 }, operationByDepartment: { '341503.mzj': { maxDepth: 4 } } } } });
    expect(limits.operation.maxCost).toBe(20_000);
    expect(limits.operationByDepartment['341503.mzj']).toMatchObject({ maxDepth: 4, maxCost: 20_000 });
    expect(() => loadConfig({ env: {}, overrides: { dataDir: '/tmp/x', limits: { operation: { maxDepht: 4 } as never } } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('rate-limit headers', () => {
  it('lists every policy with quota and window, and what is left with the seconds to full', () => {
    expect(
      rateLimitHeaders([
        { name: 'department', quota: 6000, windowS: 60, remaining: 5998, resetS: 1 },
        { name: 'contract-rpm', quota: 100, windowS: 60, remaining: 0, resetS: 37 },
      ]),
    ).toEqual({
      'ratelimit-policy': '"department";q=6000;w=60, "contract-rpm";q=100;w=60',
      ratelimit: '"department";r=5998;t=1, "contract-rpm";r=0;t=37',
    });
    expect(rateLimitHeaders([])).toEqual({});
  });

  it('keeps policy names valid structured-field strings', () => {
    const h = rateLimitHeaders([{ name: 'a"b\\c 限', quota: 1, windowS: 1, remaining: 0, resetS: 0 }]);
    expect(h['ratelimit-policy']).toBe('"a\\"b\\\\c ?";q=1;w=1');
  });

  it('gives Retry-After in whole seconds, at least 1, and a day for what can never pass', () => {
    expect([retryAfterSeconds(1), retryAfterSeconds(1000), retryAfterSeconds(1001), retryAfterSeconds(Number.POSITIVE_INFINITY)]).toEqual([1, 1, 2, 86_400]);
  });
});
