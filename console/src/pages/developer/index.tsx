import './pages.css';
import type { AreaDef } from '../types.ts';
import { ApplyPage } from './apply.tsx';
import { CataloguePage } from './catalogue.tsx';
import { MyContractsPage } from './contracts.tsx';
import { GraphiQLPage } from './graphiql.tsx';
import { UsagePage } from './usage.tsx';

export const developerArea: AreaDef = {
  label: 'nav.developer',
  roles: ['developer'],
  pages: [
    { path: '/developer/catalogue', label: 'nav.developer.catalogue', roles: ['developer'], component: CataloguePage },
    { path: '/developer/apply', label: 'nav.developer.apply', roles: ['developer'], component: ApplyPage },
    { path: '/developer/contracts', label: 'nav.developer.contracts', roles: ['developer'], component: MyContractsPage },
    { path: '/developer/usage', label: 'nav.developer.usage', roles: ['developer'], component: UsagePage },
    { path: '/developer/graphiql', label: 'nav.developer.graphiql', roles: ['developer'], component: GraphiQLPage },
  ],
};
