/**
 * 投递报告 / Drop reports: `allDropReports(department, first)` — what became of each file the
 * county departments dropped, filtered by department (`departments`).
 */
import { useState } from 'react';
import { query } from '../../api.ts';
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { Dept, loadDepartments, Time, useFormat } from '../auditor/format.tsx';

const FIRST = 50;

const DROP_REPORTS = /* GraphQL */ `
  query ConsoleDropReports($department: String, $first: Int) {
    allDropReports(department: $department, first: $first) {
      id dataset department fileName outcome version rowsAccepted rowsRejected receivedAt firstIssues
    }
  }
`;

interface DropReport {
  id: string;
  dataset: string;
  department: string;
  fileName: string;
  outcome: string;
  version: number | null;
  rowsAccepted: number;
  rowsRejected: number;
  receivedAt: string;
  firstIssues: string[];
}

const OUTCOME_LOOK: Record<string, { tone: string; mark: string }> = {
  published: { tone: 'ao-allow', mark: '✓' },
  'partially-published': { tone: 'ao-mask', mark: '◐' },
  unchanged: { tone: '', mark: '=' },
  rejected: { tone: 'ao-deny', mark: '✗' },
};

/** `PARTIALLY_PUBLISHED` (the graph's enum name) and `partially-published` alike. */
const outcomeKey = (value: string) => value.toLowerCase().replace(/_/g, '-');

function DropOutcome({ value }: { value: string }) {
  const { tx } = useI18n();
  const key = outcomeKey(value);
  const look = OUTCOME_LOOK[key] ?? { tone: '', mark: '•' };
  return (
    <span className={`ao-chip ${look.tone}`} data-outcome={key}>
      <span aria-hidden="true">{look.mark}</span>
      {tx(`operator.outcome.${key}`, value)}
    </span>
  );
}

export function DropReportsPage() {
  const { t } = useI18n();
  const f = useFormat();
  const [department, setDepartment] = useState('');
  const departments = useLoad(() => loadDepartments(), []);
  const reports = useLoad(() => query<{ allDropReports: DropReport[] }>(DROP_REPORTS, { department: department || null, first: FIRST }), [department]);
  const names = departments.data;

  return (
    <>
      <PageHeader title={t('operator.drops.title')}>
        <button type="button" className="secondary" onClick={reports.reload} disabled={reports.loading}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted ao-prose">{t('operator.drops.intro')}</p>
      <div className="toolbar">
        <div>
          <label htmlFor="drops-department">{t('operator.drops.department')}</label>
          <select id="drops-department" value={department} onChange={(e) => setDepartment(e.target.value)}>
            <option value="">{t('operator.allDepartments')}</option>
            {[...(names ?? new Map<string, string>()).entries()].map(([code, name]) => (
              <option key={code} value={code} data-i18n-exempt="">
                {name} · {code}
              </option>
            ))}
          </select>
        </div>
      </div>
      <Async state={reports} empty={(d) => d.allDropReports.length === 0}>
        {({ allDropReports }) => (
          <div className="card ao-scroll">
            <table aria-busy={reports.loading}>
              <caption>{t('operator.drops.caption', { n: FIRST })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('operator.drops.receivedAt')}</th>
                  <th scope="col">{t('operator.drops.dataset')}</th>
                  <th scope="col">{t('operator.drops.department')}</th>
                  <th scope="col">{t('operator.drops.file')}</th>
                  <th scope="col">{t('operator.drops.outcome')}</th>
                  <th scope="col" className="ao-num">
                    {t('operator.drops.version')}
                  </th>
                  <th scope="col" className="ao-num">
                    {t('operator.drops.accepted')}
                  </th>
                  <th scope="col" className="ao-num">
                    {t('operator.drops.rejected')}
                  </th>
                  <th scope="col">{t('operator.drops.issues')}</th>
                </tr>
              </thead>
              <tbody>
                {allDropReports.map((r) => (
                  <tr key={r.id} data-testid="drop-report" data-department={r.department} data-outcome={outcomeKey(r.outcome)}>
                    <td>
                      <Time iso={r.receivedAt} />
                    </td>
                    <td>
                      <Data>
                        <code>{r.dataset}</code>
                      </Data>
                    </td>
                    <td>
                      <Dept code={r.department} names={names} />
                    </td>
                    <td>
                      <Data>{r.fileName}</Data>
                    </td>
                    <td>
                      <DropOutcome value={r.outcome} />
                    </td>
                    <td className="ao-num">{r.version === null ? '—' : <Data>v{r.version}</Data>}</td>
                    <td className="ao-num">{f.int(r.rowsAccepted)}</td>
                    <td className={`ao-num${r.rowsRejected > 0 ? ' ao-deny' : ''}`}>{f.int(r.rowsRejected)}</td>
                    <td>
                      {r.firstIssues.length === 0 ? (
                        <span aria-hidden="true">—</span>
                      ) : (
                        <ul className="ao-issues">
                          {r.firstIssues.map((issue, i) => (
                            <li key={i}>
                              <Data>{issue}</Data>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </>
  );
}
