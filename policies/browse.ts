/**
 * The catalogue as a department browses it (`Query.catalogue`): each entry's owner, sharing type,
 * level, description and update cycle, and whether *this* department can read it now — in clear,
 * masked, or not (and why). Pure: the caller passes its principal, active grants and the time.
 */
import type { Principal } from '../core/index.ts';
import type { Catalogue, Level, SharingType, UpdateCycle } from './catalogue.ts';
import { decideFieldAccess, type DecisionGrant, type DenyReason, type InactiveGrant } from './decide.ts';

export interface CatalogueListing {
  readonly coordinate: string;
  readonly typeName: string;
  readonly typeDescription: string;
  readonly owners: readonly string[];
  readonly sharing: SharingType;
  readonly level: Level;
  readonly description: string;
  readonly updateCycle: UpdateCycle;
  /** Whether the field can be granted masked, and by which rule. */
  readonly mask: string | null;
  readonly access: 'clear' | 'masked' | 'none';
  /** The contract access comes from; null for unconditional and own fields. */
  readonly contractId: string | null;
  readonly denied: DenyReason | null;
}

export interface BrowseInput {
  readonly catalogue: Catalogue;
  readonly principal: Principal;
  readonly grants: readonly DecisionGrant[];
  readonly inactive?: readonly InactiveGrant[] | undefined;
  readonly now: number;
  /** Not-shared entries are left out unless asked for (they are not in the public schema). */
  readonly includeNotShared?: boolean | undefined;
}

/** Every entry, sorted by coordinate, with the caller's access to it. */
export function browseCatalogue(input: BrowseInput): CatalogueListing[] {
  const entries = [...input.catalogue.fields.values()]
    .filter((f) => input.includeNotShared === true || f.sharing !== 'not-shared')
    .sort((a, b) => (a.coordinate < b.coordinate ? -1 : 1));
  const decisions = decideFieldAccess({ ...input, coordinates: entries.map((e) => e.coordinate) });
  return entries.map((entry) => {
    const d = decisions.get(entry.coordinate)!;
    return Object.freeze({
      coordinate: entry.coordinate,
      typeName: entry.typeName,
      typeDescription: input.catalogue.types.get(entry.typeName)?.description ?? '',
      owners: entry.owners,
      sharing: entry.sharing,
      level: entry.level,
      description: entry.description,
      updateCycle: entry.updateCycle,
      mask: entry.mask,
      access: d.kind === 'allow' ? 'clear' : d.kind === 'mask' ? 'masked' : 'none',
      contractId: d.kind === 'deny' ? null : d.contractId,
      denied: d.kind === 'deny' ? d.reason : null,
    });
  });
}
