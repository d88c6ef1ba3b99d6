/**
 * GraphiQL 5, self-hosted: Monaco and its workers are bundled by Vite (graphiql/setup-workers/vite
 * imports them with `?worker`), the styles and the codicon font come from graphiql/style.css
 * (the font is inlined), so nothing loads from another host. Loaded on demand by graphiql.tsx:
 * the rest of the console does not pay for Monaco.
 *
 * Requests go to the hub's /graphql with the signed-in token (the headers editor may add or
 * override headers). GraphiQL keeps its tabs and history in sessionStorage, not localStorage:
 * queries name citizens' ID numbers, and an office computer is shared.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import { GraphiQL } from 'graphiql';
import { useMemo, type ComponentProps } from 'react';
import { authHeader } from '../../api.ts';

type Fetcher = ComponentProps<typeof GraphiQL>['fetcher'];
type Tab = { query: string; variables?: string };

const NAMESPACE = 'graphiql:';

/** sessionStorage as GraphiQL's store; `clear` removes GraphiQL's keys only (not the session). */
const tabStorage = {
  getItem: (key: string) => sessionStorage.getItem(key),
  setItem: (key: string, value: string) => sessionStorage.setItem(key, value),
  removeItem: (key: string) => sessionStorage.removeItem(key),
  get length() {
    return Object.keys(sessionStorage).filter((k) => k.startsWith(NAMESPACE)).length;
  },
  clear() {
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(NAMESPACE)) sessionStorage.removeItem(key);
  },
};

function createFetcher(url: string): Fetcher {
  return async (params, opts) => {
    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authHeader() });
    for (const [name, value] of Object.entries(opts?.headers ?? {})) {
      if (value !== undefined && value !== null) headers.set(name, String(value));
    }
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(params) });
    const text = await response.text();
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
    }
  };
}

export default function GraphiQLEditor({ url, tabs, initial }: { url: string; tabs: readonly Tab[]; initial: Tab | null }) {
  const fetcher = useMemo(() => createFetcher(url), [url]);
  // A query handed in (?query=): the first tab on a fresh start; once GraphiQL has tabs of its
  // own, it opens the query as a new tab (or goes to the tab that already holds it). On a fresh
  // start GraphiQL fills the editors from initialQuery/initialVariables, not from the first
  // default tab's variables: hand it the first tab's.
  const [defaultTabs, opened] = useMemo(() => {
    const stored = sessionStorage.getItem(`${NAMESPACE}tabState`) !== null;
    if (stored) return [[...tabs], initial ? { initialQuery: initial.query, initialVariables: initial.variables ?? '' } : {}];
    const fresh = initial ? [initial, ...tabs] : [...tabs];
    const first = fresh[0];
    return [fresh, first ? { initialQuery: first.query, initialVariables: first.variables ?? '' } : {}];
    // Read once: GraphiQL takes its initial state on mount only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <GraphiQL
      fetcher={fetcher}
      storage={tabStorage}
      defaultTabs={defaultTabs}
      {...opened}
      forcedTheme="light"
      shouldPersistHeaders={false}
      defaultEditorToolsVisibility="variables"
    />
  );
}
