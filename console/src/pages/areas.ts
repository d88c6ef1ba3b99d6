import { auditorArea } from './auditor/index.tsx';
import { developerArea } from './developer/index.tsx';
import { operatorArea } from './operator/index.tsx';
import { ownerArea } from './owner/index.tsx';
import type { AreaDef } from './types.ts';
import type { Role } from '../session.tsx';

export const AREAS: readonly AreaDef[] = [developerArea, ownerArea, auditorArea, operatorArea];

/** The areas a session with these roles sees, in order. */
export function areasFor(roles: readonly Role[]): AreaDef[] {
  return AREAS.map((a) => ({ ...a, pages: a.pages.filter((p) => p.roles.some((r) => roles.includes(r))) })).filter((a) => a.pages.length > 0);
}
