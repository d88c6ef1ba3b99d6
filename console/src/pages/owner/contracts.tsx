/**
 * 协议管理 / Contracts: the contracts on the department's data — suspend, resume, revoke (with a
 * reason, required for revoking), renew (the successor the owner offers waits in its own approval
 * queue, like a consumer's renewal request), and the history of each.
 */
import { useState } from 'react';
import { Async, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { useSignedIn } from '../../session.tsx';
import { loadMyContracts, stepContract, type Contract, type ContractState, type LifecycleStep } from '../developer/model.ts';
import { Renew } from '../developer/contracts.tsx';
import { ContractsTable, InlineAction, StateFilter, useDepartmentNames } from '../developer/parts.tsx';

type OwnerStep = Extract<LifecycleStep, 'suspendContract' | 'resumeContract' | 'revokeContract'>;
const ACTION: Record<OwnerStep, 'SUSPEND' | 'RESUME' | 'REVOKE'> = { suspendContract: 'SUSPEND', resumeContract: 'RESUME', revokeContract: 'REVOKE' };
const STATES: readonly ContractState[] = ['ACTIVE', 'SUSPENDED', 'PENDING', 'EXPIRED', 'REVOKED', 'REJECTED', 'WITHDRAWN'];

function stepsFor(state: ContractState): OwnerStep[] {
  if (state === 'ACTIVE') return ['suspendContract', 'revokeContract'];
  if (state === 'SUSPENDED') return ['resumeContract', 'revokeContract'];
  return [];
}

function StepControl({ contract, step, done }: { contract: Contract; step: OwnerStep; done: (message: string) => void }) {
  const { t, tx } = useI18n();
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const required = step === 'revokeContract';
  const action = tx(`action.${ACTION[step]}`, ACTION[step]);
  const run = useAction(async () => {
    const c = await stepContract(step, contract.id, reason.trim() || null);
    done(t('owner.contracts.done', { id: c.id, action, state: tx(`state.${c.state}`, c.state) }));
  });
  const id = `${step}-${contract.id}`;
  return (
    <InlineAction
      opener={action}
      openerLabel={t('owner.contracts.actionFor', { action, id: contract.id })}
      openerClass={required ? 'danger small' : 'secondary small'}
      id={id}
      label={t(required ? 'owner.contracts.reasonRequired' : 'owner.contracts.reasonOptional', { action })}
      confirm={t('owner.contracts.confirm', { action })}
      confirmClass={required ? 'danger small' : 'small'}
      action={run}
      check={() => {
        const given = !required || reason.trim() !== '';
        setMissing(!given);
        return given;
      }}
      notice={
        missing ? (
          <div className="error" role="alert">
            {t('owner.queue.reasonRequired')}
          </div>
        ) : null
      }
    >
      <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} aria-invalid={missing || undefined} />
    </InlineAction>
  );
}

export function OwnerContractsPage() {
  const { t } = useI18n();
  const session = useSignedIn();
  const names = useDepartmentNames();
  const contracts = useLoad(loadMyContracts, []);
  const [state, setState] = useState('');
  const [consumer, setConsumer] = useState('');
  const [message, setMessage] = useState('');
  const provided = (contracts.data ?? []).filter((c) => c.provider === session.department);
  const consumers = [...new Set(provided.map((c) => c.consumer))].sort();
  const shown = provided.filter((c) => (!state || c.state === state) && (!consumer || c.consumer === consumer)).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const done = (text: string) => {
    setMessage(text);
    contracts.reload();
  };

  return (
    <>
      <PageHeader title={t('nav.owner.contracts')}>
        <button type="button" className="secondary" onClick={contracts.reload}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted">{t('owner.contracts.renewNote')}</p>
      <div className="toolbar">
        <StateFilter id="owner-state" states={STATES} value={state} onChange={setState} />
        <div>
          <label htmlFor="owner-consumer">{t('dev.usage.consumer')}</label>
          <select id="owner-consumer" value={consumer} onChange={(e) => setConsumer(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {consumers.map((c) => (
              <option key={c} value={c} data-i18n-exempt="">
                {names.get(c) ? `${names.get(c)}（${c}）` : c}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="notice-live" aria-live="polite">
        {message}
      </p>
      <Async state={contracts}>
        {() => (
          <ContractsTable
            contracts={shown}
            none={t('owner.contracts.none')}
            caption={t('owner.contracts.caption', { n: shown.length })}
            counterpart="consumer"
            names={names}
            actions={(c) => (
              <>
                {stepsFor(c.state).map((s) => (
                  <div key={s}>
                    <StepControl contract={c} step={s} done={done} />
                  </div>
                ))}
                {c.state === 'ACTIVE' || c.state === 'EXPIRED' ? (
                  <div>
                    <Renew contract={c} done={done} />
                  </div>
                ) : null}
                {c.state === 'PENDING' ? <span className="muted">{t('owner.contracts.inQueue')}</span> : null}
              </>
            )}
          />
        )}
      </Async>
    </>
  );
}
