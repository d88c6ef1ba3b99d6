/**
 * 数据源 / Sources: `hubSources(hours: 24)` — each upstream's health (the probe the hub just made),
 * its calls, errors and median latency, and the freshness of each file-drop dataset against its
 * declared update cycle.
 */
import { query } from '../../api.ts';
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { Dept, loadDepartments, Time, useFormat } from '../auditor/format.tsx';

const HOURS = 24;

const HUB_SOURCES = /* GraphQL */ `
  query ConsoleHubSources($hours: Int) {
    hubSources(hours: $hours) {
      name label kind providers ok latencyMs error calls errors p50LatencyMs circuit
      datasets { dataset department freshness lastPublishedAt dueAt version }
    }
  }
`;

interface SourceDataset {
  dataset: string;
  department: string;
  freshness: string;
  lastPublishedAt: string | null;
  dueAt: string | null;
  version: number | null;
}

interface SourceHealth {
  name: string;
  label: string;
  kind: string;
  providers: string[];
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
  calls: number;
  errors: number;
  p50LatencyMs: number | null;
  /** closed, half-open or open (mesh/resilience.ts). */
  circuit: string;
  datasets: SourceDataset[];
}

/** `FRESH`, `NO_CYCLE` (the graph's enum names) and `fresh`, `no-cycle` (the store's) alike. */
export const freshnessKey = (value: string) => value.toLowerCase().replace(/_/g, '-');

const FRESHNESS_TONE: Record<string, { tone: string; mark: string }> = {
  fresh: { tone: 'ao-allow', mark: '✓' },
  due: { tone: 'ao-mask', mark: '◷' },
  overdue: { tone: 'ao-deny', mark: '✗' },
  never: { tone: 'ao-deny', mark: '✗' },
  'no-cycle': { tone: '', mark: '–' },
};

export function Freshness({ value }: { value: string }) {
  const { tx } = useI18n();
  const key = freshnessKey(value);
  const look = FRESHNESS_TONE[key] ?? { tone: '', mark: '•' };
  return (
    <span className={`ao-chip ${look.tone}`} data-freshness={key}>
      <span aria-hidden="true">{look.mark}</span>
      {tx(`operator.freshness.${key}`, value)}
    </span>
  );
}

export function SourcesPage() {
  const { t, tx } = useI18n();
  const f = useFormat();
  const sources = useLoad(() => query<{ hubSources: SourceHealth[] }>(HUB_SOURCES, { hours: HOURS }), []);
  const names = useLoad(() => loadDepartments().catch(() => new Map<string, string>()), []);

  return (
    <>
      <PageHeader title={t('operator.sources.title')}>
        <button type="button" className="secondary" onClick={sources.reload} disabled={sources.loading}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted ao-prose">{t('operator.sources.intro', { hours: HOURS })}</p>
      <Async state={sources} empty={(d) => d.hubSources.length === 0}>
        {({ hubSources }) => {
          const down = hubSources.filter((s) => !s.ok).length;
          const datasets = hubSources.flatMap((s) => s.datasets.map((d) => ({ source: s.label, ...d })));
          return (
            <>
              <p className={`ao-summary ${down === 0 ? 'ao-allow' : 'ao-deny'}`} data-testid="sources-summary">
                <span aria-hidden="true">{down === 0 ? '✓' : '✗'}</span>
                {down === 0 ? t('operator.sources.allOk', { n: hubSources.length }) : t('operator.sources.someDown', { n: hubSources.length, down })}
              </p>
              <div className="ao-scroll card">
                <table>
                  <caption>{t('operator.sources.caption', { hours: HOURS })}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('operator.sources.name')}</th>
                      <th scope="col">{t('operator.sources.kind')}</th>
                      <th scope="col">{t('operator.sources.provider')}</th>
                      <th scope="col">{t('operator.sources.health')}</th>
                      <th scope="col" className="ao-num">
                        {t('operator.sources.latency')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.sources.calls')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.sources.errors')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.sources.p50')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {hubSources.map((s) => (
                      <tr key={s.name} data-testid="source" data-source={s.name} data-health={s.ok ? 'ok' : 'down'} data-circuit={s.circuit}>
                        <th scope="row">
                          <Data>{s.label}</Data>
                          {s.label !== s.name ? (
                            <div>
                              <Data>
                                <code className="muted">{s.name}</code>
                              </Data>
                            </div>
                          ) : null}
                        </th>
                        <td>{tx(`operator.sources.kind.${s.kind}`, s.kind)}</td>
                        <td>
                          {s.providers.length === 0 ? (
                            <span aria-hidden="true">—</span>
                          ) : (
                            s.providers.map((p) => (
                              <div key={p}>
                                <Dept code={p} names={names.data} />
                              </div>
                            ))
                          )}
                        </td>
                        <td>
                          {s.ok ? (
                            <span className="ao-chip ao-allow">
                              <span aria-hidden="true">✓</span>
                              {t('operator.sources.ok')}
                            </span>
                          ) : (
                            <>
                              <span className="ao-chip ao-deny">
                                <span aria-hidden="true">✗</span>
                                {t('operator.sources.down')}
                              </span>
                              {s.error ? (
                                <div className="ao-deny">
                                  <Data>{s.error}</Data>
                                </div>
                              ) : null}
                            </>
                          )}
                          {s.circuit !== 'closed' ? (
                            <div>
                              <span className={`ao-chip ${s.circuit === 'open' ? 'ao-deny' : 'ao-mask'}`} data-testid="circuit">
                                <span aria-hidden="true">{s.circuit === 'open' ? '⊘' : '◐'}</span>
                                {tx(`operator.sources.circuit.${s.circuit}`, s.circuit)}
                              </span>
                            </div>
                          ) : null}
                        </td>
                        <td className="ao-num">{f.ms(s.latencyMs)}</td>
                        <td className="ao-num">{f.int(s.calls)}</td>
                        <td className={`ao-num${s.errors > 0 ? ' ao-deny' : ''}`}>{f.int(s.errors)}</td>
                        <td className="ao-num">{f.ms(s.p50LatencyMs)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {datasets.length > 0 ? (
                <section className="card ao-scroll" aria-labelledby="datasets-title">
                  <h2 id="datasets-title">{t('operator.datasets.title')}</h2>
                  <table>
                    <caption>{t('operator.datasets.caption')}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t('operator.datasets.dataset')}</th>
                        <th scope="col">{t('operator.datasets.department')}</th>
                        <th scope="col">{t('operator.datasets.source')}</th>
                        <th scope="col">{t('operator.datasets.freshness')}</th>
                        <th scope="col">{t('operator.datasets.lastPublished')}</th>
                        <th scope="col">{t('operator.datasets.dueAt')}</th>
                        <th scope="col" className="ao-num">
                          {t('operator.datasets.version')}
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {datasets.map((d) => (
                        <tr key={`${d.source}/${d.dataset}/${d.department}`} data-testid="source-dataset">
                          <td>
                            <Data>
                              <code>{d.dataset}</code>
                            </Data>
                          </td>
                          <td>
                            <Dept code={d.department} names={names.data} />
                          </td>
                          <td>
                            <Data>{d.source}</Data>
                          </td>
                          <td>
                            <Freshness value={d.freshness} />
                          </td>
                          <td>
                            <Time iso={d.lastPublishedAt} />
                          </td>
                          <td>
                            <Time iso={d.dueAt} />
                          </td>
                          <td className="ao-num">{d.version === null ? '—' : <Data>v{d.version}</Data>}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </section>
              ) : null}
            </>
          );
        }}
      </Async>
    </>
  );
}
