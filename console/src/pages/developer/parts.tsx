/**
 * Pieces of a contract both sides show (the developer's "my contracts", the owner's queue and
 * contracts): state, fields, scope, validity, quotas, and the history of every step.
 */
import { useState } from 'react';
import { Async, Data, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { dayOf, loadDepartmentNames, loadHistory, minuteOf, type Contract, type ContractState, type FieldGrant } from './model.ts';

export function useDepartmentNames(): Map<string, string> {
  const names = useLoad(loadDepartmentNames, []);
  return names.data ?? new Map();
}

/** A department: its code, and its name when the hub's configuration gives one. */
export function Dept({ code, names }: { code: string; names: Map<string, string> }) {
  const name = names.get(code);
  return (
    <Data>
      {name ? `${name}（${code}）` : code}
    </Data>
  );
}

const STATE_CLASS: Partial<Record<ContractState, string>> = { ACTIVE: 'ok', PENDING: 'warn', REJECTED: 'bad', REVOKED: 'bad', SUSPENDED: 'warn' };

export function StateBadge({ state }: { state: ContractState }) {
  const { tx } = useI18n();
  return <span className={`badge state-${state.toLowerCase()} ${STATE_CLASS[state] ?? ''}`}>{tx(`state.${state}`, state)}</span>;
}

export function ModeBadge({ mode }: { mode: string }) {
  const { tx } = useI18n();
  return <span className={mode === 'MASKED' ? 'badge warn' : 'badge'}>{tx(`mode.${mode}`, mode)}</span>;
}

export function GrantList({ fields }: { fields: readonly FieldGrant[] }) {
  return (
    <ul className="grants">
      {fields.map((f) => (
        <li key={f.coordinate}>
          <code>
            <Data>{f.coordinate}</Data>
          </code>{' '}
          <ModeBadge mode={f.mode} />
        </li>
      ))}
    </ul>
  );
}

export function ScopeText({ scope }: { scope: Contract['scope'] }) {
  const { tx } = useI18n();
  return (
    <>
      {tx(`scope.${scope.kind}`, scope.kind)}
      {scope.kind === 'REGIONS' && scope.regionCodes.length > 0 ? (
        <>
          {' '}
          <Data>{scope.regionCodes.join(', ')}</Data>
        </>
      ) : null}
    </>
  );
}

export function Validity({ from, until }: { from: string; until: string }) {
  return (
    <Data>
      {dayOf(from)} – {dayOf(until)}
    </Data>
  );
}

export function QuotaText({ quotas }: { quotas: Contract['quotas'] }) {
  const { t } = useI18n();
  const unlimited = t('dev.quota.unlimited');
  return <>{t('dev.quota.both', { rpm: quotas.requestsPerMinute ?? unlimited, rpd: quotas.recordsPerDay ?? unlimited })}</>;
}

/** The steps of one contract, loaded when shown. */
export function HistoryTable({ id }: { id: string }) {
  const { t, tx } = useI18n();
  const history = useLoad(() => loadHistory(id), [id]);
  return (
    <Async state={history} empty={(h) => h.length === 0}>
      {(steps) => (
        <table className="history">
          <caption>{t('dev.history.caption', { id })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('dev.history.seq')}</th>
              <th scope="col">{t('dev.history.action')}</th>
              <th scope="col">{t('dev.history.change')}</th>
              <th scope="col">{t('dev.history.actor')}</th>
              <th scope="col">{t('dev.history.at')}</th>
              <th scope="col">{t('dev.history.reason')}</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.seq}>
                <td>
                  <Data>{s.seq}</Data>
                </td>
                <td>{tx(`action.${s.action}`, s.action)}</td>
                <td>
                  {s.from ? tx(`state.${s.from}`, s.from) : t('dev.history.none')} → {tx(`state.${s.to}`, s.to)}
                  {s.fields && (s.action === 'APPROVE' || s.action === 'CREATE' || s.action === 'RENEW') ? <GrantList fields={s.fields} /> : null}
                </td>
                <td>
                  <Data>{s.actor}</Data>
                  {s.actorDepartment ? (
                    <div className="muted">
                      <Data>{s.actorDepartment}</Data>
                    </div>
                  ) : null}
                </td>
                <td>
                  <Data>{minuteOf(s.at)}</Data>
                </td>
                <td>{s.reason ? <Data>{s.reason}</Data> : <span className="muted">{t('dev.history.noReason')}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Async>
  );
}

/** Which contracts have their history shown (one per page). */
export function useExpanded() {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return { isOpen: (id: string) => open.has(id), toggle };
}

/** Shows and hides the history row of a contract (below its row, across the table). */
export function HistoryButton({ id, open, onToggle }: { id: string; open: boolean; onToggle: () => void }) {
  const { t } = useI18n();
  return (
    <button type="button" className="secondary small" aria-expanded={open} aria-controls={`history-${id}`} onClick={onToggle} aria-label={t(open ? 'dev.history.hideFor' : 'dev.history.showFor', { id })}>
      {open ? t('dev.history.hide') : t('dev.history.show')}
    </button>
  );
}

export function HistoryRow({ id, open, colSpan }: { id: string; open: boolean; colSpan: number }) {
  return (
    <tr id={`history-${id}`} className="history-row" hidden={!open}>
      <td colSpan={colSpan}>{open ? <HistoryTable id={id} /> : null}</td>
    </tr>
  );
}

/** The history of a contract outside a table (a card), shown and hidden by its HistoryButton. */
export function HistoryPanel({ id, open }: { id: string; open: boolean }) {
  return (
    <div id={`history-${id}`} className="history-panel" hidden={!open}>
      {open ? <HistoryTable id={id} /> : null}
    </div>
  );
}

/** The hub's problems with a contract request (CONTRACT_INVALID lists every one, separated by ；). */
export function problemsOf(error: unknown): string[] {
  if (!error || typeof error !== 'object' || !('errors' in error)) return [];
  const errors = (error as { errors: readonly { code: string; extensions: Record<string, unknown> }[] }).errors;
  return errors
    .filter((e) => e.code === 'CONTRACT_INVALID' && typeof e.extensions.reason === 'string')
    .flatMap((e) => String(e.extensions.reason).split('；'))
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
