/**
 * 申请 / Apply: a sharing-contract request — the fields (each clear or masked; masked only where
 * the catalogue has a masking rule), purpose, legal basis, row scope, validity and quotas. Fields
 * of several owning departments become one request per owner (a contract has one provider).
 * The hub validates everything and lists every problem; they are shown as it sends them.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Async, Data, ErrorBox, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { navigate, searchParams } from '../../router.tsx';
import { applicable } from './catalogue.tsx';
import { dayOf, dayPlus, loadCatalogue, requestContract, type CatalogueEntry, type Contract, type GrantMode, type ScopeKind } from './model.ts';
import { Dept, problemsOf, StateBadge, useDepartmentNames } from './parts.tsx';

interface Row {
  readonly coordinate: string;
  readonly mode: GrantMode;
}

interface Outcome {
  readonly owner: string;
  readonly fields: readonly string[];
  readonly contract?: Contract;
  readonly error?: unknown;
}

const SCOPES: readonly ScopeKind[] = ['JURISDICTION', 'REGIONS', 'ALL'];

function initialRows(): Row[] {
  const fields = (searchParams().get('fields') ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  return [...new Set(fields)].map((coordinate) => ({ coordinate, mode: 'CLEAR' as GrantMode }));
}

function parseQuota(text: string): number | null {
  const s = text.trim();
  if (s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : Number.NaN;
}

function ProblemList({ error }: { error: unknown }) {
  const { t } = useI18n();
  const problems = problemsOf(error);
  if (problems.length === 0) return <ErrorBox error={error} />;
  return (
    <div className="error" role="alert">
      <p>{t('dev.apply.invalid', { n: problems.length })}</p>
      <ul>
        {problems.map((p) => (
          <li key={p}>
            <Data>{p}</Data>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ApplyPage() {
  const { t, tx } = useI18n();
  const names = useDepartmentNames();
  const catalogue = useLoad(loadCatalogue, []);
  const [rows, setRows] = useState<Row[]>(initialRows);
  const [adding, setAdding] = useState('');
  const [purpose, setPurpose] = useState('');
  const [legalBasis, setLegalBasis] = useState('');
  const [scope, setScope] = useState<ScopeKind>('JURISDICTION');
  const [regions, setRegions] = useState('');
  const [validFrom, setValidFrom] = useState(() => dayPlus(0));
  const [validUntil, setValidUntil] = useState(() => dayPlus(1));
  const [rpm, setRpm] = useState('');
  const [rpd, setRpd] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [localProblems, setLocalProblems] = useState<string[]>([]);

  const byCoordinate = useMemo(() => new Map((catalogue.data ?? []).map((e) => [e.coordinate, e])), [catalogue.data]);
  const candidates = useMemo(
    () => (catalogue.data ?? []).filter((e) => applicable(e) && !rows.some((r) => r.coordinate === e.coordinate)),
    [catalogue.data, rows],
  );
  // After submitting, the result (at the top) gets the focus: keyboard and screen-reader users land on it.
  useEffect(() => {
    if (outcomes.length > 0) document.getElementById('apply-result')?.focus();
  }, [outcomes]);
  useEffect(() => {
    if (adding && !candidates.some((c) => c.coordinate === adding)) setAdding('');
  }, [adding, candidates]);

  const setMode = (coordinate: string, mode: GrantMode) => setRows((rs) => rs.map((r) => (r.coordinate === coordinate ? { ...r, mode } : r)));
  const remove = (coordinate: string) => setRows((rs) => rs.filter((r) => r.coordinate !== coordinate));
  const add = () => {
    if (!adding) return;
    setRows((rs) => [...rs, { coordinate: adding, mode: 'CLEAR' }]);
    setAdding('');
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems: string[] = [];
    if (rows.length === 0) problems.push(t('dev.apply.needFields'));
    const requestsPerMinute = parseQuota(rpm);
    const recordsPerDay = parseQuota(rpd);
    if (Number.isNaN(requestsPerMinute) || Number.isNaN(recordsPerDay)) problems.push(t('dev.apply.badQuota'));
    setLocalProblems(problems);
    if (problems.length > 0) return;

    // One request per owning department (the hub infers the provider from the fields).
    const groups = new Map<string, Row[]>();
    for (const r of rows) {
      const owner = byCoordinate.get(r.coordinate)?.owner ?? '';
      groups.set(owner, [...(groups.get(owner) ?? []), r]);
    }
    const regionCodes = regions.split(/[\s,，、;；]+/).filter((c) => c !== '');
    const today = dayPlus(0);
    setBusy(true);
    const results: Outcome[] = [];
    for (const [owner, group] of groups) {
      try {
        const contract = await requestContract({
          fields: group.map((r) => ({ coordinate: r.coordinate, mode: r.mode })),
          purpose,
          legalBasis,
          scope: scope === 'REGIONS' ? { kind: scope, regionCodes } : { kind: scope },
          ...(validFrom && validFrom !== today ? { validFrom: `${validFrom}T00:00:00+08:00` } : {}),
          validUntil: validUntil ? `${validUntil}T23:59:59+08:00` : '',
          quotas: { requestsPerMinute, recordsPerDay },
        });
        results.push({ owner, fields: group.map((r) => r.coordinate), contract });
      } catch (error) {
        results.push({ owner, fields: group.map((r) => r.coordinate), error });
      }
    }
    setBusy(false);
    setOutcomes(results);
    // What was requested leaves the form; what failed stays for another try.
    const done = new Set(results.filter((r) => r.contract).flatMap((r) => r.fields));
    setRows((rs) => rs.filter((r) => !done.has(r.coordinate)));
  };

  const owners = new Set(rows.map((r) => byCoordinate.get(r.coordinate)?.owner ?? ''));

  return (
    <>
      <PageHeader title={t('nav.developer.apply')}>
        <button type="button" className="secondary" onClick={() => navigate('/developer/catalogue')}>
          {t('dev.apply.toCatalogue')}
        </button>
      </PageHeader>

      {outcomes.length > 0 ? (
        <section className="card" aria-labelledby="apply-result" aria-live="polite" data-testid="apply-result">
          <h2 id="apply-result" tabIndex={-1}>{t('dev.apply.result')}</h2>
          <ul className="outcomes">
            {outcomes.map((o) => (
              <li key={o.owner + o.fields.join()}>
                {o.contract ? (
                  <>
                    {t('dev.apply.created')}{' '}
                    <strong data-testid="created-contract">
                      <Data>{o.contract.id}</Data>
                    </strong>{' '}
                    <StateBadge state={o.contract.state} /> · {t('dev.apply.provider')} <Dept code={o.contract.provider} names={names} /> ·{' '}
                    {t('dev.apply.until')} <Data>{dayOf(o.contract.validUntil)}</Data>
                  </>
                ) : (
                  <>
                    {t('dev.apply.failedFor')} <Data>{o.fields.join(', ')}</Data>
                    <ProblemList error={o.error} />
                  </>
                )}
              </li>
            ))}
          </ul>
          {outcomes.some((o) => o.contract) ? (
            <button type="button" className="secondary" onClick={() => navigate('/developer/contracts')}>
              {t('dev.apply.toContracts')}
            </button>
          ) : null}
        </section>
      ) : null}

      <Async state={catalogue}>
        {() => (
          <form className="apply" onSubmit={(e) => void submit(e)} noValidate>
            <section className="card" aria-labelledby="apply-fields">
              <h2 id="apply-fields">{t('dev.apply.fields')}</h2>
              {rows.length === 0 ? (
                <p className="muted">{t('dev.apply.noFields')}</p>
              ) : (
                <table>
                  <caption>{t('dev.apply.fieldsCaption', { n: rows.length })}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('dev.cat.field')}</th>
                      <th scope="col">{t('dev.cat.owner')}</th>
                      <th scope="col">{t('dev.cat.level')}</th>
                      <th scope="col">{t('dev.cat.masking')}</th>
                      <th scope="col">{t('dev.apply.mode')}</th>
                      <th scope="col">
                        <span className="sr-only">{t('dev.apply.remove')}</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => {
                      const entry: CatalogueEntry | undefined = byCoordinate.get(r.coordinate);
                      const group = `mode-${r.coordinate}`;
                      return (
                        <tr key={r.coordinate}>
                          <td>
                            <code>
                              <Data>{r.coordinate}</Data>
                            </code>
                            {entry ? (
                              <div>
                                <Data>{entry.description}</Data>
                              </div>
                            ) : (
                              <div className="bad">{t('dev.apply.unknownField')}</div>
                            )}
                          </td>
                          <td>{entry ? <Dept code={entry.owner} names={names} /> : null}</td>
                          <td>{entry ? tx(`level.${entry.level}`, entry.level) : null}</td>
                          <td>{entry?.masking ? tx(`dev.mask.${entry.masking}`, entry.masking) : <span className="muted">{t('dev.cat.noMasking')}</span>}</td>
                          <td>
                            <fieldset className="inline">
                              <legend className="sr-only">{t('dev.apply.modeFor', { coordinate: r.coordinate })}</legend>
                              {(['CLEAR', 'MASKED'] as const).map((m) => (
                                <span key={m} className="radio">
                                  <input
                                    type="radio"
                                    id={`${group}-${m}`}
                                    name={group}
                                    value={m}
                                    checked={r.mode === m}
                                    disabled={m === 'MASKED' && !entry?.masking}
                                    onChange={() => setMode(r.coordinate, m)}
                                  />
                                  <label htmlFor={`${group}-${m}`}>{tx(`mode.${m}`, m)}</label>
                                </span>
                              ))}
                            </fieldset>
                          </td>
                          <td>
                            <button type="button" className="secondary small" onClick={() => remove(r.coordinate)} aria-label={t('dev.apply.removeField', { coordinate: r.coordinate })}>
                              {t('dev.apply.remove')}
                            </button>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              )}
              <div className="toolbar add-field">
                <div>
                  <label htmlFor="apply-add">{t('dev.apply.addField')}</label>
                  <select id="apply-add" value={adding} onChange={(e) => setAdding(e.target.value)}>
                    <option value="">{t('dev.apply.pickField')}</option>
                    {candidates.map((c) => (
                      <option key={c.coordinate} value={c.coordinate} data-i18n-exempt="">
                        {c.coordinate} — {c.description}
                      </option>
                    ))}
                  </select>
                </div>
                <button type="button" className="secondary" onClick={add} disabled={!adding}>
                  {t('dev.apply.add')}
                </button>
              </div>
              {owners.size > 1 ? <p className="notice">{t('dev.apply.split', { n: owners.size })}</p> : null}
            </section>

            <section className="card" aria-labelledby="apply-why">
              <h2 id="apply-why">{t('dev.apply.why')}</h2>
              <label htmlFor="apply-purpose">{t('dev.apply.purpose')}</label>
              <textarea id="apply-purpose" className="prose" rows={3} value={purpose} onChange={(e) => setPurpose(e.target.value)} aria-describedby="apply-purpose-help" />
              <p id="apply-purpose-help" className="muted">
                {t('dev.apply.purposeHelp')}
              </p>
              <label htmlFor="apply-basis">{t('dev.apply.legalBasis')}</label>
              <textarea id="apply-basis" className="prose" rows={2} value={legalBasis} onChange={(e) => setLegalBasis(e.target.value)} aria-describedby="apply-basis-help" />
              <p id="apply-basis-help" className="muted">
                {t('dev.apply.legalBasisHelp')}
              </p>
            </section>

            <section className="card" aria-labelledby="apply-scope">
              <h2 id="apply-scope">{t('dev.apply.scopeAndTime')}</h2>
              <div className="grid2">
                <fieldset>
                  <legend>{t('dev.apply.scope')}</legend>
                  {SCOPES.map((s) => (
                    <span key={s} className="radio">
                      <input type="radio" id={`apply-scope-${s}`} name="apply-scope" value={s} checked={scope === s} onChange={() => setScope(s)} />
                      <label htmlFor={`apply-scope-${s}`}>{tx(`scope.${s}`, s)}</label>
                    </span>
                  ))}
                  {scope === 'REGIONS' ? (
                    <>
                      <label htmlFor="apply-regions">{t('dev.apply.regions')}</label>
                      <input id="apply-regions" value={regions} onChange={(e) => setRegions(e.target.value)} aria-describedby="apply-regions-help" />
                      <p id="apply-regions-help" className="muted">
                        {t('dev.apply.regionsHelp')}
                      </p>
                    </>
                  ) : null}
                </fieldset>
                <fieldset>
                  <legend>{t('dev.apply.validity')}</legend>
                  <div className="toolbar">
                    <div>
                      <label htmlFor="apply-from">{t('dev.apply.validFrom')}</label>
                      <input id="apply-from" type="date" value={validFrom} onChange={(e) => setValidFrom(e.target.value)} />
                    </div>
                    <div>
                      <label htmlFor="apply-until">{t('dev.apply.validUntil')}</label>
                      <input id="apply-until" type="date" value={validUntil} onChange={(e) => setValidUntil(e.target.value)} />
                    </div>
                  </div>
                  <p className="muted">{t('dev.apply.validityHelp')}</p>
                </fieldset>
              </div>
              <fieldset>
                <legend>{t('dev.apply.quotas')}</legend>
                <div className="toolbar">
                  <div>
                    <label htmlFor="apply-rpm">{t('dev.apply.rpm')}</label>
                    <input id="apply-rpm" type="number" min={0} step={1} inputMode="numeric" value={rpm} onChange={(e) => setRpm(e.target.value)} />
                  </div>
                  <div>
                    <label htmlFor="apply-rpd">{t('dev.apply.rpd')}</label>
                    <input id="apply-rpd" type="number" min={0} step={1} inputMode="numeric" value={rpd} onChange={(e) => setRpd(e.target.value)} />
                  </div>
                </div>
                <p className="muted">{t('dev.apply.quotasHelp')}</p>
              </fieldset>
            </section>

            {localProblems.length > 0 ? (
              <div className="error" role="alert">
                <ul>
                  {localProblems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              </div>
            ) : null}
            <button type="submit" disabled={busy}>
              {busy ? t('dev.apply.submitting') : t('dev.apply.submit')}
            </button>
          </form>
        )}
      </Async>
    </>
  );
}
