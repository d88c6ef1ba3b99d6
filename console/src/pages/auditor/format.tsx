/**
 * Small helpers the auditor and operator pages share: times (ISO instants shown in local time,
 * marked as data), numbers in the current language, department names from the `departments`
 * query, decision and outcome badges (colour and text: never colour alone).
 */
import type { ReactNode } from 'react';
import { query } from '../../api.ts';
import { Data } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-05-01 10:02:03` in the browser's time zone. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An instant as stored (ISO 8601), shown in local time; the exact value in `title` and `dateTime`. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span aria-hidden="true">—</span>;
  return (
    <time dateTime={iso} title={iso} data-i18n-exempt="">
      {localTime(iso)}
    </time>
  );
}

/** The value of an `<input type="datetime-local">` for `date` (local time, minutes). */
export function toLocalInput(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value (local time) as an ISO instant; null when empty, undefined when invalid. */
export function fromLocalInput(value: string): string | null | undefined {
  if (value.trim() === '') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Numbers formatted for the current language (digits only: never a translation issue). */
export function useFormat() {
  const { lang, t } = useI18n();
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';
  const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  return {
    int: (n: number | null | undefined) => (n === null || n === undefined ? '—' : integer.format(n)),
    ms: (n: number | null | undefined) => (n === null || n === undefined ? '—' : t('auditor.ms', { n: decimal.format(n) })),
  };
}

export interface Department {
  readonly code: string;
  readonly name: string;
}

let departments: Promise<ReadonlyMap<string, string>> | null = null;

/** Department names by code (the console's `departments` query), fetched once; a failure is retried next time. */
export function loadDepartments(): Promise<ReadonlyMap<string, string>> {
  departments ??= query<{ departments: Department[] }>('query ConsoleDepartments { departments { code name } }').then(
    (d) => new Map(d.departments.map((x) => [x.code, x.name])),
    (error: unknown) => {
      departments = null;
      throw error;
    },
  );
  return departments;
}

/** A department: its name (when known) and its code, both data. */
export function Dept({ code, names }: { code: string | null | undefined; names?: ReadonlyMap<string, string> | undefined }) {
  if (!code) return <span aria-hidden="true">—</span>;
  const name = names?.get(code);
  return (
    <span className="ao-dept">
      {name ? (
        <>
          <Data>{name}</Data>{' '}
        </>
      ) : null}
      <Data>
        <code>{code}</code>
      </Data>
    </span>
  );
}

const DECISION_MARK: Record<string, string> = { allow: '✓', mask: '◐', deny: '✗' };

/** allow / mask / deny with a mark, a word and a colour. */
export function DecisionBadge({ decision, children }: { decision: string; children?: ReactNode }) {
  const { tx } = useI18n();
  return (
    <span className={`ao-chip ao-${decision}`}>
      <span aria-hidden="true">{DECISION_MARK[decision] ?? '•'}</span>
      {tx(`auditor.decision.${decision}`, decision)}
      {children ? <> {children}</> : null}
    </span>
  );
}

const GOOD_OUTCOMES = new Set(['ok']);
const WARN_OUTCOMES = new Set(['partial', 'rate-limited']);

export function OutcomeBadge({ outcome }: { outcome: string | null | undefined }) {
  const { tx } = useI18n();
  if (!outcome) return <span aria-hidden="true">—</span>;
  const tone = GOOD_OUTCOMES.has(outcome) ? 'allow' : WARN_OUTCOMES.has(outcome) ? 'mask' : 'deny';
  return (
    <span className={`ao-chip ao-${tone}`}>
      <span aria-hidden="true">{DECISION_MARK[tone]}</span>
      {tx(`auditor.outcome.${outcome}`, outcome)}
    </span>
  );
}

/** A list of data values separated by commas, or a dash. */
export function DataList({ values, code = false }: { values: readonly string[]; code?: boolean }) {
  if (values.length === 0) return <span aria-hidden="true">—</span>;
  return (
    <>
      {values.map((v, i) => (
        <span key={`${v}-${i}`}>
          {i > 0 ? ', ' : null}
          <Data>{code ? <code>{v}</code> : v}</Data>
        </span>
      ))}
    </>
  );
}
