/**
 * 中文优先，可切换英文 / Chinese first, English switchable. Every visible string comes from a
 * dictionary: `common` here, one file per area (developer, owner, auditor, operator). Each file
 * exports `zh` and an `en` typed with zh's keys, so a missing translation fails the type check.
 * Values may hold `{name}` placeholders, filled from `t(key, { name })`.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import * as common from './common.ts';
import * as developer from './developer.ts';
import * as owner from './owner.ts';
import * as auditor from './auditor.ts';
import * as operator from './operator.ts';

export type Lang = 'zh' | 'en';
export const DICTIONARIES = { common, developer, owner, auditor, operator } as const;

type Keys<D> = D extends { zh: infer Z } ? keyof Z & string : never;
export type MessageKey =
  | Keys<typeof common>
  | Keys<typeof developer>
  | Keys<typeof owner>
  | Keys<typeof auditor>
  | Keys<typeof operator>;

function merged(lang: Lang): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dict of Object.values(DICTIONARIES)) Object.assign(out, dict[lang]);
  return out;
}
const MESSAGES: Record<Lang, Record<string, string>> = { zh: merged('zh'), en: merged('en') };

export type Params = Record<string, string | number | null | undefined>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function translate(lang: Lang, key: string, params?: Params): string {
  const text = MESSAGES[lang][key] ?? MESSAGES.zh[key];
  if (text === undefined) {
    // A missing key is a bug: show it loudly in development, and visibly in the page.
    console.error(`i18n: no message for ${key}`);
    return `⟦${key}⟧`;
  }
  return params ? text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? '')) : text;
}

/** A key computed at run time (an enum value such as `state.ACTIVE`), or the raw value when there is no message for it. */
export function hasMessage(key: string): boolean {
  return key in MESSAGES.zh;
}

interface I18n {
  readonly lang: Lang;
  readonly t: Translate;
  /** `t` for a key built at run time; falls back to `fallback` when there is no such message. */
  readonly tx: (key: string, fallback: string, params?: Params) => string;
  setLang(lang: Lang): void;
}

const Ctx = createContext<I18n | null>(null);
const STORAGE_KEY = 'tongxiang.console.lang';

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh'));
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = translate(lang, 'app.title');
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLangState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      lang,
      t: (key, params) => translate(lang, key, params),
      tx: (key, fallback, params) => (hasMessage(key) ? translate(lang, key, params) : fallback),
      setLang,
    }),
    [lang, setLang],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(Ctx);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
