/**
 * 数据目录 / Catalogue: every shared field with its owner, level, sharing type, masking rule,
 * update cycle (and, for the county file drops, how fresh the dataset is) and what the caller's
 * department may read of it now. Fields it cannot fully read can be picked and applied for.
 */
import { useMemo, useState } from 'react';
import { Async, Data, PageHeader, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { navigate } from '../../router.tsx';
import { dayOf, loadCatalogue, loadDatasetStatus, type CatalogueEntry, type DatasetStatus } from './model.ts';
import { Dept, ModeBadge, useDepartmentNames } from './parts.tsx';

const LEVELS = ['L1', 'L2', 'L3', 'L4'] as const;
const SHARING = ['UNCONDITIONAL', 'CONDITIONAL'] as const;

/** A field the caller may apply for: conditional, and not already readable in clear. */
export function applicable(entry: CatalogueEntry): boolean {
  return entry.sharing === 'CONDITIONAL' && entry.myAccess.mode !== 'CLEAR';
}

function matches(entry: CatalogueEntry, filter: { search: string; owner: string; level: string; sharing: string; onlyApplicable: boolean }): boolean {
  if (filter.owner && !entry.owners.includes(filter.owner)) return false;
  if (filter.level && entry.level !== filter.level) return false;
  if (filter.sharing && entry.sharing !== filter.sharing) return false;
  if (filter.onlyApplicable && !applicable(entry)) return false;
  const needle = filter.search.trim().toLowerCase();
  if (needle) {
    const hay = `${entry.coordinate}\n${entry.description}\n${entry.typeDescription}\n${entry.owners.join(' ')}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

function Freshness({ entry, datasets }: { entry: CatalogueEntry; datasets: readonly DatasetStatus[] }) {
  const { t, tx } = useI18n();
  if (entry.updateCycle === 'REALTIME') return null;
  const mine = datasets.filter((d) => entry.owners.includes(d.department));
  if (mine.length === 0) return null;
  return (
    <ul className="freshness">
      {mine.map((d) => (
        <li key={`${d.department}/${d.dataset}`} className={d.overdue ? 'bad' : d.state === 'FRESH' ? 'ok' : 'warn'}>
          <Data>{d.department}</Data> {tx(`dev.freshness.${d.state}`, d.state)}
          {d.lastPublishedAt ? (
            <span className="muted">
              {' '}
              {t('dev.cat.lastPublished')} <Data>{dayOf(d.lastPublishedAt)}</Data>
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function DatasetPanel({ datasets, names }: { datasets: readonly DatasetStatus[]; names: Map<string, string> }) {
  const { t, tx } = useI18n();
  if (datasets.length === 0) return null;
  return (
    <details className="card">
      <summary>{t('dev.cat.datasets', { n: datasets.length })}</summary>
      <table>
        <caption>{t('dev.cat.datasetsCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('dev.cat.dataset')}</th>
            <th scope="col">{t('dev.cat.owner')}</th>
            <th scope="col">{t('dev.cat.cycle')}</th>
            <th scope="col">{t('dev.cat.freshness')}</th>
            <th scope="col">{t('dev.cat.lastPublished')}</th>
            <th scope="col">{t('dev.cat.rows')}</th>
          </tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={`${d.department}/${d.dataset}`}>
              <td>
                <Data>{d.title}</Data>
                <div className="muted">
                  <code>
                    <Data>{d.dataset}</Data>
                  </code>
                </div>
              </td>
              <td>
                <Dept code={d.department} names={names} />
              </td>
              <td>{d.cycle ? tx(`cycle.${d.cycle.toUpperCase()}`, d.cycle) : t('dev.cat.noCycle')}</td>
              <td className={d.overdue ? 'bad' : d.state === 'FRESH' ? 'ok' : 'warn'}>{tx(`dev.freshness.${d.state}`, d.state)}</td>
              <td>{d.lastPublishedAt ? <Data>{dayOf(d.lastPublishedAt)}</Data> : t('dev.cat.never')}</td>
              <td>
                <Data>{d.rows}</Data>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Access({ entry }: { entry: CatalogueEntry }) {
  const { t, tx } = useI18n();
  const a = entry.myAccess;
  return (
    <>
      <ModeBadge mode={a.mode} />
      {a.contractId ? (
        <div className="muted">
          {t('dev.cat.viaContract')} <Data>{a.contractId}</Data>
        </div>
      ) : a.mode !== 'NONE' ? (
        <div className="muted">{entry.sharing === 'UNCONDITIONAL' ? t('dev.cat.unconditional') : t('dev.cat.own')}</div>
      ) : null}
      {a.reason ? <div className="muted">{tx(`dev.deny.${a.reason}`, a.reason)}</div> : null}
    </>
  );
}

export function CataloguePage() {
  const { t, tx } = useI18n();
  const names = useDepartmentNames();
  const catalogue = useLoad(loadCatalogue, []);
  const datasets = useLoad(loadDatasetStatus, []);
  const [search, setSearch] = useState('');
  const [owner, setOwner] = useState('');
  const [level, setLevel] = useState('');
  const [sharing, setSharing] = useState('');
  const [onlyApplicable, setOnlyApplicable] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const owners = useMemo(() => [...new Set((catalogue.data ?? []).flatMap((e) => e.owners))].sort(), [catalogue.data]);
  const shown = useMemo(
    () => (catalogue.data ?? []).filter((e) => matches(e, { search, owner, level, sharing, onlyApplicable })),
    [catalogue.data, search, owner, level, sharing, onlyApplicable],
  );

  const toggle = (coordinate: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(coordinate);
      else next.delete(coordinate);
      return next;
    });
  const apply = () => navigate(`/developer/apply?fields=${encodeURIComponent([...selected].sort().join(','))}`);

  return (
    <>
      <PageHeader title={t('nav.developer.catalogue')}>
        <button type="button" className="secondary" onClick={catalogue.reload}>
          {t('common.refresh')}
        </button>
      </PageHeader>
      <p className="muted">{t('dev.cat.intro')}</p>
      <form className="toolbar" role="search" aria-label={t('dev.cat.filters')} onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="cat-search">{t('dev.cat.search')}</label>
          <input id="cat-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t('dev.cat.searchHint')} size={28} />
        </div>
        <div>
          <label htmlFor="cat-owner">{t('dev.cat.owner')}</label>
          <select id="cat-owner" value={owner} onChange={(e) => setOwner(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {owners.map((o) => (
              <option key={o} value={o} data-i18n-exempt="">
                {names.get(o) ? `${names.get(o)}（${o}）` : o}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="cat-level">{t('dev.cat.level')}</label>
          <select id="cat-level" value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {tx(`level.${l}`, l)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="cat-sharing">{t('dev.cat.sharing')}</label>
          <select id="cat-sharing" value={sharing} onChange={(e) => setSharing(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {SHARING.map((s) => (
              <option key={s} value={s}>
                {tx(`sharing.${s}`, s)}
              </option>
            ))}
          </select>
        </div>
        <div className="check">
          <input id="cat-applicable" type="checkbox" checked={onlyApplicable} onChange={(e) => setOnlyApplicable(e.target.checked)} />
          <label htmlFor="cat-applicable">{t('dev.cat.onlyApplicable')}</label>
        </div>
      </form>

      <div className="selection-bar" aria-live="polite">
        <span>{t('dev.cat.selected', { n: selected.size })}</span>
        <button type="button" onClick={apply} disabled={selected.size === 0}>
          {t('dev.cat.apply')}
        </button>
        {selected.size > 0 ? (
          <button type="button" className="secondary" onClick={() => setSelected(new Set())}>
            {t('dev.cat.clearSelection')}
          </button>
        ) : null}
      </div>

      <DatasetPanel datasets={datasets.data ?? []} names={names} />

      <Async state={catalogue}>
        {() =>
          shown.length === 0 ? (
            <p className="muted">{t('dev.cat.noMatch')}</p>
          ) : (
            <table className="catalogue">
              <caption>{t('dev.cat.caption', { n: shown.length })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('dev.cat.select')}</th>
                  <th scope="col">{t('dev.cat.field')}</th>
                  <th scope="col">{t('dev.cat.owner')}</th>
                  <th scope="col" className="nowrap">{t('dev.cat.level')}</th>
                  <th scope="col" className="nowrap">{t('dev.cat.sharing')}</th>
                  <th scope="col">{t('dev.cat.masking')}</th>
                  <th scope="col">{t('dev.cat.cycle')}</th>
                  <th scope="col">{t('dev.cat.myAccess')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.coordinate} className={selected.has(e.coordinate) ? 'selected' : undefined}>
                    <td>
                      {applicable(e) ? (
                        <input
                          type="checkbox"
                          checked={selected.has(e.coordinate)}
                          onChange={(ev) => toggle(e.coordinate, ev.target.checked)}
                          aria-label={t('dev.cat.selectField', { coordinate: e.coordinate })}
                        />
                      ) : null}
                    </td>
                    <td>
                      <code>
                        <Data>{e.coordinate}</Data>
                      </code>
                      <div>
                        <Data>{e.description}</Data>
                      </div>
                      {e.typeDescription ? (
                        <div className="muted">
                          <Data>{e.typeDescription}</Data>
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <Dept code={e.owner} names={names} />
                      {e.owners.length > 1 ? (
                        <div className="muted">
                          {t('dev.cat.coOwners')} <Data>{e.owners.slice(1).join(', ')}</Data>
                        </div>
                      ) : null}
                    </td>
                    <td className="nowrap">{tx(`level.${e.level}`, e.level)}</td>
                    <td className="nowrap">{tx(`sharing.${e.sharing}`, e.sharing)}</td>
                    <td>{e.masking ? tx(`dev.mask.${e.masking}`, e.masking) : <span className="muted">{t('dev.cat.noMasking')}</span>}</td>
                    <td>
                      {tx(`cycle.${e.updateCycle}`, e.updateCycle)}
                      <Freshness entry={e} datasets={datasets.data ?? []} />
                    </td>
                    <td>
                      <Access entry={e} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Async>
    </>
  );
}
