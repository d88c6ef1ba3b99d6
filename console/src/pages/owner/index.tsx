import type { AreaDef } from '../types.ts';

export const ownerArea: AreaDef = { label: 'nav.owner', roles: ['data_owner'], pages: [] };
