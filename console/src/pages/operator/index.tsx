import type { AreaDef } from '../types.ts';
import { DropReportsPage } from './drops.tsx';
import { PerformancePage } from './performance.tsx';
import { SourcesPage } from './sources.tsx';
import '../auditor/auditor.css';

// hubSources and sharingPerformance answer operators and auditors; allDropReports operators only.
export const operatorArea: AreaDef = {
  label: 'nav.operator',
  roles: ['operator'],
  pages: [
    { path: '/operator/sources', label: 'nav.operator.sources', roles: ['operator', 'auditor'], component: SourcesPage },
    { path: '/operator/drops', label: 'nav.operator.drops', roles: ['operator'], component: DropReportsPage },
    { path: '/operator/performance', label: 'nav.operator.performance', roles: ['operator', 'auditor'], component: PerformancePage },
  ],
};
