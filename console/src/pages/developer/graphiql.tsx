/**
 * GraphiQL / 接口调试: the hub's graph in GraphiQL (its own UI stays English — a third-party
 * tool — and is marked so the language test leaves it alone), with the hub's example queries as
 * tabs (`examples` in /console/config.json; one short query when a hub lists none). A query can
 * be opened directly with ?query=…&variables=… (links from elsewhere in the console).
 */
import { lazy, Suspense } from 'react';
import { consoleConfig, type ConsoleConfig } from '../../api.ts';
import { Loading, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { searchParams } from '../../router.tsx';

const GraphiQLEditor = lazy(() => import('./graphiql-editor.tsx'));

type Example = NonNullable<ConsoleConfig['examples']>[number];

/** For a hub whose configuration lists no examples (the flagship queries live in gateway/examples.ts). */
const FALLBACK_EXAMPLES: readonly Example[] = [{ title: '部门 / Departments', query: '{\n  departments { code name }\n}', variables: {} }];

/** An example as a GraphiQL tab: its title as a comment line above the query. */
function asTab(example: Example): { query: string; variables: string } {
  return { query: `# ${example.title}\n${example.query}`, variables: JSON.stringify(example.variables, null, 2) };
}

async function loadExamples(): Promise<{ url: string; examples: readonly Example[] }> {
  try {
    const config = await consoleConfig();
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
