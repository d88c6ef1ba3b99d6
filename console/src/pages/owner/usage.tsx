/**
 * 用量 / Usage: for each contract on the department's data, requests, records and refusals per
 * day over the last 14 days (contractUsageHistory, an ECharts chart with a text summary for
 * screen readers), and what is left of each active contract's quotas now (myUsage.ownedContracts).
 */
import { useMemo } from 'react';
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { Chart } from '../../components/chart.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { useSignedIn } from '../../session.tsx';
import { loadMyContracts, loadUsage, loadUsageHistory, type Contract, type UsageDay } from '../developer/model.ts';
import { Dept, StateBadge, useDepartmentNames } from '../developer/parts.tsx';
import { UsageTable } from '../developer/usage.tsx';

const DAYS = 14;
/** States in which a contract can have been used in the last days. */
const USED_STATES = new Set(['ACTIVE', 'SUSPENDED', 'EXPIRED', 'REVOKED']);

function ContractChart({ contract, names }: { contract: Contract; names: Map<string, string> }) {
  const { t } = useI18n();
  const history = useLoad(() => loadUsageHistory(contract.id, DAYS), [contract.id]);
  const titleId = `usage-${contract.id}`;
  return (
    <section className="card usage-chart" aria-labelledby={titleId}>
      <h2 id={titleId}>
        <Data>{contract.id}</Data> <StateBadge state={contract.state} />{' '}
        <span className="muted">
          {t('owner.usage.consumer')} <Dept code={contract.consumer} names={names} />
        </span>
      </h2>
      <Async state={history}>{(days) => <UsageChart id={contract.id} days={days} />}</Async>
    </section>
  );
}

function UsageChart({ id, days }: { id: string; days: readonly UsageDay[] }) {
  const { t, lang } = useI18n();
  const totals = days.reduce((s, d) => ({ requests: s.requests + d.requests, rows: s.rows + d.rows, refused: s.refused + d.refused }), { requests: 0, rows: 0, refused: 0 });
  const busiest = days.reduce<UsageDay | null>((b, d) => (b === null || d.requests > b.requests ? d : b), null);
  const summary =
    totals.requests === 0 && totals.refused === 0
      ? t('owner.usage.summaryNone', { id, days: days.length })
      : t('owner.usage.summary', { id, days: days.length, requests: totals.requests, rows: totals.rows, refused: totals.refused, day: busiest?.day ?? '', max: busiest?.requests ?? 0 });
  const option = useMemo(
    () => ({
      animation: false,
      grid: { left: 50, right: 50, top: 36, bottom: 28 },
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: days.map((d) => d.day.slice(5)) },
      yAxis: [
        { type: 'value', name: t('owner.usage.requests'), minInterval: 1 },
        { type: 'value', name: t('owner.usage.rows'), minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        { name: t('owner.usage.requests'), type: 'bar', data: days.map((d) => d.requests), itemStyle: { color: '#1d4e89' } },
        { name: t('owner.usage.refused'), type: 'bar', data: days.map((d) => d.refused), itemStyle: { color: '#b3261e' } },
        { name: t('owner.usage.rows'), type: 'line', yAxisIndex: 1, data: days.map((d) => d.rows), itemStyle: { color: '#1b6e3a' } },
      ],
    }),
    // The series names follow the language.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [days, lang],
  );
  return (
    <>
      <Chart option={option} summary={summary} height={220} />
      <p className="muted">{summary}</p>
    </>
  );
}

export function OwnerUsagePage() {
  const { t } = useI18n();
  const session = useSignedIn();
  const names = useDepartmentNames();
  const usage = useLoad(loadUsage, []);
  const contracts = useLoad(loadMyContracts, []);
  const mine = (contracts.data ?? [])
    .filter((c) => c.provider === session.department && USED_STATES.has(c.state))
    .sort((a, b) => Number(b.state === 'ACTIVE') - Number(a.state === 'ACTIVE') || (a.id < b.id ? -1 : 1));
  return (
    <>
      <PageHeader title={t('nav.owner.usage')}>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            usage.reload();
            contracts.reload();
          }}
        >
          {t('common.refresh')}
        </button>
      </PageHeader>
      <Async state={usage}>
        {(u) =>
          u.ownedContracts.length === 0 ? (
            <p className="muted">{t('owner.usage.noActive')}</p>
          ) : (
            <UsageTable rows={u.ownedContracts} caption={t('owner.usage.standing', { n: u.ownedContracts.length })} party="consumer" />
          )
        }
      </Async>
      <h2 className="section-title">{t('owner.usage.history', { days: DAYS })}</h2>
      <Async state={contracts}>
        {() =>
          mine.length === 0 ? (
            <p className="muted">{t('owner.contracts.none')}</p>
          ) : (
            <>
              {mine.map((c) => (
                <ContractChart key={c.id} contract={c} names={names} />
              ))}
            </>
          )
        }
      </Async>
    </>
  );
}
