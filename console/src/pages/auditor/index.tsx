import type { AreaDef } from '../types.ts';

export const auditorArea: AreaDef = { label: 'nav.auditor', roles: ['auditor'], pages: [] };
