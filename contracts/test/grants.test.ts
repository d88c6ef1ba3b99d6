import { describe, expect, it } from 'vitest';
import { activeGrants, activeGrantsSpan } from '../grants.ts';
import { CONTRACT_STATES } from '../model.ts';
import { contract, DAY, LIXIN_MZJ, RSJ, T0, YEJI_MZJ } from './fixtures.ts';

const inWindow = T0 + 10 * DAY;

describe('active grants', () => {
  it.each(CONTRACT_STATES.map((state) => ({ state, grants: state === 'active' })))(
    'a $state contract grants: $grants',
    ({ state, grants }) => {
      const result = activeGrants([contract({ state })], YEJI_MZJ, inWindow);
      expect(result.length > 0).toBe(grants);
    },
  );

  it('gives one grant per field with mode, scope, provider, purpose and the contract\'s quotas', () => {
    const c = contract({ state: 'active', scope: { kind: 'regions', regionCodes: ['341502'] } });
    const grants = activeGrants([c], YEJI_MZJ, inWindow);
    expect(grants).toHaveLength(c.fields.length);
    expect(grants).toContainEqual({
      contractId: c.id,
      provider: RSJ,
      coordinate: 'InsuranceRecord.contributionBase',
      mode: 'masked',
      scope: { kind: 'regions', regionCodes: ['341502'] },
      purpose: c.purpose,
      quotas: c.quotas,
    });
  });

  it('grants nothing once the window has ended, even before the contract is marked expired', () => {
    const c = contract({ state: 'active' });
    expect(activeGrants([c], YEJI_MZJ, Date.parse(c.validUntil) - 1)).not.toHaveLength(0);
    expect(activeGrants([c], YEJI_MZJ, Date.parse(c.validUntil))).toHaveLength(0);
  });

  it('grants nothing before the window opens', () => {
    const c = contract({ state: 'active' });
    expect(activeGrants([c], YEJI_MZJ, Date.parse(c.validFrom) - 1)).toHaveLength(0);
    expect(activeGrants([c], YEJI_MZJ, Date.parse(c.validFrom))).not.toHaveLength(0);
  });

  it('grants only to the consumer department', () => {
    expect(activeGrants([contract({ state: 'active' })], LIXIN_MZJ, inWindow)).toHaveLength(0);
  });

  it('says how long the grants hold: from the last window edge passed to the next one ahead', () => {
    const a = contract({ id: 'GX-A', state: 'active' });
    const laterFrom = T0 + 30 * DAY;
    const b = contract({ id: 'GX-B', state: 'active', validFrom: new Date(laterFrom).toISOString(), validUntil: new Date(T0 + 60 * DAY).toISOString() });
    const before = activeGrantsSpan([a, b], YEJI_MZJ, inWindow);
    expect(before).toMatchObject({ from: T0, until: laterFrom });
    expect(before.grants).toEqual(activeGrants([a, b], YEJI_MZJ, inWindow));
    // At the edge the answer changes: B comes into force; the next edge is B's end.
    const at = activeGrantsSpan([a, b], YEJI_MZJ, laterFrom);
    expect(at).toMatchObject({ from: laterFrom, until: T0 + 60 * DAY });
    expect(at.grants.map((g) => g.contractId)).toContain('GX-B');
    expect(before.grants.map((g) => g.contractId)).not.toContain('GX-B');
  });

  it('holds an empty answer for ever when no active contract has an edge ahead, and never past an unreadable one', () => {
    expect(activeGrantsSpan([contract({ state: 'suspended' })], YEJI_MZJ, inWindow)).toMatchObject({ grants: [], until: Number.POSITIVE_INFINITY });
    const broken = activeGrantsSpan([contract({ state: 'active', validUntil: 'not a date' })], YEJI_MZJ, inWindow);
    expect(broken).toMatchObject({ grants: [], from: inWindow, until: inWindow + 1 });
  });
});
