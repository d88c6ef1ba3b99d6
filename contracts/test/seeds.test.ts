import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../core/index.ts';
import { DEMO_CONTRACTS_PATH, parseSeedContracts } from '../seeds.ts';
import { validateContractRequest } from '../validate.ts';
import { DAY, demoCatalogue, T0 } from './fixtures.ts';

function problemOf(source: string): string {
  try {
    parseSeedContracts(source, T0);
  } catch (error) {
    if (isTongxiangError(error) && error.code === 'CONFIG_INVALID') return String(error.fields.reason);
    throw error;
  }
  throw new Error('parsed');
}

describe('seed file', () => {
  it('reads the demo file: six contracts, times relative to the load', async () => {
    const seeds = parseSeedContracts(await readFile(DEMO_CONTRACTS_PATH, 'utf8'), T0);
    expect(seeds).toHaveLength(6);
    const expired = seeds[3]!;
    expect(expired.validUntil).toBe(T0 - 35 * DAY);
    expect(expired.story.map((s) => [s.do, s.at])).toEqual([
      ['request', T0 - 401 * DAY],
      ['approve', T0 - 400 * DAY],
      ['expire', T0],
    ]);
    expect(seeds[2]!.scope).toEqual({ kind: 'regions', regionCodes: ['341502', '341503'] });
  });

  it('asks only for fields the demo catalogue lets each provider grant', async () => {
    const { lookup } = demoCatalogue();
    for (const seed of parseSeedContracts(await readFile(DEMO_CONTRACTS_PATH, 'utf8'), T0)) {
      const result = validateContractRequest(seed.consumer, {
        ...seed,
        validFrom: undefined,
        validUntil: new Date(T0 + DAY).toISOString(),
      }, { lookup, now: T0 });
      expect(result.ok ? [] : result.problems).toEqual([]);
    }
  });

  it('lists every problem of a broken file', () => {
    const reason = problemOf(`
contracts:
  - consumer: mzj
    provider: 341500.rsj
    purpose: ''
    legalBasis: x
    validUntil: tomorrow
    fields: { Person.insurance: plain }
    story: [{ at: -1d, do: approve }]
`);
    for (const part of ['consumer', 'purpose', 'validUntil', 'Person.insurance', 'story']) expect(reason).toContain(part);
  });

  it('refuses a file without a contracts list, or not YAML', () => {
    expect(problemOf('contract: []')).toContain('contracts');
    expect(problemOf('contracts: [')).toContain('YAML');
  });
});
