import '../developer/pages.css';
import type { AreaDef } from '../types.ts';
import { OwnerContractsPage } from './contracts.tsx';
import { QueuePage } from './queue.tsx';
import { OwnerUsagePage } from './usage.tsx';

export const ownerArea: AreaDef = {
  label: 'nav.owner',
  roles: ['data_owner'],
  pages: [
    { path: '/owner/queue', label: 'nav.owner.queue', roles: ['data_owner'], component: QueuePage },
    { path: '/owner/contracts', label: 'nav.owner.contracts', roles: ['data_owner'], component: OwnerContractsPage },
    { path: '/owner/usage', label: 'nav.owner.usage', roles: ['data_owner'], component: OwnerUsagePage },
  ],
};
