import { describe, expect, it } from 'vitest';
import type { RowScope } from '../../contracts/index.ts';
import { decideFieldAccess, decideRow, NO_REGION, regionFromValue, rowInScope, rowRegion, type DecisionGrant, type RowRegion } from '../index.ts';
import { principal, shippedCatalogue } from './support.ts';

const NOW = Date.parse('2026-11-23T10:00:00+08:00');
const J: RowScope = { kind: 'jurisdiction' };
const ALL: RowScope = { kind: 'all' };
const regions = (...regionCodes: string[]): RowScope => ({ kind: 'regions', regionCodes });

describe('row scope', () => {
  const cases: ReadonlyArray<readonly [string, RowScope, string, string | null, boolean]> = [
    ['a province covers its cities', J, '340000', '341500', true],
    ['a province covers its counties', J, '340000', '341623', true],
    ['a province does not cover another province', J, '340000', '320102', false],
    ['a city covers itself', J, '341500', '341500', true],
    ['a city covers its counties', J, '341500', '341504', true],
    ['a city does not cover another city’s county', J, '341500', '341623', false],
    ['a city does not cover its province', J, '341500', '340000', false],
    ['a county covers itself', J, '341504', '341504', true],
    ['a county does not cover its neighbour', J, '341504', '341502', false],
    ['a county does not cover its city', J, '341504', '341500', false],
    ['listed regions cover themselves', regions('341623'), '341504', '341623', true],
    ['a listed city covers its counties', regions('341600'), '341504', '341623', true],
    ['listed regions do not cover the consumer’s own region', regions('341623'), '341504', '341504', false],
    ['all covers anything', ALL, '341504', '320102', true],
    ['an unreadable row region is covered by all only', ALL, '341504', null, true],
    ['an unreadable row region is outside a jurisdiction', J, '340000', null, false],
    ['an unreadable row region is outside listed regions', regions('340000'), '341504', null, false],
    ['a malformed row region is outside', J, '340000', '34150X', false],
  ];
  it.each(cases)('%s', (_title, scope, consumer, row, expected) => {
    expect(rowInScope(scope, consumer, row)).toBe(expected);
  });
});

describe('a row’s region', () => {
  const reads: ReadonlyArray<readonly [string, Parameters<typeof regionFromValue>, string | null]> = [
    ['a region code as it is', ['regionCode', '341504'], '341504'],
    ['the first 6 characters of an 18-character ID number', ['idNumber', '34162319900307123X'], '341623'],
    ['the first 6 characters of a 15-character ID number', ['idNumber', '341623900307123'], '341623'],
    ['characters 3–8 of a credit code', ['creditCode', '91341504MA2T3K4L5X'], '341504'],
    ['the region of a department code', ['department', '341623.mzj'], '341623'],
    ['nothing from a short ID number', ['idNumber', '3416'], null],
    ['nothing from a non-string', ['regionCode', 341504], null],
    ['nothing from a malformed code', ['regionCode', '34-504'], null],
    ['nothing from a bad department code', ['department', 'mzj'], null],
  ];
  it.each(reads)('reads %s', (_title, args, expected) => {
    expect(regionFromValue(...args)).toBe(expected);
  });

  it('comes from the catalogue’s region field, or the parent row’s when the type has none', async () => {
    const c = await shippedCatalogue();
    expect(rowRegion(c, 'Person', { idNumber: '34150419900307123X' })).toEqual({ kind: 'known', code: '341504' });
    expect(rowRegion(c, 'Enterprise', { regionCode: '341623' })).toEqual({ kind: 'known', code: '341623' });
    expect(rowRegion(c, 'Enterprise', {})).toEqual({ kind: 'unknown' });
    expect(rowRegion(c, 'InsuranceRecord', {}, { kind: 'known', code: '341504' })).toEqual({ kind: 'known', code: '341504' });
    expect(rowRegion(c, 'SearchEnterprisesResponse', {})).toEqual(NO_REGION);
  });
});

function grant(coordinate: string, mode: 'clear' | 'masked', contractId: string, provider: string, scope: RowScope = J): DecisionGrant {
  return { contractId, provider, coordinate, mode, scope, purpose: '低保资格核查' };
}

type RowCase = readonly [
  title: string,
  input: { dept: string; type: string; values: Record<string, unknown>; read: readonly string[]; grants?: readonly DecisionGrant[]; parent?: RowRegion },
  expected: { visible: false; regionCode?: string | null } | { visible: true; fields: Record<string, string> },
];

const YEJI = '341504.mzj';
const LIXIN = '341623.mzj';
const RSJ = '341500.rsj';
const YEJI_PERSON = { idNumber: '34150419900307123X' };
const LIXIN_PERSON = { idNumber: '34162319900307123X' };
const YEJI_HOUSEHOLD = { regionCode: '341504' };
const LIXIN_HOUSEHOLD = { regionCode: '341623' };
const ROSTER = ['AllowanceHousehold.headName', 'AllowanceHousehold.monthlyAmount'];

const rows: readonly RowCase[] = [
  ['shows a row read through unconditional fields only, wherever it is', { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.idNumber', 'Person.gender'] }, { visible: true, fields: { 'Person.idNumber': 'allow', 'Person.gender': 'allow' } }],
  ['shows a row within the contract’s jurisdiction', { dept: YEJI, type: 'Person', values: YEJI_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-1', RSJ)] }, { visible: true, fields: { 'Person.name': 'allow:c-1' } }],
  ['leaves out a row outside the contract’s jurisdiction', { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.idNumber', 'Person.name'], grants: [grant('Person.name', 'clear', 'c-1', RSJ)] }, { visible: false, regionCode: '341623' }],
  ['shows a row in a region the contract lists', { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'masked', 'c-2', RSJ, regions('341600'))] }, { visible: true, fields: { 'Person.name': 'mask:c-2' } }],
  ['shows any row under an all-rows contract', { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-3', RSJ, ALL)] }, { visible: true, fields: { 'Person.name': 'allow:c-3' } }],
  [
    'uses the clear grant where it covers the row and the masked one elsewhere',
    { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-near', RSJ, J), grant('Person.name', 'masked', 'c-far', RSJ, ALL)] },
    { visible: true, fields: { 'Person.name': 'mask:c-far' } },
  ],
  [
    'the clear grant wins where both cover the row',
    { dept: YEJI, type: 'Person', values: YEJI_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-near', RSJ, J), grant('Person.name', 'masked', 'c-far', RSJ, ALL)] },
    { visible: true, fields: { 'Person.name': 'allow:c-near' } },
  ],
  ['a provincial consumer’s jurisdiction covers every county', { dept: '340000.gat', type: 'Person', values: LIXIN_PERSON, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-4', RSJ)] }, { visible: true, fields: { 'Person.name': 'allow:c-4' } }],
  ['a single owner sees all its rows', { dept: RSJ, type: 'Person', values: LIXIN_PERSON, read: ['Person.name'] }, { visible: true, fields: { 'Person.name': 'allow' } }],
  ['a denied field is denied but does not hide the row', { dept: YEJI, type: 'Person', values: LIXIN_PERSON, read: ['Person.idNumber', 'Person.name'] }, { visible: true, fields: { 'Person.idNumber': 'allow', 'Person.name': 'deny' } }],
  ['a row whose region cannot be read is outside a jurisdiction', { dept: YEJI, type: 'Person', values: {}, read: ['Person.name'], grants: [grant('Person.name', 'clear', 'c-1', RSJ)] }, { visible: false, regionCode: null }],
  [
    'a child row without a region of its own takes its parent’s',
    { dept: YEJI, type: 'InsuranceRecord', values: {}, read: ['InsuranceRecord.status'], grants: [grant('InsuranceRecord.status', 'clear', 'c-5', RSJ)], parent: { kind: 'known', code: '341623' } },
    { visible: false, regionCode: '341623' },
  ],
  [
    'a row not about a place takes the grant as it is',
    { dept: YEJI, type: 'InsuranceTypeCount', values: {}, read: ['InsuranceTypeCount.count'], grants: [grant('InsuranceTypeCount.count', 'clear', 'c-6', RSJ)] },
    { visible: true, fields: { 'InsuranceTypeCount.count': 'allow:c-6' } },
  ],
  // the roster, co-owned by two county civil-affairs bureaus, each owning its own rows
  ['a county bureau sees its own roster rows in clear', { dept: YEJI, type: 'AllowanceHousehold', values: YEJI_HOUSEHOLD, read: ROSTER }, { visible: true, fields: { 'AllowanceHousehold.headName': 'allow', 'AllowanceHousehold.monthlyAmount': 'allow' } }],
  ['a county bureau does not see the other county’s rows without its contract', { dept: YEJI, type: 'AllowanceHousehold', values: LIXIN_HOUSEHOLD, read: ROSTER }, { visible: false, regionCode: '341623' }],
  [
    'a county bureau sees the other county’s rows under that county’s contract',
    { dept: YEJI, type: 'AllowanceHousehold', values: LIXIN_HOUSEHOLD, read: ROSTER, grants: ROSTER.map((c) => grant(c, 'masked', 'c-lx', LIXIN, regions('341623'))) },
    { visible: true, fields: { 'AllowanceHousehold.headName': 'mask:c-lx', 'AllowanceHousehold.monthlyAmount': 'mask:c-lx' } },
  ],
  [
    'a contract from one co-owner does not open the other co-owner’s rows',
    { dept: RSJ, type: 'AllowanceHousehold', values: LIXIN_HOUSEHOLD, read: ROSTER, grants: ROSTER.map((c) => grant(c, 'clear', 'c-yj', YEJI, ALL)) },
    { visible: false, regionCode: '341623' },
  ],
  [
    'a contract from one co-owner opens that co-owner’s rows',
    { dept: RSJ, type: 'AllowanceHousehold', values: YEJI_HOUSEHOLD, read: ROSTER, grants: ROSTER.map((c) => grant(c, 'clear', 'c-yj', YEJI, ALL)) },
    { visible: true, fields: { 'AllowanceHousehold.headName': 'allow:c-yj', 'AllowanceHousehold.monthlyAmount': 'allow:c-yj' } },
  ],
  ['a dropping department sees its own drop reports', { dept: LIXIN, type: 'DropReport', values: { department: LIXIN }, read: ['DropReport.fileName'] }, { visible: true, fields: { 'DropReport.fileName': 'allow' } }],
  ['a dropping department does not see another’s drop reports', { dept: LIXIN, type: 'DropReport', values: { department: YEJI }, read: ['DropReport.fileName'] }, { visible: false, regionCode: '341504' }],
];

function summary(d: { kind: string; contractId?: string | null }): string {
  return d.kind === 'deny' || !d.contractId ? d.kind : `${d.kind}:${d.contractId}`;
}

describe('deciding a row', () => {
  it.each(rows)('%s', async (_title, input, expected) => {
    const catalogue = await shippedCatalogue();
    const p = principal(input.dept);
    const decisions = decideFieldAccess({ principal: p, grants: input.grants ?? [], catalogue, coordinates: input.read, now: NOW });
    const region = rowRegion(catalogue, input.type, input.values, input.parent);
    const row = decideRow({ principal: p, catalogue, typeName: input.type, values: input.values, region, decisions });
    if (!expected.visible) {
      expect(row).toMatchObject({ kind: 'out-of-jurisdiction', code: 'OUT_OF_JURISDICTION', regionCode: expected.regionCode ?? null });
    } else {
      expect(row.kind).toBe('visible');
      if (row.kind === 'visible') expect(Object.fromEntries([...row.fields].map(([c, d]) => [c, summary(d)]))).toEqual(expected.fields);
    }
  });

  it('looks only at the fields of its own type', async () => {
    const catalogue = await shippedCatalogue();
    const p = principal(YEJI);
    const decisions = decideFieldAccess({ principal: p, grants: [], catalogue, coordinates: ['Person.name', 'Enterprise.name'], now: NOW });
    const row = decideRow({ principal: p, catalogue, typeName: 'Enterprise', values: { regionCode: '341623' }, region: { kind: 'known', code: '341623' }, decisions });
    expect(row.kind === 'visible' && [...row.fields.keys()]).toEqual(['Enterprise.name']);
  });
});
