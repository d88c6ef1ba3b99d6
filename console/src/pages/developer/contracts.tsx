/**
 * 我的申请与协议 / My contracts: the contracts the caller's department holds or has asked for —
 * state, provider, fields, validity, quotas, and every step of each (expandable). A pending or
 * draft request can be withdrawn; an active or expired contract can be renewed (the renewal is a
 * new request the provider approves).
 */
import { useState } from 'react';
import { Async, Data, ErrorBox, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { navigate } from '../../router.tsx';
import { useSignedIn } from '../../session.tsx';
import { dayPlus, loadMyContracts, renewContract, stepContract, type Contract, type ContractState } from './model.ts';
import { Dept, GrantList, HistoryButton, HistoryRow, QuotaText, ScopeText, StateBadge, useDepartmentNames, useExpanded, Validity } from './parts.tsx';

const STATES: readonly ContractState[] = ['PENDING', 'ACTIVE', 'SUSPENDED', 'REJECTED', 'REVOKED', 'EXPIRED', 'WITHDRAWN', 'DRAFT'];

function Withdraw({ contract, done }: { contract: Contract; done: (message: string) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const action = useAction(async () => {
    const c = await stepContract('withdrawContract', contract.id, reason.trim() || null);
    done(t('dev.contracts.withdrawn', { id: c.id }));
  });
  if (!open) {
    return (
      <button type="button" className="secondary small" onClick={() => setOpen(true)} aria-label={t('dev.contracts.withdrawFor', { id: contract.id })}>
        {t('action.WITHDRAW')}
      </button>
    );
  }
  const id = `withdraw-${contract.id}`;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run();
      }}
    >
      <label htmlFor={id}>{t('dev.contracts.withdrawReason')}</label>
      <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} />
      <button type="submit" className="danger small" disabled={action.busy}>
        {t('dev.contracts.confirmWithdraw')}
      </button>
      <button type="button" className="secondary small" onClick={() => setOpen(false)}>
        {t('common.cancel')}
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

function Renew({ contract, done }: { contract: Contract; done: (message: string) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [until, setUntil] = useState(() => dayPlus(1, Math.max(Date.now(), Date.parse(contract.validUntil))));
  const action = useAction(async () => {
    const c = await renewContract(contract.id, `${until}T23:59:59+08:00`);
    done(t('dev.contracts.renewed', { id: contract.id, successor: c.id }));
  });
  if (!open) {
    return (
      <button type="button" className="secondary small" onClick={() => setOpen(true)} aria-label={t('dev.contracts.renewFor', { id: contract.id })}>
        {t('action.RENEW')}
      </button>
    );
  }
  const id = `renew-${contract.id}`;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run();
      }}
    >
      <label htmlFor={id}>{t('dev.contracts.renewUntil')}</label>
      <input id={id} type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
      <button type="submit" className="small" disabled={action.busy}>
        {t('dev.contracts.confirmRenew')}
      </button>
      <button type="button" className="secondary small" onClick={() => setOpen(false)}>
        {t('common.cancel')}
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

export function MyContractsPage() {
  const { t, tx } = useI18n();
  const session = useSignedIn();
  const names = useDepartmentNames();
  const contracts = useLoad(loadMyContracts, []);
  const [state, setState] = useState('');
  const [message, setMessage] = useState('');
  const expanded = useExpanded();

  const mine = (contracts.data ?? []).filter((c) => c.consumer === session.department);
  const shown = mine.filter((c) => !state || c.state === state).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const done = (text: string) => {
    setMessage(text);
    contracts.reload();
  };

  return (
    <>
      <PageHeader title={t('nav.developer.contracts')}>
        <button type="button" onClick={() => navigate('/developer/catalogue')}>
          {t('dev.contracts.new')}
        </button>
        <button type="button" className="secondary" onClick={contracts.reload}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <div className="toolbar">
        <div>
          <label htmlFor="contracts-state">{t('dev.contracts.filterState')}</label>
          <select id="contracts-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {tx(`state.${s}`, s)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="notice-live" aria-live="polite">
        {message}
      </p>
      <Async state={contracts}>
        {() =>
          shown.length === 0 ? (
            <p className="muted">{t('dev.contracts.none')}</p>
          ) : (
            <table className="contracts">
              <caption>{t('dev.contracts.caption', { n: shown.length })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('dev.contracts.id')}</th>
                  <th scope="col">{t('dev.contracts.state')}</th>
                  <th scope="col">{t('dev.contracts.provider')}</th>
                  <th scope="col">{t('dev.contracts.fields')}</th>
                  <th scope="col">{t('dev.contracts.terms')}</th>
                  <th scope="col">{t('dev.contracts.actions')}</th>
                </tr>
              </thead>
              {shown.map((c) => (
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
                      <Dept code={c.provider} names={names} />
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
                    <td>
                      {c.state === 'PENDING' || c.state === 'DRAFT' ? <Withdraw contract={c} done={done} /> : null}
                      {c.state === 'ACTIVE' || c.state === 'EXPIRED' ? <Renew contract={c} done={done} /> : null}
                    </td>
                  </tr>
                  <HistoryRow id={c.id} open={expanded.isOpen(c.id)} colSpan={6} />
                </tbody>
              ))}
            </table>
          )
        }
      </Async>
    </>
  );
}
