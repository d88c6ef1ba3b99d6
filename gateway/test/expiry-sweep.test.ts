/**
 * The contract expiry sweep the hub runs: contracts past their validUntil are recorded `expired`
 * by the system, at start and then on its interval, on a real PGlite contract store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContractService, createPgliteContractStore, type ContractStore } from '../../contracts/index.ts';
import { DAY, demoCatalogue, insuranceRequest, manualClock, person, RSJ, T0, YEJI_MZJ } from '../../contracts/test/fixtures.ts';
import { startExpirySweep } from '../governance.ts';
import { createLogger } from '../log.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp() {
  const dataDir = await mkdtemp(join(tmpdir(), 'tx-sweep-'));
  const store: ContractStore = await createPgliteContractStore({ dataDir });
  cleanups.push(async () => {
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });
  const clock = manualClock();
  const contracts = createContractService({ store, catalogue: demoCatalogue().lookup, clock });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger((line) => lines.push(JSON.parse(line)));
  const request = await contracts.request(person(YEJI_MZJ, ['developer']), insuranceRequest(T0));
  const active = await contracts.approve(person(RSJ, ['data_owner']), request.id);
  return { store, clock, contracts, logger, lines, active };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('contract expiry sweep', () => {
  it('leaves a contract in its window alone, and marks it expired on the first sweep after its end', async () => {
    const { store, clock, contracts, logger, lines, active } = await setUp();
    const sweep = startExpirySweep(contracts, 50, logger);
    cleanups.push(() => sweep.stop());
    await new Promise((r) => setTimeout(r, 150)); // the sweep at start and two more
    expect((await store.get(active.id))?.state).toBe('active');

    clock.set(Date.parse(active.validUntil) + DAY);
    const after = await until(() => store.get(active.id), (c) => c?.state === 'expired');
    expect(after?.state).toBe('expired');
    const history = await store.history(active.id);
    expect(history.at(-1)).toMatchObject({ action: 'expire', to: 'expired', actor: 'system' });
    expect(lines.find((l) => l.message === 'contracts expired')).toMatchObject({ count: 1, contractIds: [active.id] });
  });

  it('logs a failed sweep and keeps going; stop waits for a sweep under way', async () => {
    const { store, contracts, logger, lines } = await setUp();
    await store.close();
    const sweep = startExpirySweep(contracts, 50, logger);
    const warned = await until(async () => lines.filter((l) => String(l.message).startsWith('contract expiry sweep failed')).length, (n) => n >= 2);
    expect(warned).toBeGreaterThanOrEqual(2);
    await sweep.stop();
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(lines.length).toBe(count);
  });
});
