/**
 * 访问日志 / Access log: `auditLog(filter, after, first)` with the hub's filters, newest first,
 * cursor paging (a stack of cursors gives "previous"), and each record expandable to the full
 * record. The filters are kept in the address (without times' seconds) so a view can be shared.
 */
import { useCallback, useMemo, useState, type FormEvent } from 'react';
import { query } from '../../api.ts';
import { Async, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { BASE, searchParams } from '../../router.tsx';
import { fromLocalInput, loadDepartments } from './format.tsx';
import { RECORD_FIELDS, RecordTable, type AuditRecord } from './records.tsx';

const AUDIT_LOG = /* GraphQL */ `
  query ConsoleAuditLog($filter: AuditLogFilter, $after: String, $first: Int) {
    auditLog(filter: $filter, after: $after, first: $first) {
      total endCursor hasNextPage
      items { ...ConsoleAuditRecord }
    }
  }
  ${RECORD_FIELDS}
`;

interface Page {
  readonly auditLog: { total: number; endCursor: string | null; hasNextPage: boolean; items: AuditRecord[] };
}

const FIELDS = ['from', 'to', 'consumer', 'provider', 'contract', 'decision', 'operation', 'outcome', 'type'] as const;
type Field = (typeof FIELDS)[number];
type Form = Record<Field, string>;

const EMPTY: Form = { from: '', to: '', consumer: '', provider: '', contract: '', decision: '', operation: '', outcome: '', type: '' };
const DECISIONS = ['allow', 'mask', 'deny'];
const OUTCOMES = ['ok', 'partial', 'unauthenticated', 'refused', 'rate-limited', 'error'];
const TYPES = ['access', 'admin'];
// A page of 50 full records costs about 36 000 of the 50 000 the hub lets an operation cost.
const PAGE_SIZES = [20, 50];

function formFromAddress(): Form {
  const params = searchParams();
  const form = { ...EMPTY };
  for (const f of FIELDS) form[f] = params.get(f) ?? '';
  return form;
}

/** The GraphQL filter for a form: empty fields left out, local times as ISO instants. */
function filterOf(form: Form): { filter: Record<string, string>; badTime: boolean } {
  const filter: Record<string, string> = {};
  let badTime = false;
  for (const f of FIELDS) {
    const v = form[f].trim();
    if (v === '') continue;
    if (f === 'from' || f === 'to') {
      const iso = fromLocalInput(v);
      if (iso === undefined) badTime = true;
      else if (iso !== null) filter[f] = f === 'to' && v.length === 16 ? new Date(Date.parse(iso) + 59_999).toISOString() : iso;
    } else filter[f] = v;
  }
  return { filter, badTime };
}

export function AccessLogPage() {
  const { t, tx } = useI18n();
  const [form, setForm] = useState<Form>(formFromAddress);
  const [applied, setApplied] = useState<Form>(form);
  const [badTime, setBadTime] = useState(false);
  const [pageSize, setPageSize] = useState(50);
  // cursors[i] is the `after` of page i+1; the last one is the page shown.
  const [cursors, setCursors] = useState<readonly (string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const { filter } = useMemo(() => filterOf(applied), [applied]);
  const names = useLoad(() => loadDepartments().catch(() => new Map<string, string>()), []);

  const page = useLoad(
    () => query<Page>(AUDIT_LOG, { filter, after, first: pageSize }),
    [JSON.stringify(filter), after, pageSize],
  );

  const set = (field: Field) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: e.target.value }));

  const apply = useCallback((next: Form) => {
    const { badTime } = filterOf(next);
    setBadTime(badTime);
    if (badTime) return;
    setApplied(next);
    setCursors([null]);
    const params = new URLSearchParams();
    for (const f of FIELDS) if (next[f].trim() !== '') params.set(f, next[f].trim());
    const qs = params.toString();
    window.history.replaceState(null, '', `${BASE}/auditor/log${qs ? `?${qs}` : ''}`);
  }, []);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    apply(form);
  };
  const reset = () => {
    setForm(EMPTY);
    apply(EMPTY);
  };

  const offset = (cursors.length - 1) * pageSize;
  const departmentOptions = [...(names.data ?? new Map<string, string>()).entries()];

  return (
    <>
      <PageHeader title={t('auditor.log.title')}>
        <button type="button" className="secondary" onClick={page.reload} disabled={page.loading}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted">{t('auditor.log.intro')}</p>
      <form className="card ao-filters" onSubmit={onSubmit} aria-labelledby="log-filters" noValidate>
        <h2 id="log-filters">{t('auditor.log.filters')}</h2>
        <div className="ao-filter-grid">
          <div>
            <label htmlFor="f-from">{t('auditor.filter.from')}</label>
            <input id="f-from" type="datetime-local" value={form.from} onChange={set('from')} />
          </div>
          <div>
            <label htmlFor="f-to">{t('auditor.filter.to')}</label>
            <input id="f-to" type="datetime-local" value={form.to} onChange={set('to')} />
          </div>
          <div>
            <label htmlFor="f-consumer">{t('auditor.filter.consumer')}</label>
            <input id="f-consumer" list="f-departments" value={form.consumer} onChange={set('consumer')} placeholder={t('auditor.filter.deptPlaceholder')} autoComplete="off" spellCheck={false} />
          </div>
          <div>
            <label htmlFor="f-provider">{t('auditor.filter.provider')}</label>
            <input id="f-provider" list="f-departments" value={form.provider} onChange={set('provider')} placeholder={t('auditor.filter.deptPlaceholder')} autoComplete="off" spellCheck={false} />
          </div>
          <div>
            <label htmlFor="f-contract">{t('auditor.filter.contract')}</label>
            <input id="f-contract" value={form.contract} onChange={set('contract')} autoComplete="off" spellCheck={false} />
          </div>
          <div>
            <label htmlFor="f-decision">{t('auditor.filter.decision')}</label>
            <select id="f-decision" value={form.decision} onChange={set('decision')}>
              <option value="">{t('common.all')}</option>
              {DECISIONS.map((d) => (
                <option key={d} value={d}>
                  {tx(`auditor.decision.${d}`, d)}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-operation">{t('auditor.filter.operation')}</label>
            <input id="f-operation" value={form.operation} onChange={set('operation')} autoComplete="off" spellCheck={false} />
          </div>
          <div>
            <label htmlFor="f-outcome">{t('auditor.filter.outcome')}</label>
            <select id="f-outcome" value={form.outcome} onChange={set('outcome')}>
              <option value="">{t('common.all')}</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {tx(`auditor.outcome.${o}`, o)}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-type">{t('auditor.filter.type')}</label>
            <select id="f-type" value={form.type} onChange={set('type')}>
              <option value="">{t('common.all')}</option>
              {TYPES.map((o) => (
                <option key={o} value={o}>
                  {tx(`auditor.type.${o}`, o)}
                </option>
              ))}
            </select>
          </div>
          <div className="ao-filter-actions">
            <button type="submit" data-testid="log-apply">
              {t('auditor.filter.apply')}
            </button>
            <button type="button" className="secondary" onClick={reset}>
              {t('auditor.filter.reset')}
            </button>
          </div>
        </div>
        <datalist id="f-departments">
          {departmentOptions.map(([code, name]) => (
            <option key={code} value={code} data-i18n-exempt="">
              {name}
            </option>
          ))}
        </datalist>
        {badTime ? (
          <div className="error" role="alert">
            {t('auditor.filter.badTime')}
          </div>
        ) : null}
      </form>

      <Async state={page}>
        {({ auditLog }) => (
          <section aria-busy={page.loading}>
            {auditLog.items.length === 0 ? (
              <p className="muted">{t('auditor.log.noMatch')}</p>
            ) : (
              <RecordTable
                records={auditLog.items}
                columns={['time', 'department', 'user', 'operation', 'coordinates', 'contracts', 'outcome', 'rows', 'duration']}
                caption={t('auditor.log.caption')}
                names={names.data}
              />
            )}
            <nav className="ao-pager" aria-label={t('auditor.log.paging')}>
              <span data-testid="log-range">
                {auditLog.items.length > 0
                  ? t('auditor.log.range', { from: offset + 1, to: offset + auditLog.items.length, total: auditLog.total })
                  : t('common.total', { n: auditLog.total })}
              </span>
              <label htmlFor="f-size" className="ao-pager-label">
                {t('auditor.filter.pageSize')}
              </label>
              <select
                id="f-size"
                value={pageSize}
                onChange={(e) => {
                  setPageSize(Number(e.target.value));
                  setCursors([null]);
                }}
              >
                {PAGE_SIZES.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
              <button type="button" className="secondary" disabled={cursors.length <= 1 || page.loading} onClick={() => setCursors([null])}>
                {t('auditor.log.first')}
              </button>
              <button type="button" className="secondary" disabled={cursors.length <= 1 || page.loading} onClick={() => setCursors((c) => c.slice(0, -1))}>
                {t('common.prev')}
              </button>
              <button
                type="button"
                className="secondary"
                disabled={!auditLog.hasNextPage || !auditLog.endCursor || page.loading}
                onClick={() => setCursors((c) => [...c, auditLog.endCursor])}
              >
                {t('common.next')}
              </button>
            </nav>
          </section>
        )}
      </Async>
    </>
  );
}
