/**
 * GraphiQL / 接口调试: the hub's graph in GraphiQL (its own UI stays English — a third-party
 * tool — and is marked so the language test leaves it alone), with the flagship examples as
 * tabs: from the hub's console configuration when it lists them, else examples.ts. A query can
 * be opened directly with ?query=…&variables=… (links from elsewhere in the console).
 */
import { lazy, Suspense } from 'react';
import { consoleConfig } from '../../api.ts';
import { Loading, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { searchParams } from '../../router.tsx';
import { asTab, FALLBACK_EXAMPLES, type Example } from './examples.ts';

const GraphiQLEditor = lazy(() => import('./graphiql-editor.tsx'));

async function loadExamples(): Promise<{ url: string; examples: readonly Example[] }> {
  try {
    const config = (await consoleConfig()) as Awaited<ReturnType<typeof consoleConfig>> & { examples?: Example[] };
    const examples = Array.isArray(config.examples) && config.examples.length > 0 ? config.examples : FALLBACK_EXAMPLES;
    return { url: config.graphqlPath || '/graphql', examples };
  } catch {
    return { url: '/graphql', examples: FALLBACK_EXAMPLES };
  }
}

export function GraphiQLPage() {
  const { t } = useI18n();
  const setup = useLoad(loadExamples, []);
  const params = searchParams();
  const query = params.get('query');
  const initial = query ? { query, variables: params.get('variables') ?? '' } : null;
  return (
    <>
      <PageHeader title={t('nav.developer.graphiql')} />
      <p className="muted graphiql-help">{t('dev.graphiql.help')}</p>
      <div className="graphiql-host" lang="en" data-i18n-exempt="" data-testid="graphiql">
        {setup.data ? (
          <Suspense fallback={<Loading />}>
            <GraphiQLEditor url={setup.data.url} tabs={setup.data.examples.map(asTab)} initial={initial} />
          </Suspense>
        ) : (
          <Loading />
        )}
      </div>
    </>
  );
}
