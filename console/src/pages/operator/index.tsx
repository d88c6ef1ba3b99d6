import type { AreaDef } from '../types.ts';

export const operatorArea: AreaDef = { label: 'nav.operator', roles: ['operator'], pages: [] };
