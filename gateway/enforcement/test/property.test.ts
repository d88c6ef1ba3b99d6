/**
 * Adversarial property: random grants (a subset of the conditional coordinates, each clear or
 * masked, from a random owner, with a random row scope) × random operations (aliases, fragments,
 * inline fragments, nesting, @skip/@include with variables) × a random caller. The serialised
 * response never holds the clear value of a conditional field unless a clear grant (or the
 * caller's own ownership) covers that field on that row's region and owner.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowScope } from '../../../contracts/index.ts';
import { rowInScope } from '../../../policies/index.ts';
import { principal } from '../../../policies/test/support.ts';
import { randomOperation } from '../../../policies/test/random-operations.ts';
import { createFixture, SENTINELS, type Fixture, type GrantSpec, type Sentinel } from './fixture.ts';

let nullField: Fixture;
let reject: Fixture;
beforeAll(async () => {
  nullField = await createFixture();
  reject = await createFixture({ mode: 'reject-operation' });
});
afterAll(async () => {
  await nullField.stop();
  await reject.stop();
});

const CALLERS = ['341500.jyj', '341504.mzj', '341623.mzj', '340000.scjgj', '341500.rsj'] as const;
const SCOPES: readonly RowScope[] = [{ kind: 'jurisdiction' }, { kind: 'all' }, { kind: 'regions', regionCodes: ['341623'] }, { kind: 'regions', regionCodes: ['341504'] }];

function conditional(fixture: Fixture): string[] {
  return [...fixture.catalogue.fields.values()].filter((f) => f.sharing === 'conditional').map((f) => f.coordinate).sort();
}

/** May this sentinel appear in clear for this caller under these grants? */
function mayAppear(sentinel: Sentinel, caller: string, grants: readonly GrantSpec[], owners: readonly string[]): boolean {
  const region = caller.slice(0, 6);
  if (owners.includes(caller) && (sentinel.owner === undefined || sentinel.owner === caller)) return true;
  return grants.some(
    (g) =>
      g.coordinate === sentinel.coordinate &&
      (g.mode ?? 'clear') === 'clear' &&
      owners.includes(g.provider!) &&
      (sentinel.owner === undefined || g.provider === sentinel.owner) &&
      (sentinel.region === null || rowInScope(g.scope ?? { kind: 'jurisdiction' }, region, sentinel.region)),
  );
}

describe('no clear value escapes (property)', () => {
  it('holds for random grants × random operations × callers, in both modes', async () => {
    const coordinates = conditional(nullField);
    // Two candidate grants per conditional coordinate (so clear-here and masked-there meet): each
    // granted or not, clear or masked, by which owner, with which scope, in which contract.
    const grantArb = fc.record({
      include: fc.boolean(),
      mode: fc.constantFrom('clear' as const, 'masked' as const),
      ownerIndex: fc.nat(3),
      scope: fc.constantFrom(...SCOPES),
      contract: fc.constantFrom('GX-1', 'GX-2', 'GX-3'),
    });
    let ran = 0;
    let shown = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(grantArb, { minLength: 2 * coordinates.length, maxLength: 2 * coordinates.length }),
        fc.array(fc.nat(1000), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(...CALLERS),
        fc.boolean(),
        async (rawGrants, tape, caller, rejectMode) => {
          const fixture = rejectMode ? reject : nullField;
          const grants: GrantSpec[] = rawGrants.flatMap((g, i) => {
            const coordinate = coordinates[i % coordinates.length]!;
            const owners = nullField.catalogue.fields.get(coordinate)!.owners;
            return g.include ? [{ coordinate, mode: g.mode, provider: owners[g.ownerIndex % owners.length]!, scope: g.scope, contractId: g.contract }] : [];
          });
          fixture.setGrants(grants);
          const op = randomOperation(fixture.schema, tape);
          const r = await fixture.run(op.source, { variables: op.variables, principal: principal(caller) });
          if (r.errors.some((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')) return;
          ran += 1;
          for (const e of r.errors) expect(['FORBIDDEN_FIELD', 'OUT_OF_JURISDICTION'], `${op.source}\n${JSON.stringify(e)}`).toContain(e.extensions?.code);
          // Refused whole: no data at all; otherwise nothing was denied up front.
          if (rejectMode && r.status === 403) expect(r.data).toBeUndefined();
          expect(r.json).not.toContain('tongxiang__');
          for (const s of SENTINELS) {
            if (!r.json.includes(s.value)) continue;
            shown += 1;
            const owners = nullField.catalogue.fields.get(s.coordinate)!.owners;
            expect(mayAppear(s, caller, grants, owners), `${s.coordinate}=${s.value} leaked to ${caller}\n${op.source}\n${JSON.stringify(grants)}`).toBe(true);
          }
        },
      ),
      { numRuns: 800 },
    );
    // The operations reach the data: some conditional values were shown, where granted.
    expect(ran).toBeGreaterThan(150);
    expect(shown).toBeGreaterThan(10);
  });
});
