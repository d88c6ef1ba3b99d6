import { describe, expect, it } from 'vitest';
import { createMemoryLimitStore } from '../memory-store.ts';
import { quotaWindow } from '../quota-window.ts';
import { defineLimitStoreSuite, rateRule, T0 } from './store-suite.ts';

defineLimitStoreSuite('memory', async () => createMemoryLimitStore());

describe('memory limit store', () => {
  it('drops buckets once full again and quota windows once ended, so memory stays bounded', async () => {
    const store = createMemoryLimitStore({ sweepIntervalMs: 0 }) // sweep on every call;
    const quota = { name: 'contract-records', key: 'contract:GX-2026-000001:records', limit: 10 };
    for (let i = 0; i < 100; i++) await store.hit([rateRule(`anonymous:${i}`, 10, 60_000)], T0); // full again at T0 + 6 s
    await store.hit([rateRule('contract:GX-2026-000001:rpm', 1, 3_600_000)], T0); // full again at T0 + 1 h
    await store.take(quota, 3, T0);
    expect(store.size()).toBe(102);
    await store.peek([], T0 + 5_999);
    expect(store.size()).toBe(102); // nothing is full yet
    await store.peek([], T0 + 6_000);
    expect(store.size()).toBe(2);
    await store.peek([], T0 + 3_600_000);
    expect(store.size()).toBe(1);
    await store.peek([], quotaWindow(T0).endMs);
    expect(store.size()).toBe(0);
    await store.close();
  });

  it('sweeps at most once per interval of the callers\' clock', async () => {
    const store = createMemoryLimitStore({ sweepIntervalMs: 60_000 });
    await store.hit([rateRule('a', 10, 1_000)], T0);
    await store.hit([rateRule('b', 10, 1_000)], T0 + 10_000); // swept at T0; next sweep at T0 + 60 s
    expect(store.size()).toBe(2);
    await store.peek([], T0 + 60_000);
    expect(store.size()).toBe(0);
    await store.close();
  });
});
