import { describe, expect, it } from 'vitest';
import { validateContractRequest, type ContractRequest } from '../validate.ts';
import { DAY, demoCatalogue, insuranceRequest, RSJ, SCJGJ, T0, YEJI_MZJ } from './fixtures.ts';

const { lookup } = demoCatalogue();
const validate = (overrides: Partial<ContractRequest>, consumer = YEJI_MZJ) =>
  validateContractRequest(consumer, insuranceRequest(T0, overrides), { lookup, now: T0 });

function problems(overrides: Partial<ContractRequest>): readonly string[] {
  const result = validate(overrides);
  expect(result.ok).toBe(false);
  if (result.ok) return [];
  expect(result.error.code).toBe('CONTRACT_INVALID');
  return result.problems;
}

describe('validating a contract request', () => {
  it('accepts a sound request, trimmed and normalised, with the default scope', () => {
    const result = validate({ purpose: '  核查  ', scope: undefined, validFrom: '2026-11-01', validUntil: '2027-10-31T23:59:59+08:00' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      consumer: YEJI_MZJ,
      provider: RSJ,
      purpose: '核查',
      scope: { kind: 'jurisdiction' },
      validFrom: '2026-10-31T16:00:00.000Z',
      validUntil: '2027-10-31T15:59:59.000Z',
    });
  });

  it('infers the provider from the fields when it is left out', () => {
    const result = validate({ provider: undefined });
    expect(result.ok && result.value.provider).toBe(RSJ);
  });

  it.each([
    ['purpose', { purpose: '   ' }],
    ['legalBasis', { legalBasis: '' }],
    ['purpose', { purpose: '用'.repeat(501) }],
    ['legalBasis', { legalBasis: '依'.repeat(1001) }],
  ] as const)('requires %s as non-empty text within its length', (name, overrides) => {
    expect(problems(overrides).some((p) => p.startsWith(name))).toBe(true);
  });

  it('requires at least one field', () => {
    expect(problems({ fields: [] })).toHaveLength(1);
  });

  it('refuses a coordinate that is not in the catalogue, or not a coordinate at all', () => {
    const list = problems({ fields: [{ coordinate: 'Person.salary', mode: 'clear' }, { coordinate: 'person', mode: 'clear' }] });
    expect(list.join('\n')).toContain('Person.salary');
    expect(list).toHaveLength(2);
  });

  it('refuses a not-shared field', () => {
    const list = problems({ provider: SCJGJ, fields: [{ coordinate: 'Enterprise.address', mode: 'masked' }] });
    expect(list.join('\n')).toContain('Enterprise.address');
  });

  it('refuses fields of two owners in one contract', () => {
    const fields = [...insuranceRequest().fields, { coordinate: 'Enterprise.legalRepresentativeIdNumber', mode: 'masked' as const }];
    expect(problems({ fields }).join('\n')).toContain(SCJGJ);
    expect(problems({ fields, provider: undefined }).join('\n')).toContain(SCJGJ);
  });

  it('refuses fields whose owner is not the named provider', () => {
    expect(problems({ provider: SCJGJ }).join('\n')).toContain(RSJ);
  });

  it('refuses a field listed twice and an unknown mode', () => {
    const list = problems({
      fields: [
        { coordinate: 'Person.insurance', mode: 'clear' },
        { coordinate: 'Person.insurance', mode: 'masked' },
        { coordinate: 'InsuranceRecord.status', mode: 'plain' as 'clear' },
      ],
    });
    expect(list).toHaveLength(2);
  });

  it('refuses a request to the consumer’s own department', () => {
    const result = validateContractRequest(RSJ, insuranceRequest(), { lookup, now: T0 });
    expect(!result.ok && result.problems.join()).toContain('provider');
  });

  it.each([
    ['until before from', { validUntil: new Date(T0 - DAY).toISOString() }],
    ['until equal to from', { validUntil: new Date(T0).toISOString() }],
    ['more than three years', { validUntil: new Date(T0 + 3 * 366 * DAY).toISOString() }],
    ['not an instant', { validUntil: 'next year' }],
    ['no time zone', { validUntil: '2027-01-01T00:00:00' }],
    ['until already past', { validFrom: new Date(T0 - 30 * DAY).toISOString(), validUntil: new Date(T0 - DAY).toISOString() }],
  ])('refuses a validity window: %s', (_, overrides) => {
    expect(problems(overrides).length).toBeGreaterThan(0);
  });

  it('accepts exactly three years', () => {
    expect(validate({ validUntil: '2029-11-01T00:00:00+08:00' }).ok).toBe(true);
  });

  it.each([
    ['an unknown code', ['999999']],
    ['a 5-digit code', ['34150']],
    ['an empty list', []],
    ['a duplicate', ['341502', '341502']],
  ])('refuses a regions scope with %s', (_, regionCodes) => {
    expect(problems({ scope: { kind: 'regions', regionCodes } }).length).toBeGreaterThan(0);
  });

  it('accepts listed real region codes and all', () => {
    expect(validate({ scope: { kind: 'regions', regionCodes: ['341502', '341600'] } }).ok).toBe(true);
    expect(validate({ scope: { kind: 'all' } }).ok).toBe(true);
  });

  it.each([[-1], [1.5], [Number.NaN], ['10' as unknown as number]])('refuses quota %s', (value) => {
    expect(problems({ quotas: { requestsPerMinute: value } })).toHaveLength(1);
  });

  it('takes missing quotas as no limit and zero as zero', () => {
    const result = validate({ quotas: { recordsPerDay: 0 } });
    expect(result.ok && result.value.quotas).toEqual({ requestsPerMinute: null, recordsPerDay: 0 });
  });

  it('lists every problem at once', () => {
    const list = problems({
      purpose: '',
      legalBasis: '',
      fields: [{ coordinate: 'Enterprise.address', mode: 'clear' }, { coordinate: 'Nope.nothing', mode: 'clear' }],
      scope: { kind: 'regions', regionCodes: ['123'] },
      validUntil: 'soon',
      quotas: { requestsPerMinute: -5, recordsPerDay: 0.5 },
    });
    expect(list.length).toBeGreaterThanOrEqual(8);
    const result = validate({ purpose: '', legalBasis: '' });
    expect(!result.ok && String(result.error.fields.reason)).toContain('purpose');
    expect(!result.ok && String(result.error.fields.reason)).toContain('legalBasis');
  });

  it('survives a request of the wrong shape', () => {
    const result = validateContractRequest(YEJI_MZJ, { fields: 'Person.insurance' } as unknown as ContractRequest, { lookup, now: T0 });
    expect(!result.ok && result.error.code).toBe('CONTRACT_INVALID');
  });
});
