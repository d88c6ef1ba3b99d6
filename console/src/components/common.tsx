/** Building blocks every page uses: async loading, errors in the current language, tables, buttons. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { HubError } from '../api.ts';
import { useI18n } from '../i18n/index.tsx';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` on mount and whenever `deps` change; the latest answer wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => run === latest.current && setState({ data, error: null, loading: false }),
      (error: unknown) => run === latest.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** An error as the user should read it: the hub's message in the current language, with its code. */
export function ErrorBox({ error }: { error: unknown }) {
  const { t, lang } = useI18n();
  if (!error) return null;
  const text =
    error instanceof HubError
      ? `${error.message_(lang)} (${error.code})`
      : error instanceof TypeError
        ? t('common.networkError', { message: error.message })
        : t('common.error', { message: error instanceof Error ? error.message : String(error) });
  return (
    <div className="error" role="alert">
      {text}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="muted" role="status">
      {t('common.loading')}
    </p>
  );
}

/** Loading, error, empty or the content. */
export function Async<T>({ state, children, empty }: { state: Loaded<T>; children: (data: T) => ReactNode; empty?: (data: T) => boolean }) {
  const { t } = useI18n();
  if (state.data === undefined) return state.error ? <ErrorBox error={state.error} /> : <Loading />;
  return (
    <>
      {state.error ? <ErrorBox error={state.error} /> : null}
      {empty?.(state.data) ? <p className="muted">{t('common.empty')}</p> : children(state.data)}
    </>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      <div className="page-actions">{children}</div>
    </div>
  );
}

/** Data values (names, codes, dates as stored) are not translated: marked so the language test can tell them from labels. */
export function Data({ children }: { children: ReactNode }) {
  return <span data-i18n-exempt="">{children}</span>;
}

/** Runs an action with a busy flag and its error kept for display. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setBusy(true);
      setError(null);
      try {
        return await action(...args);
      } catch (e) {
        setError(e);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, clearError: () => setError(null) };
}
