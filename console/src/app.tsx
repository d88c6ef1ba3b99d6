/** The shell: header (title, language, who is signed in), navigation by role, the current page. */
import { useEffect, useRef, useState } from 'react';
import { ErrorBox } from './components/common.tsx';
import { useI18n } from './i18n/index.tsx';
import { finishOidcSignIn } from './oidc.ts';
import { areasFor } from './pages/areas.ts';
import { navigate, usePath } from './router.tsx';
import { useSession } from './session.tsx';
import { SignIn } from './signin.tsx';

function LanguageSwitch() {
  const { t, lang, setLang } = useI18n();
  return (
    <button type="button" className="link-button" lang={lang === 'zh' ? 'en' : 'zh-CN'} title={t('lang.switchLabel')} onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} data-testid="lang-switch">
      {t('lang.switch')}
    </button>
  );
}

function Callback() {
  const { t } = useI18n();
  const { signIn } = useSession();
  const [error, setError] = useState<unknown>(null);
  /** The issuer's access token names no department (or has expired): the console cannot use it. */
  const [unusable, setUnusable] = useState(false);
  useEffect(() => {
    finishOidcSignIn().then(
      (token) => {
        if (signIn(token)) navigate('/', { replace: true });
        else setUnusable(true);
      },
      (e: unknown) => setError(e),
    );
  }, [signIn]);
  if (!error && !unusable) return <main id="main" />;
  return (
    <main id="main" className="signin">
      {unusable ? (
        <div className="error" role="alert">
          {t('signin.failed', { reason: t('signin.oidcUnusable') })}
        </div>
      ) : (
        <ErrorBox error={error} />
      )}
      <button type="button" className="link-button" onClick={() => navigate('/', { replace: true })}>
        {t('signin.back')}
      </button>
    </main>
  );
}

export function App() {
  const { t, tx } = useI18n();
  const { session, signOut } = useSession();
  const path = usePath();
  const title = useRef<HTMLHeadingElement | null>(null);

  const areas = session ? areasFor(session.roles) : [];
  const pages = areas.flatMap((a) => a.pages);
  const page = pages.find((p) => p.path === path) ?? pages[0];

  // Move focus to the new page's heading after navigation (keyboard and screen-reader users).
  useEffect(() => {
    title.current = document.getElementById('page-title') as HTMLHeadingElement | null;
    title.current?.focus();
  }, [page?.path]);

  if (path === '/callback') return <Callback />;

  return (
    <>
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true" data-i18n-exempt="">
            通
          </span>
          <div>
            <div className="title">{t('app.title')}</div>
            <div className="subtitle">{t('app.subtitle')}</div>
          </div>
        </div>
        <div className="top-actions">
          {session ? (
            <span className="who" data-testid="who">
              {t('session.signedInAs', { department: session.department, roles: session.roles.map((r) => tx(`role.${r}`, r)).join('、') })}
            </span>
          ) : null}
          <LanguageSwitch />
          {session ? (
            <button type="button" className="link-button" onClick={() => { signOut(); navigate('/'); }}>
              {t('session.signOut')}
            </button>
          ) : null}
        </div>
      </header>
      {!session ? (
        <SignIn />
      ) : (
        <div className="layout">
          <nav aria-label={t('nav.label')} className="side">
            {areas.map((area) => (
              <div key={area.label} className="nav-area">
                <div className="nav-area-title">{t(area.label)}</div>
                <ul>
                  {area.pages.map((p) => (
                    <li key={p.path}>
                      <a
                        href={`/console${p.path}`}
                        aria-current={p === page ? 'page' : undefined}
                        onClick={(e) => {
                          e.preventDefault();
                          navigate(p.path);
                        }}
                      >
                        {t(p.label)}
                      </a>
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </nav>
          <main id="main" className="content">
            {page ? <page.component key={page.path} /> : <p className="muted">{t('common.empty')}</p>}
          </main>
        </div>
      )}
    </>
  );
}
