import { describe, expect, it } from 'vitest';
import type { ActiveGrant } from '../../../contracts/index.ts';
import { entitled, scopeCovers } from '../entitlement.ts';
import { BOZHOU_MZJ, grant, LIXIN_MZJ, LUAN_MZJ, PROVINCE_MZT, YEJI_MZJ } from './fixtures.ts';

const TYPE = 'AllowanceHousehold';
const lixinRoster = { dataset: 'dibao', department: LIXIN_MZJ };
const yejiRoster = { dataset: 'dibao', department: YEJI_MZJ };

interface Case {
  readonly title: string;
  readonly consumer: string;
  readonly ref: { dataset: string; department: string };
  readonly type?: string | undefined;
  readonly grants: readonly ActiveGrant[];
  /** Contract ids when entitled; a reason pattern when not. */
  readonly expect: readonly string[] | RegExp;
}

const cases: Case[] = [
  { title: 'the providing department, its own data, without any contract', consumer: LIXIN_MZJ, ref: lixinRoster, grants: [], expect: [] },
  { title: 'its own data even when the dataset serves no graph type', consumer: LIXIN_MZJ, ref: lixinRoster, type: undefined, grants: [], expect: [] },
  {
    title: 'a grant of a field of the dataset\'s type from the provider, jurisdiction covering the provider (亳州市 over 利辛县)',
    consumer: BOZHOU_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'jurisdiction' }, 'GX-2026-000007')],
    expect: ['GX-2026-000007'],
  },
  {
    title: 'every covering contract is named, once, sorted',
    consumer: PROVINCE_MZT,
    ref: yejiRoster,
    grants: [
      grant(YEJI_MZJ, `${TYPE}.members`, { kind: 'all' }, 'GX-2026-000009'),
      grant(YEJI_MZJ, `${TYPE}.householdId`, { kind: 'jurisdiction' }, 'GX-2026-000003'),
      grant(YEJI_MZJ, `${TYPE}.headName`, { kind: 'jurisdiction' }, 'GX-2026-000003'),
    ],
    expect: ['GX-2026-000003', 'GX-2026-000009'],
  },
  { title: 'no grants at all', consumer: BOZHOU_MZJ, ref: lixinRoster, grants: [], expect: /no active contract from 341623\.mzj/ },
  {
    title: 'a grant from another provider (叶集区\'s roster granted, 利辛县\'s event)',
    consumer: BOZHOU_MZJ,
    ref: lixinRoster,
    grants: [grant(YEJI_MZJ, `${TYPE}.householdId`, { kind: 'all' })],
    expect: /no active contract from 341623\.mzj/,
  },
  {
    title: 'a grant from the provider on another type\'s field',
    consumer: BOZHOU_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, 'Enterprise.name', { kind: 'all' }), grant(LIXIN_MZJ, 'AllowanceHouseholdPage.items', { kind: 'all' })],
    expect: /no active contract grants a field of AllowanceHousehold/,
  },
  {
    title: 'jurisdiction scope that does not cover the provider (叶集区 341504 consumer, 利辛县 341623 provider)',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'jurisdiction' })],
    expect: /region 341623/,
  },
  {
    title: 'jurisdiction of a city that does not contain the provider (六安市 over 利辛县)',
    consumer: LUAN_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'jurisdiction' })],
    expect: /region 341623/,
  },
  {
    title: 'regions scope listing the provider\'s county',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'regions', regionCodes: ['341623'] }, 'GX-2026-000011')],
    expect: ['GX-2026-000011'],
  },
  {
    title: 'regions scope listing the city above the provider',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'regions', regionCodes: ['341600'] }, 'GX-2026-000012')],
    expect: ['GX-2026-000012'],
  },
  {
    title: 'regions scope listing other regions only',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'regions', regionCodes: ['341504', '341500', '341622'] })],
    expect: /region 341623/,
  },
  {
    title: 'all scope',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.village`, { kind: 'all' }, 'GX-2026-000013')],
    expect: ['GX-2026-000013'],
  },
  {
    title: 'a dataset that serves no graph type, for anyone but its owner',
    consumer: YEJI_MZJ,
    ref: lixinRoster,
    type: undefined,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'all' })],
    expect: /serves no graph type/,
  },
  {
    title: 'a malformed consumer department',
    consumer: 'mzj',
    ref: lixinRoster,
    grants: [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'all' })],
    expect: /not a department code/,
  },
];

describe('entitlement to a department\'s dataset events', () => {
  it.each(cases)('$title', (c) => {
    const result = entitled(c.consumer, c.ref, 'type' in c ? c.type : TYPE, c.grants);
    if (c.expect instanceof RegExp) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toMatch(c.expect);
        expect(result.reason).toMatch(/[\u4e00-\u9fff]/);
      }
    } else {
      expect(result).toEqual({ ok: true, contractIds: c.expect });
    }
  });

  it('matches the type by its exact name, not a prefix', () => {
    const result = entitled(BOZHOU_MZJ, lixinRoster, 'Allowance', [grant(LIXIN_MZJ, `${TYPE}.householdId`, { kind: 'all' })]);
    expect(result.ok).toBe(false);
  });

  it('scope coverage follows region containment', () => {
    expect(scopeCovers({ kind: 'jurisdiction' }, '340000', '341623')).toBe(true);
    expect(scopeCovers({ kind: 'jurisdiction' }, '341504', '341504')).toBe(true);
    expect(scopeCovers({ kind: 'jurisdiction' }, '341504', '341500')).toBe(false);
    expect(scopeCovers({ kind: 'regions', regionCodes: [] }, '340000', '341623')).toBe(false);
    expect(scopeCovers({ kind: 'all' }, '341504', '341623')).toBe(true);
  });
});
