/**
 * 我的配额 / Quota: the department's request ceiling and, per active contract it holds, what is
 * left of its requests per minute and records per day (myUsage; reading it charges nothing).
 */
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { loadUsage, type ContractUsage, type DailyStanding, type LimitStanding } from './model.ts';
import { Dept, useDepartmentNames } from './parts.tsx';

/** remaining / limit as text, with a bar (decorative: the text says it all). */
export function Standing({ standing, kind }: { standing: LimitStanding | DailyStanding | null; kind: 'minute' | 'day' }) {
  const { t } = useI18n();
  if (!standing) return <span className="muted">{t('dev.quota.unlimited')}</span>;
  const share = standing.limit > 0 ? standing.remaining / standing.limit : 0;
  return (
    <div className="standing">
      <div>{t('dev.usage.remaining', { remaining: standing.remaining, limit: standing.limit })}</div>
      <div className="bar" aria-hidden="true">
        <span className={share < 0.1 ? 'low' : share < 0.3 ? 'mid' : ''} style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
      <div className="muted">
        {'used' in standing ? t('dev.usage.used', { used: standing.used }) : null}
        {'used' in standing && standing.remaining < standing.limit ? ' · ' : null}
        {standing.remaining >= standing.limit
          ? null
          : kind === 'minute'
            ? t('dev.usage.resetMinute', { s: standing.resetSeconds })
            : t('dev.usage.resetDay', { h: Math.ceil(standing.resetSeconds / 3600) })}
      </div>
    </div>
  );
}

export function UsageTable({ rows, caption, party }: { rows: readonly ContractUsage[]; caption: string; party: 'provider' | 'consumer' }) {
  const { t } = useI18n();
  const names = useDepartmentNames();
  return (
    <table className="usage">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('dev.contracts.id')}</th>
          <th scope="col">{party === 'provider' ? t('dev.contracts.provider') : t('dev.usage.consumer')}</th>
          <th scope="col">{t('dev.apply.rpm')}</th>
          <th scope="col">{t('dev.apply.rpd')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((u) => (
          <tr key={u.contractId}>
            <td>
              <Data>{u.contractId}</Data>
            </td>
            <td>
              <Dept code={party === 'provider' ? u.provider : u.consumer} names={names} />
            </td>
            <td>
              <Standing standing={u.requestsPerMinute} kind="minute" />
            </td>
            <td>
              <Standing standing={u.recordsPerDay} kind="day" />
              {u.recordsPerDay ? (
                <div className="muted">
                  <Data>{u.recordsPerDay.day}</Data>
                </div>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function UsagePage() {
  const { t } = useI18n();
  const usage = useLoad(loadUsage, []);
  return (
    <>
      <PageHeader title={t('nav.developer.usage')}>
        <button type="button" className="secondary" onClick={usage.reload}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <Async state={usage}>
        {(u) => (
          <>
            <section className="card" aria-labelledby="usage-ceiling">
              <h2 id="usage-ceiling">{t('dev.usage.ceiling')}</h2>
              <p className="muted">
                {t('dev.usage.ceilingHelp')} <Data>{u.department}</Data>
              </p>
              <Standing standing={u.departmentCeiling} kind="minute" />
            </section>
            {u.contracts.length === 0 ? (
              <p className="muted">{t('dev.usage.noContracts')}</p>
            ) : (
              <UsageTable rows={u.contracts} caption={t('dev.usage.caption', { n: u.contracts.length })} party="provider" />
            )}
            <p className="muted">{t('dev.usage.help')}</p>
          </>
        )}
      </Async>
    </>
  );
}
