import { describe, expect, it } from 'vitest';
import { activeGrants } from '../grants.ts';
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

  it('gives one grant per field with mode, scope, provider and purpose', () => {
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
});
