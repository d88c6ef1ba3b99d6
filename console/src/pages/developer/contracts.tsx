/**
 * 我的申请与协议 / My contracts: the contracts the caller's department holds or has asked for —
 * state, provider, fields, validity, quotas, and every step of each (expandable). A pending or
 * draft request can be withdrawn; an active or expired contract can be renewed (the renewal is a
 * new request the provider approves).
 */
import { useState } from 'react';
import { Async, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { navigate } from '../../router.tsx';
import { useSignedIn } from '../../session.tsx';
import { dayPlus, loadMyContracts, renewContract, stepContract, type Contract, type ContractState } from './model.ts';
import { ContractsTable, InlineAction, StateFilter, useDepartmentNames } from './parts.tsx';

const STATES: readonly ContractState[] = ['PENDING', 'ACTIVE', 'SUSPENDED', 'REJECTED', 'REVOKED', 'EXPIRED', 'WITHDRAWN', 'DRAFT'];

function Withdraw({ contract, done }: { contract: Contract; done: (message: string) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const action = useAction(async () => {
    const c = await stepContract('withdrawContract', contract.id, reason.trim() || null);
    done(t('dev.contracts.withdrawn', { id: c.id }));
  });
  const id = `withdraw-${contract.id}`;
  return (
    <InlineAction opener={t('action.WITHDRAW')} openerLabel={t('dev.contracts.withdrawFor', { id: contract.id })} id={id} label={t('dev.contracts.withdrawReason')} confirm={t('dev.contracts.confirmWithdraw')} confirmClass="danger small" action={action}>
      <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} />
    </InlineAction>
  );
}

/** Renewal: the consumer asks to go on, or the provider's data owner offers it; both land in the provider's approval queue. */
export function Renew({ contract, done }: { contract: Contract; done: (message: string) => void }) {
  const { t } = useI18n();
  const [until, setUntil] = useState(() => dayPlus(1, Math.max(Date.now(), Date.parse(contract.validUntil))));
  const action = useAction(async () => {
    const c = await renewContract(contract.id, `${until}T23:59:59+08:00`);
    done(t('dev.contracts.renewed', { id: contract.id, successor: c.id }));
  });
  const id = `renew-${contract.id}`;
  return (
    <InlineAction opener={t('action.RENEW')} openerLabel={t('dev.contracts.renewFor', { id: contract.id })} id={id} label={t('dev.contracts.renewUntil')} confirm={t('dev.contracts.confirmRenew')} confirmClass="small" action={action}>
      <input id={id} type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
    </InlineAction>
  );
}

export function MyContractsPage() {
  const { t } = useI18n();
  const session = useSignedIn();
  const names = useDepartmentNames();
  const contracts = useLoad(loadMyContracts, []);
  const [state, setState] = useState('');
  const [message, setMessage] = useState('');

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
        <StateFilter id="contracts-state" states={STATES} value={state} onChange={setState} />
      </div>
      <p className="notice-live" aria-live="polite">
        {message}
      </p>
      <Async state={contracts}>
        {() => (
          <ContractsTable
            contracts={shown}
            none={t('dev.contracts.none')}
            caption={t('dev.contracts.caption', { n: shown.length })}
            counterpart="provider"
            names={names}
            actions={(c) => (
              <>
                {c.state === 'PENDING' || c.state === 'DRAFT' ? <Withdraw contract={c} done={done} /> : null}
                {c.state === 'ACTIVE' || c.state === 'EXPIRED' ? <Renew contract={c} done={done} /> : null}
              </>
            )}
          />
        )}
      </Async>
    </>
  );
}
