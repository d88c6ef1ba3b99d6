/**
 * A small router over the History API: the console lives under /console/, each page has a path
 * below it (/console/developer/catalogue). The hub answers every such path with index.html.
 */
import { useEffect, useState } from 'react';

export const BASE = '/console';

export function currentPath(): string {
  const path = window.location.pathname;
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return rest === '' ? '/' : rest;
}

/** Goes to a page of the console; `replace` takes the place of the current history entry (e.g. the OIDC callback, whose one-time code must not stay in the history). */
export function navigate(path: string, options: { readonly replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', BASE + path);
  else window.history.pushState(null, '', BASE + path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return path;
}

/** The query string of the current location as an object. */
export function searchParams(): URLSearchParams {
  return new URLSearchParams(window.location.search);
}
