/**
 * The in-process limiter at the hub: 500 concurrent requests against a department ceiling of 100
 * admit exactly 100 (the same property the three-replica test checks on Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './harness.ts';

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ limits: { departmentLimit: 100, departmentWindowS: 3600 } });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('the in-process limiter under concurrency', () => {
  it('admits exactly 100 of 500 concurrent requests against a ceiling of 100; the rest get 429', async () => {
    // A department that has not used its ceiling yet (the harness's own set up its contracts).
    const fresh = await t.tokenFor({ department: '341503.mzj', subject: 'exact' });
    const query = '{ allowanceHouseholds(regionCode: "341504", first: 1) { total } }';
    const results = await Promise.all(Array.from({ length: 500 }, () => t.query(query, {}, { token: fresh })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(400);
  }, 120_000);
});
