import type { AreaDef } from '../types.ts';
import { ChainPage } from './chain.tsx';
import { AccessLogPage } from './log.tsx';
import { SubjectReportPage } from './subject.tsx';
import './auditor.css';

export const auditorArea: AreaDef = {
  label: 'nav.auditor',
  roles: ['auditor'],
  pages: [
    { path: '/auditor/log', label: 'nav.auditor.log', roles: ['auditor'], component: AccessLogPage },
    { path: '/auditor/subject', label: 'nav.auditor.subject', roles: ['auditor'], component: SubjectReportPage },
    { path: '/auditor/chain', label: 'nav.auditor.chain', roles: ['auditor'], component: ChainPage },
  ],
};
