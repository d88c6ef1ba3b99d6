import { describe, expect, it } from 'vitest';
import type { ContractState, RowScope } from '../../contracts/index.ts';
import { browseCatalogue, decideFieldAccess, describeDenial, LEVELS, SHARING_TYPES, type Decision, type DecisionGrant, type InactiveGrant } from '../index.ts';
import { catalogueOf, principal, shippedCatalogue } from './support.ts';

const NOW = Date.parse('2026-11-23T10:00:00+08:00');
const JURISDICTION: RowScope = { kind: 'jurisdiction' };

function grant(coordinate: string, mode: 'clear' | 'masked', contractId: string, provider: string, extra: Partial<DecisionGrant> = {}): DecisionGrant {
  return { contractId, provider, coordinate, mode, scope: JURISDICTION, purpose: '低保资格核查', ...extra };
}

type Case = readonly [
  title: string,
  input: { dept: string; coordinate: string; grants?: readonly DecisionGrant[]; inactive?: readonly InactiveGrant[] },
  expected: Partial<Decision> & Record<string, unknown>,
];

const COUNTY = '341504.mzj';
const RSJ = '341500.rsj';

const cases: readonly Case[] = [
  // sharing types
  ['allows an unconditional L1 field to any department', { dept: COUNTY, coordinate: 'Enterprise.name' }, { kind: 'allow', basis: 'unconditional', contractId: null }],
  ['allows an unconditional L2 field to any department', { dept: '341623.mzj', coordinate: 'Person.gender' }, { kind: 'allow', basis: 'unconditional' }],
  ['denies a conditional field without a contract, naming its owner', { dept: COUNTY, coordinate: 'Person.name' }, { kind: 'deny', code: 'FORBIDDEN_FIELD', reason: 'no-contract', owners: [RSJ], coordinate: 'Person.name' }],
  ['allows a conditional field granted clear', { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'clear', 'c-1', RSJ)] }, { kind: 'allow', basis: 'contract', contractId: 'c-1' }],
  ['masks a conditional field granted masked, with its rule', { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'masked', 'c-2', RSJ)] }, { kind: 'mask', rule: 'name', contractId: 'c-2' }],
  ['masks an amount with the amount rule', { dept: COUNTY, coordinate: 'InsuranceRecord.contributionBase', grants: [grant('InsuranceRecord.contributionBase', 'masked', 'c-3', RSJ)] }, { kind: 'mask', rule: 'amount' }],
  ['masks an ID number with the idNumber rule', { dept: COUNTY, coordinate: 'Enterprise.legalRepresentativeIdNumber', grants: [grant('Enterprise.legalRepresentativeIdNumber', 'masked', 'c-4', '340000.scjgj')] }, { kind: 'mask', rule: 'idNumber' }],
  ['masks an address down to the township', { dept: COUNTY, coordinate: 'Enterprise.address', grants: [grant('Enterprise.address', 'masked', 'c-5', '340000.scjgj')] }, { kind: 'mask', rule: 'address' }],
  [
    'prefers clear over masked when two contracts grant the field',
    { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'masked', 'c-a', RSJ), grant('Person.name', 'clear', 'c-z', RSJ)] },
    { kind: 'allow', basis: 'contract', contractId: 'c-z' },
  ],
  [
    'denies a field without a masking rule granted only masked',
    { dept: COUNTY, coordinate: 'Enterprise.legalRepresentative', grants: [grant('Enterprise.legalRepresentative', 'masked', 'c-6', '340000.scjgj')] },
    { kind: 'deny', reason: 'mask-unavailable', contractId: 'c-6' },
  ],
  ['denies a not-shared field, whoever asks', { dept: COUNTY, coordinate: 'AllowanceHousehold.householdId' }, { kind: 'deny', reason: 'not-shared', owners: ['341504.mzj', '341623.mzj'] }],
  [
    'denies a not-shared field even under a grant naming it',
    { dept: RSJ, coordinate: 'AllowanceHousehold.householdId', grants: [grant('AllowanceHousehold.householdId', 'clear', 'c-7', COUNTY)] },
    { kind: 'deny', reason: 'not-shared' },
  ],
  ['denies a coordinate the catalogue does not know', { dept: COUNTY, coordinate: 'Person.phone' }, { kind: 'deny', reason: 'not-catalogued', owners: [] }],
  // owners
  ['shows the owner its own conditional field in clear without a contract', { dept: RSJ, coordinate: 'Person.name' }, { kind: 'allow', basis: 'owner', contractId: null }],
  ['shows the owner its own L3 field in clear, not masked', { dept: RSJ, coordinate: 'InsuranceRecord.contributionBase' }, { kind: 'allow', basis: 'owner' }],
  ['treats each co-owner of the roster as an owner', { dept: '341623.mzj', coordinate: 'AllowanceHousehold.headName' }, { kind: 'allow', basis: 'owner' }],
  [
    'accepts a grant from either co-owner',
    { dept: RSJ, coordinate: 'AllowanceHousehold.headName', grants: [grant('AllowanceHousehold.headName', 'masked', 'c-8', '341623.mzj')] },
    { kind: 'mask', rule: 'name', contractId: 'c-8' },
  ],
  ['does not treat another department of the same region as the owner', { dept: '341500.mzj', coordinate: 'Person.name' }, { kind: 'deny', reason: 'no-contract' }],
  // grants that must not leak
  [
    'a grant for another coordinate grants nothing here',
    { dept: COUNTY, coordinate: 'PersonInsurance.name', grants: [grant('Person.name', 'clear', 'c-9', RSJ), grant('Person.insurance', 'clear', 'c-9', RSJ)] },
    { kind: 'deny', reason: 'no-contract' },
  ],
  [
    'a grant from a department that does not own the field grants nothing',
    { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'clear', 'c-10', '340000.scjgj')] },
    { kind: 'deny', reason: 'no-contract' },
  ],
  [
    'a grant past its validity window grants nothing',
    { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'clear', 'c-11', RSJ, { validUntil: '2026-11-23T09:59:59+08:00' })] },
    { kind: 'deny', reason: 'contract-not-active', contractId: 'c-11', state: 'expired' },
  ],
  [
    'a grant before its validity window grants nothing',
    { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'clear', 'c-12', RSJ, { validFrom: '2026-12-01T00:00:00+08:00' })] },
    { kind: 'deny', reason: 'contract-not-active', state: 'not-yet-valid' },
  ],
  [
    'a grant within its window grants',
    { dept: COUNTY, coordinate: 'Person.name', grants: [grant('Person.name', 'clear', 'c-13', RSJ, { validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z' })] },
    { kind: 'allow', contractId: 'c-13' },
  ],
];

describe('deciding field access', () => {
  it.each(cases)('%s', async (_title, input, expected) => {
    const decisions = decideFieldAccess({
      principal: principal(input.dept),
      grants: input.grants ?? [],
      inactive: input.inactive,
      catalogue: await shippedCatalogue(),
      coordinates: [input.coordinate],
      now: NOW,
    });
    expect(decisions.size).toBe(1);
    expect(decisions.get(input.coordinate)).toMatchObject({ coordinate: input.coordinate, ...expected });
  });

  const states: readonly ContractState[] = ['draft', 'pending', 'rejected', 'suspended', 'revoked', 'expired', 'withdrawn'];
  it.each(states)('a %s contract grants nothing and is named in the denial', async (state) => {
    const decisions = decideFieldAccess({
      principal: principal(COUNTY),
      grants: [],
      inactive: [{ contractId: 'c-old', coordinate: 'Person.name', state }],
      catalogue: await shippedCatalogue(),
      coordinates: ['Person.name'],
      now: NOW,
    });
    expect(decisions.get('Person.name')).toMatchObject({ kind: 'deny', reason: 'contract-not-active', contractId: 'c-old', state });
  });

  it('decides every coordinate of an operation at once, each on its own', async () => {
    const decisions = decideFieldAccess({
      principal: principal(COUNTY),
      grants: [grant('Person.insurance', 'clear', 'c-1', RSJ), grant('InsuranceRecord.contributionBase', 'masked', 'c-1', RSJ)],
      catalogue: await shippedCatalogue(),
      coordinates: new Set(['Query.person', 'Person.idNumber', 'Person.name', 'Person.insurance', 'InsuranceRecord.contributionBase', 'InsuranceRecord.status']),
      now: NOW,
    });
    expect(Object.fromEntries([...decisions].map(([c, d]) => [c, d.kind]))).toEqual({
      'Query.person': 'allow',
      'Person.idNumber': 'allow',
      'Person.name': 'deny',
      'Person.insurance': 'allow',
      'InsuranceRecord.contributionBase': 'mask',
      'InsuranceRecord.status': 'deny',
    });
  });
});

describe('every sharing type at every level', () => {
  const combos = SHARING_TYPES.flatMap((sharing) => LEVELS.map((level) => [sharing, level] as const)).filter(
    ([sharing, level]) => !(sharing === 'unconditional' && (level === 'L3' || level === 'L4')) && !(level === 'L4' && sharing !== 'not-shared'),
  );
  const expectations = {
    unconditional: { stranger: 'allow', granted: 'allow', owner: 'allow' },
    conditional: { stranger: 'deny', granted: 'mask', owner: 'allow' },
    'not-shared': { stranger: 'deny', granted: 'deny', owner: 'deny' },
  } as const;
  it.each(combos)('%s %s', (sharing, level) => {
    const mask = sharing === 'conditional' ? 'mask: keep(1), ' : '';
    const catalogue = catalogueOf({
      '341500.rsj.yml': `department: 341500.rsj\nname: 人社局\ntypes:\n  T:\n    description: 类型\n    fields:\n      f: { sharing: ${sharing}, level: ${level}, ${mask}updateCycle: daily, description: 字段 }\n`,
    });
    const decide = (dept: string, grants: readonly DecisionGrant[]) =>
      decideFieldAccess({ principal: principal(dept), grants, catalogue, coordinates: ['T.f'], now: NOW }).get('T.f')!.kind;
    expect({
      stranger: decide(COUNTY, []),
      granted: decide(COUNTY, [grant('T.f', 'masked', 'c', RSJ)]),
      owner: decide(RSJ, []),
    }).toEqual(expectations[sharing]);
  });
});

describe('the reason of a denial in words', () => {
  const denials: ReadonlyArray<Extract<Decision, { kind: 'deny' }>> = [
    { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate: 'A.b', reason: 'no-contract', owners: [RSJ], contractId: null, state: null },
    { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate: 'A.b', reason: 'not-shared', owners: [RSJ], contractId: null, state: null },
    { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate: 'A.b', reason: 'not-catalogued', owners: [], contractId: null, state: null },
    { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate: 'A.b', reason: 'mask-unavailable', owners: [RSJ], contractId: 'c-1', state: null },
    { kind: 'deny', code: 'FORBIDDEN_FIELD', coordinate: 'A.b', reason: 'contract-not-active', owners: [RSJ], contractId: 'c-1', state: 'suspended' },
  ];
  it.each(denials)('says why ($reason) in Chinese and English', (denial) => {
    const { zh, en } = describeDenial(denial);
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
    expect(en).toMatch(/^[\x20-\x7e]+$/);
    if (denial.reason === 'no-contract' || denial.reason === 'contract-not-active') {
      expect(zh).toContain(RSJ);
      expect(en).toContain(RSJ);
    }
    if (denial.contractId) expect(en).toContain(denial.contractId);
  });
});

describe('browsing the catalogue', () => {
  it('lists each entry with the caller’s own access to it, leaving not-shared entries out', async () => {
    const listing = browseCatalogue({
      catalogue: await shippedCatalogue(),
      principal: principal(COUNTY),
      grants: [grant('Person.name', 'masked', 'c-1', RSJ)],
      now: NOW,
    });
    const byCoordinate = new Map(listing.map((l) => [l.coordinate, l]));
    expect(byCoordinate.get('Enterprise.name')).toMatchObject({ access: 'clear', sharing: 'unconditional', owners: ['340000.scjgj'], contractId: null });
    expect(byCoordinate.get('Person.name')).toMatchObject({ access: 'masked', contractId: 'c-1', mask: 'name', level: 'L3', updateCycle: 'daily' });
    expect(byCoordinate.get('InsuranceRecord.contributionBase')).toMatchObject({ access: 'none', denied: 'no-contract', owners: [RSJ] });
    expect(byCoordinate.get('AllowanceHousehold.headName')).toMatchObject({ access: 'clear', contractId: null });
    expect(byCoordinate.has('AllowanceHousehold.householdId')).toBe(false);
    expect(listing.map((l) => l.coordinate)).toEqual([...listing.map((l) => l.coordinate)].sort());
  });

  it('lists not-shared entries when asked, as never accessible', async () => {
    const listing = browseCatalogue({ catalogue: await shippedCatalogue(), principal: principal(COUNTY), grants: [], now: NOW, includeNotShared: true });
    expect(listing.find((l) => l.coordinate === 'AllowanceHousehold.householdId')).toMatchObject({ access: 'none', denied: 'not-shared' });
  });
});
