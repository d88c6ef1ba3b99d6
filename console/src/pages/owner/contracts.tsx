/**
 * 协议管理 / Contracts: the contracts on the department's data — suspend, resume, revoke (with a
 * reason, required for revoking), and the history of each. Renewal is asked for by the consumer
 * department (the hub's lifecycle: consumers renew, owners approve the renewal in the queue).
 */
import { useState } from 'react';
import { Async, Data, ErrorBox, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { useSignedIn } from '../../session.tsx';
import { loadMyContracts, stepContract, type Contract, type ContractState, type LifecycleStep } from '../developer/model.ts';
import { Dept, GrantList, HistoryButton, HistoryRow, QuotaText, ScopeText, StateBadge, useDepartmentNames, useExpanded, Validity } from '../developer/parts.tsx';

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
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const required = step === 'revokeContract';
  const action = ACTION[step];
  const run = useAction(async () => {
    const c = await stepContract(step, contract.id, reason.trim() || null);
    done(t('owner.contracts.done', { id: c.id, action: tx(`action.${action}`, action), state: tx(`state.${c.state}`, c.state) }));
  });
  if (!open) {
    return (
      <button type="button" className={step === 'revokeContract' ? 'danger small' : 'secondary small'} onClick={() => setOpen(true)} aria-label={t('owner.contracts.actionFor', { action: tx(`action.${action}`, action), id: contract.id })}>
        {tx(`action.${action}`, action)}
      </button>
    );
  }
  const id = `${step}-${contract.id}`;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (required && !reason.trim()) {
          setMissing(true);
          return;
        }
        setMissing(false);
        void run.run();
      }}
    >
      <label htmlFor={id}>{t(required ? 'owner.contracts.reasonRequired' : 'owner.contracts.reasonOptional', { action: tx(`action.${action}`, action) })}</label>
      <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} aria-invalid={missing || undefined} />
      <button type="submit" className={step === 'revokeContract' ? 'danger small' : 'small'} disabled={run.busy}>
        {t('owner.contracts.confirm', { action: tx(`action.${action}`, action) })}
      </button>
      <button type="button" className="secondary small" onClick={() => setOpen(false)}>
        {t('common.cancel')}
      </button>
      {missing ? (
        <div className="error" role="alert">
          {t('owner.queue.reasonRequired')}
        </div>
      ) : null}
      <ErrorBox error={run.error} />
    </form>
  );
}

export function OwnerContractsPage() {
  const { t, tx } = useI18n();
  const session = useSignedIn();
  const names = useDepartmentNames();
  const contracts = useLoad(loadMyContracts, []);
  const expanded = useExpanded();
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
        <div>
          <label htmlFor="owner-state">{t('dev.contracts.filterState')}</label>
          <select id="owner-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {tx(`state.${s}`, s)}
              </option>
            ))}
          </select>
        </div>
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
        {() =>
          shown.length === 0 ? (
            <p className="muted">{t('owner.contracts.none')}</p>
          ) : (
            <table className="contracts">
              <caption>{t('owner.contracts.caption', { n: shown.length })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('dev.contracts.id')}</th>
                  <th scope="col">{t('dev.contracts.state')}</th>
                  <th scope="col">{t('dev.usage.consumer')}</th>
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
                      <Dept code={c.consumer} names={names} />
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
                      {stepsFor(c.state).map((s) => (
                        <div key={s}>
                          <StepControl contract={c} step={s} done={done} />
                        </div>
                      ))}
                      {c.state === 'PENDING' ? <span className="muted">{t('owner.contracts.inQueue')}</span> : null}
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
