import type { AreaDef } from '../types.ts';

export const developerArea: AreaDef = { label: 'nav.developer', roles: ['developer'], pages: [] };
