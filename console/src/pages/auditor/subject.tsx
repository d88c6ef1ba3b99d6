/**
 * 数据主体访问报告 / Subject access report: one field for a 公民身份号码 or a 统一社会信用代码; the
 * kind is told from the shape (an 18-character number of digits with a valid GB 11643 check digit
 * is an ID number; letters make it a credit code). The hub validates the check digit and says so
 * (INVALID_ID_NUMBER / INVALID_CREDIT_CODE); the console does not second-guess it.
 */
import { useState, type FormEvent } from 'react';
import { query } from '../../api.ts';
import { ErrorBox, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { loadDepartments } from './format.tsx';
import { RECORD_SUMMARY_FIELDS, RecordTable, type AuditRecord } from './records.tsx';

// Without the sources called: the hub counts this list (no size argument) as 100 records, and the
// full record would cost more than an operation may. A row's detail fetches the rest.
const ACCESS_REPORT = /* GraphQL */ `
  query ConsoleAccessReport($idNumber: String, $creditCode: String) {
    accessReport(idNumber: $idNumber, creditCode: $creditCode) { ...ConsoleAuditSummary }
  }
  ${RECORD_SUMMARY_FIELDS}
`;

type Kind = 'idNumber' | 'creditCode';

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

function idCheckOk(v: string): boolean {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * ID_WEIGHTS[i]!;
  return '10X98765432'[sum % 11] === v[17];
}

function creditCheckOk(v: string): boolean {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const n = CREDIT_ALPHABET.indexOf(v[i]!);
    if (n < 0) return false;
    sum += n * CREDIT_WEIGHTS[i]!;
  }
  return CREDIT_ALPHABET[(31 - (sum % 31)) % 31] === v[17];
}

/** The input as the hub reads it (NFKC, trimmed, upper case). */
export function normalise(input: string): string {
  return input.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
}

/** Which kind of number `value` (normalised) looks like. */
export function kindOf(value: string): Kind {
  if (/^\d{17}[\dX]$/.test(value)) {
    // Digits only fit both shapes; the check digits decide, an ID number when neither does.
    if (idCheckOk(value)) return 'idNumber';
    return /^\d{18}$/.test(value) && creditCheckOk(value) ? 'creditCode' : 'idNumber';
  }
  if (/^\d+X?$/.test(value)) return 'idNumber';
  return 'creditCode';
}

export function SubjectReportPage() {
  const { t } = useI18n();
  const [input, setInput] = useState('');
  const [required, setRequired] = useState(false);
  const [report, setReport] = useState<{ kind: Kind; records: AuditRecord[] } | null>(null);
  const names = useLoad(() => loadDepartments().catch(() => new Map<string, string>()), []);
  const value = normalise(input);
  const kind = value === '' ? null : kindOf(value);

  const run = useAction(async (v: string, k: Kind) => {
    setReport(null);
    const data = await query<{ accessReport: AuditRecord[] }>(ACCESS_REPORT, k === 'idNumber' ? { idNumber: v } : { creditCode: v });
    setReport({ kind: k, records: data.accessReport });
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setRequired(kind === null);
    if (kind !== null) void run.run(value, kind);
  };

  return (
    <>
      <PageHeader title={t('auditor.subject.title')} />
      <p className="muted ao-prose">{t('auditor.subject.intro')}</p>
      <form className="card ao-subject-form" onSubmit={onSubmit} noValidate>
        <label htmlFor="subject-number">{t('auditor.subject.label')}</label>
        <div className="ao-inline">
          <input
            id="subject-number"
            className="mono"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            maxLength={40}
            size={26}
            autoComplete="off"
            spellCheck={false}
            aria-describedby="subject-hint subject-kind"
            aria-invalid={required || Boolean(run.error)}
          />
          <button type="submit" disabled={run.busy} data-testid="subject-submit">
            {t('auditor.subject.submit')}
          </button>
        </div>
        <p id="subject-hint" className="muted">
          {t('auditor.subject.hint')}
        </p>
        <p id="subject-kind" className="muted" aria-live="polite">
          {kind === 'idNumber' ? t('auditor.subject.asIdNumber') : kind === 'creditCode' ? t('auditor.subject.asCreditCode') : ''}
        </p>
        {required ? (
          <div className="error" role="alert">
            {t('auditor.subject.required')}
          </div>
        ) : null}
        <ErrorBox error={run.error} />
      </form>

      {report ? (
        <section aria-live="polite" data-testid="subject-report">
          <p>
            {report.records.length > 0
              ? t('auditor.subject.count', { kind: t(`auditor.subject.kind.${report.kind}`), n: report.records.length })
              : t('auditor.subject.none', { kind: t(`auditor.subject.kind.${report.kind}`) })}
          </p>
          {report.records.length > 0 ? (
            <RecordTable
              records={report.records}
              columns={['time', 'department', 'user', 'contracts', 'purposes', 'coordinates', 'operation', 'outcome']}
              caption={t('auditor.subject.caption')}
              names={names.data}
            />
          ) : null}
        </section>
      ) : null}
    </>
  );
}
