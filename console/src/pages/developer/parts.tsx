/**
 * Pieces of a contract both sides show (the developer's "my contracts", the owner's queue and
 * contracts): state, fields, scope, validity, quotas, the history of every step, the contracts
 * table with its state filter, and the form an action on a contract opens in place.
 */
import { useState, type ReactNode } from 'react';
import { Async, Data, ErrorBox, useLoad } from '../../components/common.tsx';
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

/** The contract-state filter above a list of contracts ("all" or one state). */
export function StateFilter({ id, states, value, onChange }: { id: string; states: readonly ContractState[]; value: string; onChange: (state: string) => void }) {
  const { t, tx } = useI18n();
  return (
    <div>
      <label htmlFor={id}>{t('dev.contracts.filterState')}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('common.all')}</option>
        {states.map((s) => (
          <option key={s} value={s}>
            {tx(`state.${s}`, s)}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * The contracts table of both sides (the developer's "my contracts", the owner's contracts): one
 * row per contract with its history below it; the third column is the other department (the
 * provider for a consumer, the consumer for a provider), the last one the page's own actions.
 */
export function ContractsTable({ contracts, none, caption, counterpart, names, actions }: { contracts: readonly Contract[]; none: string; caption: string; counterpart: 'provider' | 'consumer'; names: Map<string, string>; actions: (contract: Contract) => ReactNode }) {
  const { t } = useI18n();
  const expanded = useExpanded();
  if (contracts.length === 0) return <p className="muted">{none}</p>;
  return (
    <table className="contracts">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('dev.contracts.id')}</th>
          <th scope="col">{t('dev.contracts.state')}</th>
          <th scope="col">{t(counterpart === 'provider' ? 'dev.contracts.provider' : 'dev.usage.consumer')}</th>
          <th scope="col">{t('dev.contracts.fields')}</th>
          <th scope="col">{t('dev.contracts.terms')}</th>
          <th scope="col">{t('dev.contracts.actions')}</th>
        </tr>
      </thead>
      {contracts.map((c) => (
        <tbody key={c.id}>
          <tr data-contract={c.id}>
            <td>
              <strong>
                <Data>{c.id}</Data>
              </strong>
              {c.predecessorId ? (
                <div className="muted">
                  {t('dev.contracts.renews')} <Data>{c.predecessorId}</Data>
                </div>
              ) : null}
              <div>
                <HistoryButton id={c.id} open={expanded.isOpen(c.id)} onToggle={() => expanded.toggle(c.id)} />
              </div>
            </td>
            <td>
              <StateBadge state={c.state} />
            </td>
            <td>
              <Dept code={c[counterpart]} names={names} />
            </td>
            <td>
              <GrantList fields={c.fields} />
            </td>
            <td className="terms">
              <div>
                <span className="muted">{t('dev.contracts.purpose')}</span> <Data>{c.purpose}</Data>
              </div>
              <div>
                <span className="muted">{t('dev.contracts.validity')}</span> <Validity from={c.validFrom} until={c.validUntil} />
              </div>
              <div>
                <span className="muted">{t('dev.contracts.scope')}</span> <ScopeText scope={c.scope} />
              </div>
              <div>
                <span className="muted">{t('dev.contracts.quotas')}</span> <QuotaText quotas={c.quotas} />
              </div>
            </td>
            <td>{actions(c)}</td>
          </tr>
          <HistoryRow id={c.id} open={expanded.isOpen(c.id)} colSpan={6} />
        </tbody>
      ))}
    </table>
  );
}

/**
 * A contract action asked for in place: a button that opens a small form — one labelled field
 * (`children`, with `id`), confirm and cancel — and the action's error below it.
 */
export function InlineAction({ opener, openerLabel, openerClass = 'secondary small', id, label, confirm, confirmClass, action, check, children, notice }: {
  opener: string;
  openerLabel: string;
  openerClass?: string;
  id: string;
  label: string;
  confirm: string;
  confirmClass: string;
  action: { busy: boolean; error: unknown; run: () => Promise<unknown> };
  /** Checks the field before the action runs (false: the action does not run). */
  check?: () => boolean;
  children: ReactNode;
  /** Shown above the action's error (a problem `check` found). */
  notice?: ReactNode;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button type="button" className={openerClass} onClick={() => setOpen(true)} aria-label={openerLabel}>
        {opener}
      </button>
    );
  }
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (check && !check()) return;
        void action.run();
      }}
    >
      <label htmlFor={id}>{label}</label>
      {children}
      <button type="submit" className={confirmClass} disabled={action.busy}>
        {confirm}
      </button>
      <button type="button" className="secondary small" onClick={() => setOpen(false)}>
        {t('common.cancel')}
      </button>
      {notice}
      <ErrorBox error={action.error} />
    </form>
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
