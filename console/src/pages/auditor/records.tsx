/**
 * Audit records as the auditor reads them: the `AuditRecord` fields the console asks for, a
 * compact view of the coordinates and their decisions, and the full record (sources called, error
 * codes, hashes) shown when a row is expanded. Used by the access log and the subject report.
 */
import { useId, useState } from 'react';
import { query } from '../../api.ts';
import { Data, ErrorBox, Loading, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { DataList, DecisionBadge, Dept, OutcomeBadge, Time, useFormat } from './format.tsx';

/** All but the sources called: for lists without a size argument (the hub counts them as 100 records). */
export const RECORD_SUMMARY_FIELDS = /* GraphQL */ `
  fragment ConsoleAuditSummary on AuditRecord {
    instance seq hash time type requestId department user client operationName operationHash
    coordinates { coordinate decision detail contractId }
    contractIds purposes providers
    subjectCount rows rowsWithheld outcome httpStatus errorCodes reason durationMs
    action actorDepartment actorUser details
  }
`;

/**
 * Everything a record holds. Costly in a list (the hub counts each nested list at its default
 * size, 100): a page of 50 costs about 36 000 of the 50 000 an operation may cost.
 */
export const RECORD_FIELDS = /* GraphQL */ `
  fragment ConsoleAuditRecord on AuditRecord {
    ...ConsoleAuditSummary
    sources { source status latencyMs }
  }
  ${RECORD_SUMMARY_FIELDS}
`;

export interface AuditCoordinate {
  readonly coordinate: string;
  readonly decision: string;
  readonly detail: string;
  readonly contractId: string | null;
}

export interface AuditRecord {
  readonly instance: string;
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
  readonly type: string;
  readonly requestId: string | null;
  readonly department: string | null;
  readonly user: string | null;
  readonly client: string | null;
  readonly operationName: string | null;
  readonly operationHash: string | null;
  readonly coordinates: readonly AuditCoordinate[];
  readonly contractIds: readonly string[];
  readonly purposes: readonly string[];
  readonly providers: readonly string[];
  /** Absent when the record was fetched as a summary (RECORD_SUMMARY_FIELDS): the detail fetches it. */
  readonly sources?: readonly { source: string; status: string; latencyMs: number }[];
  readonly subjectCount: number;
  readonly rows: number | null;
  readonly rowsWithheld: number | null;
  readonly outcome: string | null;
  readonly httpStatus: number | null;
  readonly errorCodes: readonly string[];
  readonly reason: string | null;
  readonly durationMs: number | null;
  readonly action: string | null;
  readonly actorDepartment: string | null;
  readonly actorUser: string | null;
  readonly details: string | null;
}

export const recordKey = (r: AuditRecord) => `${r.instance}:${r.seq}`;

const ORDER: Record<string, number> = { deny: 0, mask: 1, allow: 2 };
const byInterest = (a: AuditCoordinate, b: AuditCoordinate) => (ORDER[a.decision] ?? 3) - (ORDER[b.decision] ?? 3) || a.coordinate.localeCompare(b.coordinate);

/** Counts per decision, then the first few coordinates (denied and masked ones first). */
export function CoordinatesCell({ coordinates, shown = 3 }: { coordinates: readonly AuditCoordinate[]; shown?: number }) {
  const { t, tx } = useI18n();
  if (coordinates.length === 0) return <span aria-hidden="true">—</span>;
  const counts = new Map<string, number>();
  for (const c of coordinates) counts.set(c.decision, (counts.get(c.decision) ?? 0) + 1);
  const sorted = [...coordinates].sort(byInterest);
  return (
    <div className="ao-coords">
      <div>
        {['allow', 'mask', 'deny']
          .filter((d) => counts.has(d))
          .map((d) => (
            <DecisionBadge key={d} decision={d}>
              {counts.get(d)}
            </DecisionBadge>
          ))}
      </div>
      <ul className="ao-plain">
        {sorted.slice(0, shown).map((c) => (
          <li key={c.coordinate}>
            <span className={`ao-mark ao-${c.decision}`} aria-hidden="true">
              {c.decision === 'allow' ? '✓' : c.decision === 'mask' ? '◐' : '✗'}
            </span>{' '}
            <span className="ao-sr-only">{tx(`auditor.decision.${c.decision}`, c.decision)}</span>
            <Data>
              <code>{c.coordinate}</code>
            </Data>
          </li>
        ))}
      </ul>
      {sorted.length > shown ? <span className="muted">{t('auditor.more', { n: sorted.length - shown })}</span> : null}
    </div>
  );
}

/** What an admin record did, or the operation's name. */
export function OperationCell({ record }: { record: AuditRecord }) {
  const { tx } = useI18n();
  if (record.type === 'admin') return <span>{tx(`auditor.action.${record.action ?? ''}`, record.action ?? '—')}</span>;
  return record.operationName ? (
    <Data>
      <code>{record.operationName}</code>
    </Data>
  ) : (
    <span aria-hidden="true">—</span>
  );
}

function Basis({ c }: { c: AuditCoordinate }) {
  const { t, tx } = useI18n();
  if (c.decision === 'allow') return <>{tx(`auditor.basis.${c.detail}`, c.detail)}</>;
  const code = (
    <Data>
      <code>{c.detail}</code>
    </Data>
  );
  if (c.decision === 'mask') return <>{t('auditor.maskRule')}{code}</>;
  const reason = tx(`auditor.deny.${c.detail}`, '');
  return reason ? <>{reason} ({code})</> : code;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const FULL_RECORD = /* GraphQL */ `
  query ConsoleAuditRecordDetail($filter: AuditLogFilter) {
    auditLog(filter: $filter, first: 20) { items { ...ConsoleAuditRecord } }
  }
  ${RECORD_FIELDS}
`;

/** The full record of a summary: the log's records at that very instant (and caller), this one among them. */
async function fullRecord(r: AuditRecord): Promise<AuditRecord> {
  const filter: Record<string, string> = { from: r.time, to: r.time, type: r.type };
  if (r.type === 'access' && r.department) filter.consumer = r.department;
  const data = await query<{ auditLog: { items: AuditRecord[] } }>(FULL_RECORD, { filter });
  return data.auditLog.items.find((x) => x.instance === r.instance && x.seq === r.seq) ?? r;
}

/** Everything the record holds (fetching what a summary left out). */
export function RecordDetail({ record, names }: { record: AuditRecord; names?: ReadonlyMap<string, string> | undefined }) {
  const full = useLoad(() => (record.sources === undefined ? fullRecord(record) : Promise.resolve(record)), [record]);
  if (full.data === undefined) return full.error ? <ErrorBox error={full.error} /> : <Loading />;
  return <FullRecord record={full.data} names={names} />;
}

function FullRecord({ record, names }: { record: AuditRecord; names?: ReadonlyMap<string, string> | undefined }) {
  const { t, tx } = useI18n();
  const f = useFormat();
  return (
    <div className="ao-detail">
      <h3>{t('auditor.detail.title')}</h3>
      <dl className="ao-kv">
        <dt>{t('auditor.detail.type')}</dt>
        <dd>{tx(`auditor.type.${record.type}`, record.type)}</dd>
        <dt>{t('auditor.detail.instance')}</dt>
        <dd>
          <Data>
            <code>{record.instance}</code>
          </Data>
        </dd>
        <dt>{t('auditor.detail.seq')}</dt>
        <dd>
          <Data>{record.seq}</Data>
        </dd>
        <dt>{t('auditor.detail.hash')}</dt>
        <dd>
          <Data>
            <code data-testid="record-hash">{record.hash}</code>
          </Data>
        </dd>
        {record.requestId ? (
          <>
            <dt>{t('auditor.detail.requestId')}</dt>
            <dd>
              <Data>
                <code>{record.requestId}</code>
              </Data>
            </dd>
          </>
        ) : null}
        {record.type === 'admin' ? (
          <>
            <dt>{t('auditor.detail.action')}</dt>
            <dd>
              {tx(`auditor.action.${record.action ?? ''}`, record.action ?? '—')} (<Data>{record.action}</Data>)
            </dd>
            <dt>{t('auditor.detail.actor')}</dt>
            <dd>
              <Dept code={record.actorDepartment} names={names} /> <Data>{record.actorUser}</Data>
            </dd>
            <dt>{t('auditor.detail.details')}</dt>
            <dd>
              <Data>
                <pre className="ao-json">{record.details ? prettyJson(record.details) : '—'}</pre>
              </Data>
            </dd>
          </>
        ) : (
          <>
            <dt>{t('auditor.detail.client')}</dt>
            <dd>{record.client ? <Data>{record.client}</Data> : '—'}</dd>
            <dt>{t('auditor.detail.operationHash')}</dt>
            <dd>
              {record.operationHash ? (
                <Data>
                  <code>{record.operationHash}</code>
                </Data>
              ) : (
                '—'
              )}
            </dd>
            <dt>{t('auditor.detail.purposes')}</dt>
            <dd>
              <DataList values={record.purposes} />
            </dd>
            <dt>{t('auditor.detail.providers')}</dt>
            <dd>
              {record.providers.length === 0
                ? '—'
                : record.providers.map((p, i) => (
                    <span key={p}>
                      {i > 0 ? ', ' : null}
                      <Dept code={p} names={names} />
                    </span>
                  ))}
            </dd>
            <dt>{t('auditor.detail.httpStatus')}</dt>
            <dd>
              <Data>{record.httpStatus ?? '—'}</Data>
            </dd>
            <dt>{t('auditor.detail.errorCodes')}</dt>
            <dd>
              <DataList values={record.errorCodes} code />
            </dd>
            {record.reason ? (
              <>
                <dt>{t('auditor.detail.reason')}</dt>
                <dd>
                  <Data>{record.reason}</Data>
                </dd>
              </>
            ) : null}
            <dt>{t('auditor.detail.subjects')}</dt>
            <dd>{f.int(record.subjectCount)}</dd>
            <dt>{t('auditor.detail.rowsWithheld')}</dt>
            <dd>{f.int(record.rowsWithheld)}</dd>
          </>
        )}
      </dl>
      {record.sources && record.sources.length > 0 ? (
        <table className="ao-inner">
          <caption>{t('auditor.detail.sources')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('auditor.detail.source')}</th>
              <th scope="col">{t('auditor.detail.status')}</th>
              <th scope="col" className="ao-num">
                {t('auditor.detail.latency')}
              </th>
            </tr>
          </thead>
          <tbody>
            {record.sources.map((s, i) => (
              <tr key={`${s.source}-${i}`}>
                <td>
                  <Data>{s.source}</Data>
                </td>
                <td>
                  {s.status === 'ok' ? (
                    <span className="ao-chip ao-allow">
                      <span aria-hidden="true">✓</span>
                      {t('auditor.detail.sourceOk')}
                    </span>
                  ) : (
                    <span className="ao-chip ao-deny">
                      <span aria-hidden="true">✗</span>
                      <Data>{s.status}</Data>
                    </span>
                  )}
                </td>
                <td className="ao-num">{f.ms(s.latencyMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {record.coordinates.length > 0 ? (
        <table className="ao-inner">
          <caption>{t('auditor.detail.coordinates')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('auditor.detail.coordinate')}</th>
              <th scope="col">{t('auditor.detail.decision')}</th>
              <th scope="col">{t('auditor.detail.basis')}</th>
              <th scope="col">{t('auditor.detail.contract')}</th>
            </tr>
          </thead>
          <tbody>
            {[...record.coordinates].sort(byInterest).map((c) => (
              <tr key={c.coordinate}>
                <td>
                  <Data>
                    <code>{c.coordinate}</code>
                  </Data>
                </td>
                <td>
                  <DecisionBadge decision={c.decision} />
                </td>
                <td>
                  <Basis c={c} />
                </td>
                <td>{c.contractId ? <Data><code>{c.contractId}</code></Data> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

export type Column = 'time' | 'department' | 'user' | 'operation' | 'coordinates' | 'contracts' | 'purposes' | 'outcome' | 'rows' | 'duration';

/** A table of records, each row expandable to the full record (a button with aria-expanded). */
export function RecordTable({ records, columns, caption, names }: { records: readonly AuditRecord[]; columns: readonly Column[]; caption: string; names?: ReadonlyMap<string, string> | undefined }) {
  const { t } = useI18n();
  const f = useFormat();
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const base = useId();
  const toggle = (key: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const heads: Record<Column, string> = {
    time: t('auditor.col.time'),
    department: t('auditor.col.department'),
    user: t('auditor.col.user'),
    operation: t('auditor.col.operation'),
    coordinates: t('auditor.col.coordinates'),
    contracts: t('auditor.col.contracts'),
    purposes: t('auditor.col.purposes'),
    outcome: t('auditor.col.outcome'),
    rows: t('auditor.col.rows'),
    duration: t('auditor.col.duration'),
  };
  const numeric = new Set<Column>(['rows', 'duration']);
  const cell = (r: AuditRecord, c: Column) => {
    switch (c) {
      case 'time':
        return <Time iso={r.time} />;
      case 'department':
        return <Dept code={r.type === 'admin' ? r.actorDepartment : r.department} names={names} />;
      case 'user':
        return r.type === 'admin' ? <Data>{r.actorUser ?? '—'}</Data> : r.user ? <Data>{r.user}</Data> : <span aria-hidden="true">—</span>;
      case 'operation':
        return <OperationCell record={r} />;
      case 'coordinates':
        return <CoordinatesCell coordinates={r.coordinates} />;
      case 'contracts':
        return <DataList values={r.contractIds} code />;
      case 'purposes':
        return <DataList values={r.purposes} />;
      case 'outcome':
        return r.type === 'admin' ? <span aria-hidden="true">—</span> : <OutcomeBadge outcome={r.outcome} />;
      case 'rows':
        return r.type === 'admin' ? '—' : f.int(r.rows);
      case 'duration':
        return r.type === 'admin' ? '—' : f.ms(r.durationMs);
    }
  };
  return (
    <div className="ao-scroll">
      <table className="ao-records">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">
              <span className="ao-sr-only">{t('auditor.col.details')}</span>
            </th>
            {columns.map((c) => (
              <th key={c} scope="col" className={numeric.has(c) ? 'ao-num' : undefined}>
                {heads[c]}
              </th>
            ))}
          </tr>
        </thead>
        {records.map((r) => {
          const key = recordKey(r);
          const isOpen = open.has(key);
          const detailId = `${base}-${r.instance}-${r.seq}`;
          return (
              <tbody key={key} className={isOpen ? 'ao-open' : undefined} data-testid="audit-record" data-seq={r.seq}>
                <tr>
                  <td>
                    <button type="button" className="ao-expander" aria-expanded={isOpen} aria-controls={detailId} aria-label={t('auditor.detail.show', { seq: r.seq })} onClick={() => toggle(key)}>
                      <span aria-hidden="true">{isOpen ? '▾' : '▸'}</span>
                    </button>
                  </td>
                  {columns.map((c) => (
                    <td key={c} className={numeric.has(c) ? 'ao-num' : undefined}>
                      {cell(r, c)}
                    </td>
                  ))}
                </tr>
                <tr id={detailId} className="ao-detail-row" hidden={!isOpen}>
                  <td colSpan={columns.length + 1}>{isOpen ? <RecordDetail record={r} names={names} /> : null}</td>
                </tr>
              </tbody>
          );
        })}
      </table>
    </div>
  );
}
