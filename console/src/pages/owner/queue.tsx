/**
 * 待审批 / Approval queue: the requests on the department's data. Each shows the consumer, the
 * fields with their catalogue level and masking rule, purpose, legal basis, scope, validity and
 * quotas. Approve as asked, or narrowed — untick fields, or switch clear to masked where the
 * field has a masking rule — with an optional reason; reject with a required one.
 */
import { useMemo, useState } from 'react';
import { Async, Data, ErrorBox, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { approveContract, loadCatalogue, loadPendingApprovals, minuteOf, stepContract, type CatalogueEntry, type Contract, type GrantMode } from '../developer/model.ts';
import { Dept, HistoryButton, HistoryPanel, ModeBadge, QuotaText, ScopeText, useDepartmentNames, useExpanded, Validity } from '../developer/parts.tsx';

interface Decision {
  readonly keep: boolean;
  readonly mode: GrantMode;
}

function QueueCard({ contract, catalogue, names, done }: { contract: Contract; catalogue: Map<string, CatalogueEntry>; names: Map<string, string>; done: (message: string) => void }) {
  const { t, tx } = useI18n();
  const [decisions, setDecisions] = useState<Record<string, Decision>>(() =>
    Object.fromEntries(contract.fields.map((f) => [f.coordinate, { keep: true, mode: f.mode }])),
  );
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState('');
  const expanded = useExpanded();

  const set = (coordinate: string, change: Partial<Decision>) => setDecisions((d) => ({ ...d, [coordinate]: { ...d[coordinate]!, ...change } }));
  const kept = contract.fields.filter((f) => decisions[f.coordinate]?.keep);
  const narrowed = kept.length !== contract.fields.length || kept.some((f) => decisions[f.coordinate]!.mode !== f.mode);

  const approve = useAction(async () => {
    if (kept.length === 0) {
      setProblem(t('owner.queue.keepOne'));
      return;
    }
    setProblem('');
    const narrow = narrowed ? kept.map((f) => ({ coordinate: f.coordinate, mode: decisions[f.coordinate]!.mode })) : null;
    const c = await approveContract(contract.id, narrow, reason.trim() || null);
    done(t(narrowed ? 'owner.queue.approvedNarrowed' : 'owner.queue.approved', { id: c.id }));
  });
  const reject = useAction(async () => {
    if (!reason.trim()) {
      setProblem(t('owner.queue.reasonRequired'));
      return;
    }
    setProblem('');
    const c = await stepContract('rejectContract', contract.id, reason.trim());
    done(t('owner.queue.rejected', { id: c.id }));
  });
  const busy = approve.busy || reject.busy;
  const titleId = `queue-${contract.id}`;
  const reasonId = `queue-reason-${contract.id}`;

  return (
    <section className="card queue-card" aria-labelledby={titleId} data-contract={contract.id}>
      <h2 id={titleId}>
        <Data>{contract.id}</Data>
        <span className="muted">
          {t('owner.queue.from')} <Dept code={contract.consumer} names={names} />
        </span>
      </h2>
      <dl>
        <dt>{t('dev.contracts.purpose')}</dt>
        <dd>
          <Data>{contract.purpose}</Data>
        </dd>
        <dt>{t('dev.apply.legalBasis')}</dt>
        <dd>
          <Data>{contract.legalBasis}</Data>
        </dd>
        <dt>{t('dev.contracts.scope')}</dt>
        <dd>
          <ScopeText scope={contract.scope} />
        </dd>
        <dt>{t('dev.contracts.validity')}</dt>
        <dd>
          <Validity from={contract.validFrom} until={contract.validUntil} />
        </dd>
        <dt>{t('dev.contracts.quotas')}</dt>
        <dd>
          <QuotaText quotas={contract.quotas} />
        </dd>
        <dt>{t('owner.queue.requestedAt')}</dt>
        <dd>
          <Data>{minuteOf(contract.createdAt)}</Data>
          {contract.predecessorId ? (
            <>
              {' '}
              · {t('owner.queue.renewalOf')} <Data>{contract.predecessorId}</Data>
            </>
          ) : null}
        </dd>
      </dl>
      <table>
        <caption>{t('owner.queue.fieldsCaption', { n: contract.fields.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('owner.queue.keep')}</th>
            <th scope="col">{t('dev.cat.field')}</th>
            <th scope="col">{t('dev.cat.level')}</th>
            <th scope="col">{t('dev.cat.masking')}</th>
            <th scope="col">{t('owner.queue.requested')}</th>
            <th scope="col">{t('owner.queue.grant')}</th>
          </tr>
        </thead>
        <tbody>
          {contract.fields.map((f) => {
            const entry = catalogue.get(f.coordinate);
            const d = decisions[f.coordinate]!;
            const modeId = `grant-${contract.id}-${f.coordinate}`;
            return (
              <tr key={f.coordinate} className={d.keep ? undefined : 'dropped'}>
                <td>
                  <input type="checkbox" checked={d.keep} onChange={(e) => set(f.coordinate, { keep: e.target.checked })} aria-label={t('owner.queue.keepField', { coordinate: f.coordinate })} />
                </td>
                <td>
                  <code>
                    <Data>{f.coordinate}</Data>
                  </code>
                  {entry ? (
                    <div>
                      <Data>{entry.description}</Data>
                    </div>
                  ) : null}
                </td>
                <td>{entry ? tx(`level.${entry.level}`, entry.level) : null}</td>
                <td>{entry?.masking ? tx(`dev.mask.${entry.masking}`, entry.masking) : <span className="muted">{t('dev.cat.noMasking')}</span>}</td>
                <td>
                  <ModeBadge mode={f.mode} />
                </td>
                <td>
                  <label htmlFor={modeId} className="sr-only">
                    {t('owner.queue.grantFor', { coordinate: f.coordinate })}
                  </label>
                  <select id={modeId} value={d.mode} disabled={!d.keep} onChange={(e) => set(f.coordinate, { mode: e.target.value as GrantMode })}>
                    {/* Narrowing only: a field asked for masked cannot be granted clear. */}
                    <option value="CLEAR" disabled={f.mode === 'MASKED'}>
                      {tx('mode.CLEAR', 'CLEAR')}
                    </option>
                    <option value="MASKED" disabled={!entry?.masking}>
                      {tx('mode.MASKED', 'MASKED')}
                    </option>
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {narrowed ? <p className="notice">{t('owner.queue.narrowing')}</p> : null}
      <div className="queue-actions">
        <div>
          <label htmlFor={reasonId}>{t('owner.queue.reason')}</label>
          <textarea id={reasonId} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby={`${reasonId}-help`} />
          <p id={`${reasonId}-help`} className="muted">
            {t('owner.queue.reasonHelp')}
          </p>
        </div>
        <button type="button" onClick={() => void approve.run()} disabled={busy} aria-label={t('owner.queue.approveFor', { id: contract.id })}>
          {narrowed ? t('owner.queue.approveNarrowed') : t('action.APPROVE')}
        </button>
        <button type="button" className="danger" onClick={() => void reject.run()} disabled={busy} aria-label={t('owner.queue.rejectFor', { id: contract.id })}>
          {t('action.REJECT')}
        </button>
        <HistoryButton id={contract.id} open={expanded.isOpen(contract.id)} onToggle={() => expanded.toggle(contract.id)} />
      </div>
      {problem ? (
        <div className="error" role="alert">
          {problem}
        </div>
      ) : null}
      <ErrorBox error={approve.error ?? reject.error} />
      <HistoryPanel id={contract.id} open={expanded.isOpen(contract.id)} />
    </section>
  );
}

export function QueuePage() {
  const { t } = useI18n();
  const names = useDepartmentNames();
  const pending = useLoad(loadPendingApprovals, []);
  const catalogue = useLoad(loadCatalogue, []);
  const byCoordinate = useMemo(() => new Map((catalogue.data ?? []).map((e) => [e.coordinate, e])), [catalogue.data]);
  const [message, setMessage] = useState('');
  const done = (text: string) => {
    setMessage(text);
    pending.reload();
  };
  return (
    <>
      <PageHeader title={t('nav.owner.queue')}>
        <button type="button" className="secondary" onClick={pending.reload}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="notice-live" aria-live="polite" data-testid="queue-message">
        {message}
      </p>
      <ErrorBox error={catalogue.error} />
      <Async state={pending}>
        {(list) =>
          list.length === 0 ? (
            <p className="muted">{t('owner.queue.empty')}</p>
          ) : (
            <>
              <p className="muted">{t('owner.queue.count', { n: list.length })}</p>
              {[...list]
                .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
                .map((c) => (
                  <QueueCard key={`${c.id}:${c.version}`} contract={c} catalogue={byCoordinate} names={names} done={done} />
                ))}
            </>
          )
        }
      </Async>
    </>
  );
}
