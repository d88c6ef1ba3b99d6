/**
 * 共享绩效 / Sharing performance: `sharingPerformance(days: 30)` — per department its calls and
 * refusals, rows received and served, contracts active and pending (with the oldest pending age)
 * and datasets overdue; a bar chart of calls and rows served with a text summary.
 */
import { useMemo } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import { query } from '../../api.ts';
import { Chart } from '../../components/chart.tsx';
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n, type Translate } from '../../i18n/index.tsx';
import { useFormat } from '../auditor/format.tsx';

const DAYS = 30;

const SHARING_PERFORMANCE = /* GraphQL */ `
  query ConsoleSharingPerformance($days: Int) {
    sharingPerformance(days: $days) {
      department name calls refused rowsReceived rowsServed contractsActive contractsPending oldestPendingHours datasets datasetsOverdue
    }
  }
`;

interface DepartmentPerformance {
  department: string;
  name: string;
  calls: number;
  refused: number;
  rowsReceived: number;
  rowsServed: number;
  contractsActive: number;
  contractsPending: number;
  oldestPendingHours: number | null;
  datasets: number;
  datasetsOverdue: number;
}

function age(hours: number | null, t: Translate): string {
  if (hours === null) return '—';
  if (hours < 48) return t('operator.hours', { n: Math.max(0, Math.round(hours * 10) / 10) });
  return t('operator.days', { n: Math.round((hours / 24) * 10) / 10 });
}

function PerformanceChart({ rows }: { rows: readonly DepartmentPerformance[] }) {
  const { t, lang } = useI18n();
  const option = useMemo<EChartsCoreOption>(
    () => ({
      animation: false,
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { top: 0 },
      grid: { left: 56, right: 56, top: 36, bottom: 64 },
      xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0, fontSize: 11 } },
      yAxis: [
        { type: 'value', name: t('operator.perf.calls'), minInterval: 1 },
        { type: 'value', name: t('operator.perf.rowsServed'), minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        { name: t('operator.perf.calls'), type: 'bar', data: rows.map((r) => r.calls), itemStyle: { color: '#1d4e89' } },
        { name: t('operator.perf.rowsServed'), type: 'bar', yAxisIndex: 1, data: rows.map((r) => r.rowsServed), itemStyle: { color: '#4f9d69', decal: { symbol: 'rect', dashArrayX: [1, 0], dashArrayY: [2, 3], rotation: -0.785 } } },
      ],
      aria: { enabled: false },
    }),
    // t changes with the language
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [rows, lang],
  );
  const summary = t('operator.perf.chartSummary', {
    days: DAYS,
    items: rows.map((r) => t('operator.perf.chartItem', { name: r.name, code: r.department, calls: r.calls, rows: r.rowsServed })).join(t('operator.perf.chartSeparator')),
  });
  return (
    <section className="card ao-chart-card" aria-labelledby="perf-chart-title">
      <h2 id="perf-chart-title">{t('operator.perf.chartTitle')}</h2>
      {/* The axis labels and the summary name departments: data, not labels. */}
      <div data-i18n-exempt="">
        <Chart option={option} summary={summary} height={300} />
      </div>
    </section>
  );
}

export function PerformancePage() {
  const { t } = useI18n();
  const f = useFormat();
  const perf = useLoad(() => query<{ sharingPerformance: DepartmentPerformance[] }>(SHARING_PERFORMANCE, { days: DAYS }), []);

  return (
    <>
      <PageHeader title={t('operator.perf.title')}>
        <button type="button" className="secondary" onClick={perf.reload} disabled={perf.loading}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted ao-prose">{t('operator.perf.intro', { days: DAYS })}</p>
      <Async state={perf} empty={(d) => d.sharingPerformance.length === 0}>
        {({ sharingPerformance: rows }) => {
          const sum = (k: 'calls' | 'refused' | 'rowsServed') => rows.reduce((n, r) => n + r[k], 0);
          return (
            <>
              <p className="ao-summary" data-testid="perf-totals">
                {t('operator.perf.totals', { n: rows.length, calls: f.int(sum('calls')), refused: f.int(sum('refused')), rows: f.int(sum('rowsServed')) })}
              </p>
              <PerformanceChart rows={rows} />
              <div className="card ao-scroll">
                <table>
                  <caption>{t('operator.perf.caption', { days: DAYS })}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('operator.perf.department')}</th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.calls')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.refused')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.rowsReceived')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.rowsServed')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.contractsActive')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.contractsPending')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.oldestPending')}
                      </th>
                      <th scope="col" className="ao-num">
                        {t('operator.perf.datasetsOverdue')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr key={r.department} data-testid="perf-row" data-department={r.department}>
                        <th scope="row">
                          <Data>{r.name}</Data>{' '}
                          <Data>
                            <code className="muted">{r.department}</code>
                          </Data>
                        </th>
                        <td className="ao-num">{f.int(r.calls)}</td>
                        <td className={`ao-num${r.refused > 0 ? ' ao-mask' : ''}`}>{f.int(r.refused)}</td>
                        <td className="ao-num">{f.int(r.rowsReceived)}</td>
                        <td className="ao-num">{f.int(r.rowsServed)}</td>
                        <td className="ao-num">{f.int(r.contractsActive)}</td>
                        <td className="ao-num">{f.int(r.contractsPending)}</td>
                        <td className="ao-num">{age(r.oldestPendingHours, t)}</td>
                        <td className={`ao-num${r.datasetsOverdue > 0 ? ' ao-deny' : ''}`}>
                          {r.datasets === 0 ? '—' : t('operator.perf.overdueOf', { overdue: f.int(r.datasetsOverdue), total: f.int(r.datasets) })}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </Async>
    </>
  );
}
